//! Stopping in the middle: a crash with sends on the wire, and cancellation.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::format::{TELEGRAM_TEXT_LIMIT, split_message};

/// A message the splitter cuts into three chunks.
fn long_message() -> String {
    ["Round one", "Round two", "Round three"]
        .map(|title| format!("<b>{title}</b>\n{}", "details ".repeat(400)))
        .join("\n\n")
}

#[tokio::test(start_paused = true)]
async fn crash_mid_broadcast_resumes_at_the_right_chunk() {
    let h = Harness::new();
    h.subscribe(1..=10).await;
    let message = long_message();
    let chunks = split_message(&message, TELEGRAM_TEXT_LIMIT);
    assert_eq!(chunks.len(), 3);
    h.add_notice("n1", 1, &message).await;
    h.sender.set_latency(Duration::from_millis(10));
    h.sender.crash_after(Some(6));
    let settings = DeliverySettings {
        concurrency: 4,
        ..fast()
    };

    // The daemon "dies" once every worker is stuck in a send that will never be answered:
    // one of those sends reached Telegram, the others did not.
    {
        let engine = h.engine(settings.clone());
        let cancel = CancellationToken::new();
        tokio::select! {
            result = engine.deliver_pending(&cancel) => panic!("the step ended before the crash: {result:?}"),
            () = wait_until("every worker to hang", || h.sender.hung() == 4) => {}
        }
    }
    let rows = h.rows("n1").await;
    let sending: Vec<&Delivery> = rows
        .iter()
        .filter(|r| r.status == DeliveryStatus::Sending)
        .collect();
    assert_eq!(sending.len(), 4, "{rows:?}");
    assert!(
        rows.iter().any(|r| r.chunks_sent > 0 && r.chunks_sent < 3),
        "some rows stopped part way: {rows:?}"
    );
    assert_eq!(h.sender.received().len(), 7);

    h.sender.crash_after(None);
    let report = deliver(&h.engine(settings)).await;

    assert_eq!(
        (
            report.in_doubt,
            report.deliveries_sent,
            report.notices_completed
        ),
        (4, 10, 1)
    );
    let counts = arrivals(&h.sender.received());
    assert_eq!(counts.len(), 30, "every chunk reached every chat");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(
        twice.len(),
        1,
        "only the chunk in flight at the crash arrives twice: {twice:?}"
    );
    assert_eq!(*twice[0].1, 2);
    for id in 1..=10 {
        let mut texts: Vec<String> = h
            .sender
            .received_by(&ChatTarget::Id(id))
            .into_iter()
            .map(|r| r.text)
            .collect();
        texts.dedup();
        assert_eq!(texts, chunks, "chat {id} got the chunks in order");
    }
    for row in h.rows("n1").await {
        assert_eq!(
            (row.status, row.chunks_sent, row.message_ids.len()),
            (DeliveryStatus::Sent, 3, 3)
        );
    }
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_promptly_and_records_in_flight_sends() {
    let h = Harness::new();
    h.subscribe(1..=100).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.set_latency(Duration::from_millis(50));
    let engine = h.engine(DeliverySettings::default());
    let cancel = CancellationToken::new();

    let mut cancelled_at = None;
    let (report, ()) = tokio::join!(engine.deliver_pending(&cancel), async {
        wait_until("ten messages", || h.sender.received().len() >= 10).await;
        cancelled_at = Some(Instant::now());
        cancel.cancel();
    });
    let report = report.unwrap();
    let took = cancelled_at.unwrap().elapsed();

    assert!(report.cancelled);
    assert!(
        took <= Duration::from_millis(100),
        "cancellation took {took:?}"
    );
    assert!(report.messages_sent < 20, "{report:?}");
    assert_eq!(
        report.messages_sent as usize,
        h.sender.received().len(),
        "in-flight sends were recorded"
    );
    assert!(
        h.rows("n1")
            .await
            .iter()
            .all(|r| r.status != DeliveryStatus::Sending)
    );

    let rest = deliver(&engine).await;
    assert_eq!(rest.in_doubt, 0);
    assert_eq!(report.deliveries_sent + rest.deliveries_sent, 100);
    let counts = arrivals(&h.sender.received());
    assert_eq!(counts.len(), 100);
    assert!(counts.values().all(|&n| n == 1));
}

#[tokio::test(start_paused = true)]
async fn cancellation_interrupts_a_rate_limit_wait() {
    let h = Harness::new();
    h.subscribe(1..=5).await;
    h.add_notice("n1", 1, "hello").await;
    h.sender.fail_call(
        2,
        SendError::RateLimited {
            retry_after: Duration::from_secs(30),
        },
    );
    let engine = h.engine(DeliverySettings::default());
    let cancel = CancellationToken::new();

    let started = Instant::now();
    let (report, ()) = tokio::join!(engine.deliver_pending(&cancel), async {
        wait_until("the 429", || h.sender.calls().len() >= 2).await;
        cancel.cancel();
    });
    let report = report.unwrap();

    assert!(
        started.elapsed() < Duration::from_secs(1),
        "waited out the 429: {:?}",
        started.elapsed()
    );
    assert!(report.cancelled);
    assert_eq!((report.rate_limited, report.deliveries_sent), (1, 1));
    assert!(
        h.rows("n1")
            .await
            .iter()
            .all(|r| r.status != DeliveryStatus::Sending)
    );
}
