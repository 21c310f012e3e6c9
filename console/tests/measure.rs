//! Measurements for the operator tools, run by hand (they are `#[ignore]`d: they take a minute
//! and print figures rather than assert tight bounds):
//!
//! ```text
//! cargo test -p superset-console --test measure -- --ignored --nocapture
//! ```
//!
//! - `status` round trip over the real control server and a real store, 10,000 calls;
//! - log tail throughput: lines per second a tail reader (as the console reads) receives while
//!   the daemon logs as fast as it can, and how many the ring dropped;
//! - bytes an idle console writes to its terminal in 60 s (a real pty).

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use supersetd::control::testkit::RecordingJobs;
use supersetd::control::{Handles, bind, serve};
use supersetd::logs::LogRing;
use supersetd::services::ServiceRegistry;
use supersetd::store::embedded::EmbeddedStore;
use supersetd_proto::{LogLevel, LogQuery, ServiceState};
use tokio_util::sync::CancellationToken;

struct Server {
    socket: std::path::PathBuf,
    logs: LogRing,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    server_up_since(Utc::now()).await
}

/// A server whose daemon claims to have started at `started_at`: an uptime of hours changes
/// the header once a minute, as in production, not once a second.
async fn server_up_since(started_at: chrono::DateTime<Utc>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run").join("control.sock");
    let services = ServiceRegistry::new();
    for name in ["bot", "web", "scheduler"] {
        services.set_state(name, ServiceState::Running, None);
    }
    let logs = LogRing::new(10_000);
    let handles = Handles {
        jobs: Arc::new(RecordingJobs::default()),
        services,
        logs: logs.clone(),
        store: Arc::new(EmbeddedStore::open(&dir.path().join("state.db")).unwrap()),
        shutdown: CancellationToken::new(),
        started_at,
    };
    let cancel = CancellationToken::new();
    let listener = bind(&socket).await.unwrap();
    tokio::spawn(serve(listener, handles, cancel.clone()));
    Server {
        socket,
        logs,
        cancel,
        _dir: dir,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run by hand"]
async fn status_round_trip() {
    let s = server().await;
    let conn = supersetd_proto::connect(&s.socket, "measure", Duration::from_secs(5))
        .await
        .unwrap();
    let ctx = || supersetd_proto::connect::context_with_timeout(Duration::from_secs(5));
    for _ in 0..200 {
        conn.client.get_status(ctx()).await.unwrap().unwrap();
    }
    let mut times = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let t = Instant::now();
        conn.client.get_status(ctx()).await.unwrap().unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "status round trip over 10000 calls: median {:?}, p99 {:?}, max {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
    s.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement; run by hand"]
async fn log_tail_throughput() {
    let s = server().await;
    let conn = supersetd_proto::connect(&s.socket, "measure", Duration::from_secs(5))
        .await
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let (ring, stop_w, count) = (s.logs.clone(), stop.clone(), written.clone());
    // The writer: a thread logging lines of a typical length as fast as it can.
    let writer = std::thread::spawn(move || {
        let text =
            "delivered notice_id=broadcast-1780000000000 chat_id=123456789 chunks=1 took_ms=42"
                .to_owned();
        while !stop_w.load(Ordering::Relaxed) {
            ring.push(
                Utc::now(),
                LogLevel::Info,
                "supersetd::deliver",
                text.clone(),
                None,
            );
            count.fetch_add(1, Ordering::Relaxed);
        }
    });
    let (mut cursor, mut received, mut dropped) = (0u64, 0u64, 0u64);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let q = LogQuery {
            cursor,
            max: 1000,
            wait_ms: 1000,
            ..LogQuery::default()
        };
        let ctx = supersetd_proto::connect::context_with_timeout(Duration::from_secs(5));
        let batch = conn.client.tail_logs(ctx, q).await.unwrap().unwrap();
        received += batch.entries.len() as u64;
        dropped += batch.dropped;
        cursor = batch.next_cursor;
    }
    let secs = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    println!(
        "log tail: writer {:.0} lines/s, reader received {:.0} lines/s, ring dropped {:.0} lines/s (batches of 1000)",
        written.load(Ordering::Relaxed) as f64 / secs,
        received as f64 / secs,
        dropped as f64 / secs
    );
    // And at a steady 2000 lines/s (a busy broadcast at debug level), nothing is dropped.
    let (ring, stop_w) = (
        s.logs.clone(),
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let stop2 = stop_w.clone();
    let writer = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            for _ in 0..20 {
                ring.push(
                    Utc::now(),
                    LogLevel::Debug,
                    "supersetd::deliver",
                    "sent chat_id=1".into(),
                    None,
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    // Start from the newest line, not where the flood left the cursor.
    let ctx = supersetd_proto::connect::context_with_timeout(Duration::from_secs(5));
    let newest = LogQuery {
        tail: Some(0),
        max: 1000,
        ..LogQuery::default()
    };
    cursor = conn
        .client
        .tail_logs(ctx, newest)
        .await
        .unwrap()
        .unwrap()
        .next_cursor;
    let (mut received, mut dropped) = (0u64, 0u64);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let q = LogQuery {
            cursor,
            max: 1000,
            wait_ms: 1000,
            ..LogQuery::default()
        };
        let ctx = supersetd_proto::connect::context_with_timeout(Duration::from_secs(5));
        let batch = conn.client.tail_logs(ctx, q).await.unwrap().unwrap();
        received += batch.entries.len() as u64;
        dropped += batch.dropped;
        cursor = batch.next_cursor;
    }
    stop_w.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    println!(
        "log tail at ~2000 lines/s: received {:.0} lines/s, dropped {dropped}",
        received as f64 / started.elapsed().as_secs_f64()
    );
    s.cancel.cancel();
}

/// Lines per second the console's own state and drawing absorb: batches of 1000 through
/// `App::handle` with a frame drawn after each, as the event loop does.
#[test]
#[ignore = "measurement; run by hand"]
fn console_absorbs_log_batches() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use superset_console::tui::{App, AppOptions, ConnEvent, Msg};
    use supersetd_proto::{LogBatch, LogEntry};
    let mut app = App::new(
        AppOptions {
            socket: "/x".into(),
            read_only: false,
            theme: superset_console::tui::theme::Theme::plain(),
        },
        Utc::now(),
    );
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    app.handle(Msg::Resize(80, 24));
    app.handle(Msg::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Char('3'),
    )));
    let mut seq = 0u64;
    let started = Instant::now();
    let mut lines = 0u64;
    while started.elapsed() < Duration::from_secs(5) {
        let entries: Vec<LogEntry> = (0..1000)
            .map(|i| LogEntry {
                seq: seq + i,
                time: Utc::now(),
                level: LogLevel::Info,
                target: "supersetd::deliver".into(),
                text: "delivered notice_id=n1 chat_id=123456789 chunks=1".into(),
                run: None,
            })
            .collect();
        seq += 1000;
        lines += 1000;
        app.handle(Msg::Conn(ConnEvent::Logs {
            filter: Default::default(),
            batch: LogBatch {
                entries,
                next_cursor: seq,
                dropped: 0,
            },
        }));
        terminal.draw(|f| app.draw(f)).unwrap();
    }
    println!(
        "console state + 80x24 frame absorbs {:.0} log lines/s",
        lines as f64 / started.elapsed().as_secs_f64()
    );
}

/// The idle window.
const IDLE_SECS: u64 = 60;
/// Before it: connecting, first frames, and fresh "since 12s ago" counters turning to minutes.
const SETTLE_SECS: u64 = 65;

#[test]
#[ignore = "measurement; run by hand"]
fn idle_console_bytes_in_60_s() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(server_up_since(Utc::now() - chrono::Duration::hours(3)));
    let size = nix::pty::Winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(Some(&size), None).unwrap();
    let slave: OwnedFd = pty.slave;
    let mut child = Command::new("setsid")
        .arg("--ctty")
        .arg(env!("CARGO_BIN_EXE_superset-console"))
        .arg("--socket")
        .arg(&s.socket)
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();
    let total = Arc::new(AtomicUsize::new(0));
    let tail = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let mut master = std::fs::File::from(pty.master);
    let (counter, sink) = (total.clone(), tail.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = master.read(&mut buf) {
            counter.fetch_add(n, Ordering::Relaxed);
            let mut t = sink.lock().unwrap_or_else(|p| p.into_inner());
            t.extend_from_slice(&buf[..n]);
            let excess = t.len().saturating_sub(600);
            t.drain(..excess);
        }
    });
    // Let it connect, draw its first frames, and let the services' "since" pass a minute, so
    // that what is measured is the steady state (relative times in minutes), as in production.
    std::thread::sleep(Duration::from_secs(SETTLE_SECS));
    let start = total.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(IDLE_SECS));
    let idle = total.load(Ordering::Relaxed) - start;
    println!(
        "idle console (80x24, connected, overview, daemon up 3 h): {idle} bytes in {IDLE_SECS} s ({:.1} B/s); first {SETTLE_SECS} s incl. first frame: {start} bytes",
        idle as f64 / IDLE_SECS as f64
    );
    let last = tail.lock().unwrap_or_else(|p| p.into_inner()).clone();
    println!(
        "the last bytes written: {:?}",
        String::from_utf8_lossy(&last)
    );
    let _ = child.kill();
    let _ = child.wait();
    s.cancel.cancel();
}
