use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::TimeZone;
use supersetd_proto::{CancelTarget, ControlError, JobName, Outcome, Trigger};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::clock::{SharedClock, SystemClock, TokioClock};
use crate::control::JobControl;
use crate::store::embedded::EmbeddedStore;

/// A job body that holds until released or cancelled, counting its runs.
#[derive(Default)]
struct Gate {
    runs: AtomicUsize,
    hold: bool,
    release: Notify,
}

#[async_trait]
impl JobRunner for Gate {
    async fn run(
        &self,
        _job: &JobName,
        run: &mut RunRecorder,
        cancel: CancellationToken,
    ) -> Result<(), String> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        run.begin_step("work").await;
        if self.hold {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = self.release.notified() => {}
            }
        }
        run.end_step(
            Outcome::Succeeded,
            BTreeMap::from([("items".to_owned(), 3)]),
            None,
        )
        .await;
        Ok(())
    }
}

pub(super) fn update() -> JobName {
    JobName::from("update")
}

fn spec(schedule: &str) -> JobSpec {
    JobSpec::new(
        update(),
        CronExpr::parse(schedule).unwrap(),
        chrono_tz::Asia::Kolkata,
    )
}

pub(super) fn store(dir: &tempfile::TempDir) -> SharedStore {
    Arc::new(EmbeddedStore::open(&dir.path().join("s.sqlite3")).unwrap())
}

async fn scheduler(
    store: SharedStore,
    clock: SharedClock,
    gate: Arc<Gate>,
    schedule: &str,
) -> (Scheduler, CancellationToken) {
    let shutdown = CancellationToken::new();
    let s = Scheduler::start(vec![spec(schedule)], store, clock, gate, shutdown.clone()).await;
    (s, shutdown)
}

async fn finished(s: &Scheduler, id: RunId) -> RunInfo {
    s.wait_run(id, Duration::from_secs(10))
        .await
        .unwrap()
        .expect("run did not end")
}

#[tokio::test]
async fn runs_of_one_job_never_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate {
        hold: true,
        ..Gate::default()
    });
    let (s, _stop) = scheduler(
        store(&dir),
        Arc::new(SystemClock),
        gate.clone(),
        "0 0 1 1 *",
    )
    .await;
    let first = s.run_job(&update(), Trigger::Operator).await.unwrap();
    let second = s.run_job(&update(), Trigger::Bot).await;
    assert!(
        matches!(second, Err(ControlError::Conflict { .. })),
        "{second:?}"
    );
    assert_eq!(s.list_jobs().await.unwrap()[0].active_run, Some(first));
    gate.release.notify_one();
    let run = finished(&s, first).await;
    assert_eq!(run.outcome, Outcome::Succeeded);
    assert_eq!(run.steps[0].counts.get("items"), Some(&3));
    assert!(
        s.run_job(&update(), Trigger::Operator).await.is_ok(),
        "a new run may start once the first ended"
    );
    assert!(matches!(
        s.run_job(&JobName::from("nope"), Trigger::Operator).await,
        Err(ControlError::NotFound { .. })
    ));
}

#[tokio::test]
async fn cancel_ends_a_run_as_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate {
        hold: true,
        ..Gate::default()
    });
    let (s, _stop) = scheduler(store(&dir), Arc::new(SystemClock), gate, "0 0 1 1 *").await;
    let id = s.run_job(&update(), Trigger::Operator).await.unwrap();
    assert_eq!(s.cancel(&CancelTarget::Job(update())).await.unwrap(), id);
    let run = finished(&s, id).await;
    assert_eq!(run.outcome, Outcome::Cancelled);
    assert_eq!(run.error.as_deref(), Some("cancelled by operator"));
    assert!(matches!(
        s.cancel(&CancelTarget::Run(id)).await,
        Err(ControlError::Conflict { .. })
    ));
}

