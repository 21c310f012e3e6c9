//! The `notices` and `jobs` tables: what the sources found.
//!
//! A notice row carries every `Notice` field as its own column (so the `sqlite3` CLI can read
//! them) plus `planned`, the ledger's mark that its delivery rows exist. Job profiles are only
//! ever read and replaced whole, so they are stored as one JSON document per id.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};

use super::convert::{collect, from_json, from_ms, opt_from_ms, opt_to_ms, to_json, to_ms};
use crate::store::{JobProfile, Notice, StoreResult};

pub(super) const COLUMNS: &str = "id, title, content, author, created_at_ms, updated_at_ms, source, category, \
     matched_job_id, job_company, job_role, job_location, package, package_breakdown, formatted_message, \
     sent_to_telegram, saved_at_ms, sent_at_ms";

/// Upsert the jobs and insert the absent notices. The caller's transaction makes it all or
/// nothing.
pub(super) fn save_fetch(
    conn: &Connection,
    notices: &[Notice],
    jobs: &[JobProfile],
) -> StoreResult<Vec<String>> {
    let mut upsert_job =
        conn.prepare_cached("INSERT INTO jobs (id, record) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET record = excluded.record")?;
    for job in jobs {
        upsert_job.execute(params![job.id, to_json(job)?])?;
    }
    let mut inserted = Vec::new();
    for notice in notices {
        if insert(conn, notice)? {
            inserted.push(notice.id.clone());
        }
    }
    Ok(inserted)
}

/// Insert unless the id exists; true when a row was written.
fn insert(conn: &Connection, n: &Notice) -> StoreResult<bool> {
    let sql = format!(
        "INSERT INTO notices ({COLUMNS}, planned) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, 0)
         ON CONFLICT (id) DO NOTHING"
    );
    let changed = conn.prepare_cached(&sql)?.execute(params![
        n.id,
        n.title,
        n.content,
        n.author,
        n.created_at_ms,
        n.updated_at_ms,
        n.source,
        n.category,
        n.matched_job_id,
        n.job_company,
        n.job_role,
        n.job_location,
        n.package,
        n.package_breakdown,
        n.formatted_message,
        n.sent_to_telegram,
        to_ms(n.saved_at),
        opt_to_ms(n.sent_at),
    ])?;
    Ok(changed > 0)
}

pub(super) fn count(conn: &Connection) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM notices")?
        .query_row([], |row| row.get(0))?;
    Ok(n.unsigned_abs())
}

pub(super) fn known_notice_ids(conn: &Connection) -> StoreResult<HashSet<String>> {
    ids(conn, "SELECT id FROM notices")
}

pub(super) fn known_job_ids(conn: &Connection) -> StoreResult<HashSet<String>> {
    ids(conn, "SELECT id FROM jobs")
}

fn ids(conn: &Connection, sql: &str) -> StoreResult<HashSet<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    Ok(collect(stmt.query([])?, |row| Ok(row.get(0)?))?
        .into_iter()
        .collect())
}

pub(super) fn list_jobs(conn: &Connection) -> StoreResult<Vec<JobProfile>> {
    let mut stmt = conn.prepare_cached("SELECT record FROM jobs ORDER BY id")?;
    collect(stmt.query([])?, |row| {
        from_json("jobs.record", &row.get::<_, String>(0)?)
    })
}

pub(super) fn get(conn: &Connection, id: &str) -> StoreResult<Option<Notice>> {
    let sql = format!("SELECT {COLUMNS} FROM notices WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(from_row).transpose()
}

pub(super) fn list(conn: &Connection, unsent_only: bool, limit: u32) -> StoreResult<Vec<Notice>> {
    let sql = if unsent_only {
        format!(
            "SELECT {COLUMNS} FROM notices WHERE sent_to_telegram = 0 ORDER BY created_at_ms DESC, id DESC LIMIT ?1"
        )
    } else {
        format!("SELECT {COLUMNS} FROM notices ORDER BY created_at_ms DESC, id DESC LIMIT ?1")
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([limit])?, from_row)
}

/// Bootstrap: record everything as delivered. Marked planned too, so the ledger never picks
/// these up.
pub(super) fn mark_all_sent(conn: &Connection, now: DateTime<Utc>) -> StoreResult<u64> {
    let changed = conn
        .prepare_cached("UPDATE notices SET sent_to_telegram = 1, planned = 1, sent_at_ms = ?1 WHERE sent_to_telegram = 0")?
        .execute([to_ms(now)])?;
    Ok(changed as u64)
}

pub(super) fn from_row(row: &Row<'_>) -> StoreResult<Notice> {
    Ok(Notice {
        id: row.get(0)?,
        title: row.get(1)?,
        content: row.get(2)?,
        author: row.get(3)?,
        created_at_ms: row.get(4)?,
        updated_at_ms: row.get(5)?,
        source: row.get(6)?,
        category: row.get(7)?,
        matched_job_id: row.get(8)?,
        job_company: row.get(9)?,
        job_role: row.get(10)?,
        job_location: row.get(11)?,
        package: row.get(12)?,
        package_breakdown: row.get(13)?,
        formatted_message: row.get(14)?,
        sent_to_telegram: row.get(15)?,
        saved_at: from_ms("notices.saved_at_ms", row.get(16)?)?,
        sent_at: opt_from_ms("notices.sent_at_ms", row.get(17)?)?,
    })
}
