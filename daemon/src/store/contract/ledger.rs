//! Contract checks: the delivery ledger (planning, due rows, deferral, completion).

use chrono::Duration;

use super::{at, notice};
use crate::store::{Delivery, DeliveryStatus, Recipient, Store, StoreError};

fn user(user_id: i64) -> Recipient {
    Recipient::Subscriber { user_id }
}

fn channel(chat: &str) -> Recipient {
    Recipient::Channel {
        chat: chat.to_owned(),
    }
}

fn keys(rows: &[Delivery]) -> Vec<(String, String)> {
    rows.iter()
        .map(|d| (d.notice_id.clone(), d.recipient.key()))
        .collect()
}

fn pair(notice: &str, key: &str) -> (String, String) {
    (notice.to_owned(), key.to_owned())
}

/// Fetch the one row of `notice_id` for `recipient`.
async fn row(store: &dyn Store, notice_id: &str, recipient: &Recipient) -> Delivery {
    let rows = store.deliveries_for_notice(notice_id).await.unwrap();
    rows.into_iter()
        .find(|d| &d.recipient == recipient)
        .unwrap_or_else(|| panic!("no ledger row for {notice_id}/{}", recipient.key()))
}

async fn finish(store: &dyn Store, notice_id: &str, recipient: &Recipient, status: DeliveryStatus) {
    let mut d = row(store, notice_id, recipient).await;
    d.status = status;
    d.updated_at = at(50);
    store.save_delivery(&d).await.unwrap();
}

pub async fn ledger_plan_and_complete(store: &dyn Store) {
    store
        .save_fetch(vec![notice("n2", 2_000), notice("n1", 1_000)], vec![])
        .await
        .unwrap();
    let unplanned: Vec<String> = store
        .unplanned_notices()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        unplanned,
        vec!["n1", "n2"],
        "unplanned_notices is oldest first"
    );

    let recipients = [user(1), user(2), channel("@news")];
    assert_eq!(
        store
            .plan_deliveries("n1", &recipients, at(1))
            .await
            .unwrap(),
        3,
        "one row per recipient"
    );
    let unplanned: Vec<String> = store
        .unplanned_notices()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(
        unplanned,
        vec!["n2"],
        "a planned notice is no longer unplanned"
    );

    let rows = store.deliveries_for_notice("n1").await.unwrap();
    assert_eq!(rows.len(), 3, "three ledger rows for n1");
    for d in &rows {
        let fresh = Delivery {
            notice_id: "n1".to_owned(),
            recipient: d.recipient.clone(),
            status: DeliveryStatus::Pending,
            chunks_sent: 0,
            attempts: 0,
            message_ids: vec![],
            last_error: None,
            not_before: None,
            created_at: at(1),
            updated_at: at(1),
        };
        assert_eq!(d, &fresh, "a planned row starts pending and empty");
    }
    assert!(
        store.complete_notices(at(2)).await.unwrap().is_empty(),
        "open rows keep a notice incomplete"
    );

    finish(store, "n1", &user(1), DeliveryStatus::Sent).await;
    finish(store, "n1", &user(2), DeliveryStatus::Blocked).await;
    assert!(
        store.complete_notices(at(3)).await.unwrap().is_empty(),
        "one open row keeps it incomplete"
    );
    finish(store, "n1", &channel("@news"), DeliveryStatus::Failed).await;

    assert_eq!(
        store.complete_notices(at(4)).await.unwrap(),
        vec!["n1"],
        "all rows terminal completes the notice"
    );
    let n1 = store.get_notice("n1").await.unwrap().unwrap();
    assert!(
        n1.sent_to_telegram,
        "a completed notice is sent_to_telegram"
    );
    assert_eq!(
        n1.sent_at,
        Some(at(4)),
        "a completed notice gets sent_at = now"
    );
    assert!(
        !store
            .get_notice("n2")
            .await
            .unwrap()
            .unwrap()
            .sent_to_telegram,
        "an unplanned notice is not completed"
    );
    assert!(
        store.complete_notices(at(5)).await.unwrap().is_empty(),
        "completion happens once"
    );
}

pub async fn ledger_plan_without_recipients_completes(store: &dyn Store) {
    store
        .save_fetch(vec![notice("lonely", 1_000)], vec![])
        .await
        .unwrap();
    assert_eq!(
        store.plan_deliveries("lonely", &[], at(1)).await.unwrap(),
        0,
        "no recipients, no rows"
    );
    assert!(
        store.unplanned_notices().await.unwrap().is_empty(),
        "planning with no recipients still marks planned"
    );
    assert_eq!(
        store.complete_notices(at(2)).await.unwrap(),
        vec!["lonely"],
        "a notice without rows completes"
    );
}

