//! Contract checks: run history and job state.

use std::collections::BTreeMap;

use supersetd_proto::{JobName, Outcome, RunId, RunInfo, StepInfo, Trigger};

use super::at;
use crate::store::{JobState, Store, StoreError};

fn run_ids(runs: &[RunInfo]) -> Vec<RunId> {
    runs.iter().map(|r| r.id).collect()
}

pub async fn runs_newest_first(store: &dyn Store) {
    let (update, official) = (JobName::from("update"), JobName::from("official"));
    let mut created = Vec::new();
    for (i, job) in [&update, &official, &update, &official, &update]
        .into_iter()
        .enumerate()
    {
        created.push(
            store
                .create_run(job, Trigger::Schedule, at(i as i64))
                .await
                .unwrap(),
        );
    }
    assert!(
        created.windows(2).all(|w| w[0] < w[1]),
        "run ids must increase: {created:?}"
    );

    let all = store.list_runs(None, 10).await.unwrap();
    let newest_first: Vec<RunId> = created.iter().rev().copied().collect();
    assert_eq!(
        run_ids(&all),
        newest_first,
        "list_runs(None) is newest first"
    );
    let updates = store.list_runs(Some(&update), 2).await.unwrap();
    assert_eq!(
        run_ids(&updates),
        vec![created[4], created[2]],
        "list_runs filters by job and honours the limit"
    );
    assert!(
        updates.iter().all(|r| r.job == update),
        "only runs of the asked job"
    );
}

pub async fn runs_save_and_running(store: &dyn Store) {
    let job = JobName::from("update");
    let id = store
        .create_run(&job, Trigger::CatchUp, at(0))
        .await
        .unwrap();
    let started = RunInfo {
        id,
        job: job.clone(),
        trigger: Trigger::CatchUp,
        started_at: at(0),
        ended_at: None,
        duration_ms: None,
        outcome: Outcome::Running,
        steps: vec![],
        error: None,
    };
    assert_eq!(
        store.get_run(id).await.unwrap(),
        Some(started.clone()),
        "a created run reads back as running"
    );
    assert_eq!(
        store.running_runs().await.unwrap(),
        vec![started.clone()],
        "running_runs lists it"
    );

    let step = StepInfo {
        name: "superset".to_owned(),
        started_at: at(0),
        ended_at: Some(at(3)),
        outcome: Outcome::Failed,
        counts: BTreeMap::from([("notices_new".to_owned(), 4), ("sent".to_owned(), 0)]),
        error: Some("portal returned 502".to_owned()),
    };
    let finished = RunInfo {
        ended_at: Some(at(3)),
        duration_ms: Some(3_000),
        outcome: Outcome::Failed,
        steps: vec![step],
        error: Some("portal returned 502".to_owned()),
        ..started
    };
    store.save_run(&finished).await.unwrap();
    assert_eq!(
        store.get_run(id).await.unwrap(),
        Some(finished.clone()),
        "a saved run reads back whole"
    );
    assert!(
        store.running_runs().await.unwrap().is_empty(),
        "a finished run is not running"
    );

    let ghost = RunInfo {
        id: RunId(id.0 + 1000),
        ..finished
    };
    let result = store.save_run(&ghost).await;
    assert!(
        matches!(result, Err(StoreError::NotFound { .. })),
        "saving an unknown run: {result:?}"
    );
}

pub async fn job_state_upsert(store: &dyn Store) {
    let first = JobState {
        job: "update".to_owned(),
        is_paused: false,
        last_run: None,
        last_tick: None,
        updated_at: at(0),
    };
    store.save_job_state(&first).await.unwrap();
    assert_eq!(
        store.get_job_state("update").await.unwrap(),
        Some(first),
        "job state reads back"
    );
    let second = JobState {
        job: "update".to_owned(),
        is_paused: true,
        last_run: Some(7),
        last_tick: Some(at(60)),
        updated_at: at(61),
    };
    store.save_job_state(&second).await.unwrap();
    assert_eq!(
        store.get_job_state("update").await.unwrap(),
        Some(second),
        "saving again replaces the state"
    );
    assert_eq!(
        store.get_job_state("official").await.unwrap(),
        None,
        "other jobs are unaffected"
    );
}

/// A finished record (a missed tick) gets a fresh id and reads back as written.
pub async fn runs_record_finished(store: &dyn Store) {
    let job = JobName::from("update");
    let first = store
        .create_run(&job, Trigger::Operator, at(0))
        .await
        .unwrap();
    let missed = RunInfo {
        id: RunId(999_999),
        job: job.clone(),
        trigger: Trigger::Schedule,
        started_at: at(-3600),
        ended_at: Some(at(-3600)),
        duration_ms: Some(0),
        outcome: Outcome::Missed,
        steps: vec![],
        error: Some("missed: the daemon was not running".into()),
    };
    let id = store.record_run(&missed).await.unwrap();
    assert!(
        id > first,
        "record_run allocates a new, larger id, ignoring run.id"
    );
    let back = store.get_run(id).await.unwrap().expect("recorded run");
    assert_eq!(back, RunInfo { id, ..missed });
    assert!(
        store.get_run(RunId(999_999)).await.unwrap().is_none(),
        "the id passed in is not used"
    );
    let running = store.running_runs().await.unwrap();
    assert_eq!(
        run_ids(&running),
        vec![first],
        "a recorded run is not running"
    );
}

/// Retention keeps the newest `keep` finished runs, drops old ones, never a running run nor
/// the newest finished run, and never touches another job.
pub async fn runs_prune_by_count_and_age(store: &dyn Store) {
    let (update, official) = (JobName::from("update"), JobName::from("official"));
    let mut ids = Vec::new();
    for i in 0..6 {
        let id = store
            .create_run(&update, Trigger::Schedule, at(i * 86_400))
            .await
            .unwrap();
        let mut run = store.get_run(id).await.unwrap().unwrap();
        run.outcome = Outcome::Succeeded;
        run.ended_at = Some(at(i * 86_400 + 1));
        store.save_run(&run).await.unwrap();
        ids.push(id);
    }
    let live = store
        .create_run(&update, Trigger::Operator, at(-86_400))
        .await
        .unwrap();
    let other = store
        .create_run(&official, Trigger::Schedule, at(-86_400))
        .await
        .unwrap();

    let deleted = store
        .prune_runs(&update, 4, at(-10 * 86_400))
        .await
        .unwrap();
    assert_eq!(
        deleted, 3,
        "beyond the newest 4 (the running run counts among them)"
    );
    let left = run_ids(&store.list_runs(Some(&update), 100).await.unwrap());
    assert_eq!(left, vec![live, ids[5], ids[4], ids[3]]);

    let deleted = store
        .prune_runs(&update, 100, at(5 * 86_400))
        .await
        .unwrap();
    assert_eq!(deleted, 2, "finished runs started before the cut-off go");
    let left = run_ids(&store.list_runs(Some(&update), 100).await.unwrap());
    assert_eq!(
        left,
        vec![live, ids[5]],
        "the running run and the newest finished stay"
    );
    let deleted = store
        .prune_runs(&update, 1, at(100 * 86_400))
        .await
        .unwrap();
    assert_eq!(deleted, 0, "the newest finished run is always kept");
    assert!(
        store.get_run(other).await.unwrap().is_some(),
        "other jobs are untouched"
    );
}
