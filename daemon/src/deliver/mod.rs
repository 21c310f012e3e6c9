//! The delivery engine: every notice to every recipient exactly once, within Telegram's limits.
//!
//! The engine owns the delivery ledger's protocol and Telegram's pacing; it does not own the
//! ledger's storage (the [`Store`]), the Bot API (the [`Sender`]) or the message text (the
//! formatter; the engine only splits what is stored). One call, [`DeliveryEngine::deliver_pending`],
//! is one step: plan rows for new notices, send every due row, return counts.
//!
//! # Exactly once per recipient
//!
//! The original system had one `sent_to_telegram` flag per notice and no record per
//! recipient, so a partial broadcast or a partly sent long message was repeated from the top
//! (reference §11, bugs 3, 4, 9). Here each (notice, recipient) pair has a ledger row that
//! records how many chunks of the split message were confirmed, and every chunk goes through
//! the same four steps:
//!
//! 1. wait for the pacer (global rate, per-chat spacing, any 429 pause);
//! 2. write the row as `Sending` (attempts + 1);
//! 3. send the chunk;
//! 4. write `chunks_sent + 1` and the message id, and `Sent` after the last chunk.
//!
//! Waiting *before* writing `Sending` matters: the only moment a row says `Sending` while
//! nothing is known is one HTTP round trip per in-flight send, never a pacer wait or a 429
//! pause. If the daemon dies in that window, the next step finds the row still `Sending`: the
//! chunk may or may not have reached Telegram. Those rows are counted as `in_doubt`, logged
//! with a warning, and the chunk is sent again. The choice is deliberate: a missed placement
//! notice can cost a student an application deadline, a rare duplicate costs a glance. At
//! most `concurrency` chunks can be in doubt after a crash, one per recipient in flight.
//! Chunks confirmed before the crash are never sent again, because a resumed row starts at
//! `chunks_sent`.
//!
//! Within one process the steps are serialised by a lock, so two jobs that both deliver
//! cannot pick up the same rows.
//!
//! # Limits and failures
//!
//! The [`pacer`] spaces sends at `rate_per_sec` overall and at the private or group interval
//! per chat; `concurrency` workers share it, serving recipients round-robin ([`plan`]). A
//! 429 pauses the whole pacer for `retry_after` and the chunk is retried; a `retry_after`
//! beyond `max_inline_wait` is written into the rows' `not_before` instead (so it survives a
//! restart) and the step ends early. A 403 deactivates the subscriber; a refused HTML chunk
//! is resent once as plain text; a migrated group is followed once; other 4xx answers fail the
//! row; network errors and 5xx are retried with backoff and then left for the next step.
//!
//! # Cancellation
//!
//! When `cancel` fires, no new send starts: workers waiting for the pacer or a backoff stop
//! where they are (their rows are still pending, nothing is lost), sends already on the wire
//! finish and are recorded, and the step returns with `cancelled: true`.

mod pacer;
mod plan;
mod report;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, warn};

pub use self::pacer::{Pacer, PacerLimits};
use self::plan::WorkQueue;
pub use self::report::DeliveryReport;
use self::worker::StepContext;
use crate::clock::SharedClock;
use crate::format::{TELEGRAM_TEXT_LIMIT, split_message};
use crate::store::{Delivery, DeliveryStatus, SharedStore, StoreError};
use crate::telegram::{ChatTarget, Sender};

/// How fast and how patiently to deliver.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Messages per second overall. Telegram allows about 30; the margin absorbs jitter.
    pub rate_per_sec: f64,
    /// Spacing between messages to one private chat. Telegram allows about 1 per second and
    /// measures when requests arrive, so the default keeps 10% clear of it for network jitter,
    /// as the global rate does.
    pub private_chat_interval: Duration,
    /// Spacing between messages to one group or channel (Telegram: about 20 per minute).
    pub group_chat_interval: Duration,
    /// A `retry_after` up to this is waited out; a longer one defers the rest of the step.
    pub max_inline_wait: Duration,
    /// Recipients served at once.
    pub concurrency: usize,
    /// Retries of one chunk after network errors or 5xx, within one step.
    pub transient_retries: u32,
    /// Also deliver every notice here (`TELEGRAM_CHAT_ID`).
    pub channel: Option<ChatTarget>,
    /// Send nothing for this long after the engine is built. A process that died a moment
    /// ago may have just written to the chats this one resumes with, and Telegram counts
    /// their one-second windows across our restarts.
    pub startup_grace: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            rate_per_sec: 28.0,
            private_chat_interval: Duration::from_millis(1100),
            group_chat_interval: Duration::from_millis(3300),
            max_inline_wait: Duration::from_secs(60),
            concurrency: 16,
            transient_retries: 3,
            channel: None,
            startup_grace: Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The ledger could not be read or written. Sends already on the wire were recorded as
    /// far as the store allowed; the next step resumes from the ledger.
    #[error("delivery stopped: {0}")]
    Store(#[from] StoreError),
}

/// Sends notices to their recipients. Cheap to share behind an `Arc`; one per daemon, so
/// that the pacer sees every send of the bot.
pub struct DeliveryEngine {
    store: SharedStore,
    sender: Arc<dyn Sender>,
    clock: SharedClock,
    settings: DeliverySettings,
    pacer: Pacer,
    /// Serialises steps: two concurrent steps would both pick up the same due rows.
    step_lock: tokio::sync::Mutex<()>,
}

