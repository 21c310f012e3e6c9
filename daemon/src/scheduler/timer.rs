//! The per-job timer: sleep until the next tick, then ask for a run.
//!
//! The next tick is recomputed from the clock after every wake-up, so a suspended host or a
//! clock step never makes a job fire twice or fire for a time that has not come. A tick that
//! finds the job paused or still running is logged and passed over (issue 4 turns these into
//! recorded missed/skipped runs with a misfire policy).

use std::time::Duration;

use chrono::Utc;
use supersetd_proto::{ControlError, JobName, Trigger};

use super::{Scheduler, lock};

/// Upper bound on one sleep, so a wall-clock jump is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(60);

pub(super) async fn run_timer(scheduler: Scheduler, job: JobName) {
    let Some(spec) = scheduler.inner.jobs.get(&job).cloned() else {
        return;
    };
    let shutdown = scheduler.inner.shutdown.clone();
    'outer: loop {
        let now = scheduler.inner.clock.now();
        let Some(tick) = spec.expr.next_after(&now.with_timezone(&spec.tz)) else {
            tracing::warn!(job = %job, "schedule has no future fire time; timer stops");
            return;
        };
        let tick = tick.with_timezone(&Utc);
        let follow_up = lock(&scheduler.inner.follow_ups).get(&job).copied();
        let (due, trigger) = match follow_up {
            Some(at) if at < tick => (at, Trigger::Retry),
            _ => (tick, Trigger::Schedule),
        };
        // The target stays fixed while sleeping: recomputing "the next tick after now" on
        // waking exactly at a tick would skip that tick.
        loop {
            let left = (due - scheduler.inner.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            if left.is_zero() {
                break;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                // Pause, resume or a new follow-up: choose the target again.
                _ = scheduler.inner.changed.notified() => continue 'outer,
                _ = tokio::time::sleep(left.min(MAX_SLEEP)) => {}
            }
        }
        if trigger == Trigger::Retry {
            lock(&scheduler.inner.follow_ups).remove(&job);
        }
        fire(&scheduler, &job, trigger).await;
    }
}

async fn fire(scheduler: &Scheduler, job: &JobName, trigger: Trigger) {
    if let Some(why) = scheduler.standby() {
        tracing::debug!(job = %job, reason = %why, "tick passed over: the leader runs it");
        return;
    }
    if scheduler.is_paused(job) {
        tracing::info!(job = %job, "tick passed over: job is paused");
        return;
    }
    match scheduler.start_run(job, trigger).await {
        Ok(_) => {}
        Err(ControlError::Conflict { reason }) => {
            tracing::warn!(job = %job, reason = %reason, "tick skipped")
        }
        Err(e) => tracing::error!(job = %job, error = %e, "cannot start scheduled run"),
    }
}
