//! Planning and the happy path: everyone gets everything once, in order, within the limits.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;

fn message(n: usize) -> String {
    format!("<b>Notice {n}</b>\nApply by Friday.")
}

#[tokio::test(start_paused = true)]
async fn broadcast_reaches_everyone_exactly_once_within_limits() {
    let h = Harness::new();
    h.subscribe(1..=50).await;
    for n in 1..=3 {
        h.add_notice(&format!("n{n}"), n as i64, &message(n)).await;
    }
    h.sender.set_latency(Duration::from_millis(50));
    let channel = ChatTarget::Username("@alerts".into());
    let settings = DeliverySettings {
        channel: Some(channel.clone()),
        ..DeliverySettings::default()
    };
    let engine = h.engine(settings);

    let report = deliver(&engine).await;

    let expected = DeliveryReport {
        notices_planned: 3,
        deliveries_sent: 153,
        messages_sent: 153,
        notices_completed: 3,
        ..DeliveryReport::default()
    };
    assert_eq!(report, expected);
    let received = h.sender.received();
    let counts = arrivals(&received);
    assert_eq!(counts.len(), 153, "every (chat, notice) pair arrives");
    assert!(
        counts.values().all(|&n| n == 1),
        "nothing arrives twice: {counts:?}"
    );
    for id in 1..=50 {
        let texts: Vec<String> = h
            .sender
            .received_by(&ChatTarget::Id(id))
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(
            texts,
            [message(1), message(2), message(3)],
            "chat {id} gets the notices in order"
        );
    }
    assert_eq!(h.sender.received_by(&channel).len(), 3);
    for n in 1..=3 {
        let notice = h.store.get_notice(&format!("n{n}")).await.unwrap().unwrap();
        assert!(notice.sent_to_telegram && notice.sent_at.is_some());
    }

    // Telegram's limits: 28/s overall (any 29 sends span at least a second), 1/s per private
    // chat, 3 s per channel, and at most 16 sends in flight.
    let times: Vec<Instant> = received.iter().map(|r| r.at).collect();
    for window in times.windows(29) {
        assert!(
            window[28] - window[0] >= Duration::from_secs(1),
            "more than 28 sends in one second"
        );
    }
    let mut by_chat: HashMap<ChatTarget, Vec<Instant>> = HashMap::new();
    for r in &received {
        by_chat.entry(r.chat.clone()).or_default().push(r.at);
    }
    for (chat, times) in by_chat {
        let gap = if chat.is_group_like() {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(1)
        };
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= gap,
                "chat {chat} got two messages {:?} apart",
                pair[1] - pair[0]
            );
        }
    }
    assert!(
        h.sender.max_in_flight() <= 16,
        "in flight: {}",
        h.sender.max_in_flight()
    );
    assert!(h.sender.max_in_flight() > 1, "sends overlap");

    // A second step finds nothing to do.
    let again = deliver(&engine).await;
    assert_eq!(again, DeliveryReport::default());
    assert_eq!(h.sender.received().len(), 153);
}

#[tokio::test(start_paused = true)]
async fn late_subscriber_gets_only_new_notices() {
    let h = Harness::new();
    h.subscribe([1, 2]).await;
    h.add_notice("old", 1, "old news").await;
    let engine = h.engine(fast());
    deliver(&engine).await;

    h.subscribe([3]).await;
    h.add_notice("new", 2, "new news").await;
    let report = deliver(&engine).await;

    assert_eq!(report.notices_planned, 1);
    assert_eq!(report.deliveries_sent, 3);
    let texts: Vec<String> = h
        .sender
        .received_by(&ChatTarget::Id(3))
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(texts, ["new news"]);
    assert_eq!(h.sender.received_by(&ChatTarget::Id(1)).len(), 2);
}

#[tokio::test(start_paused = true)]
async fn subscriber_who_stopped_after_planning_is_skipped() {
    let h = Harness::new();
    h.subscribe([1, 2]).await;
    h.add_notice("n1", 1, "hello").await;
    let engine = h.engine(fast());
    // A step cancelled before it starts plans the rows but sends nothing.
    let cancelled = CancellationToken::new();
    cancelled.cancel();
    let planned = engine.deliver_pending(&cancelled).await.unwrap();
    assert_eq!(
        (
            planned.notices_planned,
            planned.messages_sent,
            planned.cancelled
        ),
        (1, 0, true)
    );

    h.store
        .deactivate_subscriber(2, h.clock.now())
        .await
        .unwrap();
    let report = deliver(&engine).await;

    assert_eq!(
        (
            report.deliveries_sent,
            report.skipped,
            report.notices_completed
        ),
        (1, 1, 1)
    );
    assert!(h.sender.received_by(&ChatTarget::Id(2)).is_empty());
    assert_eq!(h.row("n1", &user(2)).await.status, DeliveryStatus::Skipped);
}

#[tokio::test(start_paused = true)]
async fn a_notice_without_recipients_completes() {
    let h = Harness::new();
    h.add_notice("n1", 1, "nobody listens").await;
    let report = deliver(&h.engine(fast())).await;
    assert_eq!(
        (
            report.notices_planned,
            report.notices_completed,
            report.messages_sent
        ),
        (1, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn concurrent_steps_never_send_a_row_twice() {
    let h = Harness::new();
    h.subscribe(1..=20).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.set_latency(Duration::from_millis(20));
    let engine = h.engine(fast());
    let (a, b) = tokio::join!(deliver(&engine), deliver(&engine));
    assert_eq!(a.deliveries_sent + b.deliveries_sent, 20);
    assert_eq!(a.notices_planned + b.notices_planned, 1);
    assert!(arrivals(&h.sender.received()).values().all(|&n| n == 1));
}

#[test]
fn a_step_can_run_on_a_spawned_task() {
    fn assert_send<T: Send>(_: &T) {}
    let h = Harness::new();
    let engine = h.engine(fast());
    let token = CancellationToken::new();
    assert_send(&engine.deliver_pending(&token));
    assert_send(&engine);
}
