//! The scheduler against a clock the test moves: late ticks, a daemon that was down, long
//! runs on short schedules, hung steps, pauses across restarts, retention.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use supersetd_proto::{JobName, Outcome, RunInfo, Trigger};
use tokio_util::sync::CancellationToken;

use super::{store, update, wait_for};
use crate::clock::{ManualClock, SharedClock, TokioClock};
use crate::control::JobControl;
use crate::scheduler::{CronExpr, JobRunner, JobSpec, MisfirePolicy, RunRecorder, Scheduler};
use crate::store::SharedStore;

fn ist(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Kolkata
        .with_ymd_and_hms(2026, 12, 3, h, m, s)
        .unwrap()
        .with_timezone(&Utc)
}

/// A job body that takes `length` of clock time and counts runs and overlaps.
struct Timed {
    clock: SharedClock,
    length: chrono::Duration,
    runs: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    ignores_cancel: bool,
}

impl Timed {
    fn new(clock: SharedClock, length: chrono::Duration) -> Arc<Timed> {
        Arc::new(Timed {
            clock,
            length,
            runs: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            ignores_cancel: false,
        })
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl JobRunner for Timed {
    async fn run(
        &self,
        _job: &JobName,
        run: &mut RunRecorder,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        run.begin_step("work").await;
        // From the recorded start, so a test moving the clock meanwhile cannot stretch it.
        let done = self.clock.sleep_until(run.info().started_at + self.length);
        if self.ignores_cancel {
            done.await;
        } else {
            tokio::select! {
                _ = done => {}
                _ = cancel.cancelled() => {}
            }
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        run.end_step(Outcome::Succeeded, Default::default(), None)
            .await;
        Ok(())
    }
}

async fn start(
    st: &SharedStore,
    clock: SharedClock,
    body: Arc<Timed>,
    spec: JobSpec,
) -> (Scheduler, CancellationToken) {
    let stop = CancellationToken::new();
    let s = Scheduler::start(vec![spec], st.clone(), clock, body, stop.clone()).await;
    (s, stop)
}

async fn stop(s: Scheduler, token: CancellationToken) {
    token.cancel();
    assert!(s.drain(Duration::from_secs(5)).await, "scheduler drains");
}

fn hourly() -> JobSpec {
    JobSpec::new(
        update(),
        CronExpr::parse("0 * * * *").unwrap(),
        chrono_tz::Asia::Kolkata,
    )
}

async fn history(st: &SharedStore) -> Vec<RunInfo> {
    let mut runs = st.list_runs(Some(&update()), 1000).await.unwrap();
    runs.reverse();
    runs
}

fn count(runs: &[RunInfo], outcome: Outcome) -> usize {
    runs.iter().filter(|r| r.outcome == outcome).count()
}

/// Wait (real time, briefly) for spawned tasks to act on a clock change.
async fn settle(cond: impl Fn() -> bool) {
    for _ in 0..500 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition never held");
}

async fn settle_history(st: &SharedStore, cond: impl Fn(&[RunInfo]) -> bool) -> Vec<RunInfo> {
    for _ in 0..500 {
        let h = history(st).await;
        if cond(&h) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("history never matched: {:#?}", history(st).await);
}

/// A "previous process": a scheduler that runs the 10:00 tick (started at 09:59 on `clock`),
/// lets it finish and stops, leaving the cursor at 10:00.
async fn run_the_ten_oclock_tick(
    st: &SharedStore,
    clock: &ManualClock,
    body: &Arc<Timed>,
    spec: JobSpec,
) {
    let shared: SharedClock = Arc::new(clock.clone());
    let before = body.runs();
    let (s, token) = start(st, shared, body.clone(), spec).await;
    clock.set(ist(10, 0, 0));
    settle(|| body.runs() == before + 1).await;
    clock.set(ist(10, 5, 0));
    settle_history(st, |h| h.iter().all(|r| r.outcome.is_finished())).await;
    stop(s, token).await;
}

#[tokio::test]
async fn a_tick_two_seconds_late_runs_as_scheduled() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(10, 59, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::seconds(1));
    let (s, token) = start(&st, shared, body.clone(), hourly()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(body.runs(), 0);
    // The host was busy: the timer sees the 11:00 tick only at 11:00:02.
    clock.set(ist(11, 0, 2));
    settle(|| body.runs() == 1).await;
    clock.set(ist(11, 0, 5));
    let h = settle_history(&st, |h| h.first().is_some_and(|r| r.outcome.is_finished())).await;
    assert_eq!(h.len(), 1, "no missed record: {h:#?}");
    assert_eq!(h[0].trigger, Trigger::Schedule);
    assert_eq!(h[0].outcome, Outcome::Succeeded);
    stop(s, token).await;
}

#[tokio::test]
async fn a_daemon_down_four_hours_runs_once_and_records_the_missed_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(9, 59, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::seconds(10));
    run_the_ten_oclock_tick(&st, &clock, &body, hourly()).await;

    // Down from 10:00:30 to 14:30: the 11, 12, 13 and 14 o'clock ticks were missed.
    clock.set(ist(14, 30, 0));
    let (s, token) = start(&st, shared, body.clone(), hourly()).await;
    let h = settle_history(&st, |h| h.len() == 6).await;
    settle(|| body.runs() == 2).await;
    let missed: Vec<_> = h.iter().filter(|r| r.outcome == Outcome::Missed).collect();
    assert_eq!(missed.len(), 4, "{h:#?}");
    let ticks: Vec<_> = missed.iter().map(|r| r.started_at).collect();
    assert_eq!(
        ticks,
        [ist(11, 0, 0), ist(12, 0, 0), ist(13, 0, 0), ist(14, 0, 0)]
    );
    assert!(missed.iter().all(|r| {
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("daemon was not running"))
    }));
    assert_eq!(
        h[5].trigger,
        Trigger::CatchUp,
        "one catch-up run, after the records"
    );
    clock.set(ist(14, 31, 0));
    settle_history(&st, |h| h.iter().all(|r| r.outcome.is_finished())).await;

    // Back to normal: the 15:00 tick runs once, as scheduled.
    clock.set(ist(15, 0, 1));
    settle(|| body.runs() == 3).await;
    let h = settle_history(&st, |h| h.len() == 7).await;
    assert_eq!(h[6].trigger, Trigger::Schedule);
    stop(s, token).await;
}

#[tokio::test]
async fn catch_up_replays_missed_ticks_one_after_another_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(9, 59, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::minutes(2));
    let spec = JobSpec {
        misfire: MisfirePolicy::CatchUp,
        catch_up_limit: 2,
        ..hourly()
    };
    run_the_ten_oclock_tick(&st, &clock, &body, spec.clone()).await;

    clock.set(ist(14, 30, 0));
    let (s, token) = start(&st, shared, body.clone(), spec).await;
    settle(|| body.runs() == 2).await;
    // The replays follow one another: the second starts only when the first has ended.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(body.runs(), 2);
    clock.set(ist(14, 32, 30));
    settle(|| body.runs() == 3).await;
    clock.set(ist(14, 35, 0));
    let h = settle_history(&st, |h| {
        h.len() == 5 && h.iter().all(|r| r.outcome.is_finished())
    })
    .await;
    assert_eq!(count(&h, Outcome::Missed), 2, "beyond the limit: {h:#?}");
    assert!(
        h[1].error
            .as_deref()
            .unwrap_or("")
            .contains("catch-up limit of 2")
    );
    let replays: Vec<_> = h.iter().filter(|r| r.trigger == Trigger::CatchUp).collect();
    assert_eq!(replays.len(), 2);
    assert_eq!(body.max_in_flight.load(Ordering::SeqCst), 1);
    stop(s, token).await;
}

#[tokio::test]
async fn a_seven_minute_run_on_a_five_minute_schedule_never_overlaps() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(9, 59, 30));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::minutes(7));
    let spec = JobSpec::new(
        update(),
        CronExpr::parse("*/5 * * * *").unwrap(),
        chrono_tz::Asia::Kolkata,
    );
    let (s, token) = start(&st, shared, body.clone(), spec).await;
    let mut expected_runs = 0;
    for minute in 0..=20 {
        clock.set(ist(10, minute, 0));
        if minute % 10 == 0 {
            expected_runs += 1;
            settle(|| body.runs() == expected_runs).await;
        }
        if minute % 10 == 5 {
            let skips = minute as usize / 10 + 1;
            settle_history(&st, |h| count(h, Outcome::Skipped) == skips).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let h = history(&st).await;
    assert_eq!(body.runs(), 3, "10:00, 10:10 and 10:20 run");
    assert_eq!(
        body.max_in_flight.load(Ordering::SeqCst),
        1,
        "never two at once"
    );
    let skipped: Vec<_> = h.iter().filter(|r| r.outcome == Outcome::Skipped).collect();
    assert_eq!(skipped.len(), 2, "10:05 and 10:15 are skipped: {h:#?}");
    assert!(
        skipped
            .iter()
            .all(|r| r.error.as_deref().is_some_and(|e| e.contains("overlap")))
    );
    stop(s, token).await;
}

#[tokio::test(start_paused = true)]
async fn a_hung_step_is_timed_out_and_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock: SharedClock = Arc::new(TokioClock::starting_at(ist(10, 0, 30)));
    let body = Arc::new(Timed {
        ignores_cancel: true,
        ..Arc::into_inner(Timed::new(clock.clone(), chrono::Duration::days(365))).unwrap()
    });
    let spec = JobSpec {
        timeout: Duration::from_secs(60),
        ..hourly()
    };
    let (s, token) = start(&st, clock, body.clone(), spec).await;
    let id = s.run_job(&update(), Trigger::Operator).await.unwrap();
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(s.list_jobs().await.unwrap()[0].active_run, Some(id));
    let run = s
        .wait_run(id, Duration::from_secs(120))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.outcome, Outcome::TimedOut);
    let error = run.error.unwrap_or_default();
    assert!(
        error.contains("60 s timeout") && error.contains("abandoned"),
        "{error}"
    );
    assert_eq!(run.steps[0].outcome, Outcome::TimedOut);
    wait_for(|| s.active_run(&update()).is_none()).await;
    assert!(
        s.run_job(&update(), Trigger::Operator).await.is_ok(),
        "the job is free again"
    );
    token.cancel();
}

