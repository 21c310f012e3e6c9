//! The messages that drive the TUI and the commands it sends back.
//!
//! Every input the event loop sees (a key, a resize, a tick, a daemon reply) becomes one
//! [`Msg`]; every effect a view wants (pause a job, change the log filter) is a [`Command`]
//! value the loop hands to the connection task. Views therefore never do I/O, and a test can
//! drive them with a plain `Vec<Msg>`.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use supersetd_proto::{
    AuditEntry, DaemonStatus, DeliveryInfo, JobInfo, JobName, LogBatch, LogLevel, NoticeInfo,
    RunId, RunInfo, ServerHello, ServiceAction, ServiceName, SubscriberInfo,
};

/// What the log tail reads: applied by the daemon, so a change restarts the tail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub min_level: Option<LogLevel>,
    /// Only the lines of this run.
    pub run: Option<RunId>,
}

use super::keymap::Action;

/// One input to the TUI.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A raw key press. `App` translates it through the keymap into [`Msg::Action`].
    Key(KeyEvent),
    /// A key already resolved to an action; what views receive.
    Action(Action),
    /// The terminal changed size.
    Resize(u16, u16),
    /// The wall clock moved on (relative times, flash expiry).
    Tick(DateTime<Utc>),
    /// Something from the connection task.
    Conn(ConnEvent),
    /// The `/` prompt was applied: the focused view shows only rows containing this text
    /// (empty: everything).
    Filter(String),
    /// Follow one run's lines in the logs view (`None`: every run).
    FollowRun(Option<RunId>),
}

/// What the connection task reports.
#[derive(Debug, Clone)]
pub enum ConnEvent {
    /// Trying to connect; `attempt` counts from 1 and resets after a successful handshake.
    Connecting {
        attempt: u32,
        last_error: Option<String>,
    },
    /// Handshake done.
    Connected(ServerHello),
    /// The daemon speaks another protocol version. Retried slowly in case it is upgraded.
    Incompatible(String),
    Status(DaemonStatus),
    Jobs(Vec<JobInfo>),
    /// Recent runs, newest first.
    Runs(Vec<RunInfo>),
    Subscribers(Vec<SubscriberInfo>),
    /// Recent notices, newest first.
    Notices(Vec<NoticeInfo>),
    /// Operator actions, newest first.
    Audit(Vec<AuditEntry>),
    /// The deliveries of one notice (asked for with [`Command::FetchDeliveries`]).
    Deliveries {
        notice_id: String,
        rows: Vec<DeliveryInfo>,
    },
    /// A batch of log lines read with `filter`.
    Logs {
        filter: LogFilter,
        batch: LogBatch,
    },
    /// The log stream starts over (new connection or new filter): drop what is shown.
    LogsReset {
        filter: LogFilter,
    },
    /// The daemon answered a request with an error that is not a transport failure.
    RequestFailed {
        what: &'static str,
        error: String,
    },
    /// The outcome of a [`Command`], for the footer.
    CommandDone {
        text: String,
        is_error: bool,
    },
}

/// An effect a view asks for. The connection task executes the daemon-facing ones; `App`
/// handles [`Command::Confirm`] itself by opening a popup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    PauseJob(JobName),
    ResumeJob(JobName),
    RunJob(JobName),
    CancelJob(JobName),
    /// Start, stop or restart one service.
    Service(ServiceName, ServiceAction),
    /// Read the deliveries of a notice (the deliveries view's selection).
    FetchDeliveries(String),
    /// Restart the log tail with a new filter.
    TailLogs {
        filter: LogFilter,
    },
    /// Show the logs of one run (`None`: of every run again). `App` turns this into a
    /// [`Msg::FollowRun`] for the logs view, which restarts the tail.
    FollowRun(Option<RunId>),
    /// Ask before running `command`; only `y`/`Enter` in the popup lets it through.
    Confirm {
        prompt: String,
        command: Box<Command>,
    },
}

impl Command {
    /// Whether the command changes daemon state (refused in read-only mode).
    pub fn is_mutating(&self) -> bool {
        match self {
            Command::PauseJob(_)
            | Command::ResumeJob(_)
            | Command::RunJob(_)
            | Command::CancelJob(_)
            | Command::Service(..) => true,
            Command::TailLogs { .. } | Command::FetchDeliveries(_) | Command::FollowRun(_) => false,
            Command::Confirm { command, .. } => command.is_mutating(),
        }
    }
}
