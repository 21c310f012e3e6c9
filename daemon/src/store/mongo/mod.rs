//! The MongoDB store: the original system's database, shared with its website, and with other
//! `supersetd` processes.
//!
//! # Layout
//!
//! Database `SupersetPlacement` (configurable) with the collections and field names of the
//! original (reference section 9): `Users`, `Notices`, `Jobs`; and the port's own `Deliveries`,
//! `JobRuns`, `JobState`, `Counters`, `Leases` and `AuditLog`. One file per record family
//! ([`subscribers`], [`notices`], [`ledger`], [`runs`], [`lease`], [`audit`]); a new trait method goes in
//! the file of its family plus one line in the `impl Store` below.
//!
//! # Atomicity without transactions
//!
//! Multi-document transactions need a replica set, and wire-compatible test servers do not
//! have them, so no operation here uses one. Each trait method is instead a sequence of single
//! document writes, each atomic on its own, ordered so that a crash or a lost connection at any
//! point leaves a state that the same call, repeated, finishes ("converges"):
//!
//! - `save_fetch` upserts the jobs, then inserts each absent notice. A retry skips what exists.
//! - `plan_deliveries` inserts the ledger rows (a unique key per notice and recipient refuses
//!   repeats), and only then marks the notice planned; a notice whose marking was lost is
//!   simply planned again, adding nothing.
//! - `complete_notices` marks each finished notice sent on its own.
//!
//! A duplicate-key error (11000) from a concurrent writer means "already there", never a
//! failure. Inserts are plain inserts guarded by unique indexes (not `$setOnInsert` upserts,
//! which some compatible servers ignore).
//!
//! # Outages
//!
//! Opening never touches the network, so a database that is down at start does not stop the
//! daemon: indexes are created by the first operation that reaches the server. Every operation
//! has a deadline ([`MongoSettings::operation_timeout`]) and fails with `Unavailable` when the
//! server does not answer in time; the driver reconnects by itself when it returns.

mod audit;
mod errors;
mod fields;
mod indexes;
mod lease;
mod ledger;
mod notices;
mod runs;
mod subscribers;

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{Document, doc};
use mongodb::options::ClientOptions;
use mongodb::{Client, Collection, Database};
use supersetd_proto::{JobName, RunId, RunInfo, Trigger};
use tokio::sync::OnceCell;

use self::errors::ErrorMapper;
use super::{
    AuditRecord, Delivery, JobProfile, JobState, LeaseState, Notice, Recipient, Store,
    StoreDescription, StoreError, StoreResult, SubscribeOutcome, Subscriber, SubscriberProfile,
};
use crate::secret::Secret;

/// Collection names, as the original system and the website know them.
pub(super) mod coll {
    pub const USERS: &str = "Users";
    pub const NOTICES: &str = "Notices";
    pub const JOBS: &str = "Jobs";
    pub const DELIVERIES: &str = "Deliveries";
    pub const JOB_RUNS: &str = "JobRuns";
    pub const JOB_STATE: &str = "JobState";
    pub const COUNTERS: &str = "Counters";
    pub const LEASES: &str = "Leases";
    pub const AUDIT_LOG: &str = "AuditLog";
}

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct MongoSettings {
    pub uri: Secret,
    pub database: String,
    /// How long an operation waits for a reachable server.
    pub server_selection_timeout: Duration,
    /// The longest one store operation may take, every round trip included.
    pub operation_timeout: Duration,
}

/// A database handle plus the error mapping every record file uses.
#[derive(Clone)]
pub(super) struct Db {
    db: Database,
    errors: ErrorMapper,
}

