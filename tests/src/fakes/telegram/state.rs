//! What the fake Bot API remembers and how it decides each `sendMessage`.
//!
//! All of it sits behind one std mutex that is never held across an await: handlers take the
//! lock, decide, release, and only then wait (long polls, stalls).

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fakes::telegram_html::parse_telegram_html;

/// Telegram's limit on the visible text of one message, in UTF-16 code units.
pub const MAX_MESSAGE_UTF16: usize = 4096;
/// Overall limit: more than this many messages in any one-second window gets a 429.
const GLOBAL_PER_SECOND: usize = 30;
/// Groups and channels: this many per minute.
const GROUP_PER_MINUTE: usize = 20;

/// One 429 the fake answered, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimited {
    pub chat: String,
    pub limit: &'static str,
    pub at: Instant,
}

/// One message the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRecord {
    /// The numeric chat id (for an `@channel` target, the id the fake gave that channel).
    pub chat_id: i64,
    /// The chat as the request named it: `"42"` or `"@channel"`.
    pub chat: String,
    pub text: String,
    pub parse_mode: Option<String>,
    pub message_id: i64,
    /// `link_preview_options.is_disabled` or the older `disable_web_page_preview`.
    pub link_preview_disabled: bool,
    pub at: Instant,
}

/// A Bot API error reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiFailure {
    pub code: u16,
    pub description: String,
    pub parameters: Option<Value>,
}

impl ApiFailure {
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        ApiFailure {
            code,
            description: description.into(),
            parameters: None,
        }
    }

    fn too_many(retry_after: u64) -> Self {
        ApiFailure {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            parameters: Some(json!({ "retry_after": retry_after })),
        }
    }

    pub fn retry_after(&self) -> Option<u64> {
        self.parameters.as_ref()?.get("retry_after")?.as_u64()
    }
}

/// A parsed `sendMessage` request.
#[derive(Debug, Clone)]
pub struct SendRequest {
    pub chat: String,
    pub text: String,
    pub parse_mode: Option<String>,
    pub link_preview_disabled: bool,
}

#[derive(Debug)]
pub struct State {
    pub token: String,
    pub bot_id: i64,
    pub bot_username: String,
    pub long_poll_cap: Duration,
    pub rate_limits: bool,
    pub updates: VecDeque<Value>,
    pub next_update_id: i64,
    pub next_user_message_id: i64,
    pub sent: Vec<SentRecord>,
    pub calls: HashMap<String, usize>,
    /// Every 429 the fake gave, with the limit that caused it.
    pub rate_limited: Vec<RateLimited>,
    pub dropped_pending: bool,
    next_message_id: HashMap<i64, i64>,
    usernames: HashMap<String, i64>,
    recent_all: VecDeque<Instant>,
    recent_by_chat: HashMap<i64, VecDeque<Instant>>,
    pub blocked: HashSet<i64>,
    pub deactivated: HashSet<i64>,
    pub not_found: HashSet<i64>,
    pub migrated: HashMap<i64, i64>,
    pub reject_html_once: HashSet<i64>,
    pub fail_next_429: Option<u64>,
    /// After this many accepted messages, further sends hang until released.
    pub stall_after: Option<usize>,
}

impl State {
    pub fn new(token: &str) -> Self {
        let bot_id = token
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(7_000_001);
        State {
            token: token.to_owned(),
            bot_id,
            bot_username: "superset_test_bot".to_owned(),
            long_poll_cap: Duration::from_secs(1),
            rate_limits: true,
            updates: VecDeque::new(),
            next_update_id: 100_001,
            next_user_message_id: 1,
            sent: Vec::new(),
            calls: HashMap::new(),
            rate_limited: Vec::new(),
            dropped_pending: false,
            next_message_id: HashMap::new(),
            usernames: HashMap::new(),
            recent_all: VecDeque::new(),
            recent_by_chat: HashMap::new(),
            blocked: HashSet::new(),
            deactivated: HashSet::new(),
            not_found: HashSet::new(),
            migrated: HashMap::new(),
            reject_html_once: HashSet::new(),
            fail_next_429: None,
            stall_after: None,
        }
    }

    pub fn get_me(&self) -> Value {
        json!({
            "id": self.bot_id,
            "is_bot": true,
            "first_name": "SuperSet Test Bot",
            "username": self.bot_username,
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false,
        })
    }

