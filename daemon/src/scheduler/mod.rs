//! The job scheduler: when each job runs, and the guarantee that runs of one job never overlap.
//!
//! Each configured job gets a timer task that sleeps until the job's next crontab tick in the
//! job's zone and then decides, through the misfire policy, what the ticks that came due
//! become: runs, or records of ticks that did not run and why. Runs from every trigger
//! (schedule, catch-up, operator, bot, HTTP) go through [`Scheduler::start_run`], which holds
//! the one lock that decides whether a job is already running, so a `/update` from the bot can
//! never overlap the hourly run. Paused flags and the last handled tick live in the store, so
//! a restart neither forgets a pause nor runs a tick twice. What a run does is not known here:
//! it is the [`JobRunner`]'s business (the pipeline).

pub mod cron;
pub mod misfire;
mod run;
mod timer;

use std::collections::{BTreeMap, HashMap, HashSet};
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
pub use misfire::MisfirePolicy;
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
    pub misfire: MisfirePolicy,
    /// A tick this late or less still runs as scheduled.
    pub grace: chrono::Duration,
    pub catch_up_limit: u32,
    /// A run is cancelled and recorded as timed out after this long.
    pub timeout: Duration,
    /// Run records kept: the newest `keep_runs`, none older than `keep_for`.
    pub keep_runs: u32,
    pub keep_for: chrono::Duration,
}

impl JobSpec {
    /// A job with the default policy: run-once, 5 min grace, 30 min timeout.
    pub fn new(name: JobName, expr: CronExpr, tz: Tz) -> JobSpec {
        JobSpec {
            name,
            expr,
            tz,
            misfire: MisfirePolicy::default(),
            grace: chrono::Duration::minutes(5),
            catch_up_limit: 24,
            timeout: DEFAULT_RUN_TIMEOUT,
            keep_runs: 1000,
            keep_for: chrono::Duration::days(90),
        }
    }
}

