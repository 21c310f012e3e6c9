//! The scheduler's collections: `JobRuns` (history; `_id` is the run id), `JobState` (pause
//! flag and last tick; `_id` is the job name) and `Counters` (the run id sequence).
//!
//! Run ids come from a `$inc` on one counter document, atomic on the server, so two daemons
//! never get the same id; like SQLite's `AUTOINCREMENT`, an id is never reused.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use supersetd_proto::{JobName, Outcome, RunId, RunInfo, Trigger};

use super::errors::is_duplicate;
use super::fields::{Fields, date, opt_date, opt_str, to_bson, to_i64, to_u64};
use super::{Db, coll};
use crate::store::{JobState, StoreError, StoreResult};

pub(super) async fn create(
    db: &Db,
    job: &JobName,
    trigger: Trigger,
    started_at: DateTime<Utc>,
) -> StoreResult<RunId> {
    let id = next_id(db, coll::JOB_RUNS).await?;
    let run = doc! {
        "_id": id,
        "job": &job.0,
        "trigger": to_bson(&trigger)?,
        "started_at": date(started_at),
        "ended_at": Bson::Null,
        "duration_ms": Bson::Null,
        "outcome": to_bson(&Outcome::Running)?,
        "steps": Bson::Array(Vec::new()),
        "error": Bson::Null,
    };
    db.coll(coll::JOB_RUNS)
        .insert_one(run)
        .await
        .map_err(|e| db.err(e))?;
    Ok(RunId(to_u64(coll::JOB_RUNS, "_id", id)?))
}

/// The next id of the sequence `name` (a `Counters` document). The first call creates the
/// counter; when two do so at once, the loser's duplicate-key error sends it round again to
/// increment the winner's document.
pub(super) async fn next_id(db: &Db, name: &str) -> StoreResult<i64> {
    for _ in 0..2 {
        let counter = db
            .coll(coll::COUNTERS)
            .find_one_and_update(doc! { "_id": name }, doc! { "$inc": { "seq": 1_i64 } })
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match counter {
            Ok(Some(d)) => return Fields::new(coll::COUNTERS, &d).i64("seq"),
            Ok(None) => {}
            Err(e) if is_duplicate(&e) => {}
            Err(e) => return Err(db.err(e)),
        }
    }
    Err(StoreError::Other {
        reason: format!(
            "cannot allocate an id for {name} (the Counters document did not update); try again"
        ),
    })
}

/// A run that is already over (a missed or skipped tick): a new id, then its record. A crash
/// between the two leaves a `running` record that the next start closes as interrupted.
pub(super) async fn record(db: &Db, run: &RunInfo) -> StoreResult<RunId> {
    let id = create(db, &run.job, run.trigger, run.started_at).await?;
    save(db, &RunInfo { id, ..run.clone() }).await?;
    Ok(id)
}

/// Retention: `job`'s finished runs beyond the newest `keep`, and those started before
/// `older_than`, except the newest finished run. Decided here over the ids and start times,
/// then one `delete_many` (each deletion is atomic; a retry deletes what is left).
pub(super) async fn prune(
    db: &Db,
    job: &JobName,
    keep: u32,
    older_than: DateTime<Utc>,
) -> StoreResult<u64> {
    let running = to_bson(&Outcome::Running)?;
    let docs: Vec<Document> = db
        .coll(coll::JOB_RUNS)
        .find(doc! { "job": &job.0 })
        .sort(doc! { "_id": -1 })
        .projection(doc! { "_id": 1, "started_at": 1, "outcome": 1 })
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    // The newest `keep` count runs in progress too, as in the embedded store.
    let keep = keep.max(1) as usize;
    let mut doomed = Vec::new();
    let mut newest_finished_seen = false;
    for (i, d) in docs.iter().enumerate() {
        if d.get("outcome") == Some(&running) {
            continue;
        }
        if !std::mem::replace(&mut newest_finished_seen, true) {
            continue;
        }
        let f = Fields::new(coll::JOB_RUNS, d);
        let old = f.opt_date("started_at")?.is_some_and(|t| t < older_than);
        if i >= keep || old {
            doomed.push(f.i64("_id")?);
        }
    }
    if doomed.is_empty() {
        return Ok(0);
    }
    let deleted = db
        .coll(coll::JOB_RUNS)
        .delete_many(doc! { "_id": { "$in": doomed } })
        .await
        .map_err(|e| db.err(e))?;
    Ok(deleted.deleted_count)
}

