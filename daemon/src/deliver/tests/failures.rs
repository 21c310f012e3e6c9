//! Every answer Telegram can give besides "ok", and what the ledger and the students see.

use std::time::Duration;

use super::*;
use crate::format::html_to_plain;

fn calls_to(h: &Harness, chat: i64) -> Vec<(ChatTarget, TextMode, Instant)> {
    h.sender
        .calls()
        .into_iter()
        .filter(|(c, _, _)| *c == ChatTarget::Id(chat))
        .collect()
}

fn assert_once_each(h: &Harness, expected: usize) {
    let counts = arrivals(&h.sender.received());
    assert_eq!(counts.len(), expected, "distinct arrivals: {counts:?}");
    assert!(
        counts.values().all(|&n| n == 1),
        "a message arrived twice: {counts:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn blocked_subscriber_is_deactivated_and_the_rest_still_receive() {
    let h = Harness::new();
    h.subscribe(1..=5).await;
    h.add_notice("n1", 1, "first").await;
    h.add_notice("n2", 2, "second").await;
    h.sender.fail_chat(
        ChatTarget::Id(3),
        SendError::Blocked {
            reason: "bot was blocked by the user".into(),
        },
    );

    let report = deliver(&h.engine(fast())).await;

    assert_eq!(
        (report.deliveries_sent, report.blocked, report.skipped),
        (8, 1, 1)
    );
    assert_eq!(report.notices_completed, 2);
    assert!(!h.store.get_subscriber(3).await.unwrap().unwrap().is_active);
    let others_active = h.store.list_subscribers(true).await.unwrap().len();
    assert_eq!(others_active, 4);
    let row = h.row("n1", &user(3)).await;
    assert_eq!(row.status, DeliveryStatus::Blocked);
    assert_eq!(
        row.last_error.as_deref(),
        Some("bot was blocked by the user")
    );
    assert_eq!(h.row("n2", &user(3)).await.status, DeliveryStatus::Skipped);
    assert_eq!(calls_to(&h, 3).len(), 1, "a blocked chat is not retried");
    assert_once_each(&h, 8);
}

#[tokio::test(start_paused = true)]
async fn blocked_channel_fails_without_touching_subscribers() {
    let h = Harness::new();
    h.subscribe([1]).await;
    h.add_notice("n1", 1, "first").await;
    h.sender.fail_chat(
        ChatTarget::Id(-1001),
        SendError::Blocked {
            reason: "bot was kicked".into(),
        },
    );
    let settings = DeliverySettings {
        channel: Some(ChatTarget::Id(-1001)),
        ..fast()
    };

    let report = deliver(&h.engine(settings)).await;

    assert_eq!(
        (report.deliveries_sent, report.failed, report.blocked),
        (1, 1, 0)
    );
    let row = h
        .row(
            "n1",
            &Recipient::Channel {
                chat: "-1001".into(),
            },
        )
        .await;
    assert_eq!(row.status, DeliveryStatus::Failed);
    assert!(h.store.get_subscriber(1).await.unwrap().unwrap().is_active);
}

#[tokio::test(start_paused = true)]
async fn short_rate_limit_pauses_everyone_and_retries_without_duplicate() {
    let h = Harness::new();
    h.subscribe(1..=10).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.fail_call(
        4,
        SendError::RateLimited {
            retry_after: Duration::from_secs(5),
        },
    );

    let report = deliver(&h.engine(DeliverySettings::default())).await;

    assert_eq!(
        (report.deliveries_sent, report.rate_limited, report.deferred),
        (10, 1, 0)
    );
    assert_once_each(&h, 10);
    let calls = h.sender.calls();
    assert_eq!(calls.len(), 11);
    let limited_at = calls[3].2;
    let next_at = calls[4].2;
    assert!(
        next_at - limited_at >= Duration::from_secs(5),
        "the whole pacer waited: {:?}",
        next_at - limited_at
    );
    assert!(
        calls[4..].iter().any(|(chat, _, _)| *chat == calls[3].0),
        "the limited chunk is retried"
    );
}

#[tokio::test(start_paused = true)]
async fn long_rate_limit_defers_and_resumes_after_not_before() {
    let h = Harness::new();
    h.subscribe(1..=10).await;
    h.add_notice("n1", 1, "first").await;
    h.add_notice("n2", 2, "second").await;
    h.sender.fail_call(
        5,
        SendError::RateLimited {
            retry_after: Duration::from_secs(120),
        },
    );
    let engine = h.engine(DeliverySettings::default());

    let report = deliver(&engine).await;

    assert_eq!(
        (report.deliveries_sent, report.rate_limited, report.deferred),
        (4, 1, 16)
    );
    assert!(!report.cancelled);
    let until = h.clock.now() + chrono::Duration::seconds(120);
    assert_eq!(
        h.store.next_deferred(h.clock.now()).await.unwrap(),
        Some(until)
    );
    for id in ["n1", "n2"] {
        for row in h
            .rows(id)
            .await
            .into_iter()
            .filter(|r| r.status != DeliveryStatus::Sent)
        {
            assert_eq!(
                (row.status, row.not_before),
                (DeliveryStatus::Pending, Some(until)),
                "{row:?}"
            );
        }
    }

    // Before `not_before` nothing is due.
    let early = deliver(&engine).await;
    assert_eq!(early, DeliveryReport::default());
    assert_eq!(h.sender.calls().len(), 5);

    h.clock.advance(chrono::Duration::seconds(121));
    let resumed = deliver(&engine).await;
    assert_eq!(
        (
            resumed.deliveries_sent,
            resumed.notices_completed,
            resumed.deferred
        ),
        (16, 2, 0)
    );
    assert_once_each(&h, 20);
    assert!(h.rows("n2").await.iter().all(|r| r.not_before.is_none()));
}

/// Telegram's flood wait holds for the whole bot: a notice planned while it is on waits too.
#[tokio::test(start_paused = true)]
async fn a_recorded_flood_wait_holds_back_notices_planned_after_it() {
    let h = Harness::new();
    h.subscribe(1..=10).await;
    h.add_notice("n1", 1, "first").await;
    h.sender.fail_call(
        3,
        SendError::RateLimited {
            retry_after: Duration::from_secs(120),
        },
    );
    let engine = h.engine(DeliverySettings::default());
    deliver(&engine).await;
    let calls = h.sender.calls().len();

    h.add_notice("n2", 2, "second").await;
    let during = deliver(&engine).await;
    assert_eq!(
        h.sender.calls().len(),
        calls,
        "nothing is sent during the wait"
    );
    assert_eq!((during.notices_planned, during.deferred), (1, 10));
    let until = h.clock.now() + chrono::Duration::seconds(120);
    assert!(
        h.rows("n2")
            .await
            .iter()
            .all(|r| r.not_before == Some(until))
    );

    h.clock.advance(chrono::Duration::seconds(121));
    deliver(&engine).await;
    assert_once_each(&h, 20);
}

/// A short 429 is waited out in memory, and written down as well: a process that dies during
/// the wait leaves it to the next, which sends nothing before it ends.
#[tokio::test(start_paused = true)]
async fn a_short_flood_wait_survives_a_crash_during_it() {
    let h = Harness::new();
    h.subscribe(1..=10).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.fail_call(
        2,
        SendError::RateLimited {
            retry_after: Duration::from_secs(30),
        },
    );
    let first = Arc::new(h.engine(DeliverySettings::default()));
    let cancel = CancellationToken::new();
    let step = tokio::spawn({
        let (first, cancel) = (first.clone(), cancel.clone());
        async move { first.deliver_pending(&cancel).await }
    });
    wait_until("the 429 was answered", || h.sender.calls().len() >= 2).await;
    // The process dies during the wait: its pacer is gone, the ledger is all that is left.
    step.abort();
    let _ = step.await;
    let until = h.clock.now() + chrono::Duration::seconds(30);
    assert_eq!(
        h.store.next_deferred(h.clock.now()).await.unwrap(),
        Some(until)
    );

    let calls = h.sender.calls().len();
    let second = h.engine(DeliverySettings::default());
    let report = deliver(&second).await;
    assert_eq!(
        h.sender.calls().len(),
        calls,
        "the restart respects the wait"
    );
    assert!(report.deferred > 0);

    h.clock.advance(chrono::Duration::seconds(31));
    deliver(&second).await;
    assert_once_each(&h, 10);
}

/// A new engine (a restarted daemon) waits a moment before its first send: the old process
/// may have written to the same chat just before it died.
#[tokio::test(start_paused = true)]
async fn a_new_engine_waits_out_the_startup_grace() {
    let h = Harness::new();
    h.subscribe([1]).await;
    h.add_notice("n1", 1, "hello").await;
    let start = Instant::now();
    let engine = h.engine(DeliverySettings {
        startup_grace: Duration::from_millis(1100),
        ..DeliverySettings::default()
    });
    deliver(&engine).await;
    let calls = h.sender.calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].2 - start >= Duration::from_millis(1100));
}