impl Db {
    pub(super) fn coll(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    pub(super) fn err(&self, e: mongodb::error::Error) -> StoreError {
        self.errors.map(&e)
    }
}

/// The MongoDB-backed [`Store`]. Cheap to share behind an `Arc`.
pub struct MongoStore {
    db: Db,
    location: String,
    operation_timeout: Duration,
    /// Set once the indexes exist (or were reported impossible); retried until then.
    prepared: OnceCell<()>,
}

impl MongoStore {
    /// Parse the connection string and create the client. Does not connect: a server that is
    /// down now is reported by the first operation, not here.
    pub async fn open(settings: &MongoSettings) -> StoreResult<MongoStore> {
        let uri = settings.uri.expose();
        let errors = ErrorMapper::new(errors::password_of(uri));
        let location = format!("{} (database {})", errors::mask_uri(uri), settings.database);
        let mut options = ClientOptions::parse(uri).await.map_err(|e| StoreError::Other {
            reason: format!(
                "invalid MongoDB connection string {}: {}; fix store.mongodb_uri or MONGO_CONNECTION_STR",
                errors::mask_uri(uri),
                errors.clean(&e.to_string())
            ),
        })?;
        options.server_selection_timeout = Some(settings.server_selection_timeout);
        options.connect_timeout = Some(settings.server_selection_timeout);
        options
            .app_name
            .get_or_insert_with(|| "supersetd".to_owned());
        let client = Client::with_options(options).map_err(|e| StoreError::Other {
            reason: errors.clean(&e.to_string()),
        })?;
        Ok(MongoStore {
            db: Db {
                db: client.database(&settings.database),
                errors,
            },
            location,
            operation_timeout: settings.operation_timeout,
            prepared: OnceCell::new(),
        })
    }

    /// What the server says it is (`buildInfo`): for logs and test reports.
    pub async fn server_version(&self) -> StoreResult<String> {
        self.run(async {
            let info = self
                .db
                .db
                .run_command(doc! { "buildInfo": 1 })
                .await
                .map_err(|e| self.db.err(e))?;
            let version = info.get_str("version").unwrap_or("unknown");
            Ok(match info.get_str("process") {
                Ok(process) => format!("{process} (reports MongoDB {version})"),
                Err(_) => format!("MongoDB {version}"),
            })
        })
        .await
    }

    /// Create the indexes once, on the first operation that reaches the server.
    async fn prepare(&self) -> StoreResult<()> {
        self.prepared
            .get_or_try_init(|| indexes::ensure(&self.db))
            .await
            .map(|_| ())
    }

    /// One store operation: indexes first, then `op`, all within the operation deadline.
    async fn run<T>(&self, op: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let work = async {
            self.prepare().await?;
            op.await
        };
        match tokio::time::timeout(self.operation_timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Unavailable {
                reason: format!(
                    "MongoDB did not answer within {} s; check that the server is up \
                     (store.operation_timeout_secs sets this limit)",
                    self.operation_timeout.as_secs()
                ),
            }),
        }
    }
}

#[async_trait]
impl Store for MongoStore {
    fn describe(&self) -> StoreDescription {
        StoreDescription {
            backend: "mongodb",
            location: self.location.clone(),
        }
    }

    async fn health(&self) -> StoreResult<()> {
        self.run(async {
            self.db
                .db
                .run_command(doc! { "ping": 1 })
                .await
                .map_err(|e| self.db.err(e))?;
            Ok(())
        })
        .await
    }

