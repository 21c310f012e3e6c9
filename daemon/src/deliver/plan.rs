//! Planning (ledger rows for new notices) and the order in which due rows are sent.
//!
//! Planning fixes the audience of a notice when it is first seen: the subscribers active at
//! that moment plus the configured channel. Someone who subscribes later does not receive
//! older notices, and someone who stops later is skipped when their row comes up.
//!
//! The work queue is round-robin over recipients: a worker takes the recipient at the front,
//! sends that recipient's oldest due row, and puts the recipient at the back. This gives
//! three properties at once: a recipient never has two rows in flight (so one chat gets its
//! notices in order), a broadcast goes breadth-first (everyone gets notice 1 before anyone
//! gets notice 2, so per-chat spacing rarely makes anyone wait), and the global pace, not
//! per-chat spacing, bounds throughput.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::store::{Delivery, Recipient, Store, StoreError};
use crate::telegram::ChatTarget;

/// Create ledger rows for every notice that has none yet. Returns how many notices were
/// planned.
pub(super) async fn plan_new_notices(
    store: &dyn Store,
    channel: Option<&ChatTarget>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let notices = store.unplanned_notices().await?;
    if notices.is_empty() {
        return Ok(0);
    }
    let mut recipients: Vec<Recipient> = store
        .list_subscribers(true)
        .await?
        .into_iter()
        .map(|subscriber| Recipient::Subscriber {
            user_id: subscriber.user_id,
        })
        .collect();
    if let Some(channel) = channel {
        recipients.push(Recipient::Channel {
            chat: channel.to_string(),
        });
    }
    for notice in &notices {
        let rows = store.plan_deliveries(&notice.id, &recipients, now).await?;
        tracing::debug!(notice_id = %notice.id, rows, "planned deliveries");
    }
    Ok(notices.len() as u64)
}

/// One recipient's due rows, oldest notice first.
#[derive(Debug)]
pub(super) struct RecipientRows {
    pub rows: VecDeque<Delivery>,
}

/// The due rows of one step, round-robin over recipients.
#[derive(Debug, Default)]
pub(super) struct WorkQueue(Mutex<VecDeque<RecipientRows>>);

impl WorkQueue {
    /// Group `due` (oldest notice first, as the store returns it) by recipient, keeping the
    /// order of first appearance.
    pub(super) fn new(due: Vec<Delivery>) -> Self {
        let mut slot_of: HashMap<Recipient, usize> = HashMap::new();
        let mut queues: VecDeque<RecipientRows> = VecDeque::new();
        for row in due {
            let slot = *slot_of.entry(row.recipient.clone()).or_insert_with(|| {
                queues.push_back(RecipientRows {
                    rows: VecDeque::new(),
                });
                queues.len() - 1
            });
            queues[slot].rows.push_back(row);
        }
        WorkQueue(Mutex::new(queues))
    }

    /// The next recipient to serve; the caller owns its rows until it calls [`Self::put_back`].
    pub(super) fn take(&self) -> Option<RecipientRows> {
        self.lock().pop_front()
    }

    /// Return a recipient to the back of the queue (dropped if it has nothing left).
    pub(super) fn put_back(&self, recipient: RecipientRows) {
        if !recipient.rows.is_empty() {
            self.lock().push_back(recipient);
        }
    }

    /// Every row not taken, for the end-of-step bookkeeping.
    pub(super) fn drain(&self) -> Vec<Delivery> {
        self.lock()
            .drain(..)
            .flat_map(|recipient| recipient.rows)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RecipientRows>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DeliveryStatus;

    fn row(notice: &str, user_id: i64) -> Delivery {
        let now = Utc::now();
        Delivery {
            notice_id: notice.into(),
            recipient: Recipient::Subscriber { user_id },
            status: DeliveryStatus::Pending,
            chunks_sent: 0,
            attempts: 0,
            message_ids: vec![],
            last_error: None,
            not_before: None,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn serves_breadth_first_and_in_notice_order_per_recipient() {
        let queue = WorkQueue::new(vec![
            row("n1", 1),
            row("n1", 2),
            row("n2", 1),
            row("n2", 2),
            row("n3", 1),
        ]);
        let mut order = Vec::new();
        while let Some(mut recipient) = queue.take() {
            let next = recipient.rows.pop_front().unwrap();
            order.push(format!("{}:{}", next.notice_id, next.recipient.key()));
            queue.put_back(recipient);
        }
        assert_eq!(
            order,
            [
                "n1:user:1",
                "n1:user:2",
                "n2:user:1",
                "n2:user:2",
                "n3:user:1"
            ]
        );
        assert!(queue.drain().is_empty());
    }

    #[test]
    fn drain_returns_rows_not_taken() {
        let queue = WorkQueue::new(vec![row("n1", 1), row("n1", 2), row("n2", 1)]);
        let taken = queue.take().unwrap();
        assert_eq!(taken.rows.len(), 2);
        let left = queue.drain();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].recipient, Recipient::Subscriber { user_id: 2 });
    }
}