    /// Whether a `sendMessage` has to hang now (the "network" is cut).
    /// Turn the flood limits on or off. Turning them on starts the windows afresh: what was
    /// sent while they were off does not count against what comes after.
    pub fn set_rate_limits(&mut self, enabled: bool) {
        if enabled && !self.rate_limits {
            self.recent_all.clear();
            self.recent_by_chat.clear();
        }
        self.rate_limits = enabled;
    }

    pub fn stalled(&self) -> bool {
        self.stall_after.is_some_and(|n| self.sent.len() >= n)
    }

    /// Queue an update, giving it the next `update_id`.
    pub fn push_update(&mut self, mut update: Value) {
        let id = self.next_update_id;
        self.next_update_id += 1;
        if let Some(obj) = update.as_object_mut() {
            obj.insert("update_id".to_owned(), json!(id));
        }
        self.updates.push_back(update);
    }

    /// `getUpdates`: confirm everything below `offset`, then hand out what is left.
    pub fn take_updates(
        &mut self,
        offset: i64,
        limit: usize,
        allowed: Option<&[String]>,
    ) -> Vec<Value> {
        if offset > 0 {
            self.updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
        }
        if let Some(allowed) = allowed.filter(|a| !a.is_empty()) {
            // Telegram never delivers kinds the bot did not ask for.
            self.updates
                .retain(|u| update_kind(u).is_some_and(|k| allowed.iter().any(|a| a == k)));
        }
        self.updates
            .iter()
            .take(limit.clamp(1, 100))
            .cloned()
            .collect()
    }

    /// Decide one `sendMessage`: the reply to give, recording the message when accepted.
    pub fn send_message(&mut self, req: SendRequest, now: Instant) -> Result<Value, ApiFailure> {
        if let Some(retry_after) = self.fail_next_429.take() {
            self.rate_limited.push(RateLimited {
                chat: req.chat.clone(),
                limit: "scripted",
                at: now,
            });
            return Err(ApiFailure::too_many(retry_after));
        }
        let chat_id = self.resolve_chat(&req.chat)?;
        if self.rate_limits
            && let Some((limit, retry_after)) = self.over_limit(chat_id, now)
        {
            self.rate_limited.push(RateLimited {
                chat: req.chat.clone(),
                limit,
                at: now,
            });
            return Err(ApiFailure::too_many(retry_after));
        }
        self.scripted_failure(chat_id, req.parse_mode.as_deref())?;
        let visible = visible_text(&req.text, req.parse_mode.as_deref())?;
        if visible.trim().is_empty() {
            return Err(ApiFailure::new(400, "Bad Request: message text is empty"));
        }
        if visible.encode_utf16().count() > MAX_MESSAGE_UTF16 {
            return Err(ApiFailure::new(400, "Bad Request: message is too long"));
        }
        let next = self.next_message_id.entry(chat_id).or_insert(1);
        let message_id = *next;
        *next += 1;
        self.recent_all.push_back(now);
        self.recent_by_chat
            .entry(chat_id)
            .or_default()
            .push_back(now);
        self.sent.push(SentRecord {
            chat_id,
            chat: req.chat.clone(),
            text: req.text,
            parse_mode: req.parse_mode,
            message_id,
            link_preview_disabled: req.link_preview_disabled,
            at: now,
        });
        Ok(message_json(chat_id, &req.chat, message_id, &visible))
    }

    fn resolve_chat(&mut self, chat: &str) -> Result<i64, ApiFailure> {
        if let Ok(id) = chat.trim().parse::<i64>() {
            return Ok(id);
        }
        if chat.starts_with('@') && chat.len() > 1 {
            let next = -1_000_000_000_000 - self.usernames.len() as i64;
            return Ok(*self.usernames.entry(chat.to_owned()).or_insert(next));
        }
        Err(ApiFailure::new(400, "Bad Request: chat not found"))
    }

