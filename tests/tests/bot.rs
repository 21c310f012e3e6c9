//! The bot over real HTTP against the fake Bot API, with a real SQLite store.

#[path = "support/flaky_store.rs"]
mod flaky_store;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use flaky_store::FlakyStore;
use serde_json::json;
use supersetd::clock::ManualClock;
use supersetd::secret::Secret;
use supersetd::services::{ServiceHealth, ServiceRegistry};
use supersetd::store::Store;
use supersetd::telegram::bot::{BotError, BotSettings, run_bot};
use supersetd::telegram::build_bot;
use supersetd_proto::ServiceState;
use supersetd_tests::fakes::telegram::FakeTelegram;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "424242:BOT-test-token";
const WAIT: Duration = Duration::from_secs(5);
const UNAVAILABLE: &str =
    "⚠️ The service is temporarily unavailable. Please try again in a few minutes.";

struct Harness {
    fake: FakeTelegram,
    store: Arc<FlakyStore>,
    cancel: CancellationToken,
    task: Option<JoinHandle<Result<(), BotError>>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// A fake without flood limits (most tests answer one chat several times a second).
    async fn new() -> Harness {
        let fake = FakeTelegram::start(TOKEN).await;
        fake.set_rate_limits(false);
        let dir = tempfile::tempdir().unwrap();
        let store = FlakyStore::open(&dir.path().join("store.db"));
        let mut harness = Harness {
            fake,
            store,
            cancel: CancellationToken::new(),
            task: None,
            _dir: dir,
        };
        harness.start_bot();
        harness
    }

    fn start_bot(&mut self) {
        let token = Secret::new(TOKEN);
        let bot = build_bot(&token, &self.fake.base_url(), Duration::from_secs(5)).unwrap();
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 3, 5, 20, 0, 0).unwrap(),
        ));
        self.cancel = CancellationToken::new();
        let task = run_bot(
            bot,
            self.store.clone(),
            clock,
            BotSettings::default(),
            self.cancel.clone(),
        );
        self.task = Some(tokio::spawn(task));
    }

    /// Send `text` from user `user` ("Asha") and return the bot's reply.
    async fn ask(&self, user: i64, text: &str) -> String {
        self.ask_as(user, "Asha", text).await
    }

    async fn ask_as(&self, user: i64, name: &str, text: &str) -> String {
        let before = self.fake.sent().len();
        self.fake.push_command(user, user, name, text);
        self.fake.wait_for_sent(before + 1, WAIT).await.unwrap();
        let reply = self.fake.sent()[before].clone();
        assert_eq!(
            reply.chat_id, user,
            "the reply goes to the chat the command came from"
        );
        assert_eq!(reply.parse_mode.as_deref(), Some("HTML"));
        assert!(reply.link_preview_disabled);
        reply.text
    }

    async fn stop_bot(&mut self) -> (Result<(), BotError>, Duration) {
        let started = Instant::now();
        self.cancel.cancel();
        let task = self.task.take().unwrap();
        let result = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("bot stops")
            .unwrap();
        (result, started.elapsed())
    }
}

#[tokio::test]
async fn start_then_again_then_after_stop() {
    let mut h = Harness::new().await;
    let first = h.ask(1001, "/start").await;
    assert!(
        first.starts_with("Hello Asha! 👋\n\nWelcome to SuperSet Placement Notifications Bot!"),
        "{first}"
    );
    assert!(
        first.contains("<b>Commands:</b>")
            && first.contains("/status - Check your subscription status")
    );
    assert!(first.contains("https://jportal.tashif.codes"));

    let again = h.ask(1001, "/start").await;
    assert!(
        again.starts_with("Hi Asha! 👋\n\nYou're already registered and active"),
        "{again}"
    );

    assert_eq!(
        h.ask(1001, "/stop").await,
        "You've been unsubscribed. Use /start to subscribe again."
    );
    assert_eq!(
        h.ask(1001, "/stop").await,
        "You're not currently subscribed."
    );

    let back = h.ask(1001, "/start").await;
    assert!(
        back.starts_with("Welcome back Asha! 👋\n\nYour subscription has been reactivated!"),
        "{back}"
    );
    let sub = h.store.get_subscriber(1001).await.unwrap().unwrap();
    assert!(sub.is_active);
    assert_eq!(
        (sub.chat_id, sub.first_name.as_deref()),
        (1001, Some("Asha"))
    );
    assert!(h.stop_bot().await.0.is_ok());
}

