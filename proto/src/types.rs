//! Request and reply types of the control API.
//!
//! Ids are newtypes and closed sets are enums so that neither side passes a free-form string
//! where the other expects one of a few values. Every type derives `Serialize`/`Deserialize`;
//! the JSON form (snake_case, RFC 3339 times, `_ms` durations) is also what `supersetctl
//! --json` prints, so field names here are a public, stable interface.
//!
//! Enums are externally tagged (serde's default) on purpose: bincode cannot decode internally
//! or adjacently tagged enums, which need a self-describing format.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The name of a scheduled job (`update`, `official`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobName(pub String);

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for JobName {
    fn from(s: &str) -> Self {
        JobName(s.to_owned())
    }
}

/// The id of one run of a job. Allocated by the store, increasing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// First message of every connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    pub proto_version: u32,
    /// The client's package version, for the daemon's log.
    pub client_version: String,
    /// `supersetctl` or `superset-console`.
    pub client_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHello {
    pub proto_version: u32,
    pub daemon_version: String,
    pub pid: u32,
    /// What this peer may do, decided from its credentials.
    pub access: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// May read and act.
    Operator,
    /// May read only.
    Viewer,
}

/// Errors the daemon returns. Variants are the cases a client acts on differently; the
/// `Display` text is written for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum ControlError {
    #[error(
        "incompatible daemon version: daemon speaks protocol {daemon}, this client speaks {client}"
    )]
    IncompatibleVersion { daemon: u32, client: u32 },
    #[error("no such {kind}: {name}")]
    NotFound { kind: String, name: String },
    #[error("permission denied: {reason}")]
    PermissionDenied { reason: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{reason}")]
    Conflict { reason: String },
    #[error("{service} is unavailable: {reason}")]
    Unavailable { service: String, reason: String },
    #[error("internal error (see the daemon log near {log_ref})")]
    Internal { log_ref: String },
}

/// The lifecycle state of a supervised service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Starting,
    Running,
    /// Waiting before the next restart after a failure.
    Backoff,
    Stopped,
    Failed,
    /// Not started because configuration is missing (e.g. no bot token); says why.
    Disabled(String),
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceState::Starting => f.write_str("starting"),
            ServiceState::Running => f.write_str("running"),
            ServiceState::Backoff => f.write_str("backoff"),
            ServiceState::Stopped => f.write_str("stopped"),
            ServiceState::Failed => f.write_str("failed"),
            ServiceState::Disabled(reason) => write!(f, "disabled: {reason}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// `bot`, `web` or `scheduler`.
    pub name: String,
    pub state: ServiceState,
    pub since: DateTime<Utc>,
    pub restarts: u32,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// `embedded` or `mongodb`.
    pub backend: String,
    /// Where the data lives, with any password masked.
    pub location: String,
    pub healthy: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    pub version: String,
    pub started_at: DateTime<Utc>,
    pub uptime_ms: u64,
    pub rss_bytes: u64,
    pub store: StoreStatus,
    pub services: Vec<ServiceInfo>,
    /// Control connections open now, this one included.
    pub connections: u32,
}

/// Why a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    CatchUp,
    Operator,
    Bot,
    Http,
    /// Resuming deliveries a long Telegram rate limit deferred, or that a previous process
    /// left unfinished.
    Retry,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::Schedule => "schedule",
            Trigger::CatchUp => "catch-up",
            Trigger::Operator => "operator",
            Trigger::Bot => "bot",
            Trigger::Http => "http",
            Trigger::Retry => "retry",
        })
    }
}

/// How a run (or a step of one) ended. `Running` while it has not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    Skipped,
    Missed,
}

impl Outcome {
    pub fn is_finished(self) -> bool {
        self != Outcome::Running
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Running => "running",
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::TimedOut => "timed out",
            Outcome::Skipped => "skipped",
            Outcome::Missed => "missed",
        })
    }
}

