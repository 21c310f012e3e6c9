//! The records the store holds, shared by every backend.
//!
//! Field names follow the original system's MongoDB documents (reference section 9) so the
//! MongoDB backend can map them one to one and the website that reads those collections keeps
//! working. Timestamps the original stored as millisecond integers stay `i64` milliseconds
//! (`*_ms`); the rest are `DateTime<Utc>`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A Telegram user who talked to the bot. Keyed by `user_id`; `chat_id` is where to write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    pub user_id: i64,
    pub chat_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `/start` knows about the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriberProfile {
    pub user_id: i64,
    pub chat_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeOutcome {
    /// Never seen before.
    Created,
    /// Was inactive (stopped or blocked the bot), now active again.
    Reactivated,
    /// Already active; profile fields refreshed.
    AlreadyActive,
}

/// A notice: one item that is delivered to every subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// For SuperSet notices, the portal's `identifier`.
    pub id: String,
    pub title: String,
    /// The content as the source gave it (portal HTML for SuperSet).
    pub content: String,
    pub author: String,
    /// When the source published it (portal `publishedAt`), ms since the epoch.
    pub created_at_ms: i64,
    /// Last modification (portal `lastModifiedOn`, else `publishedAt`), ms since the epoch.
    pub updated_at_ms: i64,
    /// `Superset`, `Email Notice Service`, …
    pub source: String,
    pub category: Option<String>,
    pub matched_job_id: Option<String>,
    pub job_company: Option<String>,
    pub job_role: Option<String>,
    pub job_location: Option<String>,
    /// Formatted package, e.g. `₹8.5 LPA`.
    pub package: Option<String>,
    pub package_breakdown: Option<String>,
    /// The message as sent: Telegram HTML, escaped and balanced, not yet split.
    pub formatted_message: String,
    /// True once every planned delivery of this notice has ended (or it was recorded as
    /// already delivered at bootstrap). The original's only delivery flag; kept for the website.
    pub sent_to_telegram: bool,
    pub saved_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A job profile from the portal (reference 8.1 "structured job", stored as `Jobs`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JobProfile {
    pub id: String,
    pub job_profile: String,
    pub company: String,
    pub placement_category_code: i64,
    pub placement_category: String,
    pub content: String,
    pub created_at_ms: Option<i64>,
    pub deadline_ms: Option<i64>,
    pub eligibility_marks: Vec<EligibilityMark>,
    pub eligibility_courses: Vec<String>,
    pub allowed_genders: Vec<String>,
    pub job_description: String,
    pub location: String,
    /// Rupees per annum, or per month when `annum_months` starts with "m". `None` when the
    /// portal gave no package.
    pub package: Option<f64>,
    pub annum_months: Option<String>,
    /// HTML breakdown of the package (often a table).
    pub package_info: String,
    pub required_skills: Vec<String>,
    pub hiring_flow: Vec<String>,
    pub placement_type: Option<String>,
    pub documents: Vec<JobDocument>,
    /// False for a listing entry whose details were not fetched.
    pub has_details: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EligibilityMark {
    pub level: String,
    pub criteria: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDocument {
    pub name: String,
    pub identifier: String,
    pub url: Option<String>,
}

/// Where one delivery goes. The ledger key is stable even when the chat moves (a group that
/// became a supergroup keeps its subscriber's `user_id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Recipient {
    Subscriber {
        user_id: i64,
    },
    /// The configured channel, by chat id or `@username`.
    Channel {
        chat: String,
    },
}

impl Recipient {
    /// The ledger key: `user:<id>` or `channel:<chat>`.
    pub fn key(&self) -> String {
        match self {
            Recipient::Subscriber { user_id } => format!("user:{user_id}"),
            Recipient::Channel { chat } => format!("channel:{chat}"),
        }
    }

    pub fn from_key(key: &str) -> Option<Recipient> {
        if let Some(id) = key.strip_prefix("user:") {
            return id
                .parse()
                .ok()
                .map(|user_id| Recipient::Subscriber { user_id });
        }
        key.strip_prefix("channel:").map(|chat| Recipient::Channel {
            chat: chat.to_owned(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent yet, or sent in part (`chunks_sent` says how far).
    Pending,
    /// A send is (or was, when the daemon died) in flight. On recovery it is in doubt.
    Sending,
    Sent,
    /// The recipient blocked the bot or is deactivated; never retried.
    Blocked,
    /// Failed for good (chat not found, rejected twice); `last_error` says why.
    Failed,
    /// Not sent because the subscriber stopped before their turn.
    Skipped,
}

impl DeliveryStatus {
    pub fn is_terminal(self) -> bool {
        !matches!(self, DeliveryStatus::Pending | DeliveryStatus::Sending)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Blocked => "blocked",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => DeliveryStatus::Pending,
            "sending" => DeliveryStatus::Sending,
            "sent" => DeliveryStatus::Sent,
            "blocked" => DeliveryStatus::Blocked,
            "failed" => DeliveryStatus::Failed,
            "skipped" => DeliveryStatus::Skipped,
            _ => return None,
        })
    }
}

/// One row of the delivery ledger: one notice to one recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub notice_id: String,
    pub recipient: Recipient,
    pub status: DeliveryStatus,
    /// How many chunks of the split message have been confirmed sent. A resumed delivery
    /// starts at this chunk, so a partial long message is never repeated from the top.
    pub chunks_sent: u32,
    /// Send attempts so far (all chunks).
    pub attempts: u32,
    pub message_ids: Vec<i64>,
    pub last_error: Option<String>,
    /// Do not try before this time (a long `retry_after`).
    pub not_before: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Persistent per-job scheduler state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    pub job: String,
    pub is_paused: bool,
    pub last_run: Option<u64>,
    /// The last schedule tick that was handled (run, skipped or recorded missed).
    pub last_tick: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Who holds a leadership lease, as seen by the daemon that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseState {
    /// The asker holds it until then.
    Held { until: DateTime<Utc> },
    /// Someone else does (`host:pid`), until then if known.
    HeldBy {
        holder: String,
        until: Option<DateTime<Utc>>,
    },
}

/// One operator action on the control socket (the `AuditLog` collection): who asked, when,
/// what, and how it ended. Written for every mutating call, refused ones included, so the log
/// answers "who paused the update job" as well as "who tried to".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Allocated by the store, increasing; ignored by [`super::Store::append_audit`].
    pub id: u64,
    pub at: DateTime<Utc>,
    /// The peer's user id, read from the socket.
    pub uid: u32,
    /// The user name for `uid`, when the system knows it.
    pub user: Option<String>,
    /// The peer's process id, read from the socket.
    pub pid: Option<u32>,
    /// `supersetctl` or `superset-console`, as the client said in `hello`.
    pub client: String,
    /// The RPC method, e.g. `pause_job`.
    pub action: String,
    /// What it acted on (a job, a run id, a service), if anything.
    pub target: Option<String>,
    /// `None` when it succeeded; the error the caller got otherwise.
    pub error: Option<String>,
}
