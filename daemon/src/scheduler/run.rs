//! One run of a job: what it records while it goes, and how it ends.
//!
//! The record is written to the store when the run starts, after every step and at the end, so
//! `supersetctl runs` shows a live run's finished steps and a run interrupted by a crash is
//! found (still marked running) at the next start.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use supersetd_proto::{JobName, Outcome, RunInfo, StepInfo};
use tokio_util::sync::CancellationToken;

use crate::clock::SharedClock;
use crate::store::SharedStore;

/// What a job does. The pipeline implements it; the scheduler only decides when.
#[async_trait]
pub trait JobRunner: Send + Sync + 'static {
    /// Run `job`'s steps, recording each in `run`. `Err` carries the reason the run failed.
    /// Implementations check `cancel` between units of work and return promptly once it fires.
    async fn run(
        &self,
        job: &JobName,
        run: &mut RunRecorder,
        cancel: CancellationToken,
    ) -> Result<(), String>;
}

/// The live record of a run, saved as it changes.
/// How often, and for how long (an hour), a run's final record is retried.
const FINAL_SAVE_RETRY: std::time::Duration = std::time::Duration::from_secs(2);
const FINAL_SAVE_ATTEMPTS: u32 = 1800;

pub struct RunRecorder {
    info: RunInfo,
    store: SharedStore,
    clock: SharedClock,
    follow_up: Option<DateTime<Utc>>,
}

impl RunRecorder {
    pub fn new(info: RunInfo, store: SharedStore, clock: SharedClock) -> Self {
        RunRecorder {
            info,
            store,
            clock,
            follow_up: None,
        }
    }

    /// Ask for another run of this job at `at`, before its next scheduled tick if earlier:
    /// work was left for later on purpose (a long rate limit), not missed.
    pub fn follow_up_at(&mut self, at: DateTime<Utc>) {
        self.follow_up = Some(self.follow_up.map_or(at, |t| t.min(at)));
    }

    pub fn follow_up(&self) -> Option<DateTime<Utc>> {
        self.follow_up
    }

    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// Record the start of a step.
    pub async fn begin_step(&mut self, name: &str) {
        self.info.steps.push(StepInfo {
            name: name.to_owned(),
            started_at: self.clock.now(),
            ended_at: None,
            outcome: Outcome::Running,
            counts: BTreeMap::new(),
            error: None,
        });
        self.save().await;
    }

    /// Record how the current step ended.
    pub async fn end_step(
        &mut self,
        outcome: Outcome,
        counts: BTreeMap<String, u64>,
        error: Option<String>,
    ) {
        let now = self.clock.now();
        if let Some(step) = self.info.steps.last_mut() {
            step.ended_at = Some(now);
            step.outcome = outcome;
            step.counts = counts;
            step.error = error;
        }
        self.save().await;
    }

    /// Record the end of the run.
    pub async fn finish(&mut self, outcome: Outcome, error: Option<String>) -> RunInfo {
        let now = self.clock.now();
        self.info.ended_at = Some(now);
        self.info.duration_ms = Some((now - self.info.started_at).num_milliseconds().max(0) as u64);
        self.info.outcome = outcome;
        self.info.error = error;
        // A step left running (the run was cancelled or timed out inside it) ends with the run.
        for step in self
            .info
            .steps
            .iter_mut()
            .filter(|s| s.outcome == Outcome::Running)
        {
            step.ended_at = Some(now);
            step.outcome = outcome;
        }
        self.save_final().await;
        self.info.clone()
    }

    /// The end of a run must reach the store even when the store is what failed it (a
    /// database outage): otherwise the record says `running` until the next restart. So a
    /// failed final save is retried in the background until the store answers.
    async fn save_final(&self) {
        if self.store.save_run(&self.info).await.is_ok() {
            return;
        }
        let (store, info) = (self.store.clone(), self.info.clone());
        tracing::warn!(
            run_id = info.id.0,
            "cannot save the end of the run; retrying until the store answers"
        );
        tokio::spawn(async move {
            for _ in 0..FINAL_SAVE_ATTEMPTS {
                tokio::time::sleep(FINAL_SAVE_RETRY).await;
                if store.save_run(&info).await.is_ok() {
                    tracing::info!(run_id = info.id.0, "end of the run saved");
                    return;
                }
            }
            tracing::warn!(
                run_id = info.id.0,
                "gave up saving the end of the run; the next start marks it interrupted"
            );
        });
    }

    async fn save(&self) {
        // A failed save must not fail the run's work; the next save or the final one retries.
        if let Err(e) = self.store.save_run(&self.info).await {
            tracing::warn!(run_id = self.info.id.0, error = %e, "cannot save run record");
        }
    }
}
