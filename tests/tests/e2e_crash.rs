//! Crashes and stops in the middle of a broadcast: whatever happens to the daemon, each
//! subscriber ends up holding each notice exactly once.

use std::time::Duration;

use nix::sys::signal::Signal;
use supersetd_tests::daemon::{Daemon, Endpoints};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::superset_fixtures::numbered_notice;
use supersetd_tests::fakes::telegram::FakeTelegram;

const TOKEN: &str = "654321:CRASH-token";
const EMAIL: &str = "student2@example.edu";
const PASSWORD: &str = "pw-crash";
const SUBSCRIBERS: i64 = 200;
const FIRST_USER: i64 = 5000;

async fn setup() -> (FakeTelegram, FakePortal, Daemon) {
    let tg = FakeTelegram::start(TOKEN).await;
    let portal = FakePortal::start(&[(EMAIL, PASSWORD)]).await;
    portal.set_notices(EMAIL, vec![numbered_notice(1)]);
    let daemon = Daemon::new(&Endpoints::fakes(&tg, TOKEN, &portal, (EMAIL, PASSWORD)));
    daemon.start();
    // Two hundred students press /start at once; the flood limits apply to the broadcast, not
    // to this set-up.
    tg.set_rate_limits(false);
    for u in FIRST_USER..FIRST_USER + SUBSCRIBERS {
        tg.push_command(u, u, &format!("Student {u}"), "/start");
    }
    daemon.wait_until("all subscribers registered", Duration::from_secs(60), |d| {
        d.count("SELECT COUNT(*) FROM subscribers WHERE is_active = 1") == SUBSCRIBERS
    });
    tg.wait_for_sent(SUBSCRIBERS as usize, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tg.set_rate_limits(true);
    run_update(&daemon);
    (tg, portal, daemon)
}

fn run_update(d: &Daemon) {
    let out = d.ctl(&["run", "update", "--wait"]);
    assert!(
        out.status.success(),
        "run update failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
}

/// A restarted daemon resumes the broadcast it was cut off in by itself, without waiting for
/// the next tick: wait for that run to end, then check a further run finds nothing to send.
fn finish_resumed_broadcast(d: &Daemon) {
    d.wait_until(
        "the restarted daemon resumed and finished the broadcast",
        Duration::from_secs(90),
        |d| {
            d.count("SELECT COUNT(*) FROM runs WHERE trigger = 'retry' AND outcome = 'succeeded'")
                == 1
                && d.count("SELECT COUNT(*) FROM runs WHERE outcome = 'running'") == 0
        },
    );
    assert_eq!(
        d.count("SELECT COUNT(*) FROM deliveries WHERE status IN ('pending', 'sending')"),
        0,
        "the resumed run left deliveries open"
    );
    run_update(d);
}

/// Each subscriber holds each of `notices` exactly once.
fn assert_exactly_once(tg: &FakeTelegram, notices: &[&str]) {
    for u in FIRST_USER..FIRST_USER + SUBSCRIBERS {
        let texts: Vec<String> = tg.sent_to(u).into_iter().map(|m| m.text).collect();
        for title in notices {
            let n = texts.iter().filter(|t| t.contains(title)).count();
            assert_eq!(n, 1, "subscriber {u} holds {title:?} {n} times");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_broadcast_then_restart_delivers_each_notice_once() {
    let (tg, portal, mut daemon) = setup().await;
    for i in [10, 11, 12] {
        portal.add_notice(EMAIL, numbered_notice(i));
    }
    let base = tg.sent().len();
    // Cut the "network" after 250 of the 600 messages, so sends are in flight when we kill.
    tg.stall_after(base + 250);
    let out = daemon.ctl(&["run", "update"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.wait_until(
        "250 deliveries confirmed and more in flight",
        Duration::from_secs(60),
        |d| {
            d.count("SELECT COUNT(*) FROM deliveries WHERE status = 'sent'") == 250
                && d.count("SELECT COUNT(*) FROM deliveries WHERE status = 'sending'") > 0
        },
    );
    daemon.kill(Signal::SIGKILL);
    daemon.wait_exited(Duration::from_secs(10));
    tg.drop_stalled();

    daemon.start();
    finish_resumed_broadcast(&daemon);
    assert_exactly_once(&tg, &[&title(10), &title(11), &title(12)]);
    assert_eq!(
        tg.rate_limited_count(),
        0,
        "the daemon must stay within Telegram's limits: {:?}",
        tg.rate_limited()
    );
    assert!(daemon.stop().status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_mid_broadcast_drains_and_exits_0() {
    let (tg, portal, mut daemon) = setup().await;
    for i in [20, 21] {
        portal.add_notice(EMAIL, numbered_notice(i));
    }
    let base = tg.sent().len();
    let out = daemon.ctl(&["run", "update"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tg.wait_for_sent(base + 100, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = daemon.pid().unwrap_or(0);
    daemon.kill(Signal::SIGTERM);
    daemon.wait_until(
        "the daemon drains and exits",
        Duration::from_secs(25),
        |_| !supersetd_tests::daemon::alive(pid),
    );
    assert!(
        daemon.log().contains("stopped"),
        "no clean stop in the log:\n{}",
        daemon.log()
    );
    let cancelled = daemon.count("SELECT COUNT(*) FROM runs WHERE outcome = 'cancelled'");
    assert_eq!(cancelled, 1, "the interrupted run is recorded as cancelled");

    daemon.start();
    finish_resumed_broadcast(&daemon);
    assert_exactly_once(&tg, &[&title(20), &title(21)]);
    assert!(daemon.stop().status.success());
}

fn title(i: usize) -> String {
    numbered_notice(i)["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