#[tokio::test]
async fn paused_across_a_restart_records_skips_and_resume_never_backfills_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(9, 59, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::seconds(5));
    let (s, token) = start(&st, shared.clone(), body.clone(), hourly()).await;
    s.pause_job(&update()).await.unwrap();
    stop(s, token).await;

    let (s, token) = start(&st, shared.clone(), body.clone(), hourly()).await;
    assert!(
        s.list_jobs().await.unwrap()[0].is_paused,
        "still paused after the restart"
    );
    clock.set(ist(10, 0, 1));
    let h = settle_history(&st, |h| h.len() == 1).await;
    assert_eq!(h[0].outcome, Outcome::Skipped);
    assert!(h[0].error.as_deref().unwrap_or("").contains("paused"));
    s.resume_job(&update(), false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(body.runs(), 0, "resuming does not backfill");

    s.pause_job(&update()).await.unwrap();
    clock.set(ist(11, 0, 1));
    settle_history(&st, |h| h.len() == 2).await;
    s.resume_job(&update(), true).await.unwrap();
    settle(|| body.runs() == 1).await;
    let h = history(&st).await;
    assert_eq!(
        h[2].trigger,
        Trigger::CatchUp,
        "resume --catch-up runs once"
    );
    stop(s, token).await;
}

#[tokio::test]
async fn history_is_kept_by_count() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(9, 10, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::zero());
    let spec = JobSpec {
        keep_runs: 3,
        ..hourly()
    };
    let (s, token) = start(&st, shared, body.clone(), spec).await;
    for _ in 0..5 {
        let id = s.run_job(&update(), Trigger::Operator).await.unwrap();
        s.wait_run(id, Duration::from_secs(5))
            .await
            .unwrap()
            .unwrap();
        wait_for_idle(&s).await;
    }
    settle_history(&st, |h| h.len() == 3).await;
    stop(s, token).await;
}

