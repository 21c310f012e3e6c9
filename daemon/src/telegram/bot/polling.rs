//! `getMe` and `getUpdates` with Telegram's error cases sorted into "stop" and "wait".
//!
//! Polling gets its own HTTP client: a long poll holds a request open for [`POLL_TIMEOUT`],
//! longer than the send timeout the shared client is built with, and a poll cut off by the
//! client's timeout would look like a network failure every time the chat is quiet.

use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{Update, UpdateId};
use teloxide::{ApiError, RequestError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::BotError;
use crate::secret::{Secret, redact};
use crate::services::ServiceHealth;

/// How long one `getUpdates` waits on Telegram's side for something to arrive.
const POLL_TIMEOUT: Duration = Duration::from_secs(25);
/// Updates per `getUpdates` (Telegram's maximum).
const BATCH: u8 = 100;
/// Waits between failed polls: 1 s doubling to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The confirming `getUpdates` at shutdown must not hold the stop up for long.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(super) enum PollError {
    InvalidToken,
}

pub(super) struct Poller {
    bot: Bot,
    token: Secret,
    /// The `offset` of the next `getUpdates`: one past the last update handed to a handler.
    offset: Option<i32>,
    backoff: Duration,
    health: Option<ServiceHealth>,
}

impl Poller {
    pub(super) fn new(
        bot: &Bot,
        token: Secret,
        health: Option<ServiceHealth>,
    ) -> Result<Poller, BotError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(POLL_TIMEOUT + Duration::from_secs(15))
            .build()
            .map_err(|e| BotError::Client(e.to_string()))?;
        let bot = Bot::with_client(bot.token(), client).set_api_url(bot.api_url());
        Ok(Poller {
            bot,
            token,
            offset: None,
            backoff: Duration::ZERO,
            health,
        })
    }

    /// The bot's username from `getMe`, retrying network trouble until `cancel` (then `None`).
    pub(super) async fn identify(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<String>, BotError> {
        loop {
            let result = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(None),
                result = self.bot.get_me().send() => result,
            };
            match result {
                Ok(me) => {
                    self.got_through();
                    return Ok(Some(me.username().to_owned()));
                }
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    return Err(BotError::InvalidToken);
                }
                Err(error) => {
                    let pause = self.next_backoff();
                    self.trouble("getMe", &error, pause);
                    if !wait(pause, cancel).await {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The next batch of updates, `None` once `cancel` fires. Waits out failures.
    pub(super) async fn next_batch(
        &mut self,
        cancel: &CancellationToken,
    ) -> Result<Option<Vec<Update>>, PollError> {
        loop {
            let mut request = self
                .bot
                .get_updates()
                .timeout(POLL_TIMEOUT.as_secs() as u32)
                .limit(BATCH);
            if let Some(offset) = self.offset {
                request = request.offset(offset);
            }
            // Dropping an unanswered poll loses nothing: updates stay queued at Telegram until
            // a later offset confirms them.
            let result = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Ok(None),
                result = request.send() => result,
            };
            let pause = match result {
                Ok(updates) => {
                    self.got_through();
                    return Ok(Some(updates));
                }
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    return Err(PollError::InvalidToken);
                }
                Err(RequestError::RetryAfter(seconds)) => seconds.duration(),
                Err(RequestError::Api(ApiError::CantGetUpdates)) => {
                    // A webhook is set: remove it, keeping its pending updates.
                    warn!("a webhook is set for this bot; deleting it to poll");
                    if let Err(error) = self.bot.delete_webhook().send().await {
                        warn!(error = %self.describe(&error), "deleteWebhook failed");
                    }
                    self.next_backoff()
                }
                Err(error @ RequestError::Api(ApiError::TerminatedByOtherGetUpdates)) => {
                    warn!(error = %self.describe(&error), "another process polls with this bot token");
                    self.next_backoff()
                }
                Err(error) => {
                    let pause = self.next_backoff();
                    self.trouble("getUpdates", &error, pause);
                    pause
                }
            };
            if !wait(pause, cancel).await {
                return Ok(None);
            }
        }
    }

    /// Mark `id` as taken care of; the next poll confirms it to Telegram.
    pub(super) fn handled(&mut self, id: UpdateId) {
        self.offset = Some(i32::try_from(u64::from(id.0) + 1).unwrap_or(i32::MAX));
    }

    /// Tell Telegram everything handled so far is done, so a restart does not see it again.
    pub(super) async fn confirm(&self) {
        let Some(offset) = self.offset else { return };
        let request = self
            .bot
            .get_updates()
            .offset(offset)
            .timeout(0)
            .limit(1)
            .send();
        match tokio::time::timeout(CONFIRM_TIMEOUT, request).await {
            Ok(Ok(_)) => debug!(offset, "handled updates confirmed"),
            Ok(Err(error)) => {
                debug!(error = %self.describe(&error), "confirming handled updates failed")
            }
            Err(_) => debug!("confirming handled updates timed out"),
        }
    }

    fn got_through(&mut self) {
        self.backoff = Duration::ZERO;
        if let Some(health) = &self.health {
            health.recovered();
        }
    }

    /// Log a failed call and show it on the service board until a call gets through.
    fn trouble(&self, method: &str, error: &RequestError, pause: Duration) {
        let error = self.describe(error);
        warn!(error = %error, "{method} failed; retrying");
        if let Some(health) = &self.health {
            health.trouble(format!(
                "{method} failed: {error}; retrying in {} s",
                pause.as_secs()
            ));
        }
    }

    fn next_backoff(&mut self) -> Duration {
        self.backoff = (self.backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
        self.backoff
    }

    fn describe(&self, error: &RequestError) -> String {
        redact(&error.to_string(), &self.token)
    }
}

/// Sleep unless cancelled first; false when cancelled.
async fn wait(duration: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(duration) => true,
    }
}