#[tokio::test(start_paused = true)]
async fn refused_html_is_resent_once_as_plain_text() {
    let h = Harness::new();
    h.subscribe([1, 2, 3]).await;
    let html = "<b>Offer</b> from A &amp; B";
    h.add_notice("n1", 1, html).await;
    h.sender.refuse_html(ChatTarget::Id(2));
    for _ in 0..2 {
        h.sender.fail_chat(
            ChatTarget::Id(3),
            SendError::Unparseable {
                reason: "can't parse entities".into(),
            },
        );
    }

    let report = deliver(&h.engine(fast())).await;

    assert_eq!(
        (
            report.deliveries_sent,
            report.retried_as_plain,
            report.failed
        ),
        (2, 2, 1)
    );
    let to_2 = h.sender.received_by(&ChatTarget::Id(2));
    assert_eq!(to_2.len(), 1);
    assert_eq!(
        (to_2[0].mode, to_2[0].text.clone()),
        (TextMode::Plain, html_to_plain(html))
    );
    assert_eq!(
        calls_to(&h, 3).iter().map(|c| c.1).collect::<Vec<_>>(),
        [TextMode::Html, TextMode::Plain]
    );
    let failed = h.row("n1", &user(3)).await;
    assert_eq!(failed.status, DeliveryStatus::Failed);
    assert!(failed.last_error.unwrap().contains("parse"));
    assert_eq!(
        h.sender.received_by(&ChatTarget::Id(1))[0].mode,
        TextMode::Html
    );
}

