//! The job scheduler: when each job runs, and the guarantee that runs of one job never overlap.
//!
//! Each configured job gets a timer task that sleeps until the job's next crontab tick in the
//! configured zone and then asks for a run. Runs from every trigger (schedule, operator, bot,
//! HTTP) go through [`Scheduler::start_run`], which holds the one lock that decides whether a
//! job is already running, so a `/update` from the bot can never overlap the hourly run.
//! Paused flags live in the store and survive restarts. What a run does is not known here: it
//! is the [`JobRunner`]'s business (the pipeline).

pub mod cron;
mod run;
mod timer;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use supersetd_proto::{ControlError, JobInfo, JobName, Outcome, RunId, RunInfo, Trigger};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

pub use self::cron::{CronError, CronExpr};
pub use run::{JobRunner, RunRecorder};

use crate::clock::SharedClock;
use crate::leader::Leadership;
use crate::store::{JobState, SharedStore};

/// A job as configured.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: JobName,
    pub expr: CronExpr,
    pub tz: Tz,
}

/// How long a run may take before it is cancelled and recorded as timed out.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The scheduler; cheap to clone. Implements [`crate::control::JobControl`].
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: BTreeMap<JobName, JobSpec>,
    store: SharedStore,
    clock: SharedClock,
    runner: Arc<dyn JobRunner>,
    run_timeout: Duration,
    /// The active run of each job. The lock is never held across an await.
    active: Mutex<HashMap<JobName, (RunId, CancellationToken)>>,
    paused: Mutex<HashMap<JobName, bool>>,
    /// Extra runs a finished run asked for (see [`RunRecorder::follow_up_at`]).
    follow_ups: Mutex<HashMap<JobName, chrono::DateTime<Utc>>>,
    /// Bumped whenever a run ends, so waiters re-check without polling.
    run_ended: watch::Sender<u64>,
    /// Wakes the timers when a job is paused or resumed.
    changed: Notify,
    tracker: TaskTracker,
    shutdown: CancellationToken,
    /// Set when several daemons share the store: only the leader starts runs.
    leadership: std::sync::OnceLock<Leadership>,
}

impl Scheduler {
    /// Load state, close runs a crash left open, and start a timer per job.
    pub async fn start(
        specs: Vec<JobSpec>,
        store: SharedStore,
        clock: SharedClock,
        runner: Arc<dyn JobRunner>,
        shutdown: CancellationToken,
    ) -> Scheduler {
        let mut paused = HashMap::new();
        for spec in &specs {
            let state = store.get_job_state(&spec.name.0).await.ok().flatten();
            paused.insert(spec.name.clone(), state.is_some_and(|s| s.is_paused));
        }
        close_interrupted_runs(&store, &clock).await;
        let inner = Arc::new(Inner {
            jobs: specs.into_iter().map(|s| (s.name.clone(), s)).collect(),
            store,
            clock,
            runner,
            run_timeout: DEFAULT_RUN_TIMEOUT,
            active: Mutex::new(HashMap::new()),
            paused: Mutex::new(paused),
            follow_ups: Mutex::new(HashMap::new()),
            run_ended: watch::channel(0).0,
            changed: Notify::new(),
            tracker: TaskTracker::new(),
            shutdown,
            leadership: std::sync::OnceLock::new(),
        });
        let scheduler = Scheduler { inner };
        for name in scheduler.inner.jobs.keys() {
            let (s, name) = (scheduler.clone(), name.clone());
            scheduler
                .inner
                .tracker
                .spawn(async move { timer::run_timer(s, name).await });
        }
        scheduler
    }

    /// Run `job` at `at` if that comes before its next tick (an earlier request wins). For
    /// work that must not wait for the schedule, such as a broadcast a crash cut short.
    pub fn request_follow_up(&self, job: &JobName, at: chrono::DateTime<Utc>) {
        if !self.inner.jobs.contains_key(job) {
            return;
        }
        lock(&self.inner.follow_ups)
            .entry(job.clone())
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
        self.inner.changed.notify_waiters();
    }

    /// Start runs only while `leadership` says this daemon leads. Without it (one daemon on
    /// its own store) every run starts.
    pub fn follow_leadership(&self, leadership: Leadership) {
        let _ = self.inner.leadership.set(leadership);
    }