async fn wait_for_idle(s: &Scheduler) {
    settle(|| s.active_run(&update()).is_none()).await;
}

/// A body whose only step is skipped, as `official` is until its source exists.
struct SkipsEverything;

#[async_trait]
impl JobRunner for SkipsEverything {
    async fn run(
        &self,
        _job: &JobName,
        run: &mut RunRecorder,
        _cancel: CancellationToken,
    ) -> Result<(), String> {
        run.begin_step("official").await;
        run.end_step(
            Outcome::Skipped,
            Default::default(),
            Some("the source is not implemented yet".into()),
        )
        .await;
        Ok(())
    }
}

#[tokio::test]
async fn a_run_that_skipped_every_step_is_recorded_as_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock: SharedClock = Arc::new(ManualClock::new(ist(9, 0, 0)));
    let stop = CancellationToken::new();
    let s = Scheduler::start(
        vec![hourly()],
        st.clone(),
        clock,
        Arc::new(SkipsEverything),
        stop.clone(),
    )
    .await;
    let id = s.run_job(&update(), Trigger::Operator).await.unwrap();
    let run = s
        .wait_run(id, Duration::from_secs(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.outcome, Outcome::Skipped);
    assert_eq!(
        run.error.as_deref(),
        Some("nothing to do: official: the source is not implemented yet")
    );
    stop.cancel();
}

