//! Connection settings and schema migrations.
//!
//! The schema version lives in SQLite's own header (`PRAGMA user_version`), so it changes in
//! the same transaction as the tables: a crash mid-migration leaves the old version and the
//! old tables, and the next start simply migrates again. Each entry of [`MIGRATIONS`] takes
//! the database from version `i` to `i + 1`; adding version 2 means appending one entry.
//!
//! Tables are `STRICT`, so a value of the wrong type is refused on write instead of being
//! stored and found corrupt later. Times are integer milliseconds (`*_ms`).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::convert::sql_error;
use crate::store::StoreError;

/// How long a statement waits for a lock held by another connection (the `sqlite3` CLI, a
/// backup) before failing with `Unavailable`. The daemon itself uses a single connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const V1: &str = r#"
CREATE TABLE subscribers (
    user_id       INTEGER PRIMARY KEY,
    chat_id       INTEGER NOT NULL,
    username      TEXT,
    first_name    TEXT,
    last_name     TEXT,
    is_active     INTEGER NOT NULL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX subscribers_by_chat ON subscribers (chat_id);

CREATE TABLE notices (
    id                TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    content           TEXT NOT NULL,
    author            TEXT NOT NULL,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    source            TEXT NOT NULL,
    category          TEXT,
    matched_job_id    TEXT,
    job_company       TEXT,
    job_role          TEXT,
    job_location      TEXT,
    package           TEXT,
    package_breakdown TEXT,
    formatted_message TEXT NOT NULL,
    sent_to_telegram  INTEGER NOT NULL,
    planned           INTEGER NOT NULL DEFAULT 0,
    saved_at_ms       INTEGER NOT NULL,
    sent_at_ms        INTEGER
) STRICT;
CREATE INDEX notices_by_created ON notices (created_at_ms, id);
CREATE INDEX notices_unsent ON notices (created_at_ms, id) WHERE sent_to_telegram = 0;

CREATE TABLE jobs (
    id     TEXT PRIMARY KEY,
    record TEXT NOT NULL
) STRICT;

CREATE TABLE deliveries (
    notice_id     TEXT NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    recipient_key TEXT NOT NULL,
    status        TEXT NOT NULL,
    chunks_sent   INTEGER NOT NULL,
    attempts      INTEGER NOT NULL,
    message_ids   TEXT NOT NULL,
    last_error    TEXT,
    not_before_ms INTEGER,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (notice_id, recipient_key)
) STRICT, WITHOUT ROWID;
CREATE INDEX deliveries_open ON deliveries (not_before_ms) WHERE status IN ('pending', 'sending');

CREATE TABLE job_state (
    job           TEXT PRIMARY KEY,
    is_paused     INTEGER NOT NULL,
    last_run      INTEGER,
    last_tick_ms  INTEGER,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job           TEXT NOT NULL,
    trigger       TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms   INTEGER,
    duration_ms   INTEGER,
    outcome       TEXT NOT NULL,
    steps         TEXT NOT NULL,
    error         TEXT
) STRICT;
CREATE INDEX runs_by_job ON runs (job, id DESC);
CREATE INDEX runs_running ON runs (id) WHERE outcome = 'running';
"#;

/// The operator audit log (`supersetctl audit`).
const V2: &str = r#"
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms  INTEGER NOT NULL,
    uid    INTEGER NOT NULL,
    user   TEXT,
    pid    INTEGER,
    client TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    error  TEXT
) STRICT;
"#;

/// `MIGRATIONS[i]` upgrades a database at version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2];

/// The schema version this code writes.
pub(super) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Set the pragmas every connection needs. Fails with `Corrupt` when the file is not a SQLite
/// database: the first pragma is the first read of the header.
pub(super) fn configure(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let at = |e: rusqlite::Error| with_path(path, e);
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))
        .map_err(at)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Unavailable {
            reason: format!(
                "{}: cannot enable WAL journal (got {mode}); put the store on a local file system",
                path.display()
            ),
        });
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(at)?;
    conn.pragma_update(None, "foreign_keys", true).map_err(at)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(at)?;
    Ok(())
}

/// Bring the schema up to [`CURRENT_VERSION`], one transaction per step.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let at = |e: rusqlite::Error| with_path(path, e);
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(at)?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(at)?;
        if version > CURRENT_VERSION {
            return Err(StoreError::Other {
                reason: format!(
                    "{}: schema version {version} is newer than this supersetd understands ({CURRENT_VERSION}); \
                     upgrade supersetd or point the store at another file",
                    path.display()
                ),
            });
        }
        let index = usize::try_from(version).map_err(|_| StoreError::Corrupt {
            reason: format!("{}: negative schema version {version}", path.display()),
        })?;
        let Some(step) = MIGRATIONS.get(index) else {
            return Ok(());
        };
        tx.execute_batch(step).map_err(at)?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(at)?;
        tx.commit().map_err(at)?;
    }
}

/// Errors while opening name the file, so the operator knows which one to look at.
fn with_path(path: &Path, err: rusqlite::Error) -> StoreError {
    let shown = path.display();
    match sql_error(err) {
        StoreError::Corrupt { reason } => StoreError::Corrupt {
            reason: format!(
                "{shown} is not a readable SQLite database ({reason}); move it away or configure another path"
            ),
        },
        StoreError::Unavailable { reason } => StoreError::Unavailable {
            reason: format!("{shown}: {reason}"),
        },
        StoreError::Other { reason } => StoreError::Other {
            reason: format!("{shown}: {reason}"),
        },
        other => other,
    }
}