#[tokio::test]
async fn status_for_unknown_active_and_inactive_users() {
    let h = Harness::new().await;
    let unknown = h.ask(7, "/status").await;
    assert!(
        unknown.contains("No account found in our database."),
        "{unknown}"
    );
    h.ask(7, "/start").await;
    let active = h.ask(7, "/status").await;
    assert_eq!(
        active,
        "✅ You're subscribed to SuperSet placement notifications.\n\n\
         Registered on: March 06, 2026\nUser ID: 7\nStatus: Active ✅",
        "20:00 UTC on March 5 is March 6 in Kolkata"
    );
    h.ask(7, "/stop").await;
    let inactive = h.ask(7, "/status").await;
    assert!(
        inactive.contains("marked as inactive") && inactive.contains("User ID: 7"),
        "{inactive}"
    );
}

#[tokio::test]
async fn help_and_command_forms() {
    let h = Harness::new().await;
    let help = h.ask(5, "/help").await;
    for command in ["/start", "/stop", "/status", "/help"] {
        assert!(help.contains(command), "{help}");
    }
    assert!(!help.contains("**"));
    let username = h.fake.bot_username();
    assert_eq!(
        h.ask(5, &format!("/HELP@{}", username.to_uppercase()))
            .await,
        help
    );
    assert_eq!(h.ask(5, "/Help please").await, help);
}

