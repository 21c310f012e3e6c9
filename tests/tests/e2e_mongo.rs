//! The real `supersetd` on the MongoDB backend (nx-27017 over TCP): a database the Python
//! system wrote, and the database going away in the middle of a run.

use std::collections::BTreeMap;
use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};
use supersetd_tests::daemon::{Daemon, Endpoints};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::superset_fixtures::numbered_notice;
use supersetd_tests::fakes::telegram::FakeTelegram;
use supersetd_tests::mongo::MongoServer;

const TOKEN: &str = "123456:TEST-token_mongo";
const EMAIL: &str = "student1@example.edu";
const PASSWORD: &str = "correct horse battery";

struct World {
    tg: FakeTelegram,
    portal: FakePortal,
    daemon: Daemon,
}

async fn world(server: &MongoServer) -> World {
    let tg = FakeTelegram::start(TOKEN).await;
    let portal = FakePortal::start(&[(EMAIL, PASSWORD)]).await;
    let mut ep = Endpoints::fakes(&tg, TOKEN, &portal, (EMAIL, PASSWORD));
    ep.extra = format!(
        "[store]\nbackend = \"mongodb\"\nmongodb_uri = {:?}\nserver_selection_timeout_secs = 1\noperation_timeout_secs = 3\n",
        server.uri()
    );
    let daemon = Daemon::new(&ep);
    World { tg, portal, daemon }
}

async fn raw(server: &MongoServer) -> mongodb::Database {
    mongodb::Client::with_uri_str(server.uri())
        .await
        .unwrap()
        .database("SupersetPlacement")
}

