//! The student-facing bot: `/start`, `/stop`, `/status`, `/help` over long polling.
//!
//! A plain `getUpdates` loop rather than teloxide's `Dispatcher`, because the service needs
//! four things the Dispatcher does not give directly: a fatal error returned (not logged and
//! retried forever) when the token is refused, so the supervisor can show it; a stop within a
//! second of cancellation, even in the middle of a long poll; confirmation of the last handled
//! update before returning, so a restart neither drops a student's `/start` nor answers it
//! twice; and pending updates kept at start (commands sent while the daemon restarted are
//! still answered).
//!
//! The loop only reads updates. Each command is handled in its own tracked task, so a slow
//! store never stalls polling; tasks for one chat are chained so a quick `/start` then `/stop`
//! is applied in that order.

mod commands;
mod polling;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::UpdateKind;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, debug, info, info_span, warn};

use self::commands::Command;
use self::polling::{PollError, Poller};
use super::sender::TelegramSender;
use super::{ChatTarget, SendError, Sender, TextMode};
use crate::clock::SharedClock;
use crate::secret::Secret;
use crate::store::SharedStore;

/// Commands handled at once. Beyond this the loop stops reading updates until one finishes:
/// backpressure on a slow store instead of an unbounded pile of tasks.
const MAX_IN_FLIGHT: usize = 64;
/// How long a stopping bot lets in-flight commands finish before giving up on them (they are
/// then not confirmed, so Telegram hands them out again after the restart).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// A reply that hits a flood limit is retried once if Telegram asks for at most this wait.
const MAX_REPLY_RETRY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct BotSettings {
    /// Chats allowed to use admin commands (tagged on each command's span for now).
    pub admin_chat_ids: Vec<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("telegram refused the bot token (401/404 from getMe): check telegram.bot_token")]
    InvalidToken,
    #[error("cannot build the polling HTTP client: {0}")]
    Client(String),
}

/// What every command handler needs. Shared by `Arc` across handler tasks.
struct Ctx {
    replies: TelegramSender,
    store: SharedStore,
    clock: SharedClock,
    settings: BotSettings,
    username: String,
}

/// Run the bot until `cancel` fires (then `Ok`) or the token is refused (`Err`).
pub async fn run_bot(
    bot: Bot,
    store: SharedStore,
    clock: SharedClock,
    settings: BotSettings,
    cancel: CancellationToken,
) -> Result<(), BotError> {
    let token = Secret::new(bot.token());
    let mut poller = Poller::new(&bot, token.clone())?;
    let Some(username) = poller.identify(&cancel).await? else {
        return Ok(());
    };
    info!(bot = %username, "bot polling started");
    let ctx = Arc::new(Ctx { replies: TelegramSender::new(bot, token), store, clock, settings, username });
    let tracker = TaskTracker::new();
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut chains: HashMap<i64, JoinHandle<()>> = HashMap::new();
    let outcome = loop {
        let updates = match poller.next_batch(&cancel).await {
            Ok(Some(updates)) => updates,
            Ok(None) => break Ok(()),
            Err(PollError::InvalidToken) => break Err(BotError::InvalidToken),
        };
        for update in updates {
            let permit = tokio::select! {
                _ = cancel.cancelled() => break,
                permit = permits.clone().acquire_owned() => permit,
            };
            let Ok(permit) = permit else { break };
            poller.handled(update.id);
            let UpdateKind::Message(message) = update.kind else {
                continue; // edited messages, channel posts, callbacks: not ours
            };
            let Some(command) = message.text().and_then(|t| Command::parse(t, &ctx.username)) else {
                continue;
            };
            let chat = message.chat.id.0;
            let previous = chains.remove(&chat);
            let ctx = ctx.clone();
            let span = info_span!("bot_command", command = command.name(), chat, admin = ctx.settings.admin_chat_ids.contains(&chat));
            let task = async move {
                if let Some(previous) = previous {
                    let _ = previous.await;
                }
                handle(&ctx, command, &message).await;
                drop(permit);
            };
            chains.insert(chat, tracker.spawn(task.instrument(span)));
        }
        chains.retain(|_, task| !task.is_finished());
    };
    tracker.close();
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait()).await.is_ok();
    if drained {
        poller.confirm().await;
    } else {
        warn!("bot commands still running at shutdown; telegram will deliver them again");
    }
    info!("bot polling stopped");
    outcome
}

async fn handle(ctx: &Ctx, command: Command, message: &Message) {
    let now = ctx.clock.now();
    let Some(text) = commands::reply(ctx.store.as_ref(), now, command, message).await else {
        debug!("command without a sender ignored");
        return;
    };
    let chat = ChatTarget::Id(message.chat.id.0);
    let mut result = ctx.replies.send(&chat, &text, TextMode::Html).await;
    if let Err(SendError::RateLimited { retry_after }) = &result {
        if *retry_after <= MAX_REPLY_RETRY_WAIT {
            tokio::time::sleep(*retry_after).await;
            result = ctx.replies.send(&chat, &text, TextMode::Html).await;
        }
    }
    if let Err(error) = result {
        warn!(error = %error, "bot reply not delivered");
    }
}