    /// Why this daemon must not start runs now: another one leads.
    fn standby(&self) -> Option<String> {
        self.inner
            .leadership
            .get()?
            .role()
            .reason()
            .map(str::to_owned)
    }

    /// Wait (at most `drain`) for timers and runs to finish after shutdown was requested.
    pub async fn drain(&self, drain: Duration) -> bool {
        self.inner.tracker.close();
        tokio::time::timeout(drain, self.inner.tracker.wait())
            .await
            .is_ok()
    }

    fn spec(&self, job: &JobName) -> Result<&JobSpec, ControlError> {
        self.inner
            .jobs
            .get(job)
            .ok_or_else(|| ControlError::NotFound {
                kind: "job".into(),
                name: job.0.clone(),
            })
    }

    fn is_paused(&self, job: &JobName) -> bool {
        lock(&self.inner.paused).get(job).copied().unwrap_or(false)
    }

    fn active_run(&self, job: &JobName) -> Option<RunId> {
        lock(&self.inner.active).get(job).map(|(id, _)| *id)
    }

    /// Start a run of `job` unless one is active. Returns the new run's id.
    pub async fn start_run(&self, job: &JobName, trigger: Trigger) -> Result<RunId, ControlError> {
        self.spec(job)?;
        if let Some(why) = self.standby() {
            // Runs on two daemons at once would deliver twice; the leader runs them.
            return Err(ControlError::Unavailable {
                service: "scheduler".into(),
                reason: format!("{why}; start runs there"),
            });
        }
        if self.inner.shutdown.is_cancelled() {
            return Err(ControlError::Unavailable {
                service: "scheduler".into(),
                reason: "shutting down".into(),
            });
        }
        if let Some(id) = self.active_run(job) {
            return Err(ControlError::Conflict {
                reason: format!("job {job} is already running (run {id})"),
            });
        }
        let started = self.inner.clock.now();
        let id = self
            .inner
            .store
            .create_run(job, trigger, started)
            .await
            .map_err(|e| ControlError::Unavailable {
                service: "store".into(),
                reason: e.to_string(),
            })?;
        let cancel = self.inner.shutdown.child_token();
        let conflict = {
            let mut active = lock(&self.inner.active);
            // Two triggers may both have passed the check above; the loser records a skip.
            match active.get(job) {
                Some((other, _)) => Some(format!("job {job} is already running (run {other})")),
                None => {
                    active.insert(job.clone(), (id, cancel.clone()));
                    None
                }
            }
        };
        if let Some(reason) = conflict {
            self.record_conflict(id, job, trigger, started, &reason)
                .await;
            return Err(ControlError::Conflict { reason });
        }
        let info = RunInfo {
            id,
            job: job.clone(),
            trigger,
            started_at: started,
            ended_at: None,
            duration_ms: None,
            outcome: Outcome::Running,
            steps: vec![],
            error: None,
        };
        let span = tracing::info_span!("run", job = %job, run_id = id.0, trigger = %trigger);
        let this = self.clone();
        self.inner
            .tracker
            .spawn(async move { this.execute(info, cancel).await }.instrument(span));
        Ok(id)
    }

    async fn record_conflict(
        &self,
        id: RunId,
        job: &JobName,
        trigger: Trigger,
        at: chrono::DateTime<Utc>,
        reason: &str,
    ) {
        let info = RunInfo {
            id,
            job: job.clone(),
            trigger,
            started_at: at,
            ended_at: Some(at),
            duration_ms: Some(0),
            outcome: Outcome::Skipped,
            steps: vec![],
            error: Some(reason.to_owned()),
        };
        if let Err(e) = self.inner.store.save_run(&info).await {
            tracing::warn!(error = %e, "cannot record skipped run");
        }
    }

