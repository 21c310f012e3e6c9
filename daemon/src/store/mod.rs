//! Persistence: one trait, [`Store`], with an embedded backend (SQLite, the default) and a
//! MongoDB one (the original system's database, shareable by several daemons).
//!
//! The trait is shaped by what the pipeline needs to be correct, not by either database: every
//! method is one atomic operation, so "insert the new notices of a fetch", "claim a delivery"
//! or "save a job's state" can never be seen half done. Callers hold an `Arc<dyn Store>` and
//! never learn which backend they talk to.

pub mod contract;
pub mod embedded;
pub mod mongo;
mod records;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use supersetd_proto::{JobName, RunId, RunInfo, Trigger};

pub use records::*;

pub type SharedStore = Arc<dyn Store>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is busy; the operation may succeed later.
    #[error("store unavailable: {reason}")]
    Unavailable { reason: String },
    /// What is stored cannot be read back (a row written by something else, a bad column).
    #[error("stored data is unreadable: {reason}")]
    Corrupt { reason: String },
    #[error("no such {kind}: {id}")]
    NotFound { kind: &'static str, id: String },
    #[error("store error: {reason}")]
    Other { reason: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which backend, where, and whether it answers: for `status` and `/ready`.
#[derive(Debug, Clone)]
pub struct StoreDescription {
    pub backend: &'static str,
    /// A path or a URI with any password masked.
    pub location: String,
}

/// Everything the daemon keeps. Each method is atomic.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn describe(&self) -> StoreDescription;

    /// A cheap round trip to the database.
    async fn health(&self) -> StoreResult<()>;

    // ---- subscribers -------------------------------------------------------------------

    /// Insert or reactivate a subscriber and refresh their profile, in one step.
    async fn upsert_subscriber(
        &self,
        profile: SubscriberProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<SubscribeOutcome>;

    /// Mark inactive. Returns whether an active subscriber was changed.
    async fn deactivate_subscriber(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool>;

    async fn get_subscriber(&self, user_id: i64) -> StoreResult<Option<Subscriber>>;

    async fn list_subscribers(&self, active_only: bool) -> StoreResult<Vec<Subscriber>>;

    /// A group became a supergroup: move every subscriber writing to `old_chat` to `new_chat`.
    /// Returns how many were moved.
    async fn migrate_chat(
        &self,
        old_chat: i64,
        new_chat: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    // ---- notices and portal jobs -------------------------------------------------------

    async fn count_notices(&self) -> StoreResult<u64>;

    async fn known_notice_ids(&self) -> StoreResult<HashSet<String>>;

    async fn known_job_ids(&self) -> StoreResult<HashSet<String>>;

    async fn list_jobs(&self) -> StoreResult<Vec<JobProfile>>;

    /// Store the result of one fetch in one transaction: upsert `jobs` by id, insert the
    /// `notices` whose id is not there yet. Returns the ids of the notices actually inserted.
    /// Either everything is written or nothing is.
    async fn save_fetch(
        &self,
        notices: Vec<Notice>,
        jobs: Vec<JobProfile>,
    ) -> StoreResult<Vec<String>>;

    async fn get_notice(&self, id: &str) -> StoreResult<Option<Notice>>;

    /// Notices, newest first; with `unsent_only`, those not yet marked `sent_to_telegram`.
    async fn list_notices(&self, unsent_only: bool, limit: u32) -> StoreResult<Vec<Notice>>;

    /// Mark every notice as delivered without sending (bootstrap). Returns how many changed.
    async fn mark_all_sent(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    // ---- delivery ledger ---------------------------------------------------------------

    /// Unsent notices that have no ledger rows yet, oldest first.
    async fn unplanned_notices(&self) -> StoreResult<Vec<Notice>>;

    /// Create a pending ledger row for each recipient of `notice_id` (existing rows are left
    /// alone) and mark the notice planned, atomically.
    async fn plan_deliveries(
        &self,
        notice_id: &str,
        recipients: &[Recipient],
        now: DateTime<Utc>,
    ) -> StoreResult<u64>;

    /// Ledger rows still to send (pending or in-flight), oldest notice first, excluding rows
    /// whose `not_before` is after `now`.
    async fn due_deliveries(&self, now: DateTime<Utc>) -> StoreResult<Vec<Delivery>>;

    /// The earliest `not_before` after `now` of a row still to send: when deferred work
    /// comes due, and while it is in the future, that a flood wait is on. A `not_before`
    /// already passed is not a deferral any more (the row is simply due).
    async fn next_deferred(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>>;

    /// Write one ledger row back (matched by notice and recipient).
    async fn save_delivery(&self, delivery: &Delivery) -> StoreResult<()>;

    async fn deliveries_for_notice(&self, notice_id: &str) -> StoreResult<Vec<Delivery>>;

    /// Mark as sent every planned notice whose ledger rows have all ended. Returns their ids.
    async fn complete_notices(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>>;

    // ---- scheduler ---------------------------------------------------------------------

    async fn get_job_state(&self, job: &str) -> StoreResult<Option<JobState>>;

    async fn save_job_state(&self, state: &JobState) -> StoreResult<()>;

    /// Allocate a run id and record the run as running.
    async fn create_run(
        &self,
        job: &JobName,
        trigger: Trigger,
        started_at: DateTime<Utc>,
    ) -> StoreResult<RunId>;

    /// Write a run back (steps, outcome, end).
    async fn save_run(&self, run: &RunInfo) -> StoreResult<()>;

    /// Insert a run that is already over (a missed or skipped tick) under a new id, which is
    /// returned; `run.id` is ignored.
    async fn record_run(&self, run: &RunInfo) -> StoreResult<RunId>;

    /// Retention: delete `job`'s finished runs beyond its newest `keep`, and those started
    /// before `older_than`. Runs in progress and the newest finished run are always kept.
    /// Returns how many were deleted.
    async fn prune_runs(
        &self,
        job: &JobName,
        keep: u32,
        older_than: DateTime<Utc>,
    ) -> StoreResult<u64>;

    async fn get_run(&self, id: RunId) -> StoreResult<Option<RunInfo>>;

    /// Newest first.
    async fn list_runs(&self, job: Option<&JobName>, limit: u32) -> StoreResult<Vec<RunInfo>>;

    /// Runs still marked running (the daemon died during them). Called once at start-up.
    async fn running_runs(&self) -> StoreResult<Vec<RunInfo>>;

    // ---- leadership --------------------------------------------------------------------

    /// Take or renew the lease `name` for `holder` (`host:pid`) until `now + ttl`, unless
    /// another holder's lease has not expired. Only the holder runs scheduled jobs and polls
    /// the bot. The default suits a store only one daemon can open (the embedded file, locked
    /// by the pid file): it is always granted.
    async fn acquire_lease(
        &self,
        _name: &str,
        _holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseState> {
        Ok(LeaseState::Held { until: now + ttl })
    }

    /// Give the lease up (a clean stop), so another daemon can take it at once.
    async fn release_lease(&self, _name: &str, _holder: &str) -> StoreResult<()> {
        Ok(())
    }

    /// Append an operator action to the audit log and return its id (increasing). The
    /// record's own `id` is ignored.
    async fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64>;

    /// The newest `limit` audit records, newest first.
    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditRecord>>;
}
