//! Two `supersetd` on one MongoDB database (nx-27017): exactly one leads (runs jobs, polls
//! the bot), the other stands by and says who leads; kill the leader and the other takes over
//! within the lease time; across the switch every subscriber gets each notice exactly once.

use std::time::{Duration, Instant};

use supersetd_tests::daemon::{Daemon, Endpoints};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::superset_fixtures::numbered_notice;
use supersetd_tests::fakes::telegram::FakeTelegram;
use supersetd_tests::mongo::MongoServer;

const TOKEN: &str = "123456:TEST-token_leader";
const EMAIL: &str = "student1@example.edu";
const PASSWORD: &str = "correct horse battery";
const LEASE_SECS: u64 = 3;

fn daemon(tg: &FakeTelegram, portal: &FakePortal, server: &MongoServer) -> Daemon {
    let mut ep = Endpoints::fakes(tg, TOKEN, portal, (EMAIL, PASSWORD));
    ep.extra = format!(
        "[store]\nbackend = \"mongodb\"\nmongodb_uri = {:?}\nserver_selection_timeout_secs = 1\noperation_timeout_secs = 3\nlease_secs = {LEASE_SECS}\n",
        server.uri()
    );
    Daemon::new(&ep)
}

/// The scheduler's state as `status` shows it: `running`, or the standby reason.
fn scheduler_state(d: &Daemon) -> String {
    let status = d.ctl_json(&["status"]);
    let service = status["services"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == "scheduler")
        .cloned()
        .unwrap_or_default();
    service["state"].to_string()
}

fn is_leader(d: &Daemon) -> bool {
    scheduler_state(d).contains("running")
}

fn copies(tg: &FakeTelegram, chat: i64, needle: &str) -> usize {
    tg.sent_to(chat)
        .iter()
        .filter(|m| m.text.contains(needle))
        .count()
}

fn run_update(d: &Daemon) {
    let out = d.ctl(&["run", "update", "--wait"]);
    assert!(
        out.status.success(),
        "run update failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_leader_at_a_time_and_a_takeover_delivers_each_notice_once() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    let tg = FakeTelegram::start(TOKEN).await;
    let portal = FakePortal::start(&[(EMAIL, PASSWORD)]).await;
    portal.set_notices(EMAIL, vec![numbered_notice(1)]);
    let mut daemons = [daemon(&tg, &portal, &server), daemon(&tg, &portal, &server)];
    for d in &daemons {
        d.start();
    }
    let li = usize::from(!is_leader(&daemons[0]));
    let (leader, other) = (&daemons[li], &daemons[1 - li]);
    assert!(is_leader(leader), "one of them leads");
    let standby = scheduler_state(other);
    let leader_pid = leader.pid().unwrap();
    assert!(
        standby.contains("standby, leader is") && standby.contains(&format!(":{leader_pid}")),
        "the other says who leads: {standby}"
    );
    let refused = other.ctl(&["run", "update", "--wait"]);
    assert!(!refused.status.success(), "a standby does not run jobs");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("standby"));

    let users = [501_i64, 502, 503];
    for id in users {
        tg.push_command(id, id, "U", "/start");
    }
    leader.wait_until("welcomes", Duration::from_secs(30), |_| {
        tg.sent().len() >= 3
    });
    run_update(leader); // first sync: history recorded, not sent
    portal.add_notice(EMAIL, numbered_notice(2));
    run_update(leader);
    for id in users {
        assert_eq!(copies(&tg, id, "Notice 2"), 1, "user {id}");
    }
    assert!(!is_leader(other), "still one leader");

    // The leader dies without releasing its lease; the other takes over within the lease time.
    daemons[li].kill(nix::sys::signal::Signal::SIGKILL);
    let killed = Instant::now();
    let survivor = &daemons[1 - li];
    survivor.wait_until(
        "the other takes over",
        Duration::from_secs(3 * LEASE_SECS),
        is_leader,
    );
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(2 * LEASE_SECS),
        "takeover took {took:?}, lease is {LEASE_SECS} s"
    );

    // The new leader polls the bot and runs the jobs.
    tg.push_command(504, 504, "New", "/start");
    survivor.wait_until("the new leader answers", Duration::from_secs(30), |_| {
        !tg.sent_to(504).is_empty()
    });
    portal.add_notice(EMAIL, numbered_notice(3));
    run_update(survivor);
    for id in users {
        assert_eq!(copies(&tg, id, "Notice 2"), 1, "user {id}: notice 2 once");
        assert_eq!(copies(&tg, id, "Notice 3"), 1, "user {id}: notice 3 once");
    }
    assert_eq!(copies(&tg, 504, "Notice 3"), 1);
    assert_eq!(
        copies(&tg, 504, "Notice 2"),
        0,
        "a later subscriber gets only what is new"
    );
}
