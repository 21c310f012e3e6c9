//! `supersetctl broadcast` end to end: the real daemon, the fake Bot API, real subscribers
//! made with `/start`. The text reaches every active subscriber once, escaped, and its ledger
//! rows are what `supersetctl deliveries` shows.

use std::time::Duration;

use supersetd_tests::daemon::{Daemon, Endpoints};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::telegram::FakeTelegram;

const TOKEN: &str = "123456:TEST-token_broadcast";
const EMAIL: &str = "student1@example.edu";
const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_broadcast_reaches_every_subscriber_once_through_the_ledger() {
    let tg = FakeTelegram::start(TOKEN).await;
    let portal = FakePortal::start(&[(EMAIL, PASSWORD)]).await;
    portal.set_notices(EMAIL, vec![]);
    let d = Daemon::new(&Endpoints::fakes(&tg, TOKEN, &portal, (EMAIL, PASSWORD)));
    d.start();
    let users = [(301_i64, "Asha"), (302, "राहुल"), (303, "李雷")];
    for (id, name) in users {
        tg.push_command(id, id, name, "/start");
    }
    d.wait_until("the bot welcomed everyone", Duration::from_secs(30), |_| {
        users.iter().all(|(id, _)| !tg.sent_to(*id).is_empty())
    });
    let welcomed: Vec<usize> = users.iter().map(|(id, _)| tg.sent_to(*id).len()).collect();

    let receipt = d.ctl_json(&["broadcast", "Drive at 10 <b>sharp</b> 🎉"]);
    let id = receipt["notice_id"].as_str().unwrap().to_owned();
    d.wait_until(
        "every subscriber got the broadcast",
        Duration::from_secs(30),
        |_| {
            users
                .iter()
                .zip(&welcomed)
                .all(|((id, _), before)| tg.sent_to(*id).len() > *before)
        },
    );
    for ((user, _), before) in users.iter().zip(&welcomed) {
        let got: Vec<String> = tg
            .sent_to(*user)
            .into_iter()
            .skip(*before)
            .map(|m| m.text)
            .collect();
        assert_eq!(
            got,
            ["Drive at 10 &lt;b&gt;sharp&lt;/b&gt; 🎉"],
            "user {user}"
        );
    }
    d.wait_until(
        "the ledger shows three sent",
        Duration::from_secs(10),
        |d| {
            let rows = d.ctl_json(&["deliveries", &id]);
            rows.as_array()
                .is_some_and(|r| r.len() == 3 && r.iter().all(|r| r["state"] == "sent"))
        },
    );

    // Another run sends nothing again.
    assert!(d.ctl(&["run", "update", "--wait"]).status.code().is_some());
    for ((user, _), before) in users.iter().zip(&welcomed) {
        assert_eq!(
            tg.sent_to(*user).len(),
            before + 1,
            "user {user} got the broadcast once"
        );
    }
    let audit = d.ctl_json(&["audit"]);
    let last_broadcast = audit
        .as_array()
        .and_then(|a| a.iter().find(|e| e["action"] == "broadcast"))
        .cloned()
        .unwrap_or_default();
    assert!(last_broadcast["error"].is_null(), "{audit}");
    assert!(d.stop().status.success());
}
