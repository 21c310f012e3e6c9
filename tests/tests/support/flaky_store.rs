//! A real [`EmbeddedStore`] behind a switch: subscriber operations can be made to fail (as a
//! database that went away) or to hang until released (as a slow one).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use supersetd::store::embedded::EmbeddedStore;
use supersetd::store::*;
use supersetd_proto::{JobName, RunId, RunInfo, Trigger};
use tokio::sync::watch;

pub struct FlakyStore {
    inner: EmbeddedStore,
    fail: AtomicBool,
    hold: watch::Sender<bool>,
}

impl FlakyStore {
    pub fn open(path: &std::path::Path) -> Arc<FlakyStore> {
        Arc::new(FlakyStore {
            inner: EmbeddedStore::open(path).unwrap(),
            fail: AtomicBool::new(false),
            hold: watch::channel(false).0,
        })
    }

    pub fn set_failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// While held, subscriber operations wait.
    pub fn set_held(&self, held: bool) {
        self.hold.send_replace(held);
    }

    async fn checkpoint(&self) -> StoreResult<()> {
        let mut held = self.hold.subscribe();
        let _ = held.wait_for(|h| !*h).await;
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable {
                reason: "database is down (test)".into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl Store for FlakyStore {
    fn describe(&self) -> StoreDescription {
        self.inner.describe()
    }
    async fn health(&self) -> StoreResult<()> {
        self.checkpoint().await?;
        self.inner.health().await
    }
    async fn upsert_subscriber(
        &self,
        profile: SubscriberProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<SubscribeOutcome> {
        self.checkpoint().await?;
        self.inner.upsert_subscriber(profile, now).await
    }
    async fn deactivate_subscriber(&self, user_id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        self.checkpoint().await?;
        self.inner.deactivate_subscriber(user_id, now).await
    }
    async fn get_subscriber(&self, user_id: i64) -> StoreResult<Option<Subscriber>> {
        self.checkpoint().await?;
        self.inner.get_subscriber(user_id).await
    }
    async fn list_subscribers(&self, active_only: bool) -> StoreResult<Vec<Subscriber>> {
        self.inner.list_subscribers(active_only).await
    }
    async fn migrate_chat(
        &self,
        old_chat: i64,
        new_chat: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.inner.migrate_chat(old_chat, new_chat, now).await
    }
    async fn count_notices(&self) -> StoreResult<u64> {
        self.inner.count_notices().await
    }
    async fn known_notice_ids(&self) -> StoreResult<HashSet<String>> {
        self.inner.known_notice_ids().await
    }
    async fn known_job_ids(&self) -> StoreResult<HashSet<String>> {
        self.inner.known_job_ids().await
    }
    async fn list_jobs(&self) -> StoreResult<Vec<JobProfile>> {
        self.inner.list_jobs().await
    }
    async fn save_fetch(
        &self,
        notices: Vec<Notice>,
        jobs: Vec<JobProfile>,
    ) -> StoreResult<Vec<String>> {
        self.inner.save_fetch(notices, jobs).await
    }
    async fn get_notice(&self, id: &str) -> StoreResult<Option<Notice>> {
        self.inner.get_notice(id).await
    }
    async fn list_notices(&self, unsent_only: bool, limit: u32) -> StoreResult<Vec<Notice>> {
        self.inner.list_notices(unsent_only, limit).await
    }
    async fn mark_all_sent(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.inner.mark_all_sent(now).await
    }
    async fn unplanned_notices(&self) -> StoreResult<Vec<Notice>> {
        self.inner.unplanned_notices().await
    }
    async fn plan_deliveries(
        &self,
        notice_id: &str,
        recipients: &[Recipient],
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.inner.plan_deliveries(notice_id, recipients, now).await
    }
    async fn due_deliveries(&self, now: DateTime<Utc>) -> StoreResult<Vec<Delivery>> {
        self.inner.due_deliveries(now).await
    }
    async fn next_deferred(&self, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
        self.inner.next_deferred(now).await
    }
    async fn save_delivery(&self, delivery: &Delivery) -> StoreResult<()> {
        self.inner.save_delivery(delivery).await
    }
    async fn deliveries_for_notice(&self, notice_id: &str) -> StoreResult<Vec<Delivery>> {
        self.inner.deliveries_for_notice(notice_id).await
    }
    async fn complete_notices(&self, now: DateTime<Utc>) -> StoreResult<Vec<String>> {
        self.inner.complete_notices(now).await
    }
    async fn get_job_state(&self, job: &str) -> StoreResult<Option<JobState>> {
        self.inner.get_job_state(job).await
    }
    async fn save_job_state(&self, state: &JobState) -> StoreResult<()> {
        self.inner.save_job_state(state).await
    }
    async fn create_run(
        &self,
        job: &JobName,
        trigger: Trigger,
        started_at: DateTime<Utc>,
    ) -> StoreResult<RunId> {
        self.inner.create_run(job, trigger, started_at).await
    }
    async fn save_run(&self, run: &RunInfo) -> StoreResult<()> {
        self.inner.save_run(run).await
    }
    async fn record_run(&self, run: &RunInfo) -> StoreResult<RunId> {
        self.inner.record_run(run).await
    }
    async fn prune_runs(
        &self,
        job: &JobName,
        keep: u32,
        older_than: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.inner.prune_runs(job, keep, older_than).await
    }
    async fn get_run(&self, id: RunId) -> StoreResult<Option<RunInfo>> {
        self.inner.get_run(id).await
    }
    async fn list_runs(&self, job: Option<&JobName>, limit: u32) -> StoreResult<Vec<RunInfo>> {
        self.inner.list_runs(job, limit).await
    }
    async fn running_runs(&self) -> StoreResult<Vec<RunInfo>> {
        self.inner.running_runs().await
    }
    async fn append_audit(&self, record: &supersetd::store::AuditRecord) -> StoreResult<u64> {
        self.inner.append_audit(record).await
    }
    async fn list_audit(&self, limit: u32) -> StoreResult<Vec<supersetd::store::AuditRecord>> {
        self.inner.list_audit(limit).await
    }
}
