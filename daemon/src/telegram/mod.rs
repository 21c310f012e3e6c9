//! Telegram: the bot (commands from students) and the sender (messages to them).
//!
//! [`Sender`] is the seam between the delivery engine and the Bot API. Its errors are the
//! cases the engine treats differently (wait, give up on this chat, retry as plain text, follow
//! a migrated group), already decoded from Telegram's JSON error envelope, so the engine never
//! parses description strings.

pub mod bot;
pub mod sender;

use std::time::Duration;

use async_trait::async_trait;

/// Where a message goes: a numeric chat id or a public `@channelname`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChatTarget {
    Id(i64),
    Username(String),
}

impl ChatTarget {
    /// Parse a configured chat: `-100123`, `42` or `@channel`.
    pub fn parse(s: &str) -> Option<ChatTarget> {
        let s = s.trim();
        if let Ok(id) = s.parse::<i64>() {
            return Some(ChatTarget::Id(id));
        }
        let name = s.strip_prefix('@')?;
        (!name.is_empty()).then(|| ChatTarget::Username(s.to_owned()))
    }

    /// Groups, supergroups and channels have negative ids; Telegram allows them about 20
    /// messages a minute instead of one a second.
    pub fn is_group_like(&self) -> bool {
        match self {
            ChatTarget::Id(id) => *id < 0,
            ChatTarget::Username(_) => true,
        }
    }
}

impl std::fmt::Display for ChatTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChatTarget::Id(id) => write!(f, "{id}"),
            ChatTarget::Username(name) => f.write_str(name),
        }
    }
}

/// How the text is to be parsed by Telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextMode {
    Html,
    Plain,
}

/// A message Telegram accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// 429: wait this long before sending anything more.
    #[error("rate limited by Telegram: retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// 403: the user blocked the bot, is deactivated, or the bot was kicked.
    #[error("recipient unreachable: {reason}")]
    Blocked { reason: String },
    /// 400 "can't parse entities": the HTML was refused.
    #[error("telegram could not parse the message: {reason}")]
    Unparseable { reason: String },
    /// 400 with `migrate_to_chat_id`: the group is now a supergroup with this id.
    #[error("chat migrated to {new_chat_id}")]
    Migrated { new_chat_id: i64 },
    /// Any other 4xx: sending the same thing again will fail again.
    #[error("telegram rejected the message: {reason}")]
    Rejected { reason: String },
    /// Network errors, timeouts, 5xx: worth retrying later.
    #[error("telegram unreachable: {reason}")]
    Transient { reason: String },
}

/// Sends one message. Implementations neither retry nor sleep: rate limits and retries are
/// the delivery engine's job, because only it knows what else is waiting.
#[async_trait]
pub trait Sender: Send + Sync + 'static {
    async fn send(
        &self,
        chat: &ChatTarget,
        text: &str,
        mode: TextMode,
    ) -> Result<SentMessage, SendError>;
}

/// Build the teloxide client shared by the bot and the sender, pointed at `api_url` (the real
/// Bot API or a local fake). Requests time out after `timeout` so a silent network never hangs
/// a delivery.
pub fn build_bot(
    token: &crate::secret::Secret,
    api_url: &str,
    timeout: Duration,
) -> Result<teloxide::Bot, BuildBotError> {
    let url = reqwest::Url::parse(api_url).map_err(|e| BuildBotError::BadUrl {
        url: api_url.to_owned(),
        reason: e.to_string(),
    })?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .map_err(|e| BuildBotError::Client(e.to_string()))?;
    Ok(teloxide::Bot::with_client(token.expose(), client).set_api_url(url))
}

#[derive(Debug, thiserror::Error)]
pub enum BuildBotError {
    #[error("invalid telegram.api_url {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}