#[tokio::test]
async fn ignores_text_unknown_commands_other_bots_and_edits() {
    let h = Harness::new().await;
    h.fake.push_command(9, 9, "Asha", "hello there");
    h.fake.push_command(9, 9, "Asha", "/stats");
    h.fake.push_command(9, 9, "Asha", "/start@SomeOtherBot");
    let mut edited = json!({ "edited_message": {
        "message_id": 77, "date": 1, "edit_date": 2,
        "chat": { "id": 9, "type": "private", "first_name": "Asha" },
        "from": { "id": 9, "is_bot": false, "first_name": "Asha" },
        "text": "/start", "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }] } });
    h.fake.push_update(edited.take());
    h.fake.push_update(json!({ "callback_query": { "id": "1", "from": { "id": 9, "is_bot": false, "first_name": "A" }, "chat_instance": "x" } }));
    h.fake
        .push_update(json!({ "something_new": { "weird": true } }));
    // Same chat, so handled in order after everything above.
    let help = h.ask(9, "/help").await;
    assert!(help.contains("/status"));
    assert_eq!(h.fake.sent().len(), 1, "{:?}", h.fake.sent());
    assert!(h.store.get_subscriber(9).await.unwrap().is_none());
}

#[tokio::test]
async fn names_with_html_characters_are_escaped() {
    let h = Harness::new().await;
    let reply = h.ask_as(31, "<b>&Co", "/start").await;
    assert!(reply.starts_with("Hello &lt;b&gt;&amp;Co! 👋"), "{reply}");
    let sub = h.store.get_subscriber(31).await.unwrap().unwrap();
    assert_eq!(sub.first_name.as_deref(), Some("<b>&Co"), "stored as given");
}

#[tokio::test]
async fn store_failures_are_answered_honestly() {
    let h = Harness::new().await;
    h.store.set_failing(true);
    for command in ["/start", "/stop", "/status"] {
        assert_eq!(h.ask(12, command).await, UNAVAILABLE);
    }
    h.store.set_failing(false);
    assert!(h.ask(12, "/start").await.starts_with("Hello Asha!"));
}

#[tokio::test]
async fn a_slow_store_does_not_hold_up_other_chats() {
    let h = Harness::new().await;
    h.store.set_held(true);
    h.fake.push_command(40, 40, "Slow", "/start");
    let help = h.ask(41, "/help").await;
    assert!(help.contains("/start"));
    assert!(h.fake.sent_to(40).is_empty());
    h.store.set_held(false);
    h.fake.wait_for_sent(2, WAIT).await.unwrap();
    assert!(h.fake.sent_to(40)[0].text.starts_with("Hello Slow!"));
}

#[tokio::test]
async fn commands_sent_while_down_are_answered_once() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.set_rate_limits(false);
    fake.push_command(50, 50, "Early", "/start");
    let dir = tempfile::tempdir().unwrap();
    let store = FlakyStore::open(&dir.path().join("store.db"));
    let mut h = Harness {
        fake,
        store,
        cancel: CancellationToken::new(),
        task: None,
        _dir: dir,
    };
    h.start_bot();
    h.fake.wait_for_sent(1, WAIT).await.unwrap();
    assert!(h.fake.sent()[0].text.starts_with("Hello Early!"));
    assert!(!h.fake.dropped_pending_updates());

    let (result, _) = h.stop_bot().await;
    assert!(result.is_ok());
    assert_eq!(
        h.fake.pending_updates(),
        0,
        "handled updates are confirmed before stopping"
    );
    h.start_bot();
    h.ask(51, "/help").await;
    assert_eq!(
        h.fake.sent_to(50).len(),
        1,
        "no second answer after the restart"
    );
}

#[tokio::test]
async fn stops_promptly_in_the_middle_of_a_long_poll() {
    let mut h = Harness::new().await;
    h.fake.set_long_poll_cap(Duration::from_secs(60));
    h.ask(60, "/help").await;
    // The first poll brought /help; the second now hangs in the fake.
    h.fake.wait_for_calls("getUpdates", 2, WAIT).await.unwrap();
    let (result, took) = h.stop_bot().await;
    assert!(result.is_ok());
    assert!(took < Duration::from_secs(2), "took {took:?}");
}

/// A Bot API that cannot be reached shows on the service board while the bot retries, and the
/// bot is "running" again once the API answers.
#[tokio::test]
async fn an_unreachable_api_shows_as_backoff_until_it_answers() {
    let fake = FakeTelegram::start(TOKEN).await;
    let url = fake.base_url();
    drop(fake);
    let bot = build_bot(&Secret::new(TOKEN), &url, Duration::from_secs(5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let registry = ServiceRegistry::new();
    registry.set_state("bot", ServiceState::Running, None);
    let settings = BotSettings {
        health: Some(ServiceHealth::new(&registry, "bot")),
        ..BotSettings::default()
    };
    let cancel = CancellationToken::new();
    let task = tokio::spawn(run_bot(
        bot,
        FlakyStore::open(&dir.path().join("store.db")),
        Arc::new(ManualClock::new(Utc::now())),
        settings,
        cancel.clone(),
    ));
    let deadline = Instant::now() + WAIT;
    let info = loop {
        let info = registry.get("bot").unwrap();
        if info.state == ServiceState::Backoff || Instant::now() > deadline {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(info.state, ServiceState::Backoff);
    let error = info.last_error.unwrap_or_default();
    assert!(error.starts_with("getMe failed"), "{error}");
    assert!(!error.contains("BOT-test"), "the token leaked: {error}");
    cancel.cancel();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test]
async fn a_refused_token_is_a_fatal_error() {
    let fake = FakeTelegram::start("1:the-real-token").await;
    let bot = build_bot(
        &Secret::new(TOKEN),
        &fake.base_url(),
        Duration::from_secs(5),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FlakyStore::open(&dir.path().join("store.db"));
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let run = run_bot(
        bot,
        store,
        clock,
        BotSettings::default(),
        CancellationToken::new(),
    );
    let result = tokio::time::timeout(WAIT, run)
        .await
        .expect("returns at once");
    assert!(matches!(result, Err(BotError::InvalidToken)), "{result:?}");
    assert!(!format!("{:?}", result).contains("BOT-test"));
}

#[tokio::test]
async fn a_flood_limited_reply_is_retried() {
    let h = Harness::new().await;
    h.fake.set_rate_limits(true);
    h.fake.push_command(70, 70, "Asha", "/help");
    h.fake.push_command(70, 70, "Asha", "/status");
    h.fake.wait_for_sent(2, WAIT).await.unwrap();
    assert_eq!(h.fake.rate_limited_count(), 1);
    assert!(h.fake.sent_to(70)[1].text.contains("No account found"));
}

#[tokio::test]
async fn a_stuck_command_does_not_hold_up_the_stop() {
    let mut h = Harness::new().await;
    h.store.set_held(true);
    h.fake.push_command(80, 80, "Stuck", "/start");
    // Polling moved on, so the command is in its handler, waiting for the store.
    h.fake.wait_for_calls("getUpdates", 2, WAIT).await.unwrap();
    let (result, took) = h.stop_bot().await;
    assert!(result.is_ok());
    assert!(
        took < Duration::from_secs(4),
        "drain is bounded: took {took:?}"
    );
    assert!(h.fake.sent().is_empty());
}