#[tokio::test(start_paused = true)]
async fn migrated_group_is_followed_and_remembered() {
    let h = Harness::new();
    h.subscribe_in(7, -100).await;
    h.add_notice("n1", 1, "first").await;
    h.sender.fail_chat(
        ChatTarget::Id(-100),
        SendError::Migrated { new_chat_id: -200 },
    );
    let engine = h.engine(fast());

    let report = deliver(&engine).await;

    assert_eq!(report.deliveries_sent, 1);
    assert_eq!(h.sender.received_by(&ChatTarget::Id(-200)).len(), 1);
    assert_eq!(
        h.store.get_subscriber(7).await.unwrap().unwrap().chat_id,
        -200
    );

    h.add_notice("n2", 2, "second").await;
    deliver(&engine).await;
    assert_eq!(h.sender.received_by(&ChatTarget::Id(-200)).len(), 2);
    assert_eq!(
        calls_to(&h, -100).len(),
        1,
        "the old chat is not written to again"
    );
}

#[tokio::test(start_paused = true)]
async fn rejected_message_fails_without_retry() {
    let h = Harness::new();
    h.subscribe([1, 2]).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.fail_chat(
        ChatTarget::Id(2),
        SendError::Rejected {
            reason: "chat not found".into(),
        },
    );

    let report = deliver(&h.engine(fast())).await;

    assert_eq!(
        (
            report.deliveries_sent,
            report.failed,
            report.notices_completed
        ),
        (1, 1, 1)
    );
    assert_eq!(calls_to(&h, 2).len(), 1);
    let row = h.row("n1", &user(2)).await;
    assert_eq!(row.status, DeliveryStatus::Failed);
    assert!(row.last_error.unwrap().contains("chat not found"));
}

#[tokio::test(start_paused = true)]
async fn transient_errors_back_off_then_leave_the_row_for_the_next_step() {
    let h = Harness::new();
    h.subscribe([1, 2]).await;
    h.add_notice("n1", 1, "hello").await;
    for _ in 0..4 {
        h.sender.fail_chat(
            ChatTarget::Id(2),
            SendError::Transient {
                reason: "HTTP 502".into(),
            },
        );
    }
    let engine = h.engine(fast());

    let report = deliver(&engine).await;

    assert_eq!(
        (
            report.deliveries_sent,
            report.failed,
            report.notices_completed
        ),
        (1, 1, 0)
    );
    let times: Vec<Instant> = calls_to(&h, 2).into_iter().map(|c| c.2).collect();
    assert_eq!(times.len(), 4, "one try and three retries");
    let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        [
            Duration::from_millis(500),
            Duration::from_secs(1),
            Duration::from_secs(2)
        ]
    );
    let row = h.row("n1", &user(2)).await;
    assert_eq!((row.status, row.attempts), (DeliveryStatus::Pending, 4));

    let next = deliver(&engine).await;
    assert_eq!((next.deliveries_sent, next.notices_completed), (1, 1));
    assert_once_each(&h, 2);
}

#[tokio::test(start_paused = true)]
async fn transient_error_recovered_within_the_step() {
    let h = Harness::new();
    h.subscribe([1]).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.fail_chat(
        ChatTarget::Id(1),
        SendError::Transient {
            reason: "timeout".into(),
        },
    );

    let report = deliver(&h.engine(fast())).await;

    assert_eq!(
        (
            report.deliveries_sent,
            report.failed,
            report.notices_completed
        ),
        (1, 0, 1)
    );
    assert_eq!(h.row("n1", &user(1)).await.attempts, 2);
}
