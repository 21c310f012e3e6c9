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
use teloxide::types::{Update, UpdateKind};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
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
use crate::services::ServiceHealth;
use crate::store::SharedStore;

/// Commands handled at once. Beyond this the loop stops reading updates until one finishes:
/// backpressure on a slow store instead of an unbounded pile of tasks.
const MAX_IN_FLIGHT: usize = 64;
/// How long a stopping bot lets in-flight commands finish before abandoning them. An update
/// is confirmed to Telegram by the poll after it was handed to its handler, so a command
/// abandoned here (a store hung for seconds during a stop) is not answered after the restart.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// A reply that hits a flood limit is retried once if Telegram asks for at most this wait.
const MAX_REPLY_RETRY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Default)]
pub struct BotSettings {
    /// Chats allowed to use admin commands (tagged on each command's span for now).
    pub admin_chat_ids: Vec<i64>,
    /// Where polling trouble is shown while the bot retries (none in tests that don't look).
    pub health: Option<ServiceHealth>,
}

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("telegram refused the bot token (401/404): check telegram.token or TELEGRAM_BOT_TOKEN")]
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
    let mut poller = Poller::new(&bot, token.clone(), settings.health.clone())?;
    let Some(username) = poller.identify(&cancel).await? else {
        return Ok(());
    };
    info!(bot = %username, "bot polling started");
    let ctx = Arc::new(Ctx {
        replies: TelegramSender::new(bot, token),
        store,
        clock,
        settings,
        username,
    });
    let mut handlers = Handlers::new(ctx);
    let outcome = loop {
        let updates = match poller.next_batch(&cancel).await {
            Ok(Some(updates)) => updates,
            Ok(None) => break Ok(()),
            Err(PollError::InvalidToken) => break Err(BotError::InvalidToken),
        };
        for update in updates {
            let permit = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                permit = handlers.permits.clone().acquire_owned() => permit,
            };
            let Ok(permit) = permit else { break };
            poller.handled(update.id);
            handlers.dispatch(update, permit);
        }
        handlers.forget_finished();
    };
    if handlers.drain().await {
        poller.confirm().await;
    }
    info!("bot polling stopped");
    outcome
}

/// The running command handlers: at most [`MAX_IN_FLIGHT`], chained per chat.
struct Handlers {
    ctx: Arc<Ctx>,
    tracker: TaskTracker,
    permits: Arc<Semaphore>,
    /// The latest handler of each chat; the next one for that chat waits for it.
    chains: HashMap<i64, JoinHandle<()>>,
    /// Cancelled only when a stop has waited [`DRAIN_TIMEOUT`] for handlers in vain.
    abandon: CancellationToken,
}

impl Handlers {
    fn new(ctx: Arc<Ctx>) -> Handlers {
        Handlers {
            ctx,
            tracker: TaskTracker::new(),
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            chains: HashMap::new(),
            abandon: CancellationToken::new(),
        }
    }

    /// Start handling `update` if it is a command of ours; anything else is dropped here.
    fn dispatch(&mut self, update: Update, permit: OwnedSemaphorePermit) {
        let UpdateKind::Message(message) = update.kind else {
            return; // edited messages, channel posts, callbacks: not ours
        };
        let Some(command) = message
            .text()
            .and_then(|t| Command::parse(t, &self.ctx.username))
        else {
            return;
        };
        let chat = message.chat.id.0;
        let previous = self.chains.remove(&chat);
        let ctx = self.ctx.clone();
        let abandon = self.abandon.clone();
        let admin = ctx.settings.admin_chat_ids.contains(&chat);
        let span = info_span!("bot_command", command = command.name(), chat, admin);
        let task = async move {
            let work = async {
                if let Some(previous) = previous {
                    let _ = previous.await;
                }
                handle(&ctx, command, &message).await;
            };
            tokio::select! {
                _ = abandon.cancelled() => {}
                _ = work => {}
            }
            drop(permit);
        };
        self.chains
            .insert(chat, self.tracker.spawn(task.instrument(span)));
    }

    fn forget_finished(&mut self) {
        self.chains.retain(|_, task| !task.is_finished());
    }

    /// Let running handlers finish, for at most [`DRAIN_TIMEOUT`]. True if all finished.
    async fn drain(self) -> bool {
        self.tracker.close();
        if tokio::time::timeout(DRAIN_TIMEOUT, self.tracker.wait())
            .await
            .is_ok()
        {
            return true;
        }
        warn!("bot commands still running at shutdown were abandoned");
        self.abandon.cancel();
        self.tracker.wait().await;
        false
    }
}

async fn handle(ctx: &Ctx, command: Command, message: &Message) {
    let now = ctx.clock.now();
    let Some(text) = commands::reply(ctx.store.as_ref(), now, command, message).await else {
        debug!("command without a sender ignored");
        return;
    };
    let chat = ChatTarget::Id(message.chat.id.0);
    let mut result = ctx.replies.send(&chat, &text, TextMode::Html).await;
    if let Err(SendError::RateLimited { retry_after }) = &result
        && *retry_after <= MAX_REPLY_RETRY_WAIT
    {
        tokio::time::sleep(*retry_after).await;
        result = ctx.replies.send(&chat, &text, TextMode::Html).await;
    }
    if let Err(error) = result {
        warn!(error = %error, "bot reply not delivered");
    }
}
