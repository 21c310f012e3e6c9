//! The control socket: the tarpc server behind `supersetctl` and `superset-console`.
//!
//! This module owns the listener, per-connection limits and the mapping from RPC calls to the
//! daemon's handles. It holds handles only ([`Handles`]): it never reaches into the
//! scheduler's or the store's internals, and a slow or misbehaving client can only hurt its
//! own connection.

pub mod access;
mod audit;
pub(crate) mod handlers;
mod listener;
mod ops;
mod server;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use access::AccessPolicy;
pub use listener::{ControlBindError, ControlListener, bind, bind_with};
pub use server::{HELLO_TIMEOUT, MAX_CONNECTIONS, MAX_IN_FLIGHT, serve};

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use supersetd_proto::{CancelTarget, ControlError, JobInfo, JobName, RunId, RunInfo, Trigger};
use tokio_util::sync::CancellationToken;

use crate::logs::LogRing;
use crate::services::ServiceRegistry;
use crate::store::SharedStore;

/// What the control server may ask of the scheduler. Implemented by the scheduler's handle.
#[async_trait]
pub trait JobControl: Send + Sync + 'static {
    async fn list_jobs(&self) -> Result<Vec<JobInfo>, ControlError>;
    async fn run_job(&self, job: &JobName, trigger: Trigger) -> Result<RunId, ControlError>;
    /// `Ok(Some)` once the run has ended, `Ok(None)` if still running after `wait`.
    async fn wait_run(&self, run: RunId, wait: Duration) -> Result<Option<RunInfo>, ControlError>;
    async fn pause_job(&self, job: &JobName) -> Result<JobInfo, ControlError>;
    async fn resume_job(&self, job: &JobName, catch_up: bool) -> Result<JobInfo, ControlError>;
    async fn cancel(&self, target: &CancelTarget) -> Result<RunId, ControlError>;
}

/// Everything the control server can reach.
#[derive(Clone)]
pub struct Handles {
    pub jobs: Arc<dyn JobControl>,
    pub services: ServiceRegistry,
    pub logs: LogRing,
    pub store: SharedStore,
    /// Cancelling this starts the daemon's graceful shutdown.
    pub shutdown: CancellationToken,
    pub started_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests;
