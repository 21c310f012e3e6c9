//! What one delivery step did, as counts.
//!
//! The report is the step's only output besides the ledger: the pipeline copies
//! [`DeliveryReport::counts`] into the run's step result, so the console shows the same
//! numbers the log summary has. Workers add to one shared [`Tally`] while they run; it is a
//! plain mutex because no lock is held across an `.await` and each update is a few additions.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Counts of one `deliver_pending` call.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Notices that got their ledger rows in this step.
    pub notices_planned: u64,
    /// Deliveries (notice × recipient) completed: every chunk confirmed.
    pub deliveries_sent: u64,
    /// Messages Telegram accepted (one per chunk, plain retries included).
    pub messages_sent: u64,
    /// Deliveries ended because the recipient blocked the bot (the subscriber is deactivated).
    pub blocked: u64,
    /// Deliveries that failed for good, plus those left pending after repeated transient
    /// errors (they are retried by the next step).
    pub failed: u64,
    /// Deliveries not sent because the subscriber had stopped (or is unknown).
    pub skipped: u64,
    /// Deliveries postponed by a long `retry_after` (their `not_before` is set).
    pub deferred: u64,
    /// Deliveries found mid-send at the start (the daemon died during a send); resent.
    pub in_doubt: u64,
    /// Chunks Telegram refused as HTML that were sent again as plain text.
    pub retried_as_plain: u64,
    /// 429 answers received.
    pub rate_limited: u64,
    /// Notices whose every delivery has now ended (marked `sent_to_telegram`).
    pub notices_completed: u64,
    /// The step stopped early because it was cancelled.
    pub cancelled: bool,
}

impl DeliveryReport {
    /// Every count by field name (`cancelled` as 0 or 1), for run step results.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let fields = [
            ("notices_planned", self.notices_planned),
            ("deliveries_sent", self.deliveries_sent),
            ("messages_sent", self.messages_sent),
            ("blocked", self.blocked),
            ("failed", self.failed),
            ("skipped", self.skipped),
            ("deferred", self.deferred),
            ("in_doubt", self.in_doubt),
            ("retried_as_plain", self.retried_as_plain),
            ("rate_limited", self.rate_limited),
            ("notices_completed", self.notices_completed),
            ("cancelled", u64::from(self.cancelled)),
        ];
        fields
            .into_iter()
            .map(|(name, n)| (name.to_owned(), n))
            .collect()
    }
}

/// The report under construction, shared by the workers of one step.
#[derive(Debug, Default)]
pub(super) struct Tally(Mutex<DeliveryReport>);

impl Tally {
    pub(super) fn add(&self, update: impl FnOnce(&mut DeliveryReport)) {
        update(
            &mut self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    pub(super) fn into_report(self) -> DeliveryReport {
        self.0
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_name_every_field() {
        let report = DeliveryReport {
            deliveries_sent: 3,
            rate_limited: 2,
            cancelled: true,
            ..Default::default()
        };
        let counts = report.counts();
        assert_eq!(counts.len(), 12);
        assert_eq!(counts["deliveries_sent"], 3);
        assert_eq!(counts["rate_limited"], 2);
        assert_eq!(counts["cancelled"], 1);
        assert_eq!(counts["failed"], 0);
    }
}
