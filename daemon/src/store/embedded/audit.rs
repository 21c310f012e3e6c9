//! The `audit_log` table: one row per operator action on the control socket.
//!
//! Rows are only ever appended; `AUTOINCREMENT` keeps ids increasing even if an operator
//! prunes old rows by hand, so "newest first" is simply "highest id first".

use rusqlite::{Connection, Row, params};

use super::convert::{collect, from_ms, to_ms, to_u32, to_u64};
use crate::store::{AuditRecord, StoreResult};

const COLUMNS: &str = "id, at_ms, uid, user, pid, client, action, target, error";

pub(super) fn append(conn: &Connection, r: &AuditRecord) -> StoreResult<u64> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at_ms, uid, user, pid, client, action, target, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        to_ms(r.at),
        r.uid,
        r.user,
        r.pid,
        r.client,
        r.action,
        r.target,
        r.error
    ])?;
    to_u64("audit_log.id", conn.last_insert_rowid())
}

pub(super) fn list(conn: &Connection, limit: u32) -> StoreResult<Vec<AuditRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY id DESC LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([limit])?, from_row)
}

fn from_row(row: &Row<'_>) -> StoreResult<AuditRecord> {
    let pid: Option<i64> = row.get("pid")?;
    Ok(AuditRecord {
        id: to_u64("audit_log.id", row.get("id")?)?,
        at: from_ms("audit_log.at_ms", row.get("at_ms")?)?,
        uid: to_u32("audit_log.uid", row.get("uid")?)?,
        user: row.get("user")?,
        pid: pid.map(|p| to_u32("audit_log.pid", p)).transpose()?,
        client: row.get("client")?,
        action: row.get("action")?,
        target: row.get("target")?,
        error: row.get("error")?,
    })
}
