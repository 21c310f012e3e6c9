//! One ledger row at a time: resolve the chat, send the remaining chunks, record each step.
//!
//! The write order per chunk is the exactly-once protocol (see the module doc of
//! [`super`]): wait for the pacer, write `Sending`, send, write the result. Every answer
//! Telegram can give maps to one decision here; the row is written back after each one, so
//! the ledger never claims more than happened and never less than one HTTP round trip behind.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

mod answers;

use super::DeliverySettings;
use super::pacer::Pacer;
use super::plan::WorkQueue;
use super::report::Tally;
use crate::clock::Clock;
use crate::format::html_to_plain;
use crate::store::{Delivery, DeliveryStatus, Recipient, Store, StoreError};
use crate::telegram::{ChatTarget, SendError, Sender, TextMode};

/// Everything the workers of one step share.
pub(super) struct StepContext<'a> {
    pub store: &'a dyn Store,
    pub sender: &'a dyn Sender,
    pub clock: &'a dyn Clock,
    pub pacer: &'a Pacer,
    pub settings: &'a DeliverySettings,
    /// Notice id → its chunks. A notice missing here no longer exists in the store.
    pub messages: &'a HashMap<String, Arc<[String]>>,
    /// Fired by the caller's cancellation, by a long rate limit and by a store failure:
    /// nothing new starts once it has fired.
    pub stop: CancellationToken,
    /// Set by a long rate limit: rows not sent in this step wait until then.
    pub deferred_until: Mutex<Option<DateTime<Utc>>>,
    pub tally: Tally,
}

/// How one row left the worker.
enum RowOutcome {
    /// The row reached a final status (sent, blocked, failed, skipped).
    Ended,
    /// The step stopped before the next chunk went out; the row is as the store has it.
    Interrupted(Delivery),
    /// A long rate limit: this row (and the rest of the step) waits until `not_before`.
    Deferred,
    /// Transient errors exhausted the retries; the row stays pending for the next step.
    LeftPending,
}

/// What to do after a failed send.
enum Next {
    Retry,
    Stop(RowOutcome),
}

