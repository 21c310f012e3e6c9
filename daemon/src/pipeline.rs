//! What the jobs do, step by step: plain functions over the store, the sources and the
//! delivery engine.
//!
//! `update` = `superset` (fetch, keep what is new, format it, store it in one transaction)
//! then `deliver` (send what is pending). The steps are independent on purpose: a portal
//! failure fails the run but never stops the delivery of notices already stored (the original
//! skipped sending whenever the fetch broke). A part that is not configured is recorded as a
//! skipped step with the reason, so `supersetctl runs` shows why nothing was fetched.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use supersetd_proto::{JobName, Outcome};
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::deliver::DeliveryEngine;
use crate::format;
use crate::scheduler::{JobRunner, RunRecorder};
use crate::sources::superset::{PortalFetch, SupersetSource};
use crate::store::{JobProfile, Notice, SharedStore, Store, StoreResult};

/// A part of the pipeline, or the reason it is off.
pub type Part<T> = Result<T, String>;

pub struct Pipeline {
    pub store: SharedStore,
    pub clock: SharedClock,
    pub superset: Part<SupersetSource>,
    pub delivery: Part<DeliveryEngine>,
    /// Deliver the portal's history on the first sync of an empty store.
    pub backfill: bool,
}

type Counts = BTreeMap<String, u64>;

/// How one step ended, before it is written into the run.
enum StepEnd {
    Done(Counts),
    Skipped(String),
    Failed(Counts, String),
}

#[async_trait]
impl JobRunner for Pipeline {
    async fn run(
        &self,
        job: &JobName,
        run: &mut RunRecorder,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        match job.0.as_str() {
            DELIVERING_JOB => {
                let fetched = record(run, "superset", self.superset_step(&cancel)).await;
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let delivered = record(run, "deliver", self.deliver_step(&cancel)).await;
                self.follow_up_deferred(run).await;
                fetched.and(delivered)
            }
            "official" => {
                let reason = "the official placement page source is not implemented yet".to_owned();
                record(run, "official", async { StepEnd::Skipped(reason) }).await
            }
            other => Err(format!("no steps are defined for job {other:?}")),
        }
    }
}

/// Run one step and write its result into the run record.
async fn record(
    run: &mut RunRecorder,
    name: &str,
    step: impl std::future::Future<Output = StepEnd>,
) -> Result<(), String> {
    run.begin_step(name).await;
    match step.await {
        StepEnd::Done(counts) => {
            run.end_step(Outcome::Succeeded, counts, None).await;
            Ok(())
        }
        StepEnd::Skipped(reason) => {
            tracing::info!(step = name, reason = %reason, "step skipped");
            run.end_step(Outcome::Skipped, Counts::new(), Some(reason))
                .await;
            Ok(())
        }
        StepEnd::Failed(counts, reason) => {
            tracing::warn!(step = name, error = %reason, "step failed");
            run.end_step(Outcome::Failed, counts, Some(reason.clone()))
                .await;
            Err(format!("{name}: {reason}"))
        }
    }
}

