//! The operator calls over notices, deliveries, broadcasts and services.
//!
//! Each maps one call onto the store or the service registry and converts store records into
//! wire types; the access check and the audit record are the caller's ([`super::handlers`]).

use chrono::{DateTime, Utc};
use supersetd_proto::{
    BroadcastReceipt, ControlError, DeliveryInfo, DeliveryState, JobName, NoticeInfo, NoticeQuery,
    ServiceAction, ServiceInfo, ServiceName, Trigger,
};

use super::handlers::{ControlServer, store_error};
use crate::services::ServiceControlError;
use crate::store::{Delivery, DeliveryStatus, Notice};

/// The most notices one `list_notices` returns.
const MAX_NOTICES: u32 = 1000;
/// A Telegram message holds 4096 characters; a broadcast is split like any notice, but an
/// operator's text longer than a few messages is a mistake (a pasted file), not a message.
pub(super) const MAX_BROADCAST_CHARS: usize = 16_384;
/// The `source` of notices made by `broadcast`.
const BROADCAST_SOURCE: &str = "Broadcast";

impl ControlServer {
    pub(super) async fn notices(
        &self,
        query: NoticeQuery,
    ) -> Result<Vec<NoticeInfo>, ControlError> {
        let limit = query.limit.clamp(1, MAX_NOTICES);
        let notices = self
            .handles
            .store
            .list_notices(query.unsent_only, limit)
            .await
            .map_err(store_error)?;
        Ok(notices.into_iter().map(notice_info).collect())
    }

    pub(super) async fn deliveries(
        &self,
        notice_id: &str,
    ) -> Result<Vec<DeliveryInfo>, ControlError> {
        let store = &self.handles.store;
        if store
            .get_notice(notice_id)
            .await
            .map_err(store_error)?
            .is_none()
        {
            return Err(ControlError::NotFound {
                kind: "notice".into(),
                name: notice_id.to_owned(),
            });
        }
        let rows = store
            .deliveries_for_notice(notice_id)
            .await
            .map_err(store_error)?;
        Ok(rows.into_iter().map(delivery_info).collect())
    }

    /// Store the text as a notice and ask for a delivering run. The delivery engine plans it
    /// for every active subscriber and sends it with the same ledger and rate limits as any
    /// notice, so a broadcast cut short by a restart resumes and never repeats.
    pub(super) async fn queue_broadcast(
        &self,
        text: &str,
    ) -> Result<BroadcastReceipt, ControlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid_text("is empty"));
        }
        if text.chars().count() > MAX_BROADCAST_CHARS {
            return Err(invalid_text(&format!(
                "is longer than {MAX_BROADCAST_CHARS} characters"
            )));
        }
        let now = Utc::now();
        let notice = broadcast_notice(text, now, self.peer.describe());
        let id = notice.id.clone();
        self.handles
            .store
            .save_fetch(vec![notice], Vec::new())
            .await
            .map_err(store_error)?;
        let job = JobName::from(crate::pipeline::DELIVERING_JOB);
        match self.handles.jobs.run_job(&job, Trigger::Operator).await {
            // A run in progress plans new notices in its deliver step, or the next run does;
            // the broadcast is stored either way.
            Ok(_) | Err(ControlError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(BroadcastReceipt { notice_id: id })
    }

    pub(super) async fn switch_service(
        &self,
        service: ServiceName,
        action: ServiceAction,
    ) -> Result<ServiceInfo, ControlError> {
        self.handles
            .services
            .control(service.as_str(), action)
            .await
            .map_err(|e| match e {
                ServiceControlError::Unknown(name) => ControlError::NotFound {
                    kind: "service".into(),
                    name,
                },
                other => ControlError::Conflict {
                    reason: other.to_string(),
                },
            })
    }
}

fn invalid_text(reason: &str) -> ControlError {
    ControlError::Invalid {
        field: "text".into(),
        reason: reason.to_owned(),
    }
}

fn broadcast_notice(text: &str, now: DateTime<Utc>, by: String) -> Notice {
    let ms = now.timestamp_millis();
    Notice {
        id: format!("broadcast-{ms}"),
        title: crate::control::handlers::bounded(text.lines().next().unwrap_or(""), 80),
        content: text.to_owned(),
        author: by,
        created_at_ms: ms,
        updated_at_ms: ms,
        source: BROADCAST_SOURCE.to_owned(),
        category: None,
        matched_job_id: None,
        job_company: None,
        job_role: None,
        job_location: None,
        package: None,
        package_breakdown: None,
        formatted_message: crate::format::escape(text),
        sent_to_telegram: false,
        saved_at: now,
        sent_at: None,
    }
}

fn ms_time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn notice_info(n: Notice) -> NoticeInfo {
    NoticeInfo {
        created_at: ms_time(n.created_at_ms),
        id: n.id,
        title: n.title,
        source: n.source,
        author: n.author,
        category: n.category,
        saved_at: n.saved_at,
        is_sent: n.sent_to_telegram,
        sent_at: n.sent_at,
    }
}

fn delivery_state(s: DeliveryStatus) -> DeliveryState {
    match s {
        DeliveryStatus::Pending => DeliveryState::Pending,
        DeliveryStatus::Sending => DeliveryState::Sending,
        DeliveryStatus::Sent => DeliveryState::Sent,
        DeliveryStatus::Blocked => DeliveryState::Blocked,
        DeliveryStatus::Failed => DeliveryState::Failed,
        DeliveryStatus::Skipped => DeliveryState::Skipped,
    }
}

fn delivery_info(d: Delivery) -> DeliveryInfo {
    DeliveryInfo {
        recipient: d.recipient.key(),
        notice_id: d.notice_id,
        state: delivery_state(d.status),
        attempts: d.attempts,
        chunks_sent: d.chunks_sent,
        message_ids: d.message_ids,
        last_error: d.last_error,
        not_before: d.not_before,
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}