pub async fn ledger_plan_is_idempotent(store: &dyn Store) {
    store
        .save_fetch(vec![notice("n", 1_000)], vec![])
        .await
        .unwrap();
    store
        .plan_deliveries("n", &[user(1), user(2)], at(1))
        .await
        .unwrap();
    let mut in_flight = row(store, "n", &user(1)).await;
    in_flight.status = DeliveryStatus::Sending;
    in_flight.attempts = 1;
    store.save_delivery(&in_flight).await.unwrap();

    let added = store
        .plan_deliveries("n", &[user(1), user(2), user(3)], at(2))
        .await
        .unwrap();
    assert_eq!(added, 1, "re-planning adds only the missing recipient");
    assert_eq!(
        row(store, "n", &user(1)).await,
        in_flight,
        "re-planning leaves existing rows alone"
    );
    assert_eq!(
        store.deliveries_for_notice("n").await.unwrap().len(),
        3,
        "three rows after re-planning"
    );
}

pub async fn plan_unknown_notice_is_not_found(store: &dyn Store) {
    let result = store.plan_deliveries("missing", &[user(1)], at(0)).await;
    assert!(
        matches!(result, Err(StoreError::NotFound { .. })),
        "planning an unknown notice: {result:?}"
    );
    assert!(
        store
            .deliveries_for_notice("missing")
            .await
            .unwrap()
            .is_empty(),
        "no rows for an unknown notice"
    );
}

pub async fn due_deliveries_are_ordered(store: &dyn Store) {
    store
        .save_fetch(vec![notice("late", 2_000), notice("early", 1_000)], vec![])
        .await
        .unwrap();
    let recipients = [user(10), user(9), channel("@x")];
    store
        .plan_deliveries("late", &recipients, at(0))
        .await
        .unwrap();
    store
        .plan_deliveries("early", &recipients, at(0))
        .await
        .unwrap();
    finish(store, "early", &user(9), DeliveryStatus::Sent).await;
    finish(store, "late", &user(10), DeliveryStatus::Sending).await;

    let due = store.due_deliveries(at(1)).await.unwrap();
    let expected = vec![
        pair("early", "channel:@x"),
        pair("early", "user:10"),
        pair("late", "channel:@x"),
        pair("late", "user:10"),
        pair("late", "user:9"),
    ];
    assert_eq!(
        keys(&due),
        expected,
        "due rows: oldest notice first, then recipient key; terminal rows excluded"
    );
}

pub async fn deferred_rows_are_not_due(store: &dyn Store) {
    store
        .save_fetch(vec![notice("n", 1_000)], vec![])
        .await
        .unwrap();
    store
        .plan_deliveries("n", &[user(1), user(2)], at(0))
        .await
        .unwrap();
    let later = at(0) + Duration::seconds(60);
    let mut deferred = row(store, "n", &user(1)).await;
    deferred.not_before = Some(later);
    store.save_delivery(&deferred).await.unwrap();

    let due = store.due_deliveries(at(0)).await.unwrap();
    assert_eq!(
        keys(&due),
        vec![pair("n", "user:2")],
        "a row with not_before in the future is not due"
    );
    assert_eq!(
        store.next_deferred(at(0)).await.unwrap(),
        Some(later),
        "next_deferred is the earliest not_before"
    );
    assert_eq!(
        store.next_deferred(later).await.unwrap(),
        None,
        "a not_before that has come is no longer a deferral"
    );
    let due = store.due_deliveries(later).await.unwrap();
    assert_eq!(due.len(), 2, "a row is due at exactly its not_before");

    deferred.status = DeliveryStatus::Sent;
    store.save_delivery(&deferred).await.unwrap();
    assert_eq!(
        store.next_deferred(at(0)).await.unwrap(),
        None,
        "finished rows are not deferred"
    );
}

pub async fn save_delivery_round_trips(store: &dyn Store) {
    store
        .save_fetch(vec![notice("n", 1_000)], vec![])
        .await
        .unwrap();
    store
        .plan_deliveries("n", &[channel("-100123")], at(0))
        .await
        .unwrap();
    let updated = Delivery {
        status: DeliveryStatus::Pending,
        chunks_sent: 2,
        attempts: 3,
        message_ids: vec![11, 12],
        last_error: Some("429 too many requests".to_owned()),
        not_before: Some(at(90)),
        updated_at: at(30),
        ..row(store, "n", &channel("-100123")).await
    };
    store.save_delivery(&updated).await.unwrap();
    assert_eq!(
        row(store, "n", &channel("-100123")).await,
        updated,
        "every Delivery field must round-trip"
    );

    let stranger = Delivery {
        recipient: user(99),
        ..updated
    };
    let result = store.save_delivery(&stranger).await;
    assert!(
        matches!(result, Err(StoreError::NotFound { .. })),
        "saving an unplanned row: {result:?}"
    );
}
