//! Contract checks: subscribers, plus the basics (health, empty lookups).

use super::{at, profile};
use crate::store::{Store, SubscribeOutcome, Subscriber};

pub async fn health_and_describe(store: &dyn Store) {
    store
        .health()
        .await
        .expect("health() must succeed on a fresh store");
    let desc = store.describe();
    assert!(!desc.backend.is_empty(), "describe() must name the backend");
    assert!(
        !desc.location.is_empty(),
        "describe() must say where the data lives"
    );
}

pub async fn unknown_ids_are_none(store: &dyn Store) {
    assert_eq!(
        store.get_subscriber(1).await.unwrap(),
        None,
        "unknown subscriber must be None"
    );
    assert_eq!(
        store.get_notice("nope").await.unwrap(),
        None,
        "unknown notice must be None"
    );
    assert_eq!(
        store.get_run(supersetd_proto::RunId(42)).await.unwrap(),
        None,
        "unknown run must be None"
    );
    assert_eq!(
        store.get_job_state("update").await.unwrap(),
        None,
        "unknown job state must be None"
    );
    assert_eq!(
        store.count_notices().await.unwrap(),
        0,
        "a fresh store has no notices"
    );
    assert!(
        store.list_subscribers(false).await.unwrap().is_empty(),
        "a fresh store has no subscribers"
    );
    assert!(
        store.known_notice_ids().await.unwrap().is_empty(),
        "a fresh store knows no notice ids"
    );
    assert!(
        store.known_job_ids().await.unwrap().is_empty(),
        "a fresh store knows no job ids"
    );
    assert!(
        store.list_jobs().await.unwrap().is_empty(),
        "a fresh store has no jobs"
    );
    assert!(
        store.due_deliveries(at(0)).await.unwrap().is_empty(),
        "a fresh store has nothing due"
    );
    assert_eq!(
        store.next_deferred(at(0)).await.unwrap(),
        None,
        "a fresh store has nothing deferred"
    );
    assert!(
        store
            .deliveries_for_notice("nope")
            .await
            .unwrap()
            .is_empty(),
        "unknown notice has no rows"
    );
    assert!(
        store.list_runs(None, 10).await.unwrap().is_empty(),
        "a fresh store has no runs"
    );
    assert!(
        !store.deactivate_subscriber(7, at(0)).await.unwrap(),
        "deactivating an unknown user changes nothing"
    );
}

pub async fn subscribers_upsert_and_reactivate(store: &dyn Store) {
    let created = store
        .upsert_subscriber(profile(1, 100, "asha"), at(0))
        .await
        .unwrap();
    assert_eq!(
        created,
        SubscribeOutcome::Created,
        "first upsert must create"
    );
    let expected = Subscriber {
        user_id: 1,
        chat_id: 100,
        username: Some("asha".to_owned()),
        first_name: Some("Asha".to_owned()),
        last_name: None,
        is_active: true,
        created_at: at(0),
        updated_at: at(0),
    };
    assert_eq!(
        store.get_subscriber(1).await.unwrap(),
        Some(expected.clone()),
        "created subscriber must read back"
    );

    let again = store
        .upsert_subscriber(profile(1, 100, "asha_k"), at(10))
        .await
        .unwrap();
    assert_eq!(
        again,
        SubscribeOutcome::AlreadyActive,
        "upsert of an active subscriber"
    );
    let refreshed = store.get_subscriber(1).await.unwrap().unwrap();
    assert_eq!(
        refreshed.username.as_deref(),
        Some("asha_k"),
        "AlreadyActive must refresh the profile"
    );
    assert_eq!(
        refreshed.created_at,
        at(0),
        "created_at must not change on upsert"
    );
    assert_eq!(refreshed.updated_at, at(10), "updated_at must be refreshed");

    assert!(
        store.deactivate_subscriber(1, at(20)).await.unwrap(),
        "deactivating an active subscriber changes it"
    );
    assert!(
        !store.deactivate_subscriber(1, at(21)).await.unwrap(),
        "deactivating twice changes nothing"
    );
    let stopped = store.get_subscriber(1).await.unwrap().unwrap();
    assert!(
        !stopped.is_active,
        "deactivated subscriber must be inactive"
    );
    assert_eq!(stopped.updated_at, at(20), "deactivation sets updated_at");

    let mut new_profile = profile(1, 200, "asha_new");
    new_profile.last_name = Some("K".to_owned());
    let back = store.upsert_subscriber(new_profile, at(30)).await.unwrap();
    assert_eq!(
        back,
        SubscribeOutcome::Reactivated,
        "upsert of an inactive subscriber must reactivate"
    );
    let expected = Subscriber {
        chat_id: 200,
        username: Some("asha_new".to_owned()),
        last_name: Some("K".to_owned()),
        updated_at: at(30),
        ..expected
    };
    assert_eq!(
        store.get_subscriber(1).await.unwrap(),
        Some(expected),
        "reactivation refreshes chat and profile"
    );
}

pub async fn subscribers_list_ordered_and_filtered(store: &dyn Store) {
    for user in [30, 10, 20] {
        store
            .upsert_subscriber(profile(user, user * 10, "u"), at(0))
            .await
            .unwrap();
    }
    store.deactivate_subscriber(20, at(1)).await.unwrap();
    let all: Vec<i64> = store
        .list_subscribers(false)
        .await
        .unwrap()
        .iter()
        .map(|s| s.user_id)
        .collect();
    assert_eq!(
        all,
        vec![10, 20, 30],
        "list_subscribers(false) returns everyone ordered by user_id"
    );
    let active: Vec<i64> = store
        .list_subscribers(true)
        .await
        .unwrap()
        .iter()
        .map(|s| s.user_id)
        .collect();
    assert_eq!(
        active,
        vec![10, 30],
        "list_subscribers(true) returns only active ones"
    );
}

pub async fn subscribers_migrate_chat(store: &dyn Store) {
    store
        .upsert_subscriber(profile(1, -100, "a"), at(0))
        .await
        .unwrap();
    store
        .upsert_subscriber(profile(2, -100, "b"), at(0))
        .await
        .unwrap();
    store
        .upsert_subscriber(profile(3, -200, "c"), at(0))
        .await
        .unwrap();
    let moved = store.migrate_chat(-100, -1_000_100, at(5)).await.unwrap();
    assert_eq!(
        moved, 2,
        "migrate_chat moves every subscriber of the old chat"
    );
    for user in [1, 2] {
        let s = store.get_subscriber(user).await.unwrap().unwrap();
        assert_eq!(
            s.chat_id, -1_000_100,
            "user {user} must write to the new chat"
        );
        assert_eq!(s.updated_at, at(5), "migration sets updated_at");
    }
    assert_eq!(
        store.get_subscriber(3).await.unwrap().unwrap().chat_id,
        -200,
        "other chats are untouched"
    );
    assert_eq!(
        store.migrate_chat(-100, -1_000_100, at(6)).await.unwrap(),
        0,
        "nothing left on the old chat"
    );
}
