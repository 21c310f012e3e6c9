//! `Deliveries`: one document per (notice, recipient), unique on `notice_id` + `recipient`
//! ([`Recipient::key`]), and the `planned` mark on `Notices`.
//!
//! Each row copies its notice's `createdAt` as `notice_created_at`, so "oldest notice first"
//! is a sort on one collection (MongoDB has no cheap join). Its times are int64 milliseconds
//! (see [`super::fields::ms`]), as the server compares `not_before`.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::errors::duplicates_only;
use super::fields::{Fields, date, is_not_set, is_set, ms, opt_str, to_u32};
use super::notices::{self, find_all};
use super::{Db, coll};
use crate::store::{Delivery, DeliveryStatus, Notice, Recipient, StoreError, StoreResult};

const OPEN: [&str; 2] = ["pending", "sending"];

pub(super) async fn unplanned(db: &Db) -> StoreResult<Vec<Notice>> {
    let docs: Vec<Document> = db
        .coll(coll::NOTICES)
        .find(doc! { "sent_to_telegram": is_not_set(), "planned": is_not_set() })
        .sort(doc! { "createdAt": 1, "id": 1 })
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    docs.iter().map(notices::from_doc).collect()
}

/// Rows first, then the mark: if the mark is lost, the notice is planned again and the unique
/// key refuses every row already there, so nothing is delivered twice. Returns the rows added.
pub(super) async fn plan(
    db: &Db,
    notice_id: &str,
    recipients: &[Recipient],
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let notice = db
        .coll(coll::NOTICES)
        .find_one(doc! { "id": notice_id })
        .await
        .map_err(|e| db.err(e))?
        .ok_or_else(|| StoreError::NotFound {
            kind: "notice",
            id: notice_id.to_owned(),
        })?;
    let created = Fields::new(coll::NOTICES, &notice)
        .opt_i64("createdAt")?
        .unwrap_or(0);
    let added = insert_rows(db, notice_id, created, recipients, now).await?;
    db.coll(coll::NOTICES)
        .update_many(
            doc! { "id": notice_id },
            doc! { "$set": { "planned": true } },
        )
        .await
        .map_err(|e| db.err(e))?;
    Ok(added)
}

async fn insert_rows(
    db: &Db,
    notice_id: &str,
    notice_created_at: i64,
    recipients: &[Recipient],
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let mut seen = HashSet::new();
    let rows: Vec<Document> = recipients
        .iter()
        .filter(|r| seen.insert(*r))
        .map(|r| {
            doc! {
                "notice_id": notice_id,
                "recipient": r.key(),
                "notice_created_at": notice_created_at,
                "status": "pending",
                "chunks_sent": 0_i64,
                "attempts": 0_i64,
                "message_ids": Bson::Array(Vec::new()),
                "last_error": Bson::Null,
                "not_before": 0_i64,
                "created_at": ms(now),
                "updated_at": ms(now),
            }
        })
        .collect();
    if rows.is_empty() {
        return Ok(0);
    }
    let total = rows.len() as u64;
    match db
        .coll(coll::DELIVERIES)
        .insert_many(rows)
        .ordered(false)
        .await
    {
        Ok(_) => Ok(total),
        Err(e) => match duplicates_only(&e) {
            Some(refused) => Ok(total.saturating_sub(refused)),
            None => Err(db.err(e)),
        },
    }
}

pub(super) async fn due(db: &Db, now: DateTime<Utc>) -> StoreResult<Vec<Delivery>> {
    let filter = doc! {
        "status": { "$in": OPEN.to_vec() },
        "not_before": { "$lte": ms(now) },
    };
    let docs: Vec<Document> = db
        .coll(coll::DELIVERIES)
        .find(filter)
        .sort(doc! { "notice_created_at": 1, "notice_id": 1, "recipient": 1 })
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    docs.iter().map(from_doc).collect()
}

pub(super) async fn next_deferred(
    db: &Db,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let filter = doc! { "status": { "$in": OPEN.to_vec() }, "not_before": { "$gt": ms(now) } };
    let first = db
        .coll(coll::DELIVERIES)
        .find_one(filter)
        .sort(doc! { "not_before": 1 })
        .await
        .map_err(|e| db.err(e))?;
    match first {
        Some(d) => Ok(Fields::new(coll::DELIVERIES, &d)
            .opt_date("not_before")?
            .filter(|t| t.timestamp_millis() > 0)),
        None => Ok(None),
    }
}