pub(super) async fn save(db: &Db, run: &RunInfo) -> StoreResult<()> {
    let duration = run
        .duration_ms
        .map(|d| to_i64("duration_ms", d))
        .transpose()?;
    let set = doc! {
        "job": &run.job.0,
        "trigger": to_bson(&run.trigger)?,
        "started_at": date(run.started_at),
        "ended_at": opt_date(run.ended_at),
        "duration_ms": duration.map_or(Bson::Null, Bson::Int64),
        "outcome": to_bson(&run.outcome)?,
        "steps": to_bson(&run.steps)?,
        "error": opt_str(&run.error),
    };
    let changed = db
        .coll(coll::JOB_RUNS)
        .update_one(doc! { "_id": run_key(run.id)? }, doc! { "$set": set })
        .await
        .map_err(|e| db.err(e))?;
    if changed.matched_count == 0 {
        return Err(StoreError::NotFound {
            kind: "run",
            id: run.id.to_string(),
        });
    }
    Ok(())
}

fn run_key(id: RunId) -> StoreResult<i64> {
    to_i64("run id", id.0)
}

pub(super) async fn get(db: &Db, id: RunId) -> StoreResult<Option<RunInfo>> {
    let Ok(key) = run_key(id) else {
        return Ok(None);
    };
    let found = db
        .coll(coll::JOB_RUNS)
        .find_one(doc! { "_id": key })
        .await
        .map_err(|e| db.err(e))?;
    found.as_ref().map(from_doc).transpose()
}

pub(super) async fn list(db: &Db, job: Option<&JobName>, limit: u32) -> StoreResult<Vec<RunInfo>> {
    let filter = match job {
        Some(job) => doc! { "job": &job.0 },
        None => doc! {},
    };
    find(db, filter, doc! { "_id": -1 }, Some(limit)).await
}

pub(super) async fn running(db: &Db) -> StoreResult<Vec<RunInfo>> {
    let filter = doc! { "outcome": to_bson(&Outcome::Running)? };
    find(db, filter, doc! { "_id": 1 }, None).await
}

async fn find(
    db: &Db,
    filter: Document,
    sort: Document,
    limit: Option<u32>,
) -> StoreResult<Vec<RunInfo>> {
    let docs: Vec<Document> = db
        .coll(coll::JOB_RUNS)
        .find(filter)
        .sort(sort)
        .limit(limit.map_or(0, i64::from))
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    docs.iter().map(from_doc).collect()
}

fn from_doc(doc: &Document) -> StoreResult<RunInfo> {
    let f = Fields::new(coll::JOB_RUNS, doc);
    Ok(RunInfo {
        id: RunId(to_u64(coll::JOB_RUNS, "_id", f.i64("_id")?)?),
        job: JobName(f.str("job")?),
        trigger: f.serde("trigger")?,
        started_at: f.date_or_epoch("started_at")?,
        ended_at: f.opt_date("ended_at")?,
        duration_ms: f
            .opt_i64("duration_ms")?
            .map(|d| to_u64(coll::JOB_RUNS, "duration_ms", d))
            .transpose()?,
        outcome: f.serde("outcome")?,
        steps: f.serde("steps")?,
        error: f.opt_str("error")?,
    })
}

pub(super) async fn get_job_state(db: &Db, job: &str) -> StoreResult<Option<JobState>> {
    let found = db
        .coll(coll::JOB_STATE)
        .find_one(doc! { "_id": job })
        .await
        .map_err(|e| db.err(e))?;
    found.as_ref().map(job_state_from_doc).transpose()
}

/// One upsert keyed by `_id`; a concurrent first save makes the other's insert a duplicate,
/// which then updates.
pub(super) async fn save_job_state(db: &Db, s: &JobState) -> StoreResult<()> {
    let last_run = s.last_run.map(|r| to_i64("last_run", r)).transpose()?;
    let set = doc! {
        "job": &s.job,
        "is_paused": s.is_paused,
        "last_run": last_run.map_or(Bson::Null, Bson::Int64),
        "last_tick": opt_date(s.last_tick),
        "updated_at": date(s.updated_at),
    };
    let states = db.coll(coll::JOB_STATE);
    let mut result = Ok(());
    for _ in 0..2 {
        match states
            .update_one(doc! { "_id": &s.job }, doc! { "$set": set.clone() })
            .upsert(true)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if is_duplicate(&e) => result = Err(db.err(e)),
            Err(e) => return Err(db.err(e)),
        }
    }
    result
}

fn job_state_from_doc(doc: &Document) -> StoreResult<JobState> {
    let f = Fields::new(coll::JOB_STATE, doc);
    Ok(JobState {
        job: f.str("_id")?,
        is_paused: f.bool_or("is_paused", false)?,
        last_run: f
            .opt_i64("last_run")?
            .map(|r| to_u64(coll::JOB_STATE, "last_run", r))
            .transpose()?,
        last_tick: f.opt_date("last_tick")?,
        updated_at: f.date_or_epoch("updated_at")?,
    })
}