/// How long a run may take before it is cancelled and recorded as timed out.
pub const DEFAULT_RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How long a cancelled run may take to stop by itself before it is abandoned.
pub const CANCEL_BOUND: Duration = Duration::from_secs(30);

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
    /// The active run of each job. The lock is never held across an await.
    active: Mutex<HashMap<JobName, (RunId, CancellationToken)>>,
    paused: Mutex<HashMap<JobName, bool>>,
    /// Extra runs a finished run asked for (see [`RunRecorder::follow_up_at`]).
    follow_ups: Mutex<HashMap<JobName, chrono::DateTime<Utc>>>,
    /// Bumped whenever a run ends, so waiters re-check without polling.
    run_ended: watch::Sender<u64>,
    /// Times a timer woke from a sleep: the scheduler's idle cost, for benchmarks.
    wakeups: std::sync::atomic::AtomicU64,
    /// Serialises read-modify-writes of stored job state.
    state_lock: tokio::sync::Mutex<()>,
    /// Wakes the timers when a job is paused or resumed.
    changed: Notify,
    /// True while an operator has the scheduler stopped: timers fire nothing (see
    /// [`Scheduler::hold`]).
    held: watch::Sender<bool>,
    /// When the scheduler was last started again after a stop, to tell ticks missed while
    /// stopped from ticks missed by waking late.
    released_at: Mutex<Option<chrono::DateTime<Utc>>>,
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
        Self::start_following(specs, store, clock, runner, shutdown, None).await
    }

    /// [`Scheduler::start`] for a daemon that may share its store with others: runs start only
    /// while `leadership` says this daemon leads, and runs left open are closed when it comes
    /// to lead ([`Scheduler::close_interrupted`]), not at start, where they may be the
    /// leader's runs in progress.
    pub async fn start_following(
        specs: Vec<JobSpec>,
        store: SharedStore,
        clock: SharedClock,
        runner: Arc<dyn JobRunner>,
        shutdown: CancellationToken,
        leadership: Option<Leadership>,
    ) -> Scheduler {
        let mut paused = HashMap::new();
        for spec in &specs {
            let state = store.get_job_state(&spec.name.0).await.ok().flatten();
            paused.insert(spec.name.clone(), state.is_some_and(|s| s.is_paused));
        }
        if !leadership.as_ref().is_some_and(Leadership::is_shared) {
            close_interrupted_runs(&store, &clock, &HashSet::new()).await;
        }
        let inner = Arc::new(Inner {
            jobs: specs.into_iter().map(|s| (s.name.clone(), s)).collect(),
            store,
            clock,
            runner,
            active: Mutex::new(HashMap::new()),
            paused: Mutex::new(paused),
            follow_ups: Mutex::new(HashMap::new()),
            run_ended: watch::channel(0).0,
            state_lock: tokio::sync::Mutex::new(()),
            wakeups: std::sync::atomic::AtomicU64::new(0),
            changed: Notify::new(),
            held: watch::channel(false).0,
            released_at: Mutex::new(None),
            tracker: TaskTracker::new(),
            shutdown,
            leadership: std::sync::OnceLock::new(),
        });
        if let Some(l) = leadership {
            let _ = inner.leadership.set(l);
        }
        let scheduler = Scheduler { inner };
        // Ticks up to this instant passed while no daemon ran; the timers count from here.
        let started = scheduler.inner.clock.now();
        for name in scheduler.inner.jobs.keys() {
            let (s, name) = (scheduler.clone(), name.clone());
            scheduler
                .inner
                .tracker
                .spawn(async move { timer::run_timer(s, name, started).await });
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

    /// Close the runs still marked running that are not this daemon's: a daemon that comes to
    /// lead a shared store finishes the records of the leader before it.
    pub async fn close_interrupted(&self) {
        let mine: HashSet<RunId> = lock(&self.inner.active)
            .values()
            .map(|(id, _)| *id)
            .collect();
        close_interrupted_runs(&self.inner.store, &self.inner.clock, &mine).await;
    }

    /// Ask every run in progress to stop (this daemon stopped leading: the new leader will
    /// start its own runs, and two at once could deliver twice).
    pub fn cancel_active(&self) {
        for (job, (id, token)) in lock(&self.inner.active).iter() {
            tracing::warn!(job = %job, run_id = id.0, "cancelling the run: this daemon no longer leads");
            token.cancel();
        }
    }

    /// Whether other daemons may share the store (so the stored job state is theirs too).
    fn shares_store(&self) -> bool {
        self.inner
            .leadership
            .get()
            .is_some_and(Leadership::is_shared)
    }

    /// Why this daemon must not start runs now: another one leads.
    pub(crate) fn standby(&self) -> Option<String> {
        self.inner
            .leadership
            .get()?
            .role()
            .reason()
            .map(str::to_owned)
    }

    /// How many times the timers woke from a sleep since start. An idle scheduler wakes only
    /// when a tick is due (or the wall clock was stepped).
    pub fn timer_wakeups(&self) -> u64 {
        self.inner
            .wakeups
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stop (`true`) or start again (`false`) firing scheduled ticks, for `supersetctl service
    /// stop scheduler`. Runs asked for by an operator, the bot or HTTP still start, and a run in
    /// progress is not touched. Timers keep their cursors, so the ticks that fell due while
    /// stopped go through each job's misfire policy on start, as after downtime.
    pub fn hold(&self, held: bool) {
        let was = self.inner.held.send_replace(held);
        if was && !held {
            *lock(&self.inner.released_at) = Some(self.inner.clock.now());
        }
        if was != held {
            tracing::info!(held, "scheduler hold changed");
        }
        self.inner.changed.notify_waiters();
    }

    pub fn is_held(&self) -> bool {
        *self.inner.held.borrow()
    }

    /// Wait while the scheduler is held; false on shutdown.
    async fn wait_while_held(&self) -> bool {
        let mut held = self.inner.held.subscribe();
        tokio::select! {
            _ = self.inner.shutdown.cancelled() => false,
            released = held.wait_for(|h| !*h) => released.is_ok(),
        }
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
            if matches!(trigger, Trigger::Schedule | Trigger::CatchUp) {
                // A tick that finds the job busy is history, not just an error.
                let reason = format!("skipped (overlap): {}", overlap(job, id));
                let at = self.inner.clock.now();
                self.record_not_run(job, trigger, at, Outcome::Skipped, &reason)
                    .await;
            }
            return Err(ControlError::Conflict {
                reason: overlap(job, id),
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
                Some((other, _)) => Some(overlap(job, *other)),
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
            duration_ms: None,
            outcome: Outcome::Skipped,
            steps: vec![],
            error: Some(format!("skipped (overlap): {reason}")),
        };
        if let Err(e) = self.inner.store.save_run(&info).await {
            tracing::warn!(error = %e, "cannot record skipped run");
        }
    }

    /// Write a tick that did not run (missed, skipped) into the history.
    pub(crate) async fn record_not_run(
        &self,
        job: &JobName,
        trigger: Trigger,
        tick: chrono::DateTime<Utc>,
        outcome: Outcome,
        reason: &str,
    ) {
        let info = RunInfo {
            id: RunId(0),
            job: job.clone(),
            trigger,
            started_at: tick,
            ended_at: Some(tick),
            // Nothing ran, so there is no duration to show.
            duration_ms: None,
            outcome,
            steps: vec![],
            error: Some(reason.to_owned()),
        };
        tracing::info!(job = %job, tick = %tick, outcome = %outcome, reason, "tick did not run");
        if let Err(e) = self.inner.store.record_run(&info).await {
            tracing::warn!(job = %job, error = %e, "cannot record a tick that did not run");
        }
    }

    async fn execute(self, info: RunInfo, cancel: CancellationToken) {
        let job = info.job.clone();
        let timeout = self.spec(&job).map_or(DEFAULT_RUN_TIMEOUT, |s| s.timeout);
        let mut rec = RunRecorder::new(info, self.inner.store.clone(), self.inner.clock.clone());
        tracing::info!("run started");
        let (outcome, error) = {
            let work = self.inner.runner.run(&job, &mut rec, cancel.clone());
            supervise_run(work, timeout, &cancel, &self.inner.shutdown).await
        };
        let (outcome, error) = match outcome {
            Outcome::Succeeded => all_skipped(rec.info()).unwrap_or((outcome, error)),
            _ => (outcome, error),
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
        // The job is free as soon as its record is final, so a tick that comes right after
        // is not taken for an overlap.
        lock(&self.inner.active).remove(&job);
        self.inner.run_ended.send_modify(|n| *n += 1);
        self.update_state(&job, |s| s.last_run = Some(info.id.0))
            .await;
        self.prune_history(&job).await;
    }

    /// Apply the job's retention to its run history.
    async fn prune_history(&self, job: &JobName) {
        let Ok(spec) = self.spec(job) else { return };
        let older_than = self.inner.clock.now() - spec.keep_for;
        match self
            .inner
            .store
            .prune_runs(job, spec.keep_runs, older_than)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(job = %job, deleted = n, "old run records deleted"),
            Err(e) => tracing::warn!(job = %job, error = %e, "cannot prune run history"),
        }
    }

    /// Wait until `job` has no active run (or shutdown). For catch-up runs, which must follow
    /// one another.
    pub(crate) async fn wait_idle(&self, job: &JobName) {
        let mut ended = self.inner.run_ended.subscribe();
        while self.active_run(job).is_some() {
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                changed = ended.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Read-modify-write a job's stored state, one writer at a time: the timer (cursor), run
    /// ends (last run) and pause/resume each change one field and must not undo each other.
    /// Nothing is written when the state cannot be read.
    pub(crate) async fn try_update_state(
        &self,
        job: &JobName,
        change: impl FnOnce(&mut JobState),
    ) -> Result<(), crate::store::StoreError> {
        let _one_writer = self.inner.state_lock.lock().await;
        let now = self.inner.clock.now();
        let stored = self.inner.store.get_job_state(&job.0).await?;
        let mut state = stored.unwrap_or_else(|| JobState {
            job: job.0.clone(),
            is_paused: self.is_paused(job),
            last_run: None,
            last_tick: None,
            updated_at: now,
        });
        change(&mut state);
        state.updated_at = now;
        self.inner.store.save_job_state(&state).await
    }

    /// [`Self::try_update_state`], logging a failure: for bookkeeping that must not fail a run.
    pub(crate) async fn update_state(&self, job: &JobName, change: impl FnOnce(&mut JobState)) {
        if let Err(e) = self.try_update_state(job, change).await {
            tracing::warn!(job = %job, error = %e, "cannot save job state");
        }
    }

    /// Resume `job`; with `catch_up`, also run it once now if ticks were skipped while it was
    /// paused. Without, resuming never backfills.
    pub(crate) async fn resume(
        &self,
        job: &JobName,
        catch_up: bool,
    ) -> Result<JobInfo, ControlError> {
        let was_paused = self.is_paused(job);
        let info = self.set_paused(job, false).await?;
        if catch_up && was_paused && self.skipped_while_paused(job).await > 0 {
            tracing::info!(job = %job, "resumed with catch-up: running the skipped ticks once");
            self.start_run(job, Trigger::CatchUp).await?;
            return self.job_info(job).await;
        }
        Ok(info)
    }

    /// Ticks recorded as skipped because of a pause since the job last ran.
    async fn skipped_while_paused(&self, job: &JobName) -> usize {
        let runs = self.inner.store.list_runs(Some(job), 1000).await;
        runs.unwrap_or_default()
            .iter()
            .take_while(|r| r.outcome == Outcome::Skipped)
            .filter(|r| r.error.as_deref().is_some_and(|e| e.contains(PAUSED)))
            .count()
    }

    async fn set_paused(&self, job: &JobName, paused: bool) -> Result<JobInfo, ControlError> {
        self.spec(job)?;
        let saved = self.try_update_state(job, |s| s.is_paused = paused).await;
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

/// The phrase every tick skipped during a pause is recorded with.
pub(crate) const PAUSED: &str = "the job is paused";

fn overlap(job: &JobName, running: RunId) -> String {
    format!("job {job} is already running (run {running})")
}

/// Drive a run's work to its end, the timeout, or a cancellation. Cancelling is cooperative:
/// the work sees its token and gets [`CANCEL_BOUND`] to stop; past that it is dropped, so a
/// hung step can never hold the job forever.
async fn supervise_run(
    work: impl std::future::Future<Output = Result<(), String>>,
    timeout: Duration,
    cancel: &CancellationToken,
    shutdown: &CancellationToken,
) -> (Outcome, Option<String>) {
    tokio::pin!(work);
    let stopped = tokio::select! {
        result = &mut work => return finished(result, cancel, shutdown),
        _ = tokio::time::sleep(timeout) => {
            (Outcome::TimedOut, format!("run exceeded its {} s timeout", timeout.as_secs()))
        }
        _ = cancel.cancelled() => (Outcome::Cancelled, cancel_reason(shutdown).to_owned()),
    };
    cancel.cancel();
    let (outcome, why) = stopped;
    match tokio::time::timeout(CANCEL_BOUND, &mut work).await {
        Ok(_) => (outcome, Some(why)),
        Err(_) => {
            let why = format!(
                "{why}; the run did not stop within {} s and was abandoned",
                CANCEL_BOUND.as_secs()
            );
            (outcome, Some(why))
        }
    }
}

fn finished(
    result: Result<(), String>,
    cancel: &CancellationToken,
    shutdown: &CancellationToken,
) -> (Outcome, Option<String>) {
    match result {
        _ if cancel.is_cancelled() => {
            (Outcome::Cancelled, Some(cancel_reason(shutdown).to_owned()))
        }
        Ok(()) => (Outcome::Succeeded, None),
        Err(reason) => (Outcome::Failed, Some(reason)),
    }
}

/// A run whose every step was skipped did nothing and says why, rather than "succeeded".
fn all_skipped(run: &RunInfo) -> Option<(Outcome, Option<String>)> {
    let skipped = !run.steps.is_empty() && run.steps.iter().all(|s| s.outcome == Outcome::Skipped);
    skipped.then(|| {
        let reasons: Vec<String> = run
            .steps
            .iter()
            .map(|s| format!("{}: {}", s.name, s.error.as_deref().unwrap_or("skipped")))
            .collect();
        (
            Outcome::Skipped,
            Some(format!("nothing to do: {}", reasons.join("; "))),
        )
    })
}

fn cancel_reason(shutdown: &CancellationToken) -> &'static str {
    if shutdown.is_cancelled() {
        "daemon shutting down"
    } else {
        "cancelled by operator"
    }
}

/// Runs still marked running belong to a previous process that died: close them honestly.
async fn close_interrupted_runs(store: &SharedStore, clock: &SharedClock, skip: &HashSet<RunId>) {
    let runs = match store.running_runs().await {
        Ok(runs) => runs,
        Err(e) => {
            // Not silently: these runs stay "running" in the history until a later start.
            tracing::warn!(error = %e, "cannot look for runs a previous stop interrupted; they stay open");
            return;
        }
    };
    for mut run in runs.into_iter().filter(|r| !skip.contains(&r.id)) {
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
mod cron_table;
#[cfg(test)]
mod tests;