/// The delivery engine's claim (`sending` before a send) and its result: one atomic update.
pub(super) async fn save(db: &Db, d: &Delivery) -> StoreResult<()> {
    let key = d.recipient.key();
    let set = doc! {
        "status": d.status.as_str(),
        "chunks_sent": i64::from(d.chunks_sent),
        "attempts": i64::from(d.attempts),
        "message_ids": d.message_ids.clone(),
        "last_error": opt_str(&d.last_error),
        "not_before": not_before(d.not_before),
        "updated_at": ms(d.updated_at),
    };
    let changed = db
        .coll(coll::DELIVERIES)
        .update_one(
            doc! { "notice_id": &d.notice_id, "recipient": &key },
            doc! { "$set": set },
        )
        .await
        .map_err(|e| db.err(e))?;
    if changed.matched_count == 0 {
        return Err(StoreError::NotFound {
            kind: "delivery",
            id: format!("{}/{key}", d.notice_id),
        });
    }
    Ok(())
}

pub(super) async fn for_notice(db: &Db, notice_id: &str) -> StoreResult<Vec<Delivery>> {
    let docs = find_all(db, coll::DELIVERIES, doc! { "notice_id": notice_id }).await?;
    let mut rows = docs.iter().map(from_doc).collect::<StoreResult<Vec<_>>>()?;
    rows.sort_by_key(|d| d.recipient.key());
    Ok(rows)
}

/// Each finished notice is marked on its own; a crash part way leaves the rest for the next
/// call. A notice planned with no recipients has no rows and completes here too.
pub(super) async fn complete(db: &Db, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
    let planned: Vec<Document> = db
        .coll(coll::NOTICES)
        .find(doc! { "sent_to_telegram": is_not_set(), "planned": is_set() })
        .sort(doc! { "createdAt": 1, "id": 1 })
        .projection(doc! { "id": 1 })
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    let mut done = Vec::new();
    for notice in &planned {
        let id = Fields::new(coll::NOTICES, notice).str("id")?;
        if done.contains(&id) || has_open_rows(db, &id).await? {
            continue;
        }
        let marked = db
            .coll(coll::NOTICES)
            .update_many(
                doc! { "id": &id, "sent_to_telegram": is_not_set() },
                doc! { "$set": { "sent_to_telegram": true, "sent_at": date(now) } },
            )
            .await
            .map_err(|e| db.err(e))?;
        if marked.modified_count > 0 {
            done.push(id);
        }
    }
    Ok(done)
}

async fn has_open_rows(db: &Db, notice_id: &str) -> StoreResult<bool> {
    let open = db
        .coll(coll::DELIVERIES)
        .find_one(doc! { "notice_id": notice_id, "status": { "$in": OPEN.to_vec() } })
        .projection(doc! { "_id": 1 })
        .await
        .map_err(|e| db.err(e))?;
    Ok(open.is_some())
}

/// "No deferral" is stored as 0 rather than `null`, so "due" is one range comparison (some
/// compatible servers do not match `null` inside an `$or`).
fn not_before(t: Option<DateTime<Utc>>) -> Bson {
    t.map_or(Bson::Int64(0), ms)
}

fn from_doc(doc: &Document) -> StoreResult<Delivery> {
    let f = Fields::new(coll::DELIVERIES, doc);
    let key = f.str("recipient")?;
    let status = f.str("status")?;
    let bad = |field: &str, value: &str| StoreError::Corrupt {
        reason: format!("{}.{field}: unknown value {value:?}", coll::DELIVERIES),
    };
    let message_ids = f
        .array("message_ids")?
        .iter()
        .map(|v| match v {
            Bson::Int32(i) => Ok(i64::from(*i)),
            Bson::Int64(i) => Ok(*i),
            other => Err(bad("message_ids", &other.to_string())),
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Delivery {
        notice_id: f.str("notice_id")?,
        recipient: Recipient::from_key(&key).ok_or_else(|| bad("recipient", &key))?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        chunks_sent: to_u32(
            coll::DELIVERIES,
            "chunks_sent",
            f.opt_i64("chunks_sent")?.unwrap_or(0),
        )?,
        attempts: to_u32(
            coll::DELIVERIES,
            "attempts",
            f.opt_i64("attempts")?.unwrap_or(0),
        )?,
        message_ids,
        last_error: f.opt_str("last_error")?,
        not_before: f
            .opt_date("not_before")?
            .filter(|t| t.timestamp_millis() > 0),
        created_at: f.date_or_epoch("created_at")?,
        updated_at: f.date_or_epoch("updated_at")?,
    })
}
