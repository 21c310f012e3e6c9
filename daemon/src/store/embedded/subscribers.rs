//! The `subscribers` table: who gets deliveries, keyed by Telegram `user_id`.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::convert::{collect, from_ms, to_ms};
use crate::store::{StoreResult, SubscribeOutcome, Subscriber, SubscriberProfile};

const COLUMNS: &str =
    "user_id, chat_id, username, first_name, last_name, is_active, created_at_ms, updated_at_ms";

/// Runs inside the caller's transaction, so the read of the old state and the write cannot be
/// split by another writer.
pub(super) fn upsert(
    conn: &Connection,
    p: &SubscriberProfile,
    now: DateTime<Utc>,
) -> StoreResult<SubscribeOutcome> {
    let was_active: Option<bool> = conn
        .prepare_cached("SELECT is_active FROM subscribers WHERE user_id = ?1")?
        .query_row([p.user_id], |row| row.get(0))
        .optional()?;
    let now = to_ms(now);
    if was_active.is_none() {
        conn.prepare_cached(
            "INSERT INTO subscribers (user_id, chat_id, username, first_name, last_name, is_active, created_at_ms, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
        )?
        .execute(params![p.user_id, p.chat_id, p.username, p.first_name, p.last_name, now])?;
        return Ok(SubscribeOutcome::Created);
    }
    conn.prepare_cached(
        "UPDATE subscribers SET chat_id = ?2, username = ?3, first_name = ?4, last_name = ?5, is_active = 1, updated_at_ms = ?6
         WHERE user_id = ?1",
    )?
    .execute(params![p.user_id, p.chat_id, p.username, p.first_name, p.last_name, now])?;
    Ok(if was_active == Some(true) {
        SubscribeOutcome::AlreadyActive
    } else {
        SubscribeOutcome::Reactivated
    })
}

pub(super) fn deactivate(conn: &Connection, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
    let changed = conn
        .prepare_cached("UPDATE subscribers SET is_active = 0, updated_at_ms = ?2 WHERE user_id = ?1 AND is_active = 1")?
        .execute(params![user_id, to_ms(now)])?;
    Ok(changed > 0)
}

pub(super) fn get(conn: &Connection, user_id: i64) -> StoreResult<Option<Subscriber>> {
    let sql = format!("SELECT {COLUMNS} FROM subscribers WHERE user_id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([user_id])?;
    rows.next()?.map(from_row).transpose()
}

pub(super) fn list(conn: &Connection, active_only: bool) -> StoreResult<Vec<Subscriber>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM subscribers WHERE (?1 = 0 OR is_active = 1) ORDER BY user_id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([active_only])?, from_row)
}

pub(super) fn migrate_chat(
    conn: &Connection,
    old_chat: i64,
    new_chat: i64,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let moved = conn
        .prepare_cached(
            "UPDATE subscribers SET chat_id = ?2, updated_at_ms = ?3 WHERE chat_id = ?1",
        )?
        .execute(params![old_chat, new_chat, to_ms(now)])?;
    Ok(moved as u64)
}

fn from_row(row: &Row<'_>) -> StoreResult<Subscriber> {
    Ok(Subscriber {
        user_id: row.get(0)?,
        chat_id: row.get(1)?,
        username: row.get(2)?,
        first_name: row.get(3)?,
        last_name: row.get(4)?,
        is_active: row.get(5)?,
        created_at: from_ms("subscribers.created_at_ms", row.get(6)?)?,
        updated_at: from_ms("subscribers.updated_at_ms", row.get(7)?)?,
    })
}
