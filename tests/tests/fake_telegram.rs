//! The fake Bot API itself, over raw HTTP: the shapes and limits other tests rely on.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use supersetd_tests::fakes::telegram::FakeTelegram;

const TOKEN: &str = "555:FAKE-token";

async fn call(fake: &FakeTelegram, method: &str, body: Value) -> (u16, Value, Option<String>) {
    let url = format!("{}/bot{TOKEN}/{method}", fake.base_url());
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, response.json().await.unwrap(), retry)
}

async fn send(fake: &FakeTelegram, chat: i64, text: &str) -> (u16, Value, Option<String>) {
    call(
        fake,
        "sendMessage",
        json!({ "chat_id": chat, "text": text }),
    )
    .await
}

#[tokio::test]
async fn wrong_tokens_and_unknown_methods_get_telegrams_404() {
    let fake = FakeTelegram::start(TOKEN).await;
    let url = format!("{}/bot999:other/getMe", fake.base_url());
    let response = reqwest::Client::new().post(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({ "ok": false, "error_code": 404, "description": "Not Found" })
    );
    assert_eq!(fake.calls("getMe"), 0);
    let (status, _, _) = call(&fake, "noSuchMethod", json!({})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn get_me_has_the_full_shape_and_methods_ignore_case() {
    let fake = FakeTelegram::start(TOKEN).await;
    let (status, body, _) = call(&fake, "GetMe", json!({})).await;
    assert_eq!(status, 200);
    let me = &body["result"];
    assert_eq!(me["id"], 555);
    assert_eq!(me["is_bot"], true);
    for field in [
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "has_main_web_app",
    ] {
        assert!(me[field].is_boolean(), "{field} missing: {me}");
    }
    assert_eq!(fake.calls("getme"), 1);
}

#[tokio::test]
async fn form_bodies_are_accepted() {
    let fake = FakeTelegram::start(TOKEN).await;
    let url = format!("{}/bot{TOKEN}/sendMessage", fake.base_url());
    let form = [
        ("chat_id", "5"),
        ("text", "hi & bye"),
        ("disable_web_page_preview", "true"),
    ];
    let body: Value = reqwest::Client::new()
        .post(url)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["result"]["chat"],
        json!({ "id": 5, "type": "private", "first_name": "Student" })
    );
    assert_eq!(body["result"]["message_id"], 1);
    let sent = fake.sent_to(5);
    assert_eq!(
        (sent[0].text.as_str(), sent[0].link_preview_disabled),
        ("hi & bye", true)
    );
}

#[tokio::test]
async fn rate_limits_answer_429_with_header_and_parameters() {
    let fake = FakeTelegram::start(TOKEN).await;
    assert_eq!(send(&fake, 1, "a").await.0, 200);
    let (status, body, retry) = send(&fake, 1, "b").await;
    assert_eq!(status, 429);
    assert_eq!(body["description"], "Too Many Requests: retry after 1");
    assert_eq!(body["parameters"]["retry_after"], 1);
    assert_eq!(retry.as_deref(), Some("1"));

    // Groups: 20 a minute.
    for i in 0..20 {
        assert_eq!(
            send(&fake, -10_077, &format!("{i}")).await.0,
            200,
            "message {i}"
        );
    }
    let (status, body, _) = send(&fake, -10_077, "21st").await;
    assert_eq!(status, 429);
    let wait = body["parameters"]["retry_after"].as_u64().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(fake.rate_limited_count(), 2);
}

#[tokio::test]
async fn more_than_thirty_a_second_overall_is_limited() {
    let fake = FakeTelegram::start(TOKEN).await;
    let started = Instant::now();
    for chat in 1..=30 {
        assert_eq!(send(&fake, chat, "x").await.0, 200);
    }
    let (status, _, _) = send(&fake, 31, "x").await;
    if started.elapsed() < Duration::from_millis(900) {
        assert_eq!(status, 429);
    }
}

#[tokio::test]
async fn length_is_counted_in_utf16_after_parsing() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.set_rate_limits(false);
    let (status, body, _) = send(&fake, 1, &"😀".repeat(2049)).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: message is too long"))
    );
    assert_eq!(send(&fake, 1, &"😀".repeat(2048)).await.0, 200);
    let (status, body, _) = send(&fake, 1, "").await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: message text is empty"))
    );
}

