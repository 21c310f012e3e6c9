//! The delivery ledger: one `deliveries` row per (notice, recipient), keyed by
//! [`Recipient::key`], plus the `planned` mark on notices.
//!
//! Open rows (`pending`, `sending`) are covered by a partial index, so finding due work stays
//! cheap however many finished rows accumulate. Every query filters open rows with the exact
//! expression of that index (`status IN ('pending', 'sending')`) so SQLite can use it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::convert::{collect, from_json, from_ms, opt_from_ms, opt_to_ms, to_json, to_ms, to_u32};
use super::notices;
use crate::store::{Delivery, DeliveryStatus, Notice, Recipient, StoreError, StoreResult};

const COLUMNS: &str = "d.notice_id, d.recipient_key, d.status, d.chunks_sent, d.attempts, d.message_ids, d.last_error, \
     d.not_before_ms, d.created_at_ms, d.updated_at_ms";

pub(super) fn unplanned(conn: &Connection) -> StoreResult<Vec<Notice>> {
    let sql = format!(
        "SELECT {} FROM notices WHERE sent_to_telegram = 0 AND planned = 0 ORDER BY created_at_ms, id",
        notices::COLUMNS
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([])?, notices::from_row)
}

/// Mark the notice planned and add a pending row per recipient; existing rows are kept as
/// they are. Returns how many rows were added.
pub(super) fn plan(
    conn: &Connection,
    notice_id: &str,
    recipients: &[Recipient],
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let marked = conn
        .prepare_cached("UPDATE notices SET planned = 1 WHERE id = ?1")?
        .execute([notice_id])?;
    if marked == 0 {
        return Err(StoreError::NotFound {
            kind: "notice",
            id: notice_id.to_owned(),
        });
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO deliveries (notice_id, recipient_key, status, chunks_sent, attempts, message_ids, last_error,
                                 not_before_ms, created_at_ms, updated_at_ms)
         VALUES (?1, ?2, 'pending', 0, 0, '[]', NULL, NULL, ?3, ?3)
         ON CONFLICT (notice_id, recipient_key) DO NOTHING",
    )?;
    let now = to_ms(now);
    let mut added = 0;
    for recipient in recipients {
        added += insert.execute(params![notice_id, recipient.key(), now])? as u64;
    }
    Ok(added)
}

pub(super) fn due(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries d JOIN notices n ON n.id = d.notice_id
         WHERE d.status IN ('pending', 'sending') AND (d.not_before_ms IS NULL OR d.not_before_ms <= ?1)
         ORDER BY n.created_at_ms, n.id, d.recipient_key"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([to_ms(now)])?, from_row)
}

pub(super) fn next_deferred(
    conn: &Connection,
    now: DateTime<Utc>,
) -> StoreResult<Option<DateTime<Utc>>> {
    let ms: Option<i64> = conn
        .prepare_cached(
            "SELECT MIN(not_before_ms) FROM deliveries \
             WHERE status IN ('pending', 'sending') AND not_before_ms > ?1",
        )?
        .query_row([to_ms(now)], |row| row.get(0))?;
    opt_from_ms("deliveries.not_before_ms", ms)
}

pub(super) fn save(conn: &Connection, d: &Delivery) -> StoreResult<()> {
    let key = d.recipient.key();
    let changed = conn
        .prepare_cached(
            "UPDATE deliveries SET status = ?3, chunks_sent = ?4, attempts = ?5, message_ids = ?6, last_error = ?7,
                                   not_before_ms = ?8, updated_at_ms = ?9
             WHERE notice_id = ?1 AND recipient_key = ?2",
        )?
        .execute(params![
            d.notice_id,
            key,
            d.status.as_str(),
            d.chunks_sent,
            d.attempts,
            to_json(&d.message_ids)?,
            d.last_error,
            opt_to_ms(d.not_before),
            to_ms(d.updated_at),
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            kind: "delivery",
            id: format!("{}/{key}", d.notice_id),
        });
    }
    Ok(())
}

pub(super) fn for_notice(conn: &Connection, notice_id: &str) -> StoreResult<Vec<Delivery>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM deliveries d WHERE d.notice_id = ?1 ORDER BY d.recipient_key"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([notice_id])?, from_row)
}

/// Planned, unsent notices with no open row left become sent. A notice planned with no
/// recipients has no rows at all and completes here too.
pub(super) fn complete(conn: &Connection, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
    let mut select = conn.prepare_cached(
        "SELECT n.id FROM notices n
         WHERE n.sent_to_telegram = 0 AND n.planned = 1
           AND NOT EXISTS (SELECT 1 FROM deliveries d
                           WHERE d.notice_id = n.id AND d.status IN ('pending', 'sending'))
         ORDER BY n.created_at_ms, n.id",
    )?;
    let ids: Vec<String> = collect(select.query([])?, |row| Ok(row.get(0)?))?;
    let mut mark = conn
        .prepare_cached("UPDATE notices SET sent_to_telegram = 1, sent_at_ms = ?2 WHERE id = ?1")?;
    let now = to_ms(now);
    for id in &ids {
        mark.execute(params![id, now])?;
    }
    Ok(ids)
}

fn from_row(row: &Row<'_>) -> StoreResult<Delivery> {
    let key: String = row.get(1)?;
    let status: String = row.get(2)?;
    Ok(Delivery {
        notice_id: row.get(0)?,
        recipient: Recipient::from_key(&key).ok_or_else(|| bad("recipient_key", &key))?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        chunks_sent: to_u32("deliveries.chunks_sent", row.get(3)?)?,
        attempts: to_u32("deliveries.attempts", row.get(4)?)?,
        message_ids: from_json("deliveries.message_ids", &row.get::<_, String>(5)?)?,
        last_error: row.get(6)?,
        not_before: opt_from_ms("deliveries.not_before_ms", row.get(7)?)?,
        created_at: from_ms("deliveries.created_at_ms", row.get(8)?)?,
        updated_at: from_ms("deliveries.updated_at_ms", row.get(9)?)?,
    })
}

fn bad(column: &str, value: &str) -> StoreError {
    StoreError::Corrupt {
        reason: format!("column deliveries.{column}: unknown value {value:?}"),
    }
}
