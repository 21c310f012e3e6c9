//! The per-job timer: wait for the next tick, then turn every tick that came due into a run or
//! a record.
//!
//! The timer keeps a cursor, the last tick it handled, in the store (`JobState.last_tick`). It
//! waits until the first tick after the cursor, then takes every tick up to now, lets the
//! misfire policy decide (see [`super::misfire`]), moves the cursor past them and only then
//! starts runs, so a crash during a run never makes that tick run again. After a restart the
//! ticks since the stored cursor are exactly those the daemon was down for. Waiting goes
//! through the clock: a wall-clock timer that costs no wake-ups before the tick and notices a
//! clock step or a suspend.

use chrono::{DateTime, Utc};
use supersetd_proto::{ControlError, JobName, Trigger};

use super::misfire::{self, Due, LateCause};
use super::{JobSpec, Scheduler, lock};

/// Missed ticks recorded one by one; older ones are summed up in one record.
const RECORDED_TICKS: usize = 100;

pub(super) async fn run_timer(scheduler: Scheduler, job: JobName, started: DateTime<Utc>) {
    let Some(spec) = scheduler.inner.jobs.get(&job).cloned() else {
        return;
    };
    let mut cursor = initial_cursor(&scheduler, &job, started).await;
    let mut leading = scheduler.standby().is_none();
    loop {
        if !scheduler.wait_while_held().await {
            return;
        }
        let tick = spec
            .expr
            .next_after(&cursor.with_timezone(&spec.tz))
            .map(|t| t.with_timezone(&Utc));
        let follow_up = lock(&scheduler.inner.follow_ups).get(&job).copied();
        let target = [tick, follow_up].into_iter().flatten().min();
        if !wait_for(&scheduler, target).await {
            return;
        }
        if scheduler.is_held() {
            // Held while this timer slept: the ticks stay due until the hold ends.
            continue;
        }
        let now = scheduler.inner.clock.now();
        if follow_up.is_some_and(|at| at <= now) {
            lock(&scheduler.inner.follow_ups).remove(&job);
            fire_retry(&scheduler, &job).await;
        }
        // A daemon that has just come to lead handles at once what the old leader left,
        // rather than at its next tick (which may be hours away).
        let was_leading = std::mem::replace(&mut leading, scheduler.standby().is_none());
        let took_over = leading && !was_leading;
        if took_over || tick.is_some_and(|t| t <= now) {
            cursor = handle_due(&scheduler, &spec, cursor, now, started, took_over).await;
        }
    }
}

/// Where to count ticks from: the stored cursor, or now for a job never seen (no backfill of
/// the time before the first start).
async fn initial_cursor(s: &Scheduler, job: &JobName, now: DateTime<Utc>) -> DateTime<Utc> {
    let stored = s.inner.store.get_job_state(&job.0).await;
    match stored {
        Ok(Some(state)) => state.last_tick.unwrap_or(now),
        Ok(None) => now,
        Err(e) => {
            tracing::warn!(job = %job, error = %e, "cannot read job state; counting ticks from now");
            now
        }
    }
}