#[tokio::test]
async fn long_polls_wait_and_offsets_confirm() {
    let fake = FakeTelegram::start(TOKEN).await;
    let started = Instant::now();
    let (_, body, _) = call(&fake, "getUpdates", json!({ "timeout": 30 })).await;
    assert_eq!(body["result"], json!([]));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    fake.push_command(8, 8, "Asha", "/start@superset_test_bot now");
    let (_, body, _) = call(&fake, "getUpdates", json!({ "timeout": 30 })).await;
    let update = &body["result"][0];
    let id = update["update_id"].as_i64().unwrap();
    assert_eq!(
        update["message"]["entities"][0],
        json!({ "type": "bot_command", "offset": 0, "length": 24 })
    );
    assert_eq!(update["message"]["from"]["id"], 8);
    // Not confirmed yet: handed out again.
    let (_, body, _) = call(&fake, "getUpdates", json!({ "offset": id })).await;
    assert_eq!(body["result"].as_array().unwrap().len(), 1);
    let (_, body, _) = call(
        &fake,
        "getUpdates",
        json!({ "offset": id + 1, "timeout": 0 }),
    )
    .await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(fake.pending_updates(), 0);
}

#[tokio::test]
async fn delete_webhook_can_drop_pending_updates() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.push_command(1, 1, "A", "/start");
    call(&fake, "deleteWebhook", json!({})).await;
    assert_eq!(fake.pending_updates(), 1);
    call(
        &fake,
        "deleteWebhook",
        json!({ "drop_pending_updates": true }),
    )
    .await;
    assert_eq!(fake.pending_updates(), 0);
    assert!(fake.dropped_pending_updates());
}

#[tokio::test]
async fn control_routes_script_the_fake() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.set_rate_limits(false);
    let client = reqwest::Client::new();
    let control = |action: &str| format!("{}/__control/{action}", fake.base_url());
    client
        .post(control("block"))
        .json(&json!({ "chat_id": 3 }))
        .send()
        .await
        .unwrap();
    let (status, body, _) = send(&fake, 3, "x").await;
    assert_eq!(
        (status, body["description"].as_str()),
        (403, Some("Forbidden: bot was blocked by the user"))
    );
    client
        .post(control("migrate"))
        .json(&json!({ "chat_id": -4, "new_chat_id": -1004 }))
        .send()
        .await
        .unwrap();
    let (status, body, _) = send(&fake, -4, "x").await;
    assert_eq!(
        (status, &body["parameters"]["migrate_to_chat_id"]),
        (400, &json!(-1004))
    );
    client
        .post(control("push_command"))
        .json(&json!({ "user_id": 6, "first_name": "B", "text": "/help" }))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.pending_updates(), 1);
    send(&fake, 6, "ok").await;
    let sent: Value = client
        .get(control("sent"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sent["sent"][0]["text"], "ok");
    let calls: Value = client
        .get(control("calls?method=SENDMESSAGE"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(calls["count"], 3);
}

#[tokio::test]
async fn a_stall_holds_sends_until_released() {
    let fake = FakeTelegram::start(TOKEN).await;
    fake.set_rate_limits(false);
    fake.stall_after(1);
    assert_eq!(send(&fake, 1, "through").await.0, 200);
    let held = tokio::time::timeout(Duration::from_millis(300), send(&fake, 2, "held")).await;
    assert!(held.is_err(), "held open");
    assert_eq!(fake.sent().len(), 1);
    let pending = tokio::spawn({
        let url = format!("{}/bot{TOKEN}/sendMessage", fake.base_url());
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({ "chat_id": 2, "text": "later" }))
                .send()
                .await
        }
    });
    fake.wait_for_calls("sendMessage", 3, Duration::from_secs(2))
        .await
        .unwrap();
    fake.release();
    assert_eq!(pending.await.unwrap().unwrap().status().as_u16(), 200);
    assert_eq!(fake.sent_to(2)[0].text, "later");
}