    async fn upsert_subscriber(
        &self,
        profile: SubscriberProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<SubscribeOutcome> {
        self.run(subscribers::upsert(&self.db, &profile, now)).await
    }

    async fn deactivate_subscriber(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        self.run(subscribers::deactivate(&self.db, user_id, now))
            .await
    }

    async fn get_subscriber(&self, user_id: i64) -> StoreResult<Option<Subscriber>> {
        self.run(subscribers::get(&self.db, user_id)).await
    }

    async fn list_subscribers(&self, active_only: bool) -> StoreResult<Vec<Subscriber>> {
        self.run(subscribers::list(&self.db, active_only)).await
    }

    async fn migrate_chat(
        &self,
        old_chat: i64,
        new_chat: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.run(subscribers::migrate_chat(&self.db, old_chat, new_chat, now))
            .await
    }

    async fn count_notices(&self) -> StoreResult<u64> {
        self.run(notices::count(&self.db)).await
    }

    async fn known_notice_ids(&self) -> StoreResult<HashSet<String>> {
        self.run(notices::ids(&self.db, coll::NOTICES)).await
    }

    async fn known_job_ids(&self) -> StoreResult<HashSet<String>> {
        self.run(notices::ids(&self.db, coll::JOBS)).await
    }

    async fn list_jobs(&self) -> StoreResult<Vec<JobProfile>> {
        self.run(notices::list_jobs(&self.db)).await
    }

    async fn save_fetch(
        &self,
        notices: Vec<Notice>,
        jobs: Vec<JobProfile>,
    ) -> StoreResult<Vec<String>> {
        self.run(notices::save_fetch(&self.db, &notices, &jobs))
            .await
    }

    async fn get_notice(&self, id: &str) -> StoreResult<Option<Notice>> {
        self.run(notices::get(&self.db, id)).await
    }

    async fn list_notices(&self, unsent_only: bool, limit: u32) -> StoreResult<Vec<Notice>> {
        self.run(notices::list(&self.db, unsent_only, limit)).await
    }

    async fn mark_all_sent(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.run(notices::mark_all_sent(&self.db, now)).await
    }

    async fn unplanned_notices(&self) -> StoreResult<Vec<Notice>> {
        self.run(ledger::unplanned(&self.db)).await
    }

    async fn plan_deliveries(
        &self,
        notice_id: &str,
        recipients: &[Recipient],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.run(ledger::plan(&self.db, notice_id, recipients, now))
            .await
    }

    async fn due_deliveries(&self, now: DateTime<Utc>) -> StoreResult<Vec<Delivery>> {
        self.run(ledger::due(&self.db, now)).await
    }

    async fn next_deferred(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        self.run(ledger::next_deferred(&self.db, now)).await
    }

    async fn save_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        self.run(ledger::save(&self.db, delivery)).await
    }

    async fn deliveries_for_notice(&self, notice_id: &str) -> StoreResult<Vec<Delivery>> {
        self.run(ledger::for_notice(&self.db, notice_id)).await
    }

    async fn complete_notices(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        self.run(ledger::complete(&self.db, now)).await
    }

    async fn get_job_state(&self, job: &str) -> StoreResult<Option<JobState>> {
        self.run(runs::get_job_state(&self.db, job)).await
    }

    async fn save_job_state(&self, state: &JobState) -> StoreResult<()> {
        self.run(runs::save_job_state(&self.db, state)).await
    }

    async fn create_run(
        &self,
        job: &JobName,
        trigger: Trigger,
        started_at: DateTime<Utc>,
    ) -> StoreResult<RunId> {
        self.run(runs::create(&self.db, job, trigger, started_at))
            .await
    }

    async fn save_run(&self, run: &RunInfo) -> StoreResult<()> {
        self.run(runs::save(&self.db, run)).await
    }

    async fn record_run(&self, run: &RunInfo) -> StoreResult<RunId> {
        self.run(runs::record(&self.db, run)).await
    }

    async fn prune_runs(
        &self,
        job: &JobName,
        keep: u32,
        older_than: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.run(runs::prune(&self.db, job, keep, older_than)).await
    }

    async fn get_run(&self, id: RunId) -> StoreResult<Option<RunInfo>> {
        self.run(runs::get(&self.db, id)).await
    }

    async fn list_runs(&self, job: Option<&JobName>, limit: u32) -> StoreResult<Vec<RunInfo>> {
        self.run(runs::list(&self.db, job, limit)).await
    }

    async fn running_runs(&self) -> StoreResult<Vec<RunInfo>> {
        self.run(runs::running(&self.db)).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<LeaseState> {
        self.run(lease::acquire(&self.db, name, holder, ttl, now))
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.run(lease::release(&self.db, name, holder)).await
    }

    async fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64> {
        self.run(audit::append(&self.db, record)).await
    }

    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<AuditRecord>> {
        self.run(audit::list(&self.db, limit)).await
    }
}
