//! `Users`: who gets deliveries, keyed by Telegram `user_id` (int32 or int64 as Python wrote
//! it; MongoDB compares numbers across types, so an int64 filter finds both).

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;

use super::errors::is_duplicate;
use super::fields::{Fields, date, is_set, opt_str};
use super::{Db, coll};
use crate::store::{StoreError, StoreResult, SubscribeOutcome, Subscriber, SubscriberProfile};

/// Update in place when the user exists, else insert; both single-document atomic writes. The
/// unique index on `user_id` turns a concurrent `/start` into a duplicate-key error, after
/// which the update path finds the other writer's document.
pub(super) async fn upsert(
    db: &Db,
    p: &SubscriberProfile,
    now: DateTime<Utc>,
) -> StoreResult<SubscribeOutcome> {
    let users = db.coll(coll::USERS);
    let set = doc! {
        "chat_id": p.chat_id,
        "username": opt_str(&p.username),
        "first_name": opt_str(&p.first_name),
        "last_name": opt_str(&p.last_name),
        "is_active": true,
        "updated_at": date(now),
    };
    for _ in 0..2 {
        let before = users
            .find_one_and_update(doc! { "user_id": p.user_id }, doc! { "$set": set.clone() })
            .return_document(ReturnDocument::Before)
            .await
            .map_err(|e| db.err(e))?;
        if let Some(before) = before {
            let was_active = Fields::new(coll::USERS, &before).bool_or("is_active", false)?;
            return Ok(if was_active {
                SubscribeOutcome::AlreadyActive
            } else {
                SubscribeOutcome::Reactivated
            });
        }
        let mut new = set.clone();
        new.insert("user_id", p.user_id);
        new.insert("created_at", date(now));
        match users.insert_one(new).await {
            Ok(_) => return Ok(SubscribeOutcome::Created),
            Err(e) if is_duplicate(&e) => continue,
            Err(e) => return Err(db.err(e)),
        }
    }
    Err(StoreError::Other {
        reason: format!(
            "user {} was created and removed concurrently; try again",
            p.user_id
        ),
    })
}

pub(super) async fn deactivate(db: &Db, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
    let changed = db
        .coll(coll::USERS)
        .update_many(
            doc! { "user_id": user_id, "is_active": is_set() },
            doc! { "$set": { "is_active": false, "updated_at": date(now) } },
        )
        .await
        .map_err(|e| db.err(e))?;
    Ok(changed.modified_count > 0)
}

pub(super) async fn get(db: &Db, user_id: i64) -> StoreResult<Option<Subscriber>> {
    let found = db
        .coll(coll::USERS)
        .find_one(doc! { "user_id": user_id })
        .await
        .map_err(|e| db.err(e))?;
    found.as_ref().map(from_doc).transpose()
}

/// Sorted by `user_id` here rather than by the server: a mix of int32 and int64 ids must
/// sort as numbers, which not every compatible server does. A `user_id` held by several
/// documents (the original's racy inserts) is listed once.
pub(super) async fn list(db: &Db, active_only: bool) -> StoreResult<Vec<Subscriber>> {
    let filter = if active_only {
        doc! { "is_active": is_set() }
    } else {
        doc! {}
    };
    let docs: Vec<Document> = db
        .coll(coll::USERS)
        .find(filter)
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    let mut subscribers = docs.iter().map(from_doc).collect::<StoreResult<Vec<_>>>()?;
    subscribers.sort_by_key(|s| s.user_id);
    subscribers.dedup_by_key(|s| s.user_id);
    Ok(subscribers)
}

pub(super) async fn migrate_chat(
    db: &Db,
    old_chat: i64,
    new_chat: i64,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let moved = db
        .coll(coll::USERS)
        .update_many(
            doc! { "chat_id": old_chat },
            doc! { "$set": { "chat_id": new_chat, "updated_at": date(now) } },
        )
        .await
        .map_err(|e| db.err(e))?;
    Ok(moved.modified_count)
}

/// A private chat's id is the user's id, so a document without `chat_id` still has one.
fn from_doc(doc: &Document) -> StoreResult<Subscriber> {
    let f = Fields::new(coll::USERS, doc);
    let user_id = f.i64("user_id")?;
    let created_at = f.date_or_epoch("created_at")?;
    Ok(Subscriber {
        user_id,
        chat_id: f.opt_i64("chat_id")?.unwrap_or(user_id),
        username: f.opt_str("username")?,
        first_name: f.opt_str("first_name")?,
        last_name: f.opt_str("last_name")?,
        is_active: f.bool_or("is_active", false)?,
        created_at,
        updated_at: f.opt_date("updated_at")?.unwrap_or(created_at),
    })
}
