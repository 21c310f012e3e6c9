//! The contract suite against a fresh file in a temporary directory, plus what only the
//! embedded backend promises: durability across reopen, clear errors for foreign files,
//! rollback, corrupt rows, concurrency and volume.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use supersetd_proto::{JobName, RunId, Trigger};
use tempfile::TempDir;

use super::EmbeddedStore;
use crate::store::contract::{at, job, notice, profile};
use crate::store::{DeliveryStatus, Recipient, Store, StoreError};

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("data").join("supersetd.db")
}

async fn fresh() -> (EmbeddedStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&db_path(&dir)).unwrap();
    (store, dir)
}

crate::store_contract_tests!(fresh);

/// A second connection, as the `sqlite3` CLI would be, to tamper with the file.
fn side(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

#[tokio::test]
async fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = EmbeddedStore::open(&path).unwrap();
    store
        .upsert_subscriber(profile(1, 100, "asha"), at(0))
        .await
        .unwrap();
    store
        .save_fetch(vec![notice("n", 1_000)], vec![job("j", "Acme")])
        .await
        .unwrap();
    store
        .plan_deliveries("n", &[Recipient::Subscriber { user_id: 1 }], at(1))
        .await
        .unwrap();
    let run = store
        .create_run(&JobName::from("update"), Trigger::Operator, at(2))
        .await
        .unwrap();
    drop(store);

    let store = EmbeddedStore::open(&path).unwrap();
    assert!(
        store
            .get_subscriber(1)
            .await
            .unwrap()
            .is_some_and(|s| s.is_active)
    );
    assert_eq!(
        store.get_notice("n").await.unwrap(),
        Some(notice("n", 1_000))
    );
    assert_eq!(store.list_jobs().await.unwrap(), vec![job("j", "Acme")]);
    assert_eq!(store.due_deliveries(at(5)).await.unwrap().len(), 1);
    assert_eq!(
        store.running_runs().await.unwrap().first().map(|r| r.id),
        Some(run)
    );
    let next = store
        .create_run(&JobName::from("update"), Trigger::Operator, at(3))
        .await
        .unwrap();
    assert!(next > run, "run ids keep increasing across restarts");
}

#[tokio::test]
async fn garbage_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "this is a shopping list, not a database\n".repeat(200),
    )
    .unwrap();
    let err = EmbeddedStore::open(&path)
        .err()
        .expect("opening a non-database must fail");
    assert!(
        matches!(err, StoreError::Corrupt { .. }),
        "expected Corrupt, got {err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "the error must name the file: {text}"
    );
    assert!(
        text.contains("not a readable SQLite database"),
        "the error must say what is wrong: {text}"
    );
}

#[tokio::test]
async fn newer_schema_version_is_refused() {
    let (store, dir) = fresh().await;
    drop(store);
    side(&db_path(&dir))
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = EmbeddedStore::open(&db_path(&dir))
        .err()
        .expect("a newer schema must be refused");
    let text = err.to_string();
    assert!(text.contains("schema version 99 is newer"), "{text}");
    assert!(
        text.contains(&db_path(&dir).display().to_string()),
        "the error must name the file: {text}"
    );
}

#[tokio::test]
async fn open_sets_crash_safe_pragmas_and_private_directory() {
    let (store, dir) = fresh().await;
    let conn = store.conn.lock().unwrap();
    let get = |name: &str| {
        conn.pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0))
            .unwrap()
    };
    assert_eq!(
        get("journal_mode"),
        rusqlite::types::Value::Text("wal".into())
    );
    assert_eq!(
        get("synchronous"),
        rusqlite::types::Value::Integer(2),
        "synchronous must be FULL"
    );
    assert_eq!(get("foreign_keys"), rusqlite::types::Value::Integer(1));
    assert_eq!(
        get("user_version"),
        rusqlite::types::Value::Integer(super::schema::CURRENT_VERSION)
    );
    let mode = std::fs::metadata(db_path(&dir).parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o700,
        "the store directory must be owner-only"
    );
    assert_eq!(
        store.describe().location,
        db_path(&dir).display().to_string()
    );
    assert_eq!(store.describe().backend, "embedded");
}

