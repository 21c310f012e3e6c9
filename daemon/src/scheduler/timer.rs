//! The per-job timer: sleep until the next tick, then ask for a run.
//!
//! The next tick is recomputed from the clock after every wake-up, so a suspended host or a
//! clock step never makes a job fire twice or fire for a time that has not come. A tick that
//! finds the job paused or still running is logged and passed over (issue 4 turns these into
//! recorded missed/skipped runs with a misfire policy).

use std::time::Duration;

use chrono::Utc;
use supersetd_proto::{ControlError, JobName, Trigger};

use super::Scheduler;

/// Upper bound on one sleep, so a wall-clock jump is noticed within this time.
const MAX_SLEEP: Duration = Duration::from_secs(60);

pub(super) async fn run_timer(scheduler: Scheduler, job: JobName) {
    let Some(spec) = scheduler.inner.jobs.get(&job).cloned() else {
        return;
    };
    let shutdown = scheduler.inner.shutdown.clone();
    loop {
        let now = scheduler.inner.clock.now();
        let Some(tick) = spec.expr.next_after(&now.with_timezone(&spec.tz)) else {
            tracing::warn!(job = %job, "schedule has no future fire time; timer stops");
            return;
        };
        let tick = tick.with_timezone(&Utc);
        let mut due = false;
        while !due {
            let left = (tick - scheduler.inner.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            if left.is_zero() {
                due = true;
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = scheduler.inner.changed.notified() => {}
                _ = tokio::time::sleep(left.min(MAX_SLEEP)) => {}
            }
        }
        fire(&scheduler, &job).await;
    }
}

async fn fire(scheduler: &Scheduler, job: &JobName) {
    if scheduler.is_paused(job) {
        tracing::info!(job = %job, "tick passed over: job is paused");
        return;
    }
    match scheduler.start_run(job, Trigger::Schedule).await {
        Ok(_) => {}
        Err(ControlError::Conflict { reason }) => {
            tracing::warn!(job = %job, reason = %reason, "tick skipped")
        }
        Err(e) => tracing::error!(job = %job, error = %e, "cannot start scheduled run"),
    }
}
