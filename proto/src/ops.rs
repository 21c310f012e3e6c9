//! Request and reply types for the operator calls added in protocol 2: services, notices,
//! deliveries, broadcast, mark-sent and the audit log.
//!
//! Kept apart from [`crate::types`] so the calls each issue adds stay readable on their own;
//! the same rules hold (closed sets are enums, snake_case JSON, RFC 3339 times), and the JSON
//! form is what `supersetctl --json` prints.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A service the operator can start and stop on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    Bot,
    Web,
    Scheduler,
}

impl ServiceName {
    pub const ALL: [ServiceName; 3] = [ServiceName::Bot, ServiceName::Web, ServiceName::Scheduler];

    /// The name `status` lists it under.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Bot => "bot",
            ServiceName::Web => "web",
            ServiceName::Scheduler => "scheduler",
        }
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServiceName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| format!("unknown service {s:?} (expected bot, web or scheduler)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceAction {
    Start,
    Stop,
    Restart,
}

impl fmt::Display for ServiceAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NoticeQuery {
    /// Only notices not yet delivered to everyone.
    pub unsent_only: bool,
    pub limit: u32,
}

/// A stored notice, without its body (the console and `notices` list many of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeInfo {
    pub id: String,
    pub title: String,
    /// `Superset`, `Email Notice Service`, `Broadcast`, …
    pub source: String,
    pub author: String,
    pub category: Option<String>,
    /// When the source published it.
    pub created_at: DateTime<Utc>,
    pub saved_at: DateTime<Utc>,
    /// Every planned delivery has ended.
    pub is_sent: bool,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The state of one delivery (one notice to one recipient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sending,
    Sent,
    Blocked,
    Failed,
    Skipped,
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::Blocked => "blocked",
            DeliveryState::Failed => "failed",
            DeliveryState::Skipped => "skipped",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    pub notice_id: String,
    /// `user:<id>` or `channel:<chat>`.
    pub recipient: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub chunks_sent: u32,
    pub message_ids: Vec<i64>,
    pub last_error: Option<String>,
    /// Not tried before this time (a long Telegram rate limit).
    pub not_before: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `broadcast` queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastReceipt {
    /// The notice holding the text; `deliveries NOTICE_ID` follows it.
    pub notice_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    pub limit: u32,
}

/// One operator action as the daemon recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub at: DateTime<Utc>,
    pub uid: u32,
    pub user: Option<String>,
    pub pid: Option<u32>,
    pub client: String,
    /// The RPC method, e.g. `pause_job`.
    pub action: String,
    pub target: Option<String>,
    /// `None` when it succeeded.
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `supersetctl --json` prints these names; scripts depend on them.
    #[test]
    fn json_names_are_the_documented_ones() {
        let at = DateTime::from_timestamp(0, 0).unwrap_or_default();
        let d = DeliveryInfo {
            notice_id: "n1".into(),
            recipient: "user:1".into(),
            state: DeliveryState::Blocked,
            attempts: 1,
            chunks_sent: 0,
            message_ids: vec![],
            last_error: None,
            not_before: None,
            created_at: at,
            updated_at: at,
        };
        let json = serde_json::to_value(&d).unwrap_or_default();
        assert_eq!(json["state"], "blocked");
        assert_eq!(json["recipient"], "user:1");
        let a = AuditEntry {
            id: 3,
            at,
            uid: 1000,
            user: Some("ops".into()),
            pid: Some(7),
            client: "supersetctl".into(),
            action: "pause_job".into(),
            target: Some("update".into()),
            error: None,
        };
        let json = serde_json::to_value(&a).unwrap_or_default();
        for key in [
            "id", "at", "uid", "user", "pid", "client", "action", "target", "error",
        ] {
            assert!(json.get(key).is_some(), "audit entry lacks {key}");
        }
        assert_eq!(
            serde_json::to_value(ServiceName::Scheduler).unwrap_or_default(),
            "scheduler"
        );
        assert_eq!(
            serde_json::to_value(ServiceAction::Restart).unwrap_or_default(),
            "restart"
        );
        assert_eq!("web".parse::<ServiceName>(), Ok(ServiceName::Web));
        assert!("mail".parse::<ServiceName>().is_err());
    }
}
