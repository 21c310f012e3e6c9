use std::time::Instant;

use tracing_subscriber::layer::SubscriberExt;

use super::*;

fn push(ring: &LogRing, level: LogLevel, text: &str, run: Option<u64>) {
    ring.push(Utc::now(), level, "test", text.to_owned(), run.map(RunId));
}

fn query(cursor: u64) -> LogQuery {
    LogQuery {
        cursor,
        max: 100,
        ..LogQuery::default()
    }
}

fn texts(batch: &LogBatch) -> Vec<&str> {
    batch.entries.iter().map(|e| e.text.as_str()).collect()
}

#[tokio::test]
async fn reads_from_cursor_and_advances() {
    let ring = LogRing::new(10);
    push(&ring, LogLevel::Info, "a", None);
    push(&ring, LogLevel::Info, "b", None);
    let first = ring.tail(&query(0)).await;
    assert_eq!(texts(&first), ["a", "b"]);
    assert_eq!(first.next_cursor, 2);
    push(&ring, LogLevel::Info, "c", None);
    let second = ring.tail(&query(first.next_cursor)).await;
    assert_eq!(texts(&second), ["c"]);
    assert_eq!(second.dropped, 0);
}

#[tokio::test]
async fn filters_level_grep_and_run() {
    let ring = LogRing::new(10);
    push(&ring, LogLevel::Debug, "noise", None);
    push(&ring, LogLevel::Warn, "Telegram SLOW", Some(7));
    push(&ring, LogLevel::Error, "store down", Some(8));
    let q = LogQuery {
        min_level: Some(LogLevel::Warn),
        ..query(0)
    };
    assert_eq!(texts(&ring.tail(&q).await), ["Telegram SLOW", "store down"]);
    let q = LogQuery {
        grep: Some("slow".into()),
        ..query(0)
    };
    assert_eq!(texts(&ring.tail(&q).await), ["Telegram SLOW"]);
    let q = LogQuery {
        run: Some(RunId(8)),
        ..query(0)
    };
    let batch = ring.tail(&q).await;
    assert_eq!(texts(&batch), ["store down"]);
    assert_eq!(batch.next_cursor, 3);
}

#[tokio::test]
async fn max_limits_the_batch_and_the_cursor_resumes() {
    let ring = LogRing::new(10);
    for i in 0..5 {
        push(&ring, LogLevel::Info, &format!("l{i}"), None);
    }
    let batch = ring.tail(&LogQuery { max: 2, ..query(0) }).await;
    assert_eq!(texts(&batch), ["l0", "l1"]);
    let batch = ring
        .tail(&LogQuery {
            max: 2,
            ..query(batch.next_cursor)
        })
        .await;
    assert_eq!(texts(&batch), ["l2", "l3"]);
}

#[tokio::test]
async fn overflow_is_counted_as_dropped() {
    let ring = LogRing::new(3);
    for i in 0..8 {
        push(&ring, LogLevel::Info, &format!("l{i}"), None);
    }
    let batch = ring.tail(&query(1)).await;
    assert_eq!(texts(&batch), ["l5", "l6", "l7"]);
    assert_eq!(batch.dropped, 4);
    assert_eq!(batch.next_cursor, 8);
}

#[tokio::test]
async fn cursor_beyond_the_end_restarts_from_the_oldest() {
    let ring = LogRing::new(3);
    push(&ring, LogLevel::Info, "fresh", None);
    let batch = ring.tail(&query(500)).await;
    assert_eq!(texts(&batch), ["fresh"]);
    assert_eq!(batch.dropped, 0);
}

#[tokio::test]
async fn tail_starts_from_the_last_matching_lines() {
    let ring = LogRing::new(10);
    for i in 0..6 {
        push(
            &ring,
            if i % 2 == 0 {
                LogLevel::Warn
            } else {
                LogLevel::Info
            },
            &format!("l{i}"),
            None,
        );
    }
    let q = LogQuery {
        tail: Some(2),
        min_level: Some(LogLevel::Warn),
        ..query(0)
    };
    let batch = ring.tail(&q).await;
    assert_eq!(texts(&batch), ["l2", "l4"]);
    assert_eq!(batch.next_cursor, 6);
}

#[tokio::test]
async fn follower_wakes_on_a_new_line() {
    let ring = LogRing::new(10);
    push(&ring, LogLevel::Info, "old", None);
    let follower = {
        let ring = ring.clone();
        tokio::spawn(async move {
            ring.tail(&LogQuery {
                wait_ms: 10_000,
                ..query(1)
            })
            .await
        })
    };
    // Wait until the follower is subscribed (it is then parked waiting for a line).
    let started = Instant::now();
    while ring.inner.next_seq.receiver_count() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "follower never subscribed"
        );
        tokio::task::yield_now().await;
    }
    push(&ring, LogLevel::Info, "new", None);
    let batch = follower.await.unwrap();
    assert_eq!(texts(&batch), ["new"]);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn follower_waits_for_a_matching_line_only() {
    let ring = LogRing::new(10);
    let follower = {
        let ring = ring.clone();
        tokio::spawn(async move {
            ring.tail(&LogQuery {
                wait_ms: 10_000,
                grep: Some("wanted".into()),
                ..query(0)
            })
            .await
        })
    };
    push(&ring, LogLevel::Info, "other", None);
    push(&ring, LogLevel::Info, "the wanted line", None);
    let batch = follower.await.unwrap();
    assert_eq!(texts(&batch), ["the wanted line"]);
    assert_eq!(batch.next_cursor, 2);
}

#[tokio::test(start_paused = true)]
async fn an_idle_follow_returns_empty_after_the_wait() {
    let ring = LogRing::new(10);
    push(&ring, LogLevel::Info, "a", None);
    let batch = ring
        .tail(&LogQuery {
            wait_ms: 2_000,
            ..query(1)
        })
        .await;
    assert!(batch.entries.is_empty());
    assert_eq!(batch.next_cursor, 1);
}

#[tokio::test]
async fn layer_formats_fields_and_picks_up_the_run_id() {
    let ring = LogRing::new(10);
    let subscriber = tracing_subscriber::registry().with(ring.layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(items = 3, source = "superset portal", "fetched");
        let span = tracing::info_span!("run", job = %"update", run_id = 42u64);
        let _enter = span.enter();
        let inner = tracing::info_span!("step", name = "deliver");
        let _inner = inner.enter();
        tracing::warn!(chat = 5, "retrying");
    });
    let batch = ring.tail(&query(0)).await;
    assert_eq!(
        texts(&batch),
        [
            "fetched items=3 source=\"superset portal\"",
            "retrying chat=5"
        ]
    );
    assert_eq!(batch.entries[0].run, None);
    assert_eq!(batch.entries[1].run, Some(RunId(42)));
    assert_eq!(batch.entries[1].level, LogLevel::Warn);
}

#[tokio::test]
async fn filters_by_target_and_the_modules_below_it() {
    let ring = LogRing::new(10);
    let now = Utc::now();
    ring.push(
        now,
        LogLevel::Info,
        "supersetd::scheduler",
        "tick".into(),
        None,
    );
    ring.push(
        now,
        LogLevel::Info,
        "supersetd::scheduler::timer",
        "sleep".into(),
        None,
    );
    ring.push(
        now,
        LogLevel::Info,
        "supersetd::schedulerx",
        "other".into(),
        None,
    );
    ring.push(now, LogLevel::Info, "supersetd::web", "GET".into(), None);
    let q = LogQuery {
        target: Some("supersetd::scheduler".into()),
        ..query(0)
    };
    assert_eq!(texts(&ring.tail(&q).await), ["tick", "sleep"]);
}
