//! The supersetd control API.
//!
//! This crate is the only thing `supersetd` and its clients (`supersetctl`, `superset-console`)
//! share. It holds the tarpc service trait [`Control`], the request and reply types, the socket
//! path resolution and a connect helper, and nothing else: no retries, no printing, no policy.
//! Keeping the wire API in its own crate (as tokio-console does with `console-api`) means a
//! change to what crosses the socket is a change to this crate, reviewed as such.
//!
//! # Versioning
//!
//! The transport is bincode, which is positional: adding a field or a variant changes the
//! encoding. Any such change bumps [`PROTO_VERSION`]. Every client calls [`Control::hello`]
//! first; a daemon speaking another version answers with
//! [`ControlError::IncompatibleVersion`] instead of garbage, and the client tells the operator
//! which side to upgrade.

pub mod connect;
pub mod ops;
pub mod socket;
pub mod types;

pub use connect::{ConnectError, Connection, connect};
pub use ops::*;
pub use socket::{SocketPathError, default_state_dir, resolve_socket_path};
pub use types::*;

/// The version of the wire protocol. Bump on any change to a type in [`types`] or to the
/// [`Control`] trait.
///
/// - 1: status, jobs, runs, logs, subscribers, shutdown.
/// - 2: services, notices, deliveries, broadcast, mark-sent, audit; `LogQuery::target`,
///   `DaemonStatus::connections`; `resume_job(job, catch_up)`.
pub const PROTO_VERSION: u32 = 2;

/// The largest frame either side accepts. Log batches are the biggest replies; 16 MiB leaves
/// room for a full ring of long lines while stopping a corrupt length prefix from making the
/// daemon allocate gigabytes.
pub const MAX_FRAME_BYTES: usize = 16 << 20;

/// The control service the daemon serves on its local socket.
///
/// Every method returns `Result<_, ControlError>`; transport failures (a dead daemon, a
/// timeout) are tarpc's `RpcError` and stay separate so a client can tell "the daemon said no"
/// from "the daemon did not answer".
#[tarpc::service]
pub trait Control {
    /// Exchange versions. Must be the first call on a connection.
    async fn hello(client: ClientHello) -> Result<ServerHello, ControlError>;
    /// Process, store and service status.
    async fn get_status() -> Result<DaemonStatus, ControlError>;
    /// Every configured job with its schedule, paused flag, next and last run.
    async fn list_jobs() -> Result<Vec<JobInfo>, ControlError>;
    /// Start a run of `job` now. Returns the new run's id without waiting for it.
    async fn run_job(job: JobName) -> Result<RunId, ControlError>;
    /// Wait up to `wait_ms` for `run` to end. `Ok(Some)` once it has ended, `Ok(None)` if it is
    /// still running when the wait expires (the client asks again; no call blocks for long).
    async fn wait_run(run: RunId, wait_ms: u64) -> Result<Option<RunInfo>, ControlError>;
    /// Stop scheduling `job`. A run in progress is not touched.
    async fn pause_job(job: JobName) -> Result<JobInfo, ControlError>;
    /// Schedule `job` again from its next tick. Ticks skipped while it was paused are not
    /// made up for, unless `catch_up`: then it also runs once now if any were skipped.
    async fn resume_job(job: JobName, catch_up: bool) -> Result<JobInfo, ControlError>;
    /// Ask a running run (by id, or the active run of a job) to stop. Cooperative: the run ends
    /// at its next checkpoint and is recorded as cancelled.
    async fn cancel(target: CancelTarget) -> Result<RunId, ControlError>;
    /// Run history, newest first.
    async fn list_runs(query: RunQuery) -> Result<Vec<RunInfo>, ControlError>;
    /// Log lines after `query.cursor`, waiting up to `query.wait_ms` for the first one.
    async fn tail_logs(query: LogQuery) -> Result<LogBatch, ControlError>;
    /// Subscribers known to the store.
    async fn list_subscribers(query: SubscriberQuery) -> Result<Vec<SubscriberInfo>, ControlError>;
    /// Stop the daemon gracefully (the same drain as SIGTERM).
    async fn shutdown() -> Result<(), ControlError>;
    /// Start, stop or restart one service without touching the others. Returns its state
    /// after the action.
    async fn control_service(
        service: ServiceName,
        action: ServiceAction,
    ) -> Result<ServiceInfo, ControlError>;
    /// Stored notices, newest first.
    async fn list_notices(query: NoticeQuery) -> Result<Vec<NoticeInfo>, ControlError>;
    /// Every delivery of one notice.
    async fn list_deliveries(notice_id: String) -> Result<Vec<DeliveryInfo>, ControlError>;
    /// Store `text` as a notice for every active subscriber and start delivering it.
    async fn broadcast(text: String) -> Result<BroadcastReceipt, ControlError>;
    /// Record every stored notice as delivered without sending it (bootstrapping a fresh
    /// install). Returns how many were marked.
    async fn mark_all_sent() -> Result<u64, ControlError>;
    /// Operator actions, newest first.
    async fn list_audit(query: AuditQuery) -> Result<Vec<AuditEntry>, ControlError>;
}