#[tokio::test]
async fn pause_survives_a_restart_and_interrupted_runs_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let gate = Arc::new(Gate::default());
    let (s, stop) = scheduler(st.clone(), Arc::new(SystemClock), gate.clone(), "0 * * * *").await;
    let info = s.pause_job(&update()).await.unwrap();
    assert!(info.is_paused && info.next_run.is_none());
    stop.cancel();
    assert!(s.drain(Duration::from_secs(5)).await);
    // A run the "previous process" left open.
    let orphan = st
        .create_run(&update(), Trigger::Schedule, chrono::Utc::now())
        .await
        .unwrap();

    let (s, _stop) = scheduler(st.clone(), Arc::new(SystemClock), gate, "0 * * * *").await;
    let job = &s.list_jobs().await.unwrap()[0];
    assert!(job.is_paused, "paused state must survive the restart");
    let closed = st.get_run(orphan).await.unwrap().unwrap();
    assert_eq!(closed.outcome, Outcome::Failed);
    assert!(
        closed
            .error
            .unwrap_or_default()
            .contains("stopped during this run")
    );
    let info = s.resume_job(&update(), false).await.unwrap();
    assert!(!info.is_paused && info.next_run.is_some());
}

#[tokio::test(start_paused = true)]
async fn the_timer_fires_on_the_crontab_tick_and_not_while_paused() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let start = chrono_tz::Asia::Kolkata
        .with_ymd_and_hms(2026, 12, 3, 10, 59, 30)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock = Arc::new(TokioClock::starting_at(start));
    let gate = Arc::new(Gate::default());
    let (s, _stop) = scheduler(st.clone(), clock, gate.clone(), "0 * * * *").await;
    let next = s.list_jobs().await.unwrap()[0].next_run.unwrap();
    assert_eq!(next, start + chrono::Duration::seconds(30));
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(
        gate.runs.load(Ordering::SeqCst),
        0,
        "no run before the tick"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    wait_for(|| gate.runs.load(Ordering::SeqCst) == 1).await;
    let runs = st.list_runs(Some(&update()), 10).await.unwrap();
    assert_eq!(runs[0].trigger, Trigger::Schedule);

    s.pause_job(&update()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
    assert_eq!(
        gate.runs.load(Ordering::SeqCst),
        1,
        "a paused job must not run"
    );
    s.resume_job(&update(), false).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    wait_for(|| gate.runs.load(Ordering::SeqCst) == 2).await;
}

/// Let spawned tasks run until `cond` holds (time is paused, so this cannot hang on a timer).
pub(super) async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition never held");
}

/// A job body that asks for one follow-up run, 90 s later, on its first run only.
struct AsksForFollowUp {
    runs: AtomicUsize,
    clock: SharedClock,
}

#[async_trait]
impl JobRunner for AsksForFollowUp {
    async fn run(
        &self,
        _job: &JobName,
        run: &mut RunRecorder,
        _cancel: CancellationToken,
    ) -> Result<(), String> {
        if self.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            run.follow_up_at(self.clock.now() + chrono::Duration::seconds(90));
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_requested_follow_up_runs_before_the_next_tick() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(&dir);
    let start = chrono_tz::Asia::Kolkata
        .with_ymd_and_hms(2026, 12, 3, 10, 0, 0)
        .unwrap()
        .with_timezone(&chrono::Utc);
    let clock: SharedClock = Arc::new(TokioClock::starting_at(start));
    let body = Arc::new(AsksForFollowUp {
        runs: AtomicUsize::new(0),
        clock: clock.clone(),
    });
    let shutdown = CancellationToken::new();
    let s = Scheduler::start(
        vec![spec("0 * * * *")],
        st.clone(),
        clock,
        body.clone(),
        shutdown,
    )
    .await;
    s.run_job(&update(), Trigger::Operator).await.unwrap();
    wait_for(|| body.runs.load(Ordering::SeqCst) == 1).await;
    tokio::time::sleep(Duration::from_secs(95)).await;
    wait_for(|| body.runs.load(Ordering::SeqCst) == 2).await;
    let runs = st.list_runs(Some(&update()), 10).await.unwrap();
    assert_eq!(runs[0].trigger, Trigger::Retry);
    // No further follow-up: the next run is the hourly tick.
    tokio::time::sleep(Duration::from_secs(3000)).await;
    assert_eq!(body.runs.load(Ordering::SeqCst), 2);
    tokio::time::sleep(Duration::from_secs(700)).await;
    wait_for(|| body.runs.load(Ordering::SeqCst) == 3).await;
}

mod timing;
