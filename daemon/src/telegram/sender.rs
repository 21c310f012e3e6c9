//! The Bot API implementation of [`Sender`](super::Sender) on teloxide.
//!
//! One `sendMessage` per call, no retries: the delivery engine owns waiting and retrying. The
//! work here is classifying teloxide's [`RequestError`] into the [`SendError`] cases the engine
//! treats differently, and making sure no error text carries the bot token (reqwest puts the
//! request URL, `/bot<TOKEN>/SendMessage`, into its errors).

use async_trait::async_trait;
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{LinkPreviewOptions, ParseMode, Recipient};

use super::{ChatTarget, SendError, Sender, SentMessage, TextMode};
use crate::secret::{Secret, redact};

/// Longest piece of a non-JSON reply (a proxy's HTML error page, say) kept in an error text.
const MAX_RAW_IN_ERROR: usize = 200;

/// Sends messages through the Bot API with link previews disabled.
#[derive(Clone)]
pub struct TelegramSender {
    bot: Bot,
    token: Secret,
}

impl TelegramSender {
    /// `token` is the one `bot` was built with; it is only used to scrub error texts.
    pub fn new(bot: Bot, token: Secret) -> Self {
        TelegramSender { bot, token }
    }
}

impl std::fmt::Debug for TelegramSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSender")
            .field("api_url", &self.bot.api_url().as_str())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl Sender for TelegramSender {
    async fn send(
        &self,
        chat: &ChatTarget,
        text: &str,
        mode: TextMode,
    ) -> Result<SentMessage, SendError> {
        let recipient = match chat {
            ChatTarget::Id(id) => Recipient::Id(ChatId(*id)),
            ChatTarget::Username(name) => Recipient::ChannelUsername(name.clone()),
        };
        let mut request = self
            .bot
            .send_message(recipient, text)
            .link_preview_options(no_preview());
        if mode == TextMode::Html {
            request = request.parse_mode(ParseMode::Html);
        }
        match request.await {
            Ok(message) => Ok(SentMessage {
                message_id: i64::from(message.id.0),
            }),
            Err(error) => Err(classify(&error, &self.token)),
        }
    }
}

pub(crate) fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

/// Map a teloxide error to the case the delivery engine acts on. Every text is redacted.
pub(crate) fn classify(error: &RequestError, token: &Secret) -> SendError {
    match error {
        RequestError::RetryAfter(seconds) => SendError::RateLimited {
            retry_after: seconds.duration(),
        },
        RequestError::MigrateToChatId(chat) => SendError::Migrated {
            new_chat_id: chat.0,
        },
        RequestError::Api(api) => classify_api(api, token),
        RequestError::Network(e) => SendError::Transient {
            reason: redact(&crate::error_text::chain(e.as_ref()), token),
        },
        RequestError::Io(e) => SendError::Transient {
            reason: redact(&crate::error_text::chain(e.as_ref()), token),
        },
        RequestError::InvalidJson { source, raw } => {
            let raw: String = raw.chars().take(MAX_RAW_IN_ERROR).collect();
            let reason = format!("unreadable reply from the bot api ({source}): {raw}");
            SendError::Transient {
                reason: redact(&reason, token),
            }
        }
    }
}

fn classify_api(api: &ApiError, token: &Secret) -> SendError {
    let reason = redact(&api_text(api), token);
    match api {
        ApiError::BotBlocked
        | ApiError::UserDeactivated
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots
        | ApiError::GroupDeactivated => SendError::Blocked { reason },
        ApiError::CantParseEntities(_) => SendError::Unparseable { reason },
        // A bad token fails every send alike; marking each delivery failed for good would lose
        // them all, so it stays retryable until the operator fixes the token.
        ApiError::InvalidToken => SendError::Transient {
            reason:
                "the bot api refused the bot token (check telegram.token or TELEGRAM_BOT_TOKEN)"
                    .to_owned(),
        },
        ApiError::Unknown(text) => classify_unknown(text, reason),
        _ => SendError::Rejected { reason },
    }
}

/// Descriptions teloxide has no variant for, by the prefix Telegram gives each class.
fn classify_unknown(text: &str, reason: String) -> SendError {
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("forbidden") {
        SendError::Blocked { reason }
    } else if lower.starts_with("bad request: can't parse entities") {
        SendError::Unparseable { reason }
    } else if lower.starts_with("too many requests") {
        // A 429 without `retry_after`: wait a little rather than hammer.
        SendError::RateLimited {
            retry_after: std::time::Duration::from_secs(1),
        }
    } else if lower.starts_with("bad request")
        || lower.starts_with("unauthorized")
        || lower.starts_with("conflict")
    {
        SendError::Rejected { reason }
    } else {
        // 5xx descriptions ("Internal Server Error", "Bad Gateway", ...) and anything new.
        SendError::Transient { reason }
    }
}

/// Telegram's own description for an API error (teloxide's `Display` wraps unknown ones).
fn api_text(api: &ApiError) -> String {
    match api {
        ApiError::Unknown(text) | ApiError::CantParseEntities(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use teloxide::types::Seconds;

    use super::*;

    fn token() -> Secret {
        Secret::new("123456:SECRET-token")
    }

    #[test]
    fn classifies_api_errors() {
        let t = token();
        let retry = RequestError::RetryAfter(Seconds::from_seconds(7));
        assert_eq!(
            classify(&retry, &t),
            SendError::RateLimited {
                retry_after: Duration::from_secs(7)
            }
        );
        let migrated = RequestError::MigrateToChatId(ChatId(-10_042));
        assert_eq!(
            classify(&migrated, &t),
            SendError::Migrated {
                new_chat_id: -10_042
            }
        );
        let blocked = RequestError::Api(ApiError::BotBlocked);
        assert!(matches!(classify(&blocked, &t), SendError::Blocked { .. }));
        let forbidden =
            RequestError::Api(ApiError::Unknown("Forbidden: bot is not a member".into()));
        assert!(matches!(
            classify(&forbidden, &t),
            SendError::Blocked { .. }
        ));
        let parse = RequestError::Api(ApiError::CantParseEntities(
            "Bad Request: can't parse entities: x".into(),
        ));
        assert!(
            matches!(classify(&parse, &t), SendError::Unparseable { reason } if reason.contains("can't parse"))
        );
        let not_found = RequestError::Api(ApiError::ChatNotFound);
        assert!(
            matches!(classify(&not_found, &t), SendError::Rejected { reason } if reason.contains("chat not found"))
        );
        let server = RequestError::Api(ApiError::Unknown("Internal Server Error".into()));
        assert!(matches!(classify(&server, &t), SendError::Transient { .. }));
    }

    #[test]
    fn redacts_the_token_from_unreadable_replies() {
        let t = token();
        let source = serde_json::from_str::<u8>("x").unwrap_err();
        let raw = "<html>/bot123456:SECRET-token/SendMessage</html>".into();
        let error = RequestError::InvalidJson {
            source: std::sync::Arc::new(source),
            raw,
        };
        let SendError::Transient { reason } = classify(&error, &t) else {
            panic!("not transient")
        };
        assert!(!reason.contains("SECRET"), "{reason}");
    }
}