#[tokio::test]
async fn failed_save_fetch_writes_nothing() {
    let (store, dir) = fresh().await;
    side(&db_path(&dir))
        .execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON notices WHEN NEW.id = 'boom'
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
        )
        .unwrap();
    let batch = vec![notice("ok", 1_000), notice("boom", 2_000)];
    let result = store.save_fetch(batch, vec![job("j", "Acme")]).await;
    assert!(result.is_err(), "the trigger must make save_fetch fail");
    assert_eq!(
        store.count_notices().await.unwrap(),
        0,
        "the notice before the failure must be rolled back"
    );
    assert!(
        store.known_job_ids().await.unwrap().is_empty(),
        "the job upsert must be rolled back"
    );
}

#[tokio::test]
async fn corrupt_rows_are_reported_not_panicked() {
    let (store, dir) = fresh().await;
    store
        .save_fetch(vec![notice("n", 1_000)], vec![])
        .await
        .unwrap();
    store
        .plan_deliveries("n", &[Recipient::Subscriber { user_id: 1 }], at(0))
        .await
        .unwrap();
    let run = store
        .create_run(&JobName::from("update"), Trigger::Schedule, at(0))
        .await
        .unwrap();
    let conn = side(&db_path(&dir));
    conn.execute("UPDATE deliveries SET status = 'exploded'", [])
        .unwrap();
    conn.execute("UPDATE runs SET steps = '{not json'", [])
        .unwrap();
    conn.execute("INSERT INTO jobs (id, record) VALUES ('bad', '[]')", [])
        .unwrap();

    let result = store.deliveries_for_notice("n").await;
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{result:?}"
    );
    let result = store.get_run(run).await;
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{result:?}"
    );
    let result = store.list_jobs().await;
    assert!(
        matches!(result, Err(StoreError::Corrupt { .. })),
        "{result:?}"
    );
    assert_eq!(
        store.get_run(RunId(u64::MAX)).await.unwrap(),
        None,
        "an id beyond i64 is simply unknown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_plan_and_save_lose_no_update() {
    const NOTICES: usize = 20;
    const USERS: i64 = 10;
    let (store, _dir) = fresh().await;
    let store = Arc::new(store);
    let batch = (0..NOTICES)
        .map(|i| notice(&format!("n{i:02}"), i as i64))
        .collect();
    store.save_fetch(batch, vec![]).await.unwrap();

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..NOTICES {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let id = format!("n{i:02}");
            let recipients: Vec<Recipient> = (0..USERS)
                .map(|user_id| Recipient::Subscriber { user_id })
                .collect();
            store
                .plan_deliveries(&id, &recipients, at(0))
                .await
                .unwrap();
            for mut d in store.deliveries_for_notice(&id).await.unwrap() {
                d.status = DeliveryStatus::Sent;
                d.attempts += 1;
                d.message_ids.push(i as i64);
                store.save_delivery(&d).await.unwrap();
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap();
    }
    assert!(
        store.due_deliveries(at(1)).await.unwrap().is_empty(),
        "every row was saved as sent"
    );
    for i in 0..NOTICES {
        let rows = store
            .deliveries_for_notice(&format!("n{i:02}"))
            .await
            .unwrap();
        assert_eq!(rows.len(), USERS as usize);
        assert!(rows.iter().all(|d| d.status == DeliveryStatus::Sent
            && d.attempts == 1
            && d.message_ids == [i as i64]));
    }
    assert_eq!(store.complete_notices(at(2)).await.unwrap().len(), NOTICES);
}

#[tokio::test]
async fn ten_thousand_ledger_rows_plan_and_query_quickly() {
    let (store, _dir) = fresh().await;
    let batch = (0..10).map(|i| notice(&format!("n{i}"), i)).collect();
    store.save_fetch(batch, vec![]).await.unwrap();
    let recipients: Vec<Recipient> = (0..1_000)
        .map(|user_id| Recipient::Subscriber { user_id })
        .collect();

    let started = Instant::now();
    for i in 0..10 {
        assert_eq!(
            store
                .plan_deliveries(&format!("n{i}"), &recipients, at(0))
                .await
                .unwrap(),
            1_000
        );
    }
    let due = store.due_deliveries(at(1)).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(due.len(), 10_000);
    assert_eq!(due.first().map(|d| d.notice_id.as_str()), Some("n0"));
    assert_eq!(due.last().map(|d| d.notice_id.as_str()), Some("n9"));
    // Generous for an unoptimised test build on a shared machine; release does this in ~100 ms.
    assert!(
        elapsed < Duration::from_secs(10),
        "planning and reading 10k rows took {elapsed:?}"
    );
}