/// Sleep until `target`, waking early for a pause, resume or new follow-up (the caller then
/// recomputes). Returns false on shutdown.
async fn wait_for(s: &Scheduler, target: Option<DateTime<Utc>>) -> bool {
    let changed = s.inner.changed.notified();
    tokio::pin!(changed);
    // Registered before the time check, so a change in between is not lost.
    changed.as_mut().enable();
    loop {
        let sleep = match target {
            Some(t) if t <= s.inner.clock.now() => return true,
            Some(t) => s.inner.clock.sleep_until(t),
            None => Box::pin(std::future::pending()),
        };
        tokio::select! {
            _ = s.inner.shutdown.cancelled() => return false,
            _ = &mut changed => return true,
            _ = role_change(s) => return true,
            // Woken at the deadline or by a clock step: look at the time again.
            _ = sleep => {
                s.inner.wakeups.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}

/// Resolves when this daemon's leadership role changes; never without leadership.
async fn role_change(s: &Scheduler) {
    let Some(leadership) = s.inner.leadership.get() else {
        return std::future::pending().await;
    };
    let mut role = leadership.watch();
    if role.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Decide and act on every tick in `(cursor, now]`; returns the new cursor.
///
/// With several daemons on one store, only the leader handles ticks, and it counts from the
/// cursor in the store, not its own: a daemon that just took over must neither repeat the
/// ticks the previous leader handled nor lose those it did not. A standby lets its own cursor
/// follow the clock without storing or recording anything.
async fn handle_due(
    s: &Scheduler,
    spec: &JobSpec,
    cursor: DateTime<Utc>,
    now: DateTime<Utc>,
    started: DateTime<Utc>,
    took_over: bool,
) -> DateTime<Utc> {
    if let Some(why) = s.standby() {
        tracing::debug!(job = %spec.name, reason = %why, "tick passed over: the leader handles it");
        return now;
    }
    let cursor = shared_cursor(s, &spec.name, cursor).await;
    let (ticks, total) = spec.expr.ticks_between(
        &cursor.with_timezone(&spec.tz),
        &now.with_timezone(&spec.tz),
        RECORDED_TICKS,
    );
    let ticks: Vec<DateTime<Utc>> = ticks.iter().map(|t| t.with_timezone(&Utc)).collect();
    let Some(&newest) = ticks.last() else {
        return cursor;
    };
    let released = *lock(&s.inner.released_at);
    let cause = if took_over {
        LateCause::LeaderLost
    } else if ticks[0] < started {
        LateCause::DaemonDown
    } else if released.is_some_and(|r| ticks[0] < r) {
        LateCause::SchedulerStopped
    } else {
        LateCause::WokeLate
    };
    let due = Due {
        ticks,
        total,
        now,
        paused: s.is_paused(&spec.name),
        cause,
    };
    let plan = misfire::plan(&due, spec.misfire, spec.grace, spec.catch_up_limit);
    let mut saved = decided_up_front(&plan, cursor, newest);
    if saved > cursor {
        save_cursor(s, &spec.name, saved).await;
    }
    for r in &plan.records {
        s.record_not_run(&spec.name, Trigger::Schedule, r.tick, r.outcome, &r.reason)
            .await;
    }
    for (i, (tick, trigger)) in plan.runs.iter().enumerate() {
        if i > 0 {
            s.wait_idle(&spec.name).await;
        }
        if s.inner.shutdown.is_cancelled() {
            // The rest stay due: the next start makes up for them.
            break;
        }
        if *tick > saved {
            // Just before its run: a crash during an earlier replay leaves this tick due,
            // so the next start makes up for it instead of losing it.
            save_cursor(s, &spec.name, *tick).await;
            saved = *tick;
        }
        fire(s, &spec.name, *trigger).await;
    }
    newest
}

/// How far the cursor may move before anything is written: past every tick that is only
/// recorded (so a crash while recording never records a tick twice), but not past a tick
/// still to be run (so a crash during an earlier run never loses it).
fn decided_up_front(
    plan: &misfire::Plan,
    cursor: DateTime<Utc>,
    newest: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(&(first_run, _)) = plan.runs.first() else {
        return newest;
    };
    let recorded = plan
        .records
        .iter()
        .map(|r| r.tick)
        .filter(|t| *t <= first_run)
        .max();
    recorded.map_or(cursor, |t| t.max(cursor))
}

/// The stored cursor when daemons share the store (see [`handle_due`]), else `cursor`.
async fn shared_cursor(s: &Scheduler, job: &JobName, cursor: DateTime<Utc>) -> DateTime<Utc> {
    if !s.shares_store() {
        return cursor;
    }
    match s.inner.store.get_job_state(&job.0).await {
        Ok(Some(state)) => state.last_tick.unwrap_or(cursor),
        Ok(None) => cursor,
        Err(e) => {
            tracing::warn!(job = %job, error = %e, "cannot read the shared cursor; using this daemon's");
            cursor
        }
    }
}

/// Persist the cursor before any run starts: a tick is handled once, crash or not.
async fn save_cursor(s: &Scheduler, job: &JobName, tick: DateTime<Utc>) {
    s.update_state(job, |state| state.last_tick = Some(tick))
        .await;
}

async fn fire(s: &Scheduler, job: &JobName, trigger: Trigger) {
    match s.start_run(job, trigger).await {
        Ok(_) => {}
        // Recorded as a skipped run by `start_run`.
        Err(ControlError::Conflict { reason }) => {
            tracing::warn!(job = %job, reason = %reason, "tick skipped")
        }
        Err(e) => tracing::error!(job = %job, error = %e, "cannot start scheduled run"),
    }
}

/// A follow-up (deferred deliveries) is work already owed, not a tick: it waits for a pause
/// to end and yields to a run in progress, which does the same work.
async fn fire_retry(s: &Scheduler, job: &JobName) {
    if let Some(why) = s.standby() {
        tracing::debug!(job = %job, reason = %why, "follow-up left to the leader");
        return;
    }
    if s.is_paused(job) {
        tracing::info!(job = %job, "follow-up run held: job is paused");
        return;
    }
    match s.start_run(job, Trigger::Retry).await {
        Ok(_) | Err(ControlError::Conflict { .. }) => {}
        Err(e) => tracing::error!(job = %job, error = %e, "cannot start follow-up run"),
    }
}
