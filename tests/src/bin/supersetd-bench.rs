//! `supersetd-bench`: the figures the issue notes report, measured on the real binaries.
//!
//! - broadcast throughput against a fake Bot API that enforces Telegram's flood limits
//!   (30 messages/s overall, 1/s per chat), with the count of 429s it had to send;
//! - the daemon's resident memory when idle;
//! - the `status` round trip over the control socket (median and p99).
//!
//! Run it through `scripts/bench`, which builds everything in release mode first.

use std::time::{Duration, Instant};

use supersetd_tests::daemon::{Daemon, Endpoints};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::superset_fixtures::numbered_notice;
use supersetd_tests::fakes::telegram::FakeTelegram;

const TOKEN: &str = "111:BENCH";
const EMAIL: &str = "bench@example.edu";
const PASSWORD: &str = "bench-pw";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let subscribers: i64 = arg("--subscribers").unwrap_or(200);
    let notices: usize = arg("--notices").unwrap_or(3);
    let status_calls: usize = arg("--status-calls").unwrap_or(10_000);
    let tg = FakeTelegram::start(TOKEN).await;
    let portal = FakePortal::start(&[(EMAIL, PASSWORD)]).await;
    portal.set_notices(EMAIL, vec![numbered_notice(1)]);
    let daemon = Daemon::new(&Endpoints {
        log_level: Some("info".into()),
        ..Endpoints::fakes(&tg, TOKEN, &portal, (EMAIL, PASSWORD))
    });
    let pid = daemon.start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss_kib = rss_kib(pid);

    tg.set_rate_limits(false);
    for u in 0..subscribers {
        tg.push_command(10_000 + u, 10_000 + u, "Bench", "/start");
    }
    daemon.wait_until("subscribers registered", Duration::from_secs(120), |d| {
        d.count("SELECT COUNT(*) FROM subscribers") == subscribers
    });
    tg.wait_for_sent(subscribers as usize, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tg.set_rate_limits(true);
    run_update(&daemon);
    for i in 0..notices {
        portal.add_notice(EMAIL, numbered_notice(100 + i));
    }
    let base = tg.sent().len();
    let started = Instant::now();
    run_update(&daemon);
    let wall = started.elapsed();
    let sent = tg.sent();
    let broadcast = &sent[base..];
    let span = match (broadcast.first(), broadcast.last()) {
        (Some(a), Some(b)) => b.at.duration_since(a.at),
        _ => Duration::ZERO,
    };
    let rate = if span.is_zero() {
        0.0
    } else {
        (broadcast.len().saturating_sub(1)) as f64 / span.as_secs_f64()
    };
    let busy_rss_kib = rss_kib(pid);
    let (median, p99) = status_round_trip(&daemon, status_calls).await;

    println!(
        "supersetd-bench ({} subscribers x {} notices)",
        subscribers, notices
    );
    println!("  broadcast messages     {}", broadcast.len());
    println!(
        "  broadcast rate         {rate:.1} msg/s (first to last message, {:.2} s)",
        span.as_secs_f64()
    );
    println!("  run update --wait      {:.2} s", wall.as_secs_f64());
    println!("  429 answers            {}", tg.rate_limited_count());
    println!("  idle RSS               {} KiB", idle_rss_kib);
    println!("  RSS after broadcast    {} KiB", busy_rss_kib);
    println!(
        "  status round trip      median {} us, p99 {} us over {status_calls} calls",
        median.as_micros(),
        p99.as_micros()
    );
    let _ = daemon.stop();
}

fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn run_update(d: &Daemon) {
    let out = d.ctl(&["run", "update", "--wait"]);
    assert!(
        out.status.success(),
        "run update failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn status_round_trip(d: &Daemon, calls: usize) -> (Duration, Duration) {
    let conn = supersetd_proto::connect(&d.socket, "supersetd-bench", Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls + calls / 10 {
        let t = Instant::now();
        let ctx = supersetd_proto::connect::context_with_timeout(Duration::from_secs(5));
        let reply = conn.client.get_status(ctx).await;
        assert!(matches!(reply, Ok(Ok(_))), "status failed: {reply:?}");
        if i >= calls / 10 {
            samples.push(t.elapsed());
        }
    }
    samples.sort();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or_default()
    };
    (at(0.5), at(0.99))
}
