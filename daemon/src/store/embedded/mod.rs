//! The embedded store on SQLite: the default backend, one file, no setup.
//!
//! # Why SQLite, and why these settings
//!
//! The delivery ledger is what makes "each notice to each subscriber exactly once" hold across
//! crashes, so a commit must be on disk before the sender acts on it, and must stay there
//! through `kill -9` and power loss. SQLite gives atomic, durable transactions in one file
//! (the most tested storage engine there is), SQL constraints for our keys and upserts, and
//! a file an operator can inspect with the `sqlite3` CLI (see `shared/notes/stack.md` for the
//! comparison with redb and polodb).
//!
//! - `journal_mode = WAL`: a commit appends to the write-ahead log instead of rewriting pages
//!   in place, so a crash mid-commit leaves the previous state intact (the torn tail of the log
//!   is ignored on recovery), and readers never block the writer.
//! - `synchronous = FULL`: the log is fsynced at every commit. With WAL, `NORMAL` only syncs
//!   at checkpoints, so a power cut can lose the last commits — e.g. a delivery marked `sent`
//!   whose message already went out, which would then be sent again. A few milliseconds per
//!   commit is cheap next to a duplicate message.
//! - `foreign_keys = ON`: a ledger row cannot point at a notice that does not exist.
//! - a busy timeout: another process (the `sqlite3` CLI, a backup) holding a lock makes us
//!   wait a little, then fail with `Unavailable` instead of at once.
//!
//! # Threading
//!
//! rusqlite is blocking, so every operation runs on tokio's blocking pool
//! (`spawn_blocking`) over one `Arc<Mutex<Connection>>`. One connection is enough: SQLite
//! admits a single writer at a time anyway, our load is a few operations per delivered
//! message, and a single connection can never hit `SQLITE_BUSY` against itself. The std
//! `Mutex` is right because it is only held inside the blocking closure, never across an
//! `.await`. Compared with a dedicated thread and a command channel, this needs no message
//! enum per method and no shutdown handshake; the blocking pool is bounded by tokio.
//!
//! Every trait method is exactly one transaction ([`EmbeddedStore::write`] or
//! [`EmbeddedStore::read`]); a closure that fails drops its transaction, which rolls back.

mod audit;
mod convert;
mod ledger;
mod notices;
mod runs;
mod schema;
mod subscribers;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use supersetd_proto::{JobName, RunId, RunInfo, Trigger};

use super::{
    AuditRecord, Delivery, JobProfile, JobState, Notice, Recipient, Store, StoreDescription,
    StoreError, StoreResult, SubscribeOutcome, Subscriber, SubscriberProfile,
};

/// The SQLite-backed [`Store`]. Cheap to share behind an `Arc`.
pub struct EmbeddedStore {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl EmbeddedStore {
    /// Open (or create) the database at `path`, creating its directory owner-only, and bring
    /// the schema up to date.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        create_parent(path)?;
        let mut conn = Connection::open(path).map_err(|e| StoreError::Unavailable {
            reason: format!(
                "cannot open {}: {e}; check the path and its permissions",
                path.display()
            ),
        })?;
        schema::configure(&conn, path)?;
        schema::migrate(&mut conn, path)?;
        Ok(EmbeddedStore {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Run `op` in a write transaction. `IMMEDIATE` takes the write lock up front, so a
    /// read-then-write (upsert, complete) cannot fail half way on a lock upgrade.
    async fn write<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(TransactionBehavior::Immediate, op).await
    }

    /// Run `op` in a read transaction, so multi-statement reads see one snapshot.
    async fn read<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.run(TransactionBehavior::Deferred, op).await
    }

    async fn run<T, F>(&self, behavior: TransactionBehavior, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        let task = tokio::task::spawn_blocking(move || {
            // A panic inside `op` poisons the mutex, but its transaction was rolled back when
            // it unwound, so the connection itself is still sound: keep using it.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let tx = conn.transaction_with_behavior(behavior)?;
            let out = op(&tx)?;
            tx.commit()?;
            Ok(out)
        });
        task.await.map_err(|e| StoreError::Other {
            reason: format!("store operation did not finish: {e}"),
        })?
    }
}

/// The store's directory holds subscriber data: create it readable by the daemon's user only.
/// An existing directory is left as the operator made it.
fn create_parent(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(parent)
        .map_err(|e| StoreError::Unavailable {
            reason: format!(
                "cannot create the store directory {}: {e}",
                parent.display()
            ),
        })
}

#[async_trait]
impl Store for EmbeddedStore {
    fn describe(&self) -> StoreDescription {
        StoreDescription {
            backend: "embedded",
            location: self.path.display().to_string(),
        }
    }