fn run_update(d: &Daemon) {
    let out = d.ctl(&["run", "update", "--wait"]);
    assert!(
        out.status.success(),
        "run update failed: {}{}\n--- log ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
}

/// How many messages each chat got whose text contains `needle`.
fn copies(tg: &FakeTelegram, chats: &[i64], needle: &str) -> BTreeMap<i64, usize> {
    chats
        .iter()
        .map(|c| {
            let n = tg
                .sent_to(*c)
                .iter()
                .filter(|m| m.text.contains(needle))
                .count();
            (*c, n)
        })
        .collect()
}

fn date(ms: i64) -> Bson {
    Bson::DateTime(mongodb::bson::DateTime::from_millis(ms))
}

/// Shaped exactly as the Python system writes them (see tests/store_mongo.rs for the store-level
/// checks of each field).
async fn seed(db: &mongodb::Database) {
    db.collection::<Document>("Users")
        .insert_many([
            doc! { "user_id": 301_i32, "chat_id": 301_i32, "username": "asha", "first_name": "Asha",
            "last_name": Bson::Null, "is_active": true, "created_at": date(1_700_000_000_000),
            "updated_at": date(1_700_000_000_000) },
            doc! { "user_id": 5_000_000_301_i64, "chat_id": 5_000_000_301_i64, "first_name": "Ravi",
            "is_active": true, "created_at": date(1_700_000_100_000) },
            doc! { "user_id": 302_i32, "chat_id": 302_i32, "first_name": "Left", "is_active": false,
            "created_at": date(1_700_000_200_000), "updated_at": date(1_700_000_300_000) },
        ])
        .await
        .unwrap();
    let notice = |id: &str, sent: bool, created: i64| {
        let mut d = doc! {
            "id": id, "title": format!("Title {id}"), "content": "<p>c</p>", "author": "TnP",
            "createdAt": created, "updatedAt": created,
            "formatted_message": format!("<b>python {id}</b>"), "sent_to_telegram": sent,
            "source": "Superset", "category": "job posting", "matched_job_id": Bson::Null,
            "saved_at": date(created + 500),
        };
        if sent {
            d.insert("sent_at", date(created + 1000));
        }
        d
    };
    db.collection::<Document>("Notices")
        .insert_many([
            notice("py-sent-1", true, 1_700_000_000_000),
            notice("py-sent-2", true, 1_700_000_100_000),
            notice("py-unsent-1", false, 1_700_000_200_000),
            notice("py-unsent-2", false, 1_700_000_300_000),
        ])
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_of_the_python_system_delivers_only_its_unsent_notices() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    seed(&raw(&server).await).await;
    let w = world(&server).await;
    w.portal.set_notices(EMAIL, vec![]);
    w.daemon.start();
    let subs = w.daemon.ctl_json(&["subscribers", "--all"]);
    assert_eq!(
        subs.as_array().map(Vec::len),
        Some(3),
        "every subscriber read: {subs}"
    );

    // Unsent notices are open work: the daemon delivers them at start, without being asked.
    w.daemon.wait_until(
        "the unsent notices delivered",
        Duration::from_secs(60),
        |_| w.tg.sent().len() >= 4,
    );
    w.daemon
        .wait_until("the run finished", Duration::from_secs(30), |d| {
            let runs = d.ctl_json(&["runs", "--limit", "1"]);
            runs[0]["outcome"] == "succeeded"
        });
    let active = [301, 5_000_000_301];
    for id in ["py-unsent-1", "py-unsent-2"] {
        let got = copies(&w.tg, &active, &format!("python {id}"));
        assert!(
            got.values().all(|n| *n == 1),
            "{id}: {got:?}\n{}",
            w.daemon.log()
        );
    }
    for id in ["py-sent-1", "py-sent-2"] {
        assert_eq!(
            w.tg.sent().iter().filter(|m| m.text.contains(id)).count(),
            0,
            "{id} was sent before"
        );
    }
    assert!(
        w.tg.sent_to(302).is_empty(),
        "an inactive user gets nothing"
    );
    let db = raw(&server).await;
    let unsent = db
        .collection::<Document>("Notices")
        .count_documents(doc! { "sent_to_telegram": { "$ne": true } })
        .await
        .unwrap();
    assert_eq!(
        unsent, 0,
        "delivered notices are marked sent for the website"
    );
    run_update(&w.daemon);
    assert_eq!(w.tg.sent().len(), 4, "a second run sends nothing again");
}

/// The database dies while a broadcast is in flight. The daemon survives, says so in
/// `status` and `/ready`, the bot answers "temporarily unavailable", a run started meanwhile
/// fails with the reason, and once the database is back the broadcast finishes with no
/// recipient getting anything twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_the_database_during_a_run_is_survived_and_nothing_is_sent_twice() {
    let Some(mut server) = MongoServer::start() else {
        return;
    };
    let w = world(&server).await;
    w.portal.set_notices(EMAIL, vec![numbered_notice(1)]);
    w.daemon.start();
    let users = [401_i64, 402, 403];
    for id in users {
        w.tg.push_command(id, id, "U", "/start");
    }
    w.daemon
        .wait_until("welcomes", Duration::from_secs(30), |_| {
            w.tg.sent().len() >= 3
        });
    run_update(&w.daemon); // the first sync records the history without sending it
    assert_eq!(w.tg.sent().len(), 3);

    w.portal.add_notice(EMAIL, numbered_notice(2));
    w.tg.stall_after(4); // the first recipient gets it, the second send hangs
    let out = w.daemon.ctl(&["run", "update"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.daemon
        .wait_until("one copy sent", Duration::from_secs(30), |_| {
            w.tg.sent().len() >= 4
        });
    std::thread::sleep(Duration::from_millis(300));
    server.stop();
    w.tg.drop_stalled(); // the held send never reached Telegram

    let pid = w.daemon.pid().unwrap();
    assert!(supersetd_tests::daemon::alive(pid), "the daemon survives");
    let out = w.daemon.ctl(&["--json", "status"]);
    assert!(
        !out.status.success(),
        "status exits non-zero while the store is down"
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["store"]["healthy"], false, "{status}");
    let shown = status["store"]["error"].as_str().unwrap_or_default();
    assert!(shown.contains("MongoDB"), "status says why: {status}");
    assert_eq!(http_status(w.daemon.web_port, "/ready"), "503");
    let before = w.tg.sent_to(499).len();
    w.tg.push_command(499, 499, "New", "/start");
    w.daemon
        .wait_until("the bot answers", Duration::from_secs(30), |_| {
            w.tg.sent_to(499).len() > before
        });
    let answer = &w.tg.sent_to(499)[before].text;
    assert!(answer.contains("temporarily unavailable"), "{answer}");
    let refused = w.daemon.ctl(&["run", "official", "--wait"]);
    let text = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(
        !refused.status.success(),
        "a run cannot start without its store"
    );
    assert!(text.contains("unavailable"), "the reason is given: {text}");

    server.restart();
    w.daemon
        .wait_until("the store is back", Duration::from_secs(30), |d| {
            d.ctl(&["status"]).status.success()
        });
    // The interrupted run either rode the outage out (its sends are retried) or failed naming
    // the store; its end is written once the database is back, whichever it was.
    wait_for(&w.daemon, "the interrupted run ended", || {
        let runs = w.daemon.ctl_json(&["runs", "update", "--limit", "1"]);
        runs[0]["outcome"] != "running"
    });
    let runs = w.daemon.ctl_json(&["runs", "update", "--limit", "1"]);
    if runs[0]["outcome"] == "failed" {
        let reason = runs.to_string();
        assert!(
            reason.contains("unavailable") || reason.contains("MongoDB"),
            "{runs}"
        );
    } else {
        assert_eq!(runs[0]["outcome"], "succeeded", "{runs}");
    }
    run_update(&w.daemon);
    let got = copies(&w.tg, &users, "Notice 2");
    assert_eq!(
        got.values().copied().collect::<Vec<_>>(),
        vec![1, 1, 1],
        "{got:?}\n{}",
        w.daemon.log()
    );
    assert_eq!(http_status(w.daemon.web_port, "/ready"), "200");
}

fn http_status(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.split_whitespace().nth(1).unwrap_or("none").to_owned()
}

/// Like `Daemon::wait_until`, polling slowly, and showing the log without the control
/// socket's chatter when it times out.
fn wait_for(d: &Daemon, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !cond() {
        if std::time::Instant::now() > deadline {
            let text = std::fs::read_to_string(d.log_file()).unwrap_or_default();
            let log: Vec<String> = text
                .lines()
                .filter(|l| !l.contains("supersetd::control"))
                .map(str::to_owned)
                .collect();
            panic!(
                "timed out waiting until {what}\n--- log ---\n{}",
                log.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The database is down when the daemon starts: it starts anyway, says the store is down,
/// the bot answers "temporarily unavailable", runs are refused with the reason; when the
/// database comes up the daemon takes the lead and works, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_down_at_start_does_not_stop_the_daemon() {
    let Some(mut server) = MongoServer::start() else {
        return;
    };
    server.stop();
    let w = world(&server).await;
    w.portal.set_notices(EMAIL, vec![numbered_notice(1)]);
    w.daemon.start();
    let out = w.daemon.ctl(&["--json", "status"]);
    assert!(
        !out.status.success(),
        "status exits non-zero while the store is down"
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["store"]["healthy"], false, "{status}");
    w.tg.push_command(601, 601, "Early", "/start");
    w.daemon
        .wait_until("the bot answers", Duration::from_secs(30), |_| {
            !w.tg.sent_to(601).is_empty()
        });
    let answer = &w.tg.sent_to(601)[0].text;
    assert!(answer.contains("temporarily unavailable"), "{answer}");
    let refused = w.daemon.ctl(&["run", "update", "--wait"]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(
        why.contains("store") || why.contains("unavailable"),
        "{why}"
    );

    server.restart();
    w.daemon
        .wait_until("the store is back", Duration::from_secs(30), |d| {
            d.ctl(&["status"]).status.success()
        });
    w.daemon
        .wait_until("it leads", Duration::from_secs(30), |d| {
            d.ctl_json(&["status"])["services"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["name"] == "scheduler" && s["state"] == "running")
        });
    w.tg.push_command(602, 602, "Later", "/start");
    w.daemon
        .wait_until("the bot welcomes", Duration::from_secs(30), |_| {
            !w.tg.sent_to(602).is_empty()
        });
    run_update(&w.daemon);
    let subs = w.daemon.ctl_json(&["subscribers"]);
    assert_eq!(subs.as_array().map(Vec::len), Some(1), "{subs}");
}

/// `supersetctl mark-sent --all` on the Python system's database: its unsent notices are
/// recorded as delivered (for the website too) and never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mark_sent_all_covers_the_python_systems_backlog() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    seed(&raw(&server).await).await;
    // No bot token: nothing can be delivered before the operator decides.
    let ep = Endpoints {
        extra: format!(
            "[store]\nbackend = \"mongodb\"\nmongodb_uri = {:?}\n",
            server.uri()
        ),
        ..Endpoints::default()
    };
    let d = Daemon::new(&ep);
    d.start();
    let marked = d.ctl_json(&["mark-sent", "--all"]);
    assert_eq!(marked["marked"], 2, "{marked}");
    let notices = raw(&server).await.collection::<Document>("Notices");
    let unsent = notices
        .count_documents(doc! { "sent_to_telegram": { "$ne": true } })
        .await
        .unwrap();
    assert_eq!(unsent, 0);
    let one = notices
        .find_one(doc! { "id": "py-unsent-1" })
        .await
        .unwrap()
        .unwrap();
    assert!(
        one.get("sent_at").is_some_and(|v| *v != Bson::Null),
        "{one}"
    );
    let again = d.ctl_json(&["mark-sent", "--all"]);
    assert_eq!(again["marked"], 0, "{again}");
}
