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