    async fn health(&self) -> StoreResult<()> {
        self.read(|tx| Ok(tx.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }

    async fn upsert_subscriber(
        &self,
        profile: SubscriberProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<SubscribeOutcome> {
        self.write(move |tx| subscribers::upsert(tx, &profile, now))
            .await
    }

    async fn deactivate_subscriber(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        self.write(move |tx| subscribers::deactivate(tx, user_id, now))
            .await
    }

    async fn get_subscriber(&self, user_id: i64) -> StoreResult<Option<Subscriber>> {
        self.read(move |tx| subscribers::get(tx, user_id)).await
    }

    async fn list_subscribers(&self, active_only: bool) -> StoreResult<Vec<Subscriber>> {
        self.read(move |tx| subscribers::list(tx, active_only))
            .await
    }

    async fn migrate_chat(
        &self,
        old_chat: i64,
        new_chat: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.write(move |tx| subscribers::migrate_chat(tx, old_chat, new_chat, now))
            .await
    }

    async fn count_notices(&self) -> StoreResult<u64> {
        self.read(|tx| notices::count(tx)).await
    }

    async fn known_notice_ids(&self) -> StoreResult<HashSet<String>> {
        self.read(|tx| notices::known_notice_ids(tx)).await
    }

    async fn known_job_ids(&self) -> StoreResult<HashSet<String>> {
        self.read(|tx| notices::known_job_ids(tx)).await
    }

    async fn list_jobs(&self) -> StoreResult<Vec<JobProfile>> {
        self.read(|tx| notices::list_jobs(tx)).await
    }

    async fn save_fetch(
        &self,
        notices: Vec<Notice>,
        jobs: Vec<JobProfile>,
    ) -> StoreResult<Vec<String>> {
        self.write(move |tx| notices::save_fetch(tx, &notices, &jobs))
            .await
    }

    async fn get_notice(&self, id: &str) -> StoreResult<Option<Notice>> {
        let id = id.to_owned();
        self.read(move |tx| notices::get(tx, &id)).await
    }

    async fn list_notices(&self, unsent_only: bool, limit: u32) -> StoreResult<Vec<Notice>> {
        self.read(move |tx| notices::list(tx, unsent_only, limit))
            .await
    }

    async fn mark_all_sent(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.write(move |tx| notices::mark_all_sent(tx, now)).await
    }

    async fn unplanned_notices(&self) -> StoreResult<Vec<Notice>> {
        self.read(|tx| ledger::unplanned(tx)).await
    }

    async fn plan_deliveries(
        &self,
        notice_id: &str,
        recipients: &[Recipient],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let (notice_id, recipients) = (notice_id.to_owned(), recipients.to_vec());
        self.write(move |tx| ledger::plan(tx, &notice_id, &recipients, now))
            .await
    }

    async fn due_deliveries(&self, now: DateTime<Utc>) -> StoreResult<Vec<Delivery>> {
        self.read(move |tx| ledger::due(tx, now)).await
    }

    async fn next_deferred(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        self.read(move |tx| ledger::next_deferred(tx, now)).await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        let delivery = delivery.clone();
        self.write(move |tx| ledger::save(tx, &delivery)).await
    }

    async fn deliveries_for_notice(&self, notice_id: &str) -> StoreResult<Vec<Delivery>> {
        let notice_id = notice_id.to_owned();
        self.read(move |tx| ledger::for_notice(tx, &notice_id))
            .await
    }

    async fn complete_notices(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        self.write(move |tx| ledger::complete(tx, now)).await
    }

    async fn get_job_state(&self, job: &str) -> StoreResult<Option<JobState>> {
        let job = job.to_owned();
        self.read(move |tx| runs::get_job_state(tx, &job)).await
    }

    async fn save_job_state(&self, state: &JobState) -> StoreResult<()> {
        let state = state.clone();
        self.write(move |tx| runs::save_job_state(tx, &state)).await
    }

    async fn create_run(
        &self,
        job: &JobName,
        trigger: Trigger,
        started_at: DateTime<Utc>,
    ) -> StoreResult<RunId> {
        let job = job.clone();
        self.write(move |tx| runs::create(tx, &job, trigger, started_at))
            .await
    }

    async fn save_run(&self, run: &RunInfo) -> StoreResult<()> {
        let run = run.clone();
        self.write(move |tx| runs::save(tx, &run)).await
    }

    async fn record_run(&self, run: &RunInfo) -> StoreResult<RunId> {
        let run = run.clone();
        self.write(move |tx| runs::record(tx, &run)).await
    }

    async fn prune_runs(
        &self,
        job: &JobName,
        keep: u32,
        older_than: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let job = job.clone();
        self.write(move |tx| runs::prune(tx, &job, keep, older_than))
            .await
    }

    async fn get_run(&self, id: RunId) -> StoreResult<Option<RunInfo>> {
        self.read(move |tx| runs::get(tx, id)).await
    }

    async fn list_runs(&self, job: Option<&JobName>, limit: u32) -> StoreResult<Vec<RunInfo>> {
        let job = job.cloned();
        self.read(move |tx| runs::list(tx, job.as_ref(), limit))
            .await
    }

    async fn running_runs(&self) -> StoreResult<Vec<RunInfo>> {
        self.read(|tx| runs::running(tx)).await
    }

    async fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        let record = record.clone();
        self.write(move |tx| audit::append(tx, &record)).await
    }

    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        self.read(move |tx| audit::list(tx, limit)).await
    }
}