    /// The limit this send would break and the seconds to wait.
    fn over_limit(&mut self, chat_id: i64, now: Instant) -> Option<(&'static str, u64)> {
        let second = Duration::from_secs(1);
        let minute = Duration::from_secs(60);
        self.recent_all.retain(|t| now.duration_since(*t) < second);
        if self.recent_all.len() >= GLOBAL_PER_SECOND {
            return Some(("global 30/s", 1));
        }
        let recent = self.recent_by_chat.entry(chat_id).or_default();
        recent.retain(|t| now.duration_since(*t) < minute);
        if chat_id > 0 {
            let last_second = recent
                .iter()
                .filter(|t| now.duration_since(**t) < second)
                .count();
            (last_second >= 1).then_some(("private chat 1/s", 1))
        } else if recent.len() >= GROUP_PER_MINUTE {
            let oldest = recent.front().copied().unwrap_or(now);
            let wait = minute.saturating_sub(now.duration_since(oldest));
            Some(("group 20/min", wait.as_secs_f64().ceil().max(1.0) as u64))
        } else {
            None
        }
    }

    fn scripted_failure(
        &mut self,
        chat_id: i64,
        parse_mode: Option<&str>,
    ) -> Result<(), ApiFailure> {
        if self.blocked.contains(&chat_id) {
            return Err(ApiFailure::new(
                403,
                "Forbidden: bot was blocked by the user",
            ));
        }
        if self.deactivated.contains(&chat_id) {
            return Err(ApiFailure::new(403, "Forbidden: user is deactivated"));
        }
        if self.not_found.contains(&chat_id) {
            return Err(ApiFailure::new(400, "Bad Request: chat not found"));
        }
        if let Some(new_id) = self.migrated.get(&chat_id) {
            return Err(ApiFailure {
                code: 400,
                description: "Bad Request: group chat was upgraded to a supergroup chat".to_owned(),
                parameters: Some(json!({ "migrate_to_chat_id": new_id })),
            });
        }
        let html = parse_mode.is_some_and(|m| m.eq_ignore_ascii_case("html"));
        if html && self.reject_html_once.remove(&chat_id) {
            return Err(ApiFailure::new(
                400,
                "Bad Request: can't parse entities: unsupported start tag \"x\" at byte offset 0",
            ));
        }
        Ok(())
    }
}

/// `message`, `edited_message`, ...: the one key of an update besides `update_id`.
fn update_kind(update: &Value) -> Option<&str> {
    update
        .as_object()?
        .keys()
        .map(String::as_str)
        .find(|k| *k != "update_id")
}

/// The text the recipient sees, as Telegram derives it from the parse mode.
fn visible_text(text: &str, parse_mode: Option<&str>) -> Result<String, ApiFailure> {
    match parse_mode.map(str::to_ascii_lowercase).as_deref() {
        None | Some("") => Ok(text.to_owned()),
        Some("html") => parse_telegram_html(text)
            .map(|p| p.text)
            .map_err(|d| ApiFailure::new(400, d)),
        // The fake does not model Markdown; it accepts it verbatim.
        Some("markdown") | Some("markdownv2") => Ok(text.to_owned()),
        Some(other) => Err(ApiFailure::new(
            400,
            format!("Bad Request: unsupported parse_mode \"{other}\""),
        )),
    }
}

fn message_json(chat_id: i64, chat: &str, message_id: i64, visible: &str) -> Value {
    let chat_json = if chat.starts_with('@') {
        json!({ "id": chat_id, "type": "channel", "title": chat.trim_start_matches('@'), "username": chat.trim_start_matches('@') })
    } else if chat_id < 0 {
        json!({ "id": chat_id, "type": "supergroup", "title": "Group" })
    } else {
        json!({ "id": chat_id, "type": "private", "first_name": "Student" })
    };
    json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": chat_json,
        "text": visible,
    })
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A realistic private-chat command update (without `update_id`, added when queued).
pub fn command_update(
    message_id: i64,
    user_id: i64,
    chat_id: i64,
    first_name: &str,
    text: &str,
) -> Value {
    let command_len = text
        .split_whitespace()
        .next()
        .map(|c| c.encode_utf16().count())
        .unwrap_or(0);
    let entities = if text.starts_with('/') {
        json!([{ "type": "bot_command", "offset": 0, "length": command_len }])
    } else {
        json!([])
    };
    let chat = if chat_id > 0 {
        json!({ "id": chat_id, "type": "private", "first_name": first_name })
    } else {
        json!({ "id": chat_id, "type": "group", "title": "Group" })
    };
    json!({
        "message": {
            "message_id": message_id,
            "date": unix_now(),
            "chat": chat,
            "from": { "id": user_id, "is_bot": false, "first_name": first_name, "language_code": "en" },
            "text": text,
            "entities": entities,
        }
    })
}
