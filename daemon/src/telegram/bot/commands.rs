//! The user commands: recognising them in a message and computing the reply.
//!
//! Replies are Telegram HTML built here in full, so every piece of user-supplied text (first
//! names above all) passes through [`escape`] exactly once. A store failure is answered with an
//! honest "temporarily unavailable" instead of a guess at the outcome (reference §4.2 replied
//! "already subscribed" to any error).

use chrono::{DateTime, Utc};
use teloxide::types::{Message, User};
use teloxide::utils::html::escape;
use tracing::warn;

use crate::store::{Store, StoreError, SubscribeOutcome, SubscriberProfile};

/// Subscription dates are shown in the placement cell's time zone.
const DISPLAY_TZ: chrono_tz::Tz = chrono_tz::Asia::Kolkata;

pub(crate) const UNAVAILABLE: &str = "⚠️ The service is temporarily unavailable. Please try again in a few minutes.";

const COMMAND_BLOCK: &str = "<b>Commands:</b>\n\
    \u{20}\u{20}/start - Register for notifications\n\
    \u{20}\u{20}/stop - Stop receiving notifications\n\
    \u{20}\u{20}/status - Check your subscription status\n\
    \u{20}\u{20}/help - Show all commands";

const LINKS_BLOCK: &str = "<i>btw...</i>\n\
    here are some links you might wanna look at -\n\
    1. <a href=\"https://jiit-placement-updates.tashif.codes\">Placement Updates PWA</a>\n\
    2. <a href=\"https://jiit-timetable.tashif.codes\">Timetable</a>\n\
    3. <a href=\"https://sophos-autologin.tashif.codes\">Wifi (Sophos) Auto Login</a>\n\
    4. <a href=\"https://jportal.tashif.codes\">JPortal</a>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Start,
    Stop,
    Status,
    Help,
}

impl Command {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Command::Start => "start",
            Command::Stop => "stop",
            Command::Status => "status",
            Command::Help => "help",
        }
    }

    /// `/cmd`, `/cmd@ThisBot` (any case) and `/cmd args` are commands; a command addressed to
    /// another bot, an unknown command and plain text are not.
    pub(crate) fn parse(text: &str, bot_username: &str) -> Option<Command> {
        let word = text.split_whitespace().next()?.strip_prefix('/')?;
        let name = match word.split_once('@') {
            Some((name, target)) if target.eq_ignore_ascii_case(bot_username) => name,
            Some(_) => return None,
            None => word,
        };
        match name.to_ascii_lowercase().as_str() {
            "start" => Some(Command::Start),
            "stop" => Some(Command::Stop),
            "status" => Some(Command::Status),
            "help" => Some(Command::Help),
            _ => None,
        }
    }
}

/// The reply to `command` sent in `message`, as Telegram HTML; `None` when there is nobody to
/// answer (a message without a sender, e.g. a channel post).
pub(crate) async fn reply(store: &dyn Store, now: DateTime<Utc>, command: Command, message: &Message) -> Option<String> {
    if command == Command::Help {
        return Some(help());
    }
    let user = message.from.as_ref()?;
    let user_id = i64::try_from(user.id.0).ok()?;
    let result = match command {
        Command::Start => start(store, now, user, message.chat.id.0).await,
        Command::Stop => stop(store, now, user_id).await,
        Command::Status => status(store, user_id).await,
        Command::Help => Ok(help()),
    };
    Some(result.unwrap_or_else(|error| {
        warn!(command = command.name(), error = %error, "store failed while answering a bot command");
        UNAVAILABLE.to_owned()
    }))
}

fn display_name(user: &User) -> String {
    let name = user.first_name.trim();
    escape(if name.is_empty() { "there" } else { name })
}

async fn start(store: &dyn Store, now: DateTime<Utc>, user: &User, chat_id: i64) -> Result<String, StoreError> {
    let profile = SubscriberProfile {
        user_id: i64::try_from(user.id.0).map_err(|_| StoreError::Other { reason: "user id out of range".into() })?,
        chat_id,
        username: user.username.clone(),
        first_name: Some(user.first_name.clone()).filter(|n| !n.is_empty()),
        last_name: user.last_name.clone(),
    };
    let name = display_name(user);
    Ok(match store.upsert_subscriber(profile, now).await? {
        SubscribeOutcome::Created => format!(
            "Hello {name}! 👋\n\nWelcome to SuperSet Placement Notifications Bot!\n\
             You'll receive job posting updates automatically.\n\n{COMMAND_BLOCK}\n\n{LINKS_BLOCK}"
        ),
        SubscribeOutcome::Reactivated => format!(
            "Welcome back {name}! 👋\n\nYour subscription has been reactivated!\n\
             You'll now receive job posting updates automatically.\n\n{COMMAND_BLOCK}\n\n{LINKS_BLOCK}"
        ),
        SubscribeOutcome::AlreadyActive => format!(
            "Hi {name}! 👋\n\nYou're already registered and active for SuperSet placement notifications.\n\
             You'll continue receiving job posting updates automatically.\n\n\
             Use /status to check your subscription details."
        ),
    })
}

async fn stop(store: &dyn Store, now: DateTime<Utc>, user_id: i64) -> Result<String, StoreError> {
    Ok(if store.deactivate_subscriber(user_id, now).await? {
        "You've been unsubscribed. Use /start to subscribe again.".to_owned()
    } else {
        "You're not currently subscribed.".to_owned()
    })
}

async fn status(store: &dyn Store, user_id: i64) -> Result<String, StoreError> {
    Ok(match store.get_subscriber(user_id).await? {
        Some(sub) if sub.is_active => {
            let since = sub.created_at.with_timezone(&DISPLAY_TZ).format("%B %d, %Y");
            format!(
                "✅ You're subscribed to SuperSet placement notifications.\n\n\
                 Registered on: {since}\nUser ID: {user_id}\nStatus: Active ✅"
            )
        }
        Some(_) => format!(
            "❌ You're not subscribed to notifications.\n\n\
             Found your account but it's marked as inactive.\nUser ID: {user_id}\n\nUse /start to subscribe."
        ),
        None => "❌ You're not subscribed to notifications.\n\n\
                 No account found in our database.\n\nUse /start to subscribe."
            .to_owned(),
    })
}

fn help() -> String {
    "📚 <b>SuperSet Bot Commands</b>\n\n\
     /start - Register for placement notifications\n\
     /stop - Stop receiving notifications\n\
     /status - Check your subscription status\n\
     /help - Show this help\n\n\
     The bot automatically sends:\n\
     • New job postings\n\
     • Notice updates\n\
     • Placement announcements"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_like_telegram_clients_send_them() {
        let bot = "SuperSetBot";
        assert_eq!(Command::parse("/start", bot), Some(Command::Start));
        assert_eq!(Command::parse("/START", bot), Some(Command::Start));
        assert_eq!(Command::parse("/start@supersetbot", bot), Some(Command::Start));
        assert_eq!(Command::parse("/status extra words", bot), Some(Command::Status));
        assert_eq!(Command::parse("/Help\nmore", bot), Some(Command::Help));
        assert_eq!(Command::parse("/stop@OtherBot", bot), None);
        assert_eq!(Command::parse("/stats", bot), None);
        assert_eq!(Command::parse("start", bot), None);
        assert_eq!(Command::parse("hello /start", bot), None);
        assert_eq!(Command::parse("", bot), None);
        assert_eq!(Command::parse("/", bot), None);
    }

    #[test]
    fn help_is_html_without_markdown() {
        assert!(!help().contains("**"));
        assert!(COMMAND_BLOCK.contains("  /stop - Stop receiving notifications"));
    }
}
