//! What the worker does with each failed send: the decisions of the module doc of
//! [`crate::deliver`], one method per kind of answer. Each writes the row back before it returns,
//! so the ledger matches what Telegram said.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Next, RowOutcome, StepContext};
use crate::store::{Delivery, DeliveryStatus, Recipient, StoreError};
use crate::telegram::ChatTarget;

/// First pause after a transient error; doubled for each further retry of the same chunk.
const TRANSIENT_BACKOFF: Duration = Duration::from_millis(500);

/// `wait` after `now`; a wait too long to represent is the end of time, never a panic.
fn after(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

impl StepContext<'_> {
    pub(super) async fn on_rate_limited(
        &self,
        row: &mut Delivery,
        retry_after: Duration,
    ) -> Result<Next, StoreError> {
        self.tally.add(|r| r.rate_limited += 1);
        // Once the step is deferred, waiting inline would only hold up its end.
        if retry_after <= self.settings.max_inline_wait && self.deferred_until().is_none() {
            tracing::warn!(
                retry_after_ms = retry_after.as_millis() as u64,
                "rate limited; pausing all sends"
            );
            self.pacer.pause_for(retry_after);
            // Written with the row (the retry clears it), so a process that dies during the
            // pause leaves the wait behind for the next one instead of forgetting it.
            row.not_before = Some(after(self.clock.now(), retry_after));
            return Ok(Next::Retry);
        }
        let until = after(self.clock.now(), retry_after);
        tracing::warn!(
            retry_after_ms = retry_after.as_millis() as u64,
            not_before = %until,
            "rate limited for long; deferring the rest of this step"
        );
        row.status = DeliveryStatus::Pending;
        row.not_before = Some(until);
        self.save(row).await?;
        self.defer_until(until);
        self.tally.add(|r| r.deferred += 1);
        Ok(Next::Stop(RowOutcome::Deferred))
    }

    pub(super) async fn on_blocked(
        &self,
        row: &mut Delivery,
        reason: String,
    ) -> Result<Next, StoreError> {
        match row.recipient {
            Recipient::Subscriber { user_id } => {
                self.store
                    .deactivate_subscriber(user_id, self.clock.now())
                    .await?;
                tracing::info!(user_id, "subscriber unreachable; deactivated");
                Ok(Next::Stop(
                    self.end(row.clone(), DeliveryStatus::Blocked, Some(reason))
                        .await?,
                ))
            }
            Recipient::Channel { ref chat } => {
                tracing::error!(chat = %chat, reason = %reason, "the configured channel refused the bot; check telegram.channel_chat_id (TELEGRAM_CHAT_ID) and the bot's rights there");
                Ok(Next::Stop(
                    self.end(row.clone(), DeliveryStatus::Failed, Some(reason))
                        .await?,
                ))
            }
        }
    }

    pub(super) async fn on_migrated(
        &self,
        row: &Delivery,
        chat: &mut ChatTarget,
        new_chat_id: i64,
    ) -> Result<(), StoreError> {
        match (&row.recipient, &*chat) {
            (Recipient::Subscriber { .. }, ChatTarget::Id(old)) => {
                let moved = self
                    .store
                    .migrate_chat(*old, new_chat_id, self.clock.now())
                    .await?;
                tracing::info!(
                    old_chat = old,
                    new_chat = new_chat_id,
                    moved,
                    "group became a supergroup; following it"
                );
            }
            _ => tracing::warn!(
                old_chat = %chat,
                new_chat = new_chat_id,
                "the configured channel moved; following it, but update telegram.chat_id"
            ),
        }
        *chat = ChatTarget::Id(new_chat_id);
        Ok(())
    }

    pub(super) async fn on_transient(
        &self,
        row: &mut Delivery,
        failures: u32,
    ) -> Result<Next, StoreError> {
        if failures > self.settings.transient_retries {
            row.status = DeliveryStatus::Pending;
            self.save(row).await?;
            self.tally.add(|r| r.failed += 1);
            tracing::warn!(
                failures,
                error = row.last_error.as_deref().unwrap_or(""),
                "telegram unreachable; retrying next step"
            );
            return Ok(Next::Stop(RowOutcome::LeftPending));
        }
        let backoff = TRANSIENT_BACKOFF.saturating_mul(1 << (failures - 1).min(16));
        if self
            .unless_stopped(tokio::time::sleep(backoff))
            .await
            .is_none()
        {
            row.status = DeliveryStatus::Pending;
            self.save(row).await?;
            return Ok(Next::Stop(RowOutcome::Interrupted(row.clone())));
        }
        Ok(Next::Retry)
    }
}