    async fn execute(self, info: RunInfo, cancel: CancellationToken) {
        let job = info.job.clone();
        let mut rec = RunRecorder::new(info, self.inner.store.clone(), self.inner.clock.clone());
        tracing::info!("run started");
        let work = self.inner.runner.run(&job, &mut rec, cancel.clone());
        let result = tokio::time::timeout(self.inner.run_timeout, work).await;
        let (outcome, error) = match result {
            Err(_) => {
                cancel.cancel();
                (
                    Outcome::TimedOut,
                    Some(format!(
                        "run exceeded its {} s timeout",
                        self.inner.run_timeout.as_secs()
                    )),
                )
            }
            Ok(_) if cancel.is_cancelled() => {
                let why = if self.inner.shutdown.is_cancelled() {
                    "daemon shutting down"
                } else {
                    "cancelled by operator"
                };
                (Outcome::Cancelled, Some(why.to_owned()))
            }
            Ok(Ok(())) => (Outcome::Succeeded, None),
            Ok(Err(reason)) => (Outcome::Failed, Some(reason)),
        };
        let follow_up = rec.follow_up();
        let info = rec.finish(outcome, error).await;
        if let Some(at) = follow_up {
            tracing::info!(at = %at, "follow-up run requested");
            lock(&self.inner.follow_ups).insert(job.clone(), at);
            self.inner.changed.notify_waiters();
        }
        match outcome {
            Outcome::Succeeded => tracing::info!(duration_ms = info.duration_ms, "run succeeded"),
            _ => {
                tracing::warn!(outcome = %outcome, error = info.error.as_deref().unwrap_or(""), "run did not succeed")
            }
        }
        let mut state = self.job_state(&job).await;
        state.last_run = Some(info.id.0);
        self.save_state(state).await;
        lock(&self.inner.active).remove(&job);
        self.inner.run_ended.send_modify(|n| *n += 1);
    }

    async fn job_state(&self, job: &JobName) -> JobState {
        let stored = self.inner.store.get_job_state(&job.0).await.ok().flatten();
        stored.unwrap_or_else(|| JobState {
            job: job.0.clone(),
            is_paused: self.is_paused(job),
            last_run: None,
            last_tick: None,
            updated_at: self.inner.clock.now(),
        })
    }

    async fn save_state(&self, mut state: JobState) {
        state.updated_at = self.inner.clock.now();
        if let Err(e) = self.inner.store.save_job_state(&state).await {
            tracing::warn!(job = %state.job, error = %e, "cannot save job state");
        }
    }

    async fn set_paused(&self, job: &JobName, paused: bool) -> Result<JobInfo, ControlError> {
        self.spec(job)?;
        let mut state = self.job_state(job).await;
        state.is_paused = paused;
        let saved = self
            .inner
            .store
            .save_job_state(&JobState {
                updated_at: self.inner.clock.now(),
                ..state
            })
            .await;
        saved.map_err(|e| ControlError::Unavailable {
            service: "store".into(),
            reason: e.to_string(),
        })?;
        lock(&self.inner.paused).insert(job.clone(), paused);
        self.inner.changed.notify_waiters();
        tracing::info!(job = %job, paused, "job pause state changed");
        self.job_info(job).await
    }

    async fn job_info(&self, job: &JobName) -> Result<JobInfo, ControlError> {
        let spec = self.spec(job)?;
        let is_paused = self.is_paused(job);
        let now = self.inner.clock.now().with_timezone(&spec.tz);
        let next_run = if is_paused {
            None
        } else {
            spec.expr.next_after(&now).map(|t| t.with_timezone(&Utc))
        };
        let last_run = self
            .inner
            .store
            .list_runs(Some(job), 1)
            .await
            .ok()
            .and_then(|mut v| v.pop());
        Ok(JobInfo {
            name: job.clone(),
            schedule: spec.expr.as_str().to_owned(),
            timezone: spec.tz.name().to_owned(),
            is_paused,
            next_run,
            last_run,
            active_run: self.active_run(job),
        })
    }
}

/// Runs still marked running belong to a previous process that died: close them honestly.
async fn close_interrupted_runs(store: &SharedStore, clock: &SharedClock) {
    let Ok(runs) = store.running_runs().await else {
        return;
    };
    for mut run in runs {
        let now = clock.now();
        run.outcome = Outcome::Failed;
        run.ended_at = Some(now);
        run.duration_ms = Some((now - run.started_at).num_milliseconds().max(0) as u64);
        run.error = Some("the daemon stopped during this run".into());
        for step in run
            .steps
            .iter_mut()
            .filter(|s| s.outcome == Outcome::Running)
        {
            step.outcome = Outcome::Failed;
            step.ended_at = Some(now);
        }
        tracing::warn!(run_id = run.id.0, job = %run.job, "closing run interrupted by a previous stop");
        if let Err(e) = store.save_run(&run).await {
            tracing::warn!(run_id = run.id.0, error = %e, "cannot close interrupted run");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

mod control;

#[cfg(test)]
mod tests;