#[tokio::test]
async fn a_held_scheduler_fires_nothing_and_handles_the_missed_ticks_on_release() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(10, 59, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::seconds(1));
    let (s, token) = start(&st, shared, body.clone(), hourly()).await;
    s.hold(true);
    assert!(s.is_held());
    clock.set(ist(11, 0, 2));
    clock.set(ist(12, 30, 0));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(body.runs(), 0, "no tick fires while held");
    assert!(history(&st).await.is_empty());
    // An operator's run still starts.
    s.run_job(&update(), Trigger::Operator).await.unwrap();
    settle(|| body.runs() == 1).await;
    clock.set(ist(12, 30, 5));
    settle_history(&st, |h| h.len() == 1 && h[0].outcome.is_finished()).await;

    s.hold(false);
    let h = settle_history(&st, |h| h.len() == 4).await;
    settle(|| body.runs() == 2).await;
    let missed: Vec<_> = h.iter().filter(|r| r.outcome == Outcome::Missed).collect();
    assert_eq!(
        missed.iter().map(|r| r.started_at).collect::<Vec<_>>(),
        [ist(11, 0, 0), ist(12, 0, 0)]
    );
    assert!(missed.iter().all(|r| {
        r.error
            .as_deref()
            .is_some_and(|e| e.contains("scheduler was stopped by an operator"))
    }));
    assert_eq!(
        h[3].trigger,
        Trigger::CatchUp,
        "run-once: one run for the missed ticks"
    );
    clock.set(ist(12, 31, 0));
    settle_history(&st, |h| h.iter().all(|r| r.outcome.is_finished())).await;
    clock.set(ist(13, 0, 1));
    settle(|| body.runs() == 3).await;
    stop(s, token).await;
}

/// A stop in the middle of catch-up replays loses none of the ticks still to replay, and
/// records none twice.
#[tokio::test]
async fn a_stop_during_catch_up_leaves_the_remaining_ticks_due() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let clock = ManualClock::new(ist(9, 59, 0));
    let shared: SharedClock = Arc::new(clock.clone());
    let body = Timed::new(shared.clone(), chrono::Duration::minutes(2));
    let spec = JobSpec {
        misfire: MisfirePolicy::CatchUp,
        catch_up_limit: 3,
        ..hourly()
    };
    run_the_ten_oclock_tick(&st, &clock, &body, spec.clone()).await;

    // Down until 14:30: 11:00 is beyond the limit, 12, 13 and 14 are replayed. Stop during the
    // first replay.
    clock.set(ist(14, 30, 0));
    let (s, token) = start(&st, shared.clone(), body.clone(), spec.clone()).await;
    settle(|| body.runs() == 2).await;
    stop(s, token).await;
    let state = st.get_job_state("update").await.unwrap().unwrap();
    assert_eq!(
        state.last_tick,
        Some(ist(12, 0, 0)),
        "only the started replay is handled"
    );

    clock.set(ist(14, 40, 0));
    let (s, token) = start(&st, shared, body.clone(), spec).await;
    settle(|| body.runs() == 3).await;
    clock.set(ist(14, 43, 0));
    settle(|| body.runs() == 4).await;
    clock.set(ist(14, 46, 0));
    let h = settle_history(&st, |h| h.iter().all(|r| r.outcome.is_finished())).await;
    let missed: Vec<_> = h.iter().filter(|r| r.outcome == Outcome::Missed).collect();
    assert_eq!(
        missed.len(),
        1,
        "11:00 recorded once, nothing twice: {h:#?}"
    );
    let replays = h.iter().filter(|r| r.trigger == Trigger::CatchUp).count();
    assert_eq!(replays, 3, "12:00 (stopped), then 13:00 and 14:00: {h:#?}");
    let state = st.get_job_state("update").await.unwrap().unwrap();
    assert_eq!(state.last_tick, Some(ist(14, 0, 0)));
    stop(s, token).await;
}