impl Pipeline {
    async fn superset_step(&self, cancel: &CancellationToken) -> StepEnd {
        let source = match &self.superset {
            Ok(s) => s,
            Err(reason) => return StepEnd::Skipped(format!("disabled: {reason}")),
        };
        let (known_notices, known_jobs, first_sync) = match self.known().await {
            Ok(k) => k,
            Err(e) => return StepEnd::Failed(Counts::new(), e),
        };
        let fetched = tokio::select! {
            r = source.fetch(&known_notices, &known_jobs) => r,
            _ = cancel.cancelled() => return StepEnd::Failed(Counts::new(), "cancelled during fetch".into()),
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) => return StepEnd::Failed(Counts::new(), e.to_string()),
        };
        self.store_fetch(fetched, first_sync && !self.backfill)
            .await
    }

    async fn known(&self) -> Result<(HashSet<String>, HashSet<String>, bool), String> {
        let notices = self
            .store
            .known_notice_ids()
            .await
            .map_err(|e| e.to_string())?;
        let jobs = self
            .store
            .known_job_ids()
            .await
            .map_err(|e| e.to_string())?;
        let first_sync = notices.is_empty();
        Ok((notices, jobs, first_sync))
    }

    /// Format the new notices against every job we know and store the lot atomically.
    async fn store_fetch(&self, fetched: PortalFetch, bootstrap: bool) -> StepEnd {
        let PortalFetch {
            mut new_notices,
            new_jobs,
            listed_jobs,
            accounts_ok,
            accounts_failed,
        } = fetched;
        let mut jobs: Vec<JobProfile> = match self.store.list_jobs().await {
            Ok(j) => j,
            Err(e) => return StepEnd::Failed(Counts::new(), e.to_string()),
        };
        let known: HashSet<String> = jobs.iter().chain(&new_jobs).map(|j| j.id.clone()).collect();
        jobs.extend(new_jobs.iter().cloned());
        jobs.extend(listed_jobs.into_iter().filter(|j| !known.contains(&j.id)));
        let now = self.clock.now();
        for notice in &mut new_notices {
            format::format_notice(notice, &jobs);
            if bootstrap {
                mark_delivered(notice, now);
            }
        }
        let mut counts = Counts::from([
            ("accounts_ok".to_owned(), u64::from(accounts_ok)),
            ("accounts_failed".to_owned(), u64::from(accounts_failed)),
            ("jobs_new".to_owned(), new_jobs.len() as u64),
        ]);
        let fetched = new_notices.len() as u64;
        match self.store.save_fetch(new_notices, new_jobs).await {
            Ok(inserted) => {
                let key = if bootstrap {
                    "notices_bootstrapped"
                } else {
                    "notices_new"
                };
                counts.insert(key.to_owned(), inserted.len() as u64);
                if bootstrap && !inserted.is_empty() {
                    tracing::info!(
                        notices = inserted.len(),
                        "first sync: portal history stored as already delivered"
                    );
                }
                tracing::info!(fetched, inserted = inserted.len(), "portal notices stored");
                StepEnd::Done(counts)
            }
            Err(e) => StepEnd::Failed(counts, e.to_string()),
        }
    }

    /// Deliveries a long rate limit pushed back get a run of their own when the wait ends,
    /// instead of waiting for the next hourly tick.
    async fn follow_up_deferred(&self, run: &mut RunRecorder) {
        if let Ok(Some(at)) = self.store.next_deferred(self.clock.now()).await {
            run.follow_up_at(at);
        }
    }

    async fn deliver_step(&self, cancel: &CancellationToken) -> StepEnd {
        let engine = match &self.delivery {
            Ok(e) => e,
            Err(reason) => return StepEnd::Skipped(format!("disabled: {reason}")),
        };
        match engine.deliver_pending(cancel).await {
            Ok(report) => StepEnd::Done(report.counts()),
            Err(e) => StepEnd::Failed(Counts::new(), e.to_string()),
        }
    }
}

/// The job whose steps deliver notices.
pub const DELIVERING_JOB: &str = "update";

/// When to resume deliveries that a previous process left open (killed or stopped in the
/// middle of a broadcast, or between storing notices and planning them): at once, or when a
/// flood wait it recorded ends. `None` when nothing is open. Without this the rest of a
/// broadcast would wait for the next tick, which can be eight hours away at night.
pub async fn unfinished_deliveries(
    store: &dyn Store,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<Option<chrono::DateTime<chrono::Utc>>> {
    if let Some(until) = store.next_deferred(now).await? {
        return Ok(Some(until));
    }
    let open = !store.due_deliveries(now).await?.is_empty()
        || !store.unplanned_notices().await?.is_empty();
    Ok(open.then_some(now))
}

/// A fresh install records the portal's history as delivered instead of flooding students.
fn mark_delivered(notice: &mut Notice, now: chrono::DateTime<chrono::Utc>) {
    notice.sent_to_telegram = true;
    notice.sent_at = Some(now);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::{at, notice};
    use crate::store::embedded::EmbeddedStore;
    use crate::store::{DeliveryStatus, Recipient};

    #[tokio::test]
    async fn open_work_is_resumed_at_once_and_a_flood_wait_when_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(unfinished_deliveries(&store, at(0)).await.unwrap(), None);

        // Stored but never planned: a crash between the two steps.
        store
            .save_fetch(vec![notice("n1", 1)], vec![])
            .await
            .unwrap();
        assert_eq!(
            unfinished_deliveries(&store, at(0)).await.unwrap(),
            Some(at(0))
        );

        let user = Recipient::Subscriber { user_id: 1 };
        store.plan_deliveries("n1", &[user], at(0)).await.unwrap();
        assert_eq!(
            unfinished_deliveries(&store, at(0)).await.unwrap(),
            Some(at(0))
        );

        let mut row = store.due_deliveries(at(0)).await.unwrap().remove(0);
        row.not_before = Some(at(60));
        store.save_delivery(&row).await.unwrap();
        assert_eq!(
            unfinished_deliveries(&store, at(0)).await.unwrap(),
            Some(at(60))
        );

        row.status = DeliveryStatus::Sent;
        row.not_before = None;
        store.save_delivery(&row).await.unwrap();
        store.complete_notices(at(1)).await.unwrap();
        assert_eq!(unfinished_deliveries(&store, at(1)).await.unwrap(), None);
    }
}
