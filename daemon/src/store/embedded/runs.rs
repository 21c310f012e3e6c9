//! The scheduler's tables: `runs` (history, one row per run, steps as JSON) and `job_state`
//! (pause flag and last tick per job).
//!
//! Run ids come from `AUTOINCREMENT`, which never reuses an id even after rows are deleted,
//! so an id an operator saw once always names the same run.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};
use supersetd_proto::{JobName, Outcome, RunId, RunInfo, Trigger};

use super::convert::{
    collect, enum_from_text, enum_to_text, from_json, from_ms, opt_from_ms, opt_to_ms, to_i64,
    to_json, to_ms, to_u64,
};
use crate::store::{JobState, StoreError, StoreResult};

const COLUMNS: &str =
    "id, job, trigger, started_at_ms, ended_at_ms, duration_ms, outcome, steps, error";

pub(super) fn create(
    conn: &Connection,
    job: &JobName,
    trigger: Trigger,
    started_at: DateTime<Utc>,
) -> StoreResult<RunId> {
    conn.prepare_cached(
        "INSERT INTO runs (job, trigger, started_at_ms, outcome, steps) VALUES (?1, ?2, ?3, ?4, '[]')",
    )?
    .execute(params![job.0, enum_to_text(&trigger)?, to_ms(started_at), enum_to_text(&Outcome::Running)?])?;
    Ok(RunId(to_u64("runs.id", conn.last_insert_rowid())?))
}

pub(super) fn save(conn: &Connection, run: &RunInfo) -> StoreResult<()> {
    let duration = run
        .duration_ms
        .map(|d| to_i64("duration_ms", d))
        .transpose()?;
    let changed = conn
        .prepare_cached(
            "UPDATE runs SET job = ?2, trigger = ?3, started_at_ms = ?4, ended_at_ms = ?5, duration_ms = ?6,
                             outcome = ?7, steps = ?8, error = ?9
             WHERE id = ?1",
        )?
        .execute(params![
            to_i64("run id", run.id.0)?,
            run.job.0,
            enum_to_text(&run.trigger)?,
            to_ms(run.started_at),
            opt_to_ms(run.ended_at),
            duration,
            enum_to_text(&run.outcome)?,
            to_json(&run.steps)?,
            run.error,
        ])?;
    if changed == 0 {
        return Err(StoreError::NotFound {
            kind: "run",
            id: run.id.to_string(),
        });
    }
    Ok(())
}

/// Insert a run that is already over (a tick that did not run) under a new id.
pub(super) fn record(conn: &Connection, run: &RunInfo) -> StoreResult<RunId> {
    let id = create(conn, &run.job, run.trigger, run.started_at)?;
    save(conn, &RunInfo { id, ..run.clone() })?;
    Ok(id)
}

/// Delete `job`'s finished runs beyond the newest `keep`, and those started before
/// `older_than`. A run still going is never deleted, and neither is the newest finished one.
pub(super) fn prune(
    conn: &Connection,
    job: &JobName,
    keep: u32,
    older_than: DateTime<Utc>,
) -> StoreResult<u64> {
    let deleted = conn
        .prepare_cached(
            "DELETE FROM runs WHERE job = ?1 AND outcome != 'running'
               AND id < (SELECT MAX(id) FROM runs WHERE job = ?1 AND outcome != 'running')
               AND (started_at_ms < ?3
                    OR id NOT IN (SELECT id FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2))",
        )?
        .execute(params![job.0, keep.max(1), to_ms(older_than)])?;
    Ok(deleted as u64)
}

pub(super) fn get(conn: &Connection, id: RunId) -> StoreResult<Option<RunInfo>> {
    let Ok(id) = i64::try_from(id.0) else {
        return Ok(None);
    };
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(from_row).transpose()
}

/// Two statements rather than `job = ?1 OR ?1 IS NULL`, so each can walk an index backwards.
pub(super) fn list(
    conn: &Connection,
    job: Option<&JobName>,
    limit: u32,
) -> StoreResult<Vec<RunInfo>> {
    match job {
        Some(job) => {
            let sql =
                format!("SELECT {COLUMNS} FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT ?2");
            let mut stmt = conn.prepare_cached(&sql)?;
            collect(stmt.query(params![job.0, limit])?, from_row)
        }
        None => {
            let sql = format!("SELECT {COLUMNS} FROM runs ORDER BY id DESC LIMIT ?1");
            let mut stmt = conn.prepare_cached(&sql)?;
            collect(stmt.query([limit])?, from_row)
        }
    }
}

pub(super) fn running(conn: &Connection) -> StoreResult<Vec<RunInfo>> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE outcome = 'running' ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    collect(stmt.query([])?, from_row)
}

fn from_row(row: &Row<'_>) -> StoreResult<RunInfo> {
    Ok(RunInfo {
        id: RunId(to_u64("runs.id", row.get(0)?)?),
        job: JobName(row.get(1)?),
        trigger: enum_from_text("runs.trigger", row.get(2)?)?,
        started_at: from_ms("runs.started_at_ms", row.get(3)?)?,
        ended_at: opt_from_ms("runs.ended_at_ms", row.get(4)?)?,
        duration_ms: row
            .get::<_, Option<i64>>(5)?
            .map(|d| to_u64("runs.duration_ms", d))
            .transpose()?,
        outcome: enum_from_text("runs.outcome", row.get(6)?)?,
        steps: from_json("runs.steps", &row.get::<_, String>(7)?)?,
        error: row.get(8)?,
    })
}

pub(super) fn get_job_state(conn: &Connection, job: &str) -> StoreResult<Option<JobState>> {
    let mut stmt =
        conn.prepare_cached("SELECT job, is_paused, last_run, last_tick_ms, updated_at_ms FROM job_state WHERE job = ?1")?;
    let mut rows = stmt.query([job])?;
    rows.next()?.map(job_state_from_row).transpose()
}

pub(super) fn save_job_state(conn: &Connection, s: &JobState) -> StoreResult<()> {
    let last_run = s.last_run.map(|r| to_i64("last_run", r)).transpose()?;
    conn.prepare_cached(
        "INSERT INTO job_state (job, is_paused, last_run, last_tick_ms, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (job) DO UPDATE SET is_paused = excluded.is_paused, last_run = excluded.last_run,
                                         last_tick_ms = excluded.last_tick_ms, updated_at_ms = excluded.updated_at_ms",
    )?
    .execute(params![s.job, s.is_paused, last_run, opt_to_ms(s.last_tick), to_ms(s.updated_at)])?;
    Ok(())
}

fn job_state_from_row(row: &Row<'_>) -> StoreResult<JobState> {
    Ok(JobState {
        job: row.get(0)?,
        is_paused: row.get(1)?,
        last_run: row
            .get::<_, Option<i64>>(2)?
            .map(|r| to_u64("job_state.last_run", r))
            .transpose()?,
        last_tick: opt_from_ms("job_state.last_tick_ms", row.get(3)?)?,
        updated_at: from_ms("job_state.updated_at_ms", row.get(4)?)?,
    })
}