/// Where a row goes, once the store has been asked.
enum Destination {
    Chat(ChatTarget),
    Skip(&'static str),
    Invalid(String),
}

impl StepContext<'_> {
    /// Serve recipients from `queue` until it is empty or the step stops.
    pub(super) async fn run_worker(&self, queue: &WorkQueue) -> Result<(), StoreError> {
        while !self.stop.is_cancelled() {
            let Some(mut recipient) = queue.take() else {
                break;
            };
            let Some(row) = recipient.rows.pop_front() else {
                continue;
            };
            match self.deliver_row(row).await {
                Ok(RowOutcome::Ended) => queue.put_back(recipient),
                Ok(RowOutcome::Interrupted(row)) => {
                    recipient.rows.push_front(row);
                    queue.put_back(recipient);
                }
                Ok(RowOutcome::Deferred) => queue.put_back(recipient),
                // The rest of this recipient's rows wait for the next step, so its notices
                // still arrive in order.
                Ok(RowOutcome::LeftPending) => {}
                Err(error) => {
                    self.stop.cancel();
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(notice_id = %row.notice_id, recipient = %row.recipient.key()))]
    async fn deliver_row(&self, mut row: Delivery) -> Result<RowOutcome, StoreError> {
        let Some(chunks) = self.messages.get(&row.notice_id).cloned() else {
            return self
                .end(
                    row,
                    DeliveryStatus::Failed,
                    Some("the notice no longer exists".into()),
                )
                .await;
        };
        let mut chat = match self.destination(&row.recipient).await? {
            Destination::Chat(chat) => chat,
            Destination::Skip(why) => {
                return self
                    .end(row, DeliveryStatus::Skipped, Some(why.into()))
                    .await;
            }
            Destination::Invalid(why) => {
                return self.end(row, DeliveryStatus::Failed, Some(why)).await;
            }
        };
        if chunks.is_empty() {
            return self
                .end(
                    row,
                    DeliveryStatus::Failed,
                    Some("the message is empty".into()),
                )
                .await;
        }
        while let Some(chunk) = chunks.get(row.chunks_sent as usize) {
            let is_last = row.chunks_sent as usize + 1 >= chunks.len();
            if let Some(outcome) = self.send_chunk(&mut row, &mut chat, chunk, is_last).await? {
                return Ok(outcome);
            }
        }
        if row.status != DeliveryStatus::Sent {
            // Every chunk was confirmed before (the stored message now splits into fewer).
            return self.end(row, DeliveryStatus::Sent, None).await;
        }
        self.tally.add(|r| r.deliveries_sent += 1);
        tracing::debug!(chunks = chunks.len(), attempts = row.attempts, "delivered");
        Ok(RowOutcome::Ended)
    }

    /// Send one chunk, retrying as its answers allow. `None` when it was sent.
    async fn send_chunk(
        &self,
        row: &mut Delivery,
        chat: &mut ChatTarget,
        chunk: &str,
        is_last: bool,
    ) -> Result<Option<RowOutcome>, StoreError> {
        let mut mode = TextMode::Html;
        let mut transient_failures = 0u32;
        let mut has_migrated = false;
        loop {
            let Some(slot) = self.unless_stopped(self.pacer.acquire(chat)).await else {
                return Ok(Some(RowOutcome::Interrupted(row.clone())));
            };
            row.status = DeliveryStatus::Sending;
            row.attempts += 1;
            self.save(row).await?;
            let text = match mode {
                TextMode::Html => Cow::Borrowed(chunk),
                TextMode::Plain => Cow::Owned(html_to_plain(chunk)),
            };
            tracing::trace!(chat = %chat, text = %text, "sending");
            let answer = self.sender.send(chat, &text, mode).await;
            drop(slot);
            let error = match answer {
                Ok(sent) => {
                    row.chunks_sent += 1;
                    row.message_ids.push(sent.message_id);
                    row.status = if is_last {
                        DeliveryStatus::Sent
                    } else {
                        DeliveryStatus::Pending
                    };
                    row.last_error = None;
                    row.not_before = None;
                    self.save(row).await?;
                    self.tally.add(|r| r.messages_sent += 1);
                    return Ok(None);
                }
                Err(error) => error,
            };
            tracing::debug!(error = %error, chunk = row.chunks_sent, "send failed");
            row.last_error = Some(error.to_string());
            let next = match error {
                SendError::RateLimited { retry_after } => {
                    self.on_rate_limited(row, retry_after).await?
                }
                SendError::Blocked { reason } => self.on_blocked(row, reason).await?,
                SendError::Unparseable { .. } if mode == TextMode::Html => {
                    mode = TextMode::Plain;
                    self.tally.add(|r| r.retried_as_plain += 1);
                    Next::Retry
                }
                SendError::Migrated { new_chat_id } if !has_migrated => {
                    has_migrated = true;
                    self.on_migrated(row, chat, new_chat_id).await?;
                    Next::Retry
                }
                SendError::Unparseable { .. }
                | SendError::Migrated { .. }
                | SendError::Rejected { .. } => {
                    let reason = row.last_error.take();
                    Next::Stop(
                        self.end(row.clone(), DeliveryStatus::Failed, reason)
                            .await?,
                    )
                }
                SendError::Transient { .. } => {
                    transient_failures += 1;
                    self.on_transient(row, transient_failures).await?
                }
            };
            match next {
                Next::Retry => {
                    row.status = DeliveryStatus::Pending;
                    self.save(row).await?;
                }
                Next::Stop(outcome) => return Ok(Some(outcome)),
            }
        }
    }

    async fn destination(&self, recipient: &Recipient) -> Result<Destination, StoreError> {
        Ok(match recipient {
            Recipient::Subscriber { user_id } => match self.store.get_subscriber(*user_id).await? {
                Some(subscriber) if subscriber.is_active => {
                    Destination::Chat(ChatTarget::Id(subscriber.chat_id))
                }
                Some(_) => Destination::Skip("the subscriber stopped"),
                None => Destination::Skip("the subscriber is unknown"),
            },
            Recipient::Channel { chat } => match ChatTarget::parse(chat) {
                Some(target) => Destination::Chat(target),
                None => Destination::Invalid(format!("invalid channel {chat:?}")),
            },
        })
    }

    /// Write a final status and count it.
    async fn end(
        &self,
        mut row: Delivery,
        status: DeliveryStatus,
        reason: Option<String>,
    ) -> Result<RowOutcome, StoreError> {
        row.status = status;
        row.last_error = reason;
        row.not_before = None;
        self.save(&mut row).await?;
        self.tally.add(|r| match status {
            DeliveryStatus::Sent => r.deliveries_sent += 1,
            DeliveryStatus::Blocked => r.blocked += 1,
            DeliveryStatus::Skipped => r.skipped += 1,
            _ => r.failed += 1,
        });
        tracing::debug!(
            status = status.as_str(),
            reason = row.last_error.as_deref().unwrap_or(""),
            "delivery ended"
        );
        Ok(RowOutcome::Ended)
    }

    async fn save(&self, row: &mut Delivery) -> Result<(), StoreError> {
        row.updated_at = self.clock.now();
        self.store.save_delivery(row).await
    }

    /// Run `future` unless the step stops first.
    async fn unless_stopped<F: Future>(&self, future: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            () = self.stop.cancelled() => None,
            output = future => Some(output),
        }
    }

    pub(super) fn deferred_until(&self) -> Option<DateTime<Utc>> {
        *self
            .deferred_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn defer_until(&self, until: DateTime<Utc>) {
        {
            let mut deferred = self
                .deferred_until
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *deferred = Some(deferred.map_or(until, |d| d.max(until)));
        }
        self.stop.cancel();
    }
}