impl DeliveryEngine {
    pub fn new(
        store: SharedStore,
        sender: Arc<dyn Sender>,
        clock: SharedClock,
        settings: DeliverySettings,
    ) -> Self {
        let pacer = Pacer::new(PacerLimits {
            rate_per_sec: settings.rate_per_sec,
            private_chat_interval: settings.private_chat_interval,
            group_chat_interval: settings.group_chat_interval,
        });
        if !settings.startup_grace.is_zero() {
            pacer.pause_for(settings.startup_grace);
        }
        DeliveryEngine {
            store,
            sender,
            clock,
            settings,
            pacer,
            step_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Plan ledger rows for new notices, then send every due row.
    ///
    /// Returns when all due rows are done, when a long rate limit deferred the rest (their
    /// `not_before` is set; see [`crate::store::Store::next_deferred`]), or when `cancel`
    /// fired (in-flight sends finish and are recorded; nothing new starts).
    ///
    /// # Errors
    /// [`DeliverError::Store`] when the ledger cannot be read or written; the step stops
    /// as it would on cancellation, and the ledger stays consistent.
    pub async fn deliver_pending(
        &self,
        cancel: &CancellationToken,
    ) -> Result<DeliveryReport, DeliverError> {
        // Biased towards the lock: an uncontended step always starts (and plans), even cancelled.
        let _step = tokio::select! {
            biased;
            guard = self.step_lock.lock() => guard,
            () = cancel.cancelled() => return Ok(DeliveryReport { cancelled: true, ..DeliveryReport::default() }),
        };
        let span = tracing::info_span!("deliver");
        self.step(cancel).instrument(span).await
    }

    async fn step(&self, cancel: &CancellationToken) -> Result<DeliveryReport, DeliverError> {
        let now = self.clock.now();
        let notices_planned =
            plan::plan_new_notices(&*self.store, self.settings.channel.as_ref(), now).await?;
        let due = self.store.due_deliveries(now).await?;
        if let Some(until) = self.flood_wait(now).await?
            && !due.is_empty()
        {
            info!(not_before = %until, "a flood wait from Telegram is still on; deferring");
            let mut report = DeliveryReport {
                notices_planned,
                ..DeliveryReport::default()
            };
            report.deferred = self.postpone(due, until).await?;
            return Ok(report);
        }
        let in_doubt = due
            .iter()
            .filter(|row| row.status == DeliveryStatus::Sending)
            .count() as u64;
        if in_doubt > 0 {
            warn!(
                in_doubt,
                "resending chunks whose send was interrupted; a recipient may get one twice"
            );
        }
        let messages = self.load_messages(&due).await?;
        let ctx = StepContext {
            store: &*self.store,
            sender: &*self.sender,
            clock: &*self.clock,
            pacer: &self.pacer,
            settings: &self.settings,
            messages: &messages,
            stop: cancel.child_token(),
            deferred_until: Mutex::new(None),
            tally: Default::default(),
        };
        let queue = WorkQueue::new(due);
        let workers = (0..self.settings.concurrency.max(1)).map(|_| ctx.run_worker(&queue));
        let outcome: Result<(), StoreError> = futures::future::join_all(workers)
            .await
            .into_iter()
            .collect();
        outcome?;

        let left = queue.drain();
        if let Some(until) = ctx.deferred_until() {
            self.defer_rows(left, until, &ctx).await?;
        }
        let completed = self.store.complete_notices(self.clock.now()).await?;
        let deferred_until = ctx.deferred_until();
        let mut report = ctx.tally.into_report();
        report.notices_planned = notices_planned;
        report.in_doubt = in_doubt;
        report.notices_completed = completed.len() as u64;
        report.cancelled = cancel.is_cancelled();
        info!(
            notices_planned = report.notices_planned,
            deliveries_sent = report.deliveries_sent,
            messages_sent = report.messages_sent,
            blocked = report.blocked,
            failed = report.failed,
            skipped = report.skipped,
            deferred = report.deferred,
            in_doubt = report.in_doubt,
            retried_as_plain = report.retried_as_plain,
            rate_limited = report.rate_limited,
            notices_completed = report.notices_completed,
            cancelled = report.cancelled,
            deferred_until = deferred_until.map(|t| t.to_rfc3339()),
            "delivery step finished"
        );
        Ok(report)
    }

    /// Split each due notice's message once for all its rows.
    async fn load_messages(
        &self,
        due: &[Delivery],
    ) -> Result<HashMap<String, Arc<[String]>>, StoreError> {
        let mut messages = HashMap::new();
        for row in due {
            if messages.contains_key(&row.notice_id) {
                continue;
            }
            if let Some(notice) = self.store.get_notice(&row.notice_id).await? {
                let chunks: Arc<[String]> =
                    split_message(&notice.formatted_message, TELEGRAM_TEXT_LIMIT).into();
                messages.insert(row.notice_id.clone(), chunks);
            }
        }
        Ok(messages)
    }

    /// Persist a long rate limit on every row the step did not reach, so the wait holds
    /// across restarts and the scheduler can ask the store when to come back.
    async fn defer_rows(
        &self,
        rows: Vec<Delivery>,
        until: chrono::DateTime<chrono::Utc>,
        ctx: &StepContext<'_>,
    ) -> Result<(), StoreError> {
        let count = self.postpone(rows, until).await?;
        ctx.tally.add(|r| r.deferred += count);
        Ok(())
    }

    /// Write `until` into each row's `not_before`; returns how many rows.
    async fn postpone(
        &self,
        rows: Vec<Delivery>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        let count = rows.len() as u64;
        for mut row in rows {
            row.not_before = Some(until);
            row.updated_at = self.clock.now();
            self.store.save_delivery(&row).await?;
        }
        Ok(count)
    }

    /// When a 429 recorded by an earlier step (or an earlier process) ends, if it has not yet.
    /// Telegram's flood wait holds for every message of the bot, so rows planned since, which
    /// carry no `not_before` of their own, must wait for it too.
    async fn flood_wait(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.store.next_deferred(now).await
    }
}

#[cfg(test)]
mod tests;