/// One step of a run (`superset`, `deliver`, …) with its counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepInfo {
    pub name: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    /// Named counters, e.g. `notices_new`, `sent`, `failed`.
    pub counts: BTreeMap<String, u64>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: RunId,
    pub job: JobName,
    pub trigger: Trigger,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub outcome: Outcome,
    pub steps: Vec<StepInfo>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobInfo {
    pub name: JobName,
    /// The crontab expression as configured.
    pub schedule: String,
    /// IANA zone the schedule is evaluated in.
    pub timezone: String,
    pub is_paused: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<RunInfo>,
    /// The run in progress, if any.
    pub active_run: Option<RunId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelTarget {
    Job(JobName),
    Run(RunId),
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunQuery {
    pub job: Option<JobName>,
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        })
    }
}

impl std::str::FromStr for LogLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "trace" => Ok(LogLevel::Trace),
            "debug" => Ok(LogLevel::Debug),
            "info" => Ok(LogLevel::Info),
            "warn" | "warning" => Ok(LogLevel::Warn),
            "error" => Ok(LogLevel::Error),
            other => Err(format!(
                "unknown log level {other:?} (expected trace, debug, info, warn or error)"
            )),
        }
    }
}

/// A log read request. `cursor` is the `next_cursor` of the previous batch (0 for the oldest
/// line still held). Filters are applied in the daemon so a follower does not pull lines it
/// would throw away.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogQuery {
    pub cursor: u64,
    /// At most this many lines in the reply.
    pub max: u32,
    /// How long to wait for the first matching line when none is there yet.
    pub wait_ms: u64,
    pub min_level: Option<LogLevel>,
    /// Case-insensitive substring of the message or fields.
    pub grep: Option<String>,
    pub run: Option<RunId>,
    /// Only lines whose target is this module path or below it (`supersetd::scheduler`).
    pub target: Option<String>,
    /// Start from the last `tail` lines instead of `cursor` (for `logs --lines N`).
    pub tail: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the daemon's log stream; strictly increasing.
    pub seq: u64,
    pub time: DateTime<Utc>,
    pub level: LogLevel,
    pub target: String,
    /// The message followed by its fields as `key=value`.
    pub text: String,
    /// The run this line belongs to, when logged inside a run's span.
    pub run: Option<RunId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBatch {
    pub entries: Vec<LogEntry>,
    /// Pass this as the next `cursor`.
    pub next_cursor: u64,
    /// Lines between the requested cursor and the oldest line still held: the reader fell
    /// behind the ring and these are gone.
    pub dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscriberQuery {
    pub active_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberInfo {
    pub user_id: i64,
    pub chat_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_names_are_the_documented_ones() {
        let run = RunInfo {
            id: RunId(7),
            job: JobName::from("update"),
            trigger: Trigger::CatchUp,
            started_at: DateTime::from_timestamp(0, 0).unwrap_or_default(),
            ended_at: None,
            duration_ms: None,
            outcome: Outcome::TimedOut,
            steps: vec![],
            error: None,
        };
        let json = serde_json::to_value(&run).unwrap_or_default();
        assert_eq!(json["id"], 7);
        assert_eq!(json["job"], "update");
        assert_eq!(json["trigger"], "catch_up");
        assert_eq!(json["outcome"], "timed_out");
    }

    #[test]
    fn errors_round_trip_through_json() {
        let err = ControlError::NotFound {
            kind: "job".into(),
            name: "nope".into(),
        };
        let text = serde_json::to_string(&err).unwrap_or_default();
        let back: ControlError = serde_json::from_str(&text).unwrap_or(ControlError::Internal {
            log_ref: String::new(),
        });
        assert_eq!(back, err);
        assert_eq!(err.to_string(), "no such job: nope");
    }

    #[test]
    fn log_levels_parse_case_insensitively() {
        assert_eq!("WARN".parse::<LogLevel>(), Ok(LogLevel::Warn));
        assert!("loud".parse::<LogLevel>().is_err());
    }
}
