//! The fake's HTTP surface: `/{bot<TOKEN>}/{method}` like Telegram, and `/__control/{action}`
//! so shell scripts can script the fake the way Rust tests do through `FakeTelegram`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{FromRequest, Path, Query, Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::state::{ApiFailure, SendRequest, State, command_update};

/// Everything the handlers share. The watch channels are version counters: subscribe, check
/// the state, then wait for a change, so no wake-up is lost between the check and the wait.
#[derive(Debug)]
pub struct Shared {
    pub state: Mutex<State>,
    pub updates_changed: watch::Sender<u64>,
    pub sent_changed: watch::Sender<u64>,
    pub released: watch::Sender<u64>,
    /// Bumped to abandon every held request without recording it.
    pub dropped: watch::Sender<u64>,
    /// Fired when the fake is dropped: waiting requests end and connections close.
    pub closed: CancellationToken,
}

impl Shared {
    pub fn new(token: &str) -> Self {
        Shared {
            state: Mutex::new(State::new(token)),
            updates_changed: watch::channel(0).0,
            sent_changed: watch::channel(0).0,
            released: watch::channel(0).0,
            dropped: watch::channel(0).0,
            closed: CancellationToken::new(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn bump(channel: &watch::Sender<u64>) {
        channel.send_modify(|v| *v += 1);
    }

    pub fn push_update(&self, update: Value) {
        self.lock().push_update(update);
        Shared::bump(&self.updates_changed);
    }

    pub fn push_command(&self, user_id: i64, chat_id: i64, first_name: &str, text: &str) {
        {
            let mut state = self.lock();
            let message_id = state.next_user_message_id;
            state.next_user_message_id += 1;
            let update = command_update(message_id, user_id, chat_id, first_name, text);
            state.push_update(update);
        }
        Shared::bump(&self.updates_changed);
    }

    pub fn release(&self) {
        self.lock().stall_after = None;
        Shared::bump(&self.released);
    }

    /// Lift a stall, answering every held request 502 without recording it: those messages
    /// never reached "Telegram".
    pub fn drop_stalled(&self) {
        Shared::bump(&self.dropped);
        self.lock().stall_after = None;
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__control/{action}", any(control))
        .route("/{bot_token}/{method}", any(api))
        .with_state(shared)
}

fn ok(result: Value) -> Response {
    Json(json!({ "ok": true, "result": result })).into_response()
}

fn fail(failure: ApiFailure) -> Response {
    let mut body =
        json!({ "ok": false, "error_code": failure.code, "description": failure.description });
    if let Some(params) = &failure.parameters {
        body["parameters"] = params.clone();
    }
    let status = StatusCode::from_u16(failure.code).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, Json(body)).into_response();
    if let Some(seconds) = failure.retry_after()
        && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

fn not_found() -> Response {
    fail(ApiFailure::new(404, "Not Found"))
}

/// Query string and body (JSON or form) merged into one JSON object. Form values stay
/// strings, as Telegram receives them; the accessors below read both.
async fn read_params(req: Request) -> Result<Map<String, Value>, ApiFailure> {
    let mut params = Map::new();
    if let Ok(Query(query)) = Query::<HashMap<String, String>>::try_from_uri(req.uri()) {
        params.extend(query.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("application/json") {
        let Json(body) = Json::<Value>::from_request(req, &())
            .await
            .map_err(|_| ApiFailure::new(400, "Bad Request: invalid JSON in request body"))?;
        if let Value::Object(body) = body {
            params.extend(body);
        }
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let axum::Form(body) = axum::Form::<HashMap<String, String>>::from_request(req, &())
            .await
            .map_err(|_| ApiFailure::new(400, "Bad Request: invalid form body"))?;
        params.extend(body.into_iter().map(|(k, v)| (k, Value::String(v))));
    }
    Ok(params)
}

fn int(params: &Map<String, Value>, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn string(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn boolean(params: &Map<String, Value>, key: &str) -> bool {
    match params.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        _ => false,
    }
}

fn string_list(params: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    let value = match params.get(key)? {
        Value::String(s) => serde_json::from_str(s).ok()?,
        other => other.clone(),
    };
    serde_json::from_value(value).ok()
}

async fn api(
    AxState(shared): AxState<Arc<Shared>>,
    Path((bot_token, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    let expected = format!("bot{}", shared.lock().token);
    if bot_token != expected {
        return not_found();
    }
    let method = method.to_ascii_lowercase();
    *shared.lock().calls.entry(method.clone()).or_default() += 1;
    let params = match read_params(req).await {
        Ok(params) => params,
        Err(failure) => return fail(failure),
    };
    match method.as_str() {
        "getme" => ok(shared.lock().get_me()),
        "getwebhookinfo" => {
            let pending = shared.lock().updates.len();
            ok(
                json!({ "url": "", "has_custom_certificate": false, "pending_update_count": pending }),
            )
        }
        "deletewebhook" => {
            if boolean(&params, "drop_pending_updates") {
                let mut state = shared.lock();
                state.updates.clear();
                state.dropped_pending = true;
            }
            ok(json!(true))
        }
        "setmycommands" | "deletemycommands" | "setwebhook" => ok(json!(true)),
        "getupdates" => get_updates(&shared, &params).await,
        "sendmessage" => send_message(&shared, &params).await,
        _ => not_found(),
    }
}

async fn get_updates(shared: &Shared, params: &Map<String, Value>) -> Response {
    let offset = int(params, "offset").unwrap_or(0);
    let limit = int(params, "limit").unwrap_or(100).max(1) as usize;
    let allowed = string_list(params, "allowed_updates");
    let timeout = Duration::from_secs(int(params, "timeout").unwrap_or(0).max(0) as u64);
    let deadline = Instant::now() + timeout.min(shared.lock().long_poll_cap);
    loop {
        let mut changed = shared.updates_changed.subscribe();
        let batch = shared
            .lock()
            .take_updates(offset, limit, allowed.as_deref());
        if !batch.is_empty() || Instant::now() >= deadline {
            return ok(Value::Array(batch));
        }
        tokio::select! {
            _ = shared.closed.cancelled() => return ok(json!([])),
            _ = tokio::time::timeout_at(deadline.into(), changed.changed()) => {}
        }
    }
}

async fn send_message(shared: &Shared, params: &Map<String, Value>) -> Response {
    let Some(chat) = string(params, "chat_id").filter(|c| !c.is_empty()) else {
        return fail(ApiFailure::new(400, "Bad Request: chat_id is empty"));
    };
    let Some(text) = string(params, "text").filter(|t| !t.is_empty()) else {
        return fail(ApiFailure::new(400, "Bad Request: message text is empty"));
    };
    let parse_mode = string(params, "parse_mode").filter(|m| !m.is_empty());
    let preview_options = match params.get("link_preview_options") {
        Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
        Some(other) => other.clone(),
        None => Value::Null,
    };
    let link_preview_disabled = preview_options["is_disabled"].as_bool().unwrap_or(false)
        || boolean(params, "disable_web_page_preview");
    let request = SendRequest {
        chat,
        text,
        parse_mode,
        link_preview_disabled,
    };
    loop {
        let mut released = shared.released.subscribe();
        let mut dropped = shared.dropped.subscribe();
        let outcome = {
            let mut state = shared.lock();
            if state.stalled() {
                None
            } else {
                Some(state.send_message(request.clone(), Instant::now()))
            }
        };
        match outcome {
            // The "network" is cut: hold the request open, record nothing.
            None => {
                tokio::select! {
                    _ = shared.closed.cancelled() => return StatusCode::BAD_GATEWAY.into_response(),
                    _ = dropped.changed() => return StatusCode::BAD_GATEWAY.into_response(),
                    _ = released.changed() => {}
                }
            }
            Some(Ok(message)) => {
                Shared::bump(&shared.sent_changed);
                return ok(message);
            }
            Some(Err(failure)) => return fail(failure),
        }
    }
}

/// `POST /__control/<action>` with a JSON body; `GET /__control/{sent,calls,rate_limited}`.
async fn control(
    AxState(shared): AxState<Arc<Shared>>,
    Path(action): Path<String>,
    req: Request,
) -> Response {
    let params = match read_params(req).await {
        Ok(params) => params,
        Err(failure) => return fail(failure),
    };
    let chat = int(&params, "chat_id");
    let done = Json(json!({ "ok": true }));
    let need_chat = || {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({ "ok": false, "error": "chat_id is required" })),
        )
    };
    match action.as_str() {
        "block" | "deactivate" | "chat_not_found" | "reject_html_once" => {
            let Some(chat) = chat else {
                return need_chat().into_response();
            };
            let mut state = shared.lock();
            let set = match action.as_str() {
                "block" => &mut state.blocked,
                "deactivate" => &mut state.deactivated,
                "chat_not_found" => &mut state.not_found,
                _ => &mut state.reject_html_once,
            };
            set.insert(chat);
            done.into_response()
        }
        "migrate" => {
            let (Some(chat), Some(new_id)) = (chat, int(&params, "new_chat_id")) else {
                return need_chat().into_response();
            };
            shared.lock().migrated.insert(chat, new_id);
            done.into_response()
        }
        "fail_next_with_429" => {
            shared.lock().fail_next_429 =
                Some(int(&params, "retry_after").unwrap_or(1).max(0) as u64);
            done.into_response()
        }
        "stall_after" => {
            shared.lock().stall_after = Some(int(&params, "n").unwrap_or(0).max(0) as usize);
            done.into_response()
        }
        "release" => {
            shared.release();
            done.into_response()
        }
        "rate_limits" => {
            shared.lock().set_rate_limits(boolean(&params, "enabled"));
            done.into_response()
        }
        "push_command" => {
            let user = int(&params, "user_id").unwrap_or(1);
            let name = string(&params, "first_name").unwrap_or_else(|| "Student".to_owned());
            let text = string(&params, "text").unwrap_or_else(|| "/start".to_owned());
            shared.push_command(user, chat.unwrap_or(user), &name, &text);
            done.into_response()
        }
        "push_update" => {
            shared.push_update(
                params
                    .get("update")
                    .cloned()
                    .unwrap_or(Value::Object(params.clone())),
            );
            done.into_response()
        }
        "sent" => {
            let sent: Vec<Value> = shared
                .lock()
                .sent
                .iter()
                .map(|r| {
                    json!({ "chat_id": r.chat_id, "chat": r.chat, "text": r.text,
                            "parse_mode": r.parse_mode, "message_id": r.message_id,
                            "link_preview_disabled": r.link_preview_disabled })
                })
                .collect();
            Json(json!({ "ok": true, "sent": sent })).into_response()
        }
        "calls" => {
            let method = string(&params, "method")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let count = shared.lock().calls.get(&method).copied().unwrap_or(0);
            Json(json!({ "ok": true, "count": count })).into_response()
        }
        "rate_limited" => {
            Json(json!({ "ok": true, "count": shared.lock().rate_limited.len() })).into_response()
        }
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({ "ok": false, "error": "unknown control action" })),
        )
            .into_response(),
    }
}
