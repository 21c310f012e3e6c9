//! `TelegramSender` over real HTTP against the fake Bot API: every `SendError` case, and no
//! error text ever carrying the bot token.

use std::time::Duration;

use supersetd::secret::Secret;
use supersetd::telegram::sender::TelegramSender;
use supersetd::telegram::{ChatTarget, SendError, Sender, TextMode, build_bot};
use supersetd_tests::fakes::telegram::{FakeTelegram, MAX_MESSAGE_UTF16};

const TOKEN: &str = "123456:TEST-token-abcdef";

fn sender_for(api_url: &str) -> TelegramSender {
    let token = Secret::new(TOKEN);
    let bot = build_bot(&token, api_url, Duration::from_secs(5)).unwrap();
    TelegramSender::new(bot, token)
}

async fn setup() -> (FakeTelegram, TelegramSender) {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.set_rate_limits(false);
    let sender = sender_for(&fake.base_url());
    (fake, sender)
}

fn assert_no_token(error: &SendError) {
    let text = format!("{error} {error:?}");
    assert!(!text.contains("TEST-token"), "token leaked: {text}");
}

#[tokio::test]
async fn sends_html_without_previews_and_counts_message_ids_per_chat() {
    let (fake, sender) = setup().await;
    let first = sender.send(&ChatTarget::Id(42), "<b>Hello</b> &amp; bye", TextMode::Html).await.unwrap();
    let second = sender.send(&ChatTarget::Id(42), "plain <not html>", TextMode::Plain).await.unwrap();
    let other = sender.send(&ChatTarget::Id(7), "x", TextMode::Plain).await.unwrap();
    assert_eq!((first.message_id, second.message_id, other.message_id), (1, 2, 1));
    let sent = fake.sent_to(42);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].parse_mode.as_deref(), Some("HTML"));
    assert_eq!(sent[0].text, "<b>Hello</b> &amp; bye");
    assert!(sent.iter().all(|r| r.link_preview_disabled));
    assert_eq!(sent[1].parse_mode, None);
    assert_eq!(fake.calls("sendMessage"), 3);
}

#[tokio::test]
async fn sends_to_a_channel_username() {
    let (fake, sender) = setup().await;
    sender.send(&ChatTarget::Username("@placements".into()), "hi", TextMode::Html).await.unwrap();
    assert_eq!(fake.sent()[0].chat, "@placements");
}

#[tokio::test]
async fn rate_limit_maps_to_retry_after_from_the_json() {
    let (fake, sender) = setup().await;
    fake.fail_next_with_429(17);
    let err = sender.send(&ChatTarget::Id(42), "x", TextMode::Html).await.unwrap_err();
    assert_eq!(err, SendError::RateLimited { retry_after: Duration::from_secs(17) });
    assert_eq!(fake.rate_limited_count(), 1);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn the_fakes_flood_limit_is_reported_as_rate_limited() {
    let (fake, sender) = setup().await;
    fake.set_rate_limits(true);
    sender.send(&ChatTarget::Id(42), "one", TextMode::Plain).await.unwrap();
    let err = sender.send(&ChatTarget::Id(42), "two", TextMode::Plain).await.unwrap_err();
    assert!(matches!(err, SendError::RateLimited { retry_after } if retry_after >= Duration::from_secs(1)), "{err:?}");
    assert_eq!(fake.rate_limited_count(), 1);
}

#[tokio::test]
async fn blocked_and_deactivated_users_map_to_blocked() {
    let (fake, sender) = setup().await;
    fake.block(42);
    fake.deactivate(43);
    for chat in [42, 43] {
        let err = sender.send(&ChatTarget::Id(chat), "x", TextMode::Html).await.unwrap_err();
        assert!(matches!(err, SendError::Blocked { .. }), "{err:?}");
        assert_no_token(&err);
    }
    let err = sender.send(&ChatTarget::Id(42), "x", TextMode::Html).await.unwrap_err();
    assert!(matches!(&err, SendError::Blocked { reason } if reason.contains("blocked by the user")), "{err:?}");
}

#[tokio::test]
async fn html_the_api_cannot_parse_is_unparseable() {
    let (fake, sender) = setup().await;
    fake.reject_html_once(42);
    let err = sender.send(&ChatTarget::Id(42), "<b>x</b>", TextMode::Html).await.unwrap_err();
    assert!(matches!(&err, SendError::Unparseable { reason } if reason.contains("can't parse entities")), "{err:?}");
    // Once only: the plain-text fallback and the next HTML message go through.
    sender.send(&ChatTarget::Id(42), "x", TextMode::Plain).await.unwrap();
    sender.send(&ChatTarget::Id(42), "<b>x</b>", TextMode::Html).await.unwrap();
}

#[tokio::test]
async fn migrated_group_gives_the_new_chat_id() {
    let (fake, sender) = setup().await;
    fake.migrate(-4001, -1_004_001);
    let err = sender.send(&ChatTarget::Id(-4001), "x", TextMode::Html).await.unwrap_err();
    assert_eq!(err, SendError::Migrated { new_chat_id: -1_004_001 });
}

#[tokio::test]
async fn chat_not_found_and_too_long_are_rejected() {
    let (fake, sender) = setup().await;
    fake.chat_not_found(99);
    let err = sender.send(&ChatTarget::Id(99), "x", TextMode::Html).await.unwrap_err();
    assert!(matches!(&err, SendError::Rejected { reason } if reason.contains("chat not found")), "{err:?}");
    let long = "a".repeat(MAX_MESSAGE_UTF16 + 1);
    let err = sender.send(&ChatTarget::Id(42), &long, TextMode::Plain).await.unwrap_err();
    assert!(matches!(&err, SendError::Rejected { reason } if reason.contains("too long")), "{err:?}");
    sender.send(&ChatTarget::Id(42), &long[1..], TextMode::Plain).await.unwrap();
}

#[tokio::test]
async fn a_dead_endpoint_is_transient_and_does_not_leak_the_token() {
    // Bind and drop to get a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sender = sender_for(&format!("http://127.0.0.1:{port}"));
    let err = sender.send(&ChatTarget::Id(42), "x", TextMode::Html).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_no_token(&err);
    let SendError::Transient { reason } = &err else { unreachable!() };
    assert!(reason.contains("Connection refused"), "the cause is kept: {reason}");
}

#[tokio::test]
async fn a_wrong_token_is_not_mistaken_for_a_dead_chat() {
    let fake = FakeTelegram::start("999:OTHER-token").await;
    let sender = sender_for(&fake.base_url());
    let err = sender.send(&ChatTarget::Id(42), "x", TextMode::Html).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_no_token(&err);
    assert_eq!(fake.calls("sendMessage"), 0);
}

#[tokio::test]
async fn a_stalled_network_times_out_as_transient() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.set_rate_limits(false);
    let token = Secret::new(TOKEN);
    let bot = build_bot(&token, &fake.base_url(), Duration::from_millis(300)).unwrap();
    let sender = TelegramSender::new(bot, token);
    fake.stall_after(1);
    sender.send(&ChatTarget::Id(1), "first", TextMode::Plain).await.unwrap();
    let err = sender.send(&ChatTarget::Id(2), "second", TextMode::Plain).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
    assert_no_token(&err);
    assert_eq!(fake.sent().len(), 1, "the held message is not recorded");
    fake.release();
    sender.send(&ChatTarget::Id(2), "third", TextMode::Plain).await.unwrap();
    fake.wait_for_sent(2, Duration::from_secs(2)).await.unwrap();
}
