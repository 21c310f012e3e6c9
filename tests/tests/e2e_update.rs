//! The product's main job, end to end: the real `supersetd` binary against the fake portal
//! and the fake Bot API, driven with the real `supersetctl`.

use std::collections::BTreeMap;
use std::time::Duration;

use supersetd_tests::daemon::{Daemon, Endpoints};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::superset_fixtures::{numbered_notice, realistic_notices};
use supersetd_tests::fakes::telegram::FakeTelegram;
use supersetd_tests::fakes::telegram_html::parse_telegram_html;

const TOKEN: &str = "123456:TEST-token_e2e";
const EMAIL: &str = "student1@example.edu";
const PASSWORD: &str = "correct horse battery";

struct World {
    tg: FakeTelegram,
    portal: FakePortal,
    daemon: Daemon,
}

async fn world(history: Vec<serde_json::Value>) -> World {
    let tg = FakeTelegram::start(TOKEN).await;
    let portal = FakePortal::start(&[(EMAIL, PASSWORD)]).await;
    portal.set_notices(EMAIL, history);
    let daemon = Daemon::new(&Endpoints::fakes(&tg, TOKEN, &portal, (EMAIL, PASSWORD)));
    World { tg, portal, daemon }
}

/// Run `update` through supersetctl and insist it succeeded.
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

/// Every chunk the daemon should send for these notices, from its own store.
fn expected_chunks(d: &Daemon, ids: &[String]) -> Vec<String> {
    let db = d.db();
    let mut out = Vec::new();
    for id in ids {
        let html: String = db
            .query_row(
                "SELECT formatted_message FROM notices WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("notice {id} not stored: {e}"));
        out.extend(supersetd::format::split_message(
            &html,
            supersetd::format::TELEGRAM_TEXT_LIMIT,
        ));
    }
    out.sort();
    out
}

fn texts_to(tg: &FakeTelegram, chat: i64, skip: usize) -> Vec<String> {
    let mut texts: Vec<String> = tg
        .sent_to(chat)
        .into_iter()
        .skip(skip)
        .map(|m| m.text)
        .collect();
    texts.sort();
    texts
}

fn ids(notices: &[serde_json::Value]) -> Vec<String> {
    notices
        .iter()
        .filter_map(|n| n["identifier"].as_str().map(str::to_owned))
        .collect()
}

fn subscribe(w: &World, users: &[(i64, &str)]) {
    let before = w.tg.sent().len();
    for (id, name) in users {
        w.tg.push_command(*id, *id, name, "/start");
    }
    w.daemon.wait_until(
        "the bot welcomed every subscriber",
        Duration::from_secs(30),
        |_| w.tg.sent().len() >= before + users.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_subscriber_gets_every_new_notice_exactly_once() {
    let w = world(vec![numbered_notice(1), numbered_notice(2)]).await;
    w.daemon.start();
    let users: [(i64, &str); 5] = [
        (101, "Asha"),
        (102, "<b>&Co"),
        (103, "राहुल"),
        (104, "Zoë 🎓"),
        (105, "李雷"),
    ];
    subscribe(&w, &users);
    let subs = w.daemon.ctl_json(&["subscribers"]);
    assert_eq!(subs.as_array().map(Vec::len), Some(5), "{subs}");

    // A fresh install records the portal's history without flooding anyone.
    run_update(&w.daemon);
    assert_eq!(
        w.tg.sent().len(),
        5,
        "the first sync must not send the portal's history"
    );
    assert_eq!(
        w.daemon
            .count("SELECT COUNT(*) FROM notices WHERE sent_to_telegram = 1"),
        2
    );

    let fresh = realistic_notices();
    for n in &fresh {
        w.portal.add_notice(EMAIL, n.clone());
    }
    run_update(&w.daemon);
    let expected = expected_chunks(&w.daemon, &ids(&fresh));
    assert!(
        expected.len() > fresh.len(),
        "the long notice must need more than one message"
    );
    for (chat, _) in users {
        assert_eq!(
            texts_to(&w.tg, chat, 1),
            expected,
            "chat {chat} did not get each chunk exactly once"
        );
    }
    for m in w.tg.sent() {
        let parsed = parse_telegram_html(&m.text)
            .unwrap_or_else(|e| panic!("invalid HTML sent to {}: {e}", m.chat_id));
        assert!(
            parsed.utf16_len <= 4096,
            "message of {} UTF-16 units",
            parsed.utf16_len
        );
        assert_eq!(m.parse_mode.as_deref(), Some("HTML"));
    }

    // Nothing new: nothing sent.
    let sent = w.tg.sent().len();
    run_update(&w.daemon);
    assert_eq!(w.tg.sent().len(), sent, "a second run must send nothing");

    // A subscriber who blocked the bot is marked inactive; the others still receive.
    w.tg.block(102);
    w.portal.add_notice(EMAIL, numbered_notice(99));
    run_update(&w.daemon);
    let subs = w.daemon.ctl_json(&["subscribers", "--all"]);
    let active: BTreeMap<i64, bool> = subs
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["user_id"].as_i64().unwrap_or(0),
                s["is_active"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(active.get(&102), Some(&false), "{subs}");
    let last = expected_chunks(&w.daemon, &["n-000099".to_owned()]);
    for (chat, _) in users.iter().filter(|(c, _)| *c != 102) {
        let got: Vec<String> =
            w.tg.sent_to(*chat)
                .into_iter()
                .map(|m| m.text)
                .filter(|t| last.contains(t))
                .collect();
        assert_eq!(got.len(), last.len(), "chat {chat} must get notice 99 once");
    }
    assert!(w.daemon.stop().status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_payload_fails_the_run_and_leaves_the_store_as_it_was() {
    let w = world(vec![numbered_notice(1)]).await;
    w.daemon.start();
    subscribe(&w, &[(201, "Asha")]);
    run_update(&w.daemon);
    let notices = w.daemon.count("SELECT COUNT(*) FROM notices");
    let jobs = w.daemon.count("SELECT COUNT(*) FROM jobs");

    w.portal.add_notice(EMAIL, numbered_notice(2));
    w.portal.set_malformed(
        "notices",
        Some(r#"[{"identifier": "x", "publishedAt": "yesterday"}]"#.into()),
    );
    let out = w.daemon.ctl(&["run", "update", "--wait"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a malformed payload must fail the run"
    );
    let runs = w.daemon.ctl_json(&["runs", "update", "--limit", "1"]);
    let step = &runs[0]["steps"][0];
    assert_eq!(step["name"], "superset");
    assert_eq!(step["outcome"], "failed");
    let reason = step["error"].as_str().unwrap_or_default();
    assert!(
        reason.contains("publishedAt"),
        "the reason must name the field: {reason}"
    );
    assert_eq!(w.daemon.count("SELECT COUNT(*) FROM notices"), notices);
    assert_eq!(w.daemon.count("SELECT COUNT(*) FROM jobs"), jobs);

    // Once the portal is sane again the new notice arrives, and a session that expired
    // meanwhile is renewed instead of being read as "no notices".
    w.portal.set_malformed("notices", None);
    w.portal.expire_sessions();
    run_update(&w.daemon);
    let got =
        w.tg.sent_to(201)
            .into_iter()
            .filter(|m| m.text.contains("Notice 2"))
            .count();
    assert_eq!(got, 1);
    assert!(w.daemon.stop().status.success());
}
