//! The RPC methods: each maps one `Control` call onto [`Handles`] and nothing more.
//!
//! [`ControlServer`] is the concrete type tarpc serves (a generic server does not compile: the
//! trait's futures cannot be proven `Send`). One value exists per connection, carrying what the
//! connection's peer may do; every method checks it before touching a handle.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use supersetd_proto::{
    Access, AuditEntry, AuditQuery, BroadcastReceipt, CancelTarget, ClientHello, Control,
    ControlError, DaemonStatus, DeliveryInfo, JobInfo, JobName, LogBatch, LogQuery, NoticeInfo,
    NoticeQuery, PROTO_VERSION, RunId, RunInfo, RunQuery, ServerHello, ServiceAction, ServiceInfo,
    ServiceName, StoreStatus, SubscriberInfo, SubscriberQuery, Trigger,
};
use tarpc::context::Context;
use tokio_util::sync::CancellationToken;

use super::Handles;
use super::access::Peer;
use super::server::Connections;
use crate::store::{StoreError, Subscriber};

/// How long `status` waits for the store's health check, so a hung database shows as
/// unhealthy instead of hanging the operator's command.
const STORE_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
/// Taken off a long poll's wait so the reply reaches the client before its deadline fires.
const DEADLINE_MARGIN: Duration = Duration::from_millis(200);
/// The most runs one `list_runs` returns.
const MAX_RUNS: u32 = 1000;

/// The served object for one connection.
#[derive(Clone)]
pub(crate) struct ControlServer {
    pub(crate) handles: Handles,
    /// Decided from the peer's credentials when the connection was accepted.
    pub(crate) access: Option<Access>,
    /// Who is on the other end, from the socket's credentials.
    pub(crate) peer: Arc<Peer>,
    /// The client's name from `hello`, for the audit log.
    pub(crate) client: Arc<OnceLock<String>>,
    pub(crate) connections: Connections,
    /// Cancelled to drop the connection (a refused peer, after it has been told why).
    pub(crate) drop_conn: CancellationToken,
    /// Cancelled once the peer has said `hello`.
    pub(crate) greeted: CancellationToken,
    /// Set when the connection is only accepted to be told why it cannot be served (the
    /// daemon is busy): every call, `hello` first, answers this.
    pub(crate) refusal: Option<ControlError>,
}

impl ControlServer {
    /// Reading: operators and viewers.
    fn reader(&self) -> Result<(), ControlError> {
        if let Some(refusal) = &self.refusal {
            return Err(refusal.clone());
        }
        match self.access {
            Some(_) => Ok(()),
            None => Err(self.denied()),
        }
    }

    /// Acting: operators only. Callers go through [`Self::audited`], which calls this.
    pub(super) fn operator(&self) -> Result<(), ControlError> {
        self.reader()?;
        match self.access {
            Some(Access::Operator) => Ok(()),
            _ => Err(ControlError::PermissionDenied {
                reason: format!(
                    "{} may only read (viewer group); ask an operator, or use a member of the operator group",
                    self.peer.describe()
                ),
            }),
        }
    }

    fn denied(&self) -> ControlError {
        ControlError::PermissionDenied {
            reason: format!(
                "{} may not use this daemon's control socket; run as the daemon's user or root, or join its operator or viewer group",
                self.peer.describe()
            ),
        }
    }
}

impl ControlServer {
    /// A job with no history is still a job if it is configured; a typo is "no such job".
    async fn known_job(&self, job: &JobName) -> Result<(), ControlError> {
        let jobs = self.handles.jobs.list_jobs().await?;
        if jobs.iter().any(|j| &j.name == job) {
            return Ok(());
        }
        Err(ControlError::NotFound {
            kind: "job".into(),
            name: job.to_string(),
        })
    }

    /// Following the logs of a run that never existed would wait forever for nothing.
    async fn known_run(&self, run: RunId) -> Result<(), ControlError> {
        match self.handles.store.get_run(run).await.map_err(store_error)? {
            Some(_) => Ok(()),
            None => Err(ControlError::NotFound {
                kind: "run".into(),
                name: run.0.to_string(),
            }),
        }
    }
}

/// How long a long poll may wait: what the client asked, cut to leave the reply time to arrive
/// before the call's deadline.
fn capped_wait(ctx: &Context, asked: Duration) -> Duration {
    let left = ctx
        .deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(DEADLINE_MARGIN);
    asked.min(left)
}

pub(super) fn store_error(err: StoreError) -> ControlError {
    ControlError::Unavailable {
        service: "store".into(),
        reason: err.to_string(),
    }
}

fn subscriber_info(s: Subscriber) -> SubscriberInfo {
    SubscriberInfo {
        user_id: s.user_id,
        chat_id: s.chat_id,
        username: s.username,
        first_name: s.first_name,
        last_name: s.last_name,
        is_active: s.is_active,
        created_at: s.created_at,
        updated_at: s.updated_at,
    }
}

impl Control for ControlServer {
    async fn hello(self, _: Context, client: ClientHello) -> Result<ServerHello, ControlError> {
        self.greeted.cancel();
        if let Some(refusal) = self.refusal {
            self.drop_conn.cancel();
            return Err(refusal);
        }
        let Some(access) = self.access else {
            tracing::warn!(peer = %self.peer.describe(), client = %client.client_name, "control peer refused");
            let err = self.denied();
            // Not a mutation, but who knocked is what an audit is for.
            let _ = self.client.set(bounded(&client.client_name, 64));
            if self.connections.audit_refusal(self.peer.uid) {
                self.record("connect", None, Some(&err)).await;
            }
            self.drop_conn.cancel();
            return Err(err);
        };
        if client.proto_version != PROTO_VERSION {
            tracing::info!(client = %client.client_name, theirs = client.proto_version, ours = PROTO_VERSION, "control client speaks another protocol");
            return Err(ControlError::IncompatibleVersion {
                daemon: PROTO_VERSION,
                client: client.proto_version,
            });
        }
        tracing::debug!(client = %client.client_name, version = %client.client_version, "control client connected");
        // The first `hello` names the client for the audit log; a later one cannot rename it.
        let _ = self.client.set(bounded(&client.client_name, 64));
        Ok(ServerHello {
            proto_version: PROTO_VERSION,
            daemon_version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            access,
        })
    }

    async fn get_status(self, _: Context) -> Result<DaemonStatus, ControlError> {
        self.reader()?;
        let store = &self.handles.store;
        let desc = store.describe();
        let health = match tokio::time::timeout(STORE_HEALTH_TIMEOUT, store.health()).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!(
                "no answer within {} s",
                STORE_HEALTH_TIMEOUT.as_secs()
            )),
        };
        let now = Utc::now();
        let started_at = self.handles.started_at;
        Ok(DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at,
            uptime_ms: u64::try_from((now - started_at).num_milliseconds()).unwrap_or(0),
            rss_bytes: rss_bytes().await,
            store: StoreStatus {
                backend: desc.backend.to_owned(),
                location: desc.location,
                healthy: health.is_none(),
                error: health,
            },
            services: self.handles.services.snapshot(),
            connections: self.connections.open(),
        })
    }

    async fn list_jobs(self, _: Context) -> Result<Vec<JobInfo>, ControlError> {
        self.reader()?;
        self.handles.jobs.list_jobs().await
    }

    async fn run_job(self, _: Context, job: JobName) -> Result<RunId, ControlError> {
        let run = self
            .audited("run_job", Some(job.to_string()), async {
                self.handles.jobs.run_job(&job, Trigger::Operator).await
            })
            .await?;
        tracing::info!(job = %job, run_id = run.0, peer = %self.peer.describe(), "run requested over the control socket");
        Ok(run)
    }

    async fn wait_run(
        self,
        ctx: Context,
        run: RunId,
        wait_ms: u64,
    ) -> Result<Option<RunInfo>, ControlError> {
        self.reader()?;
        let wait = capped_wait(&ctx, Duration::from_millis(wait_ms));
        self.handles.jobs.wait_run(run, wait).await
    }

    async fn pause_job(self, _: Context, job: JobName) -> Result<JobInfo, ControlError> {
        self.audited("pause_job", Some(job.to_string()), async {
            self.handles.jobs.pause_job(&job).await
        })
        .await
    }

    async fn resume_job(
        self,
        _: Context,
        job: JobName,
        catch_up: bool,
    ) -> Result<JobInfo, ControlError> {
        let what = if catch_up {
            format!("{job} --catch-up")
        } else {
            job.to_string()
        };
        self.audited("resume_job", Some(what), async {
            self.handles.jobs.resume_job(&job, catch_up).await
        })
        .await
    }

    async fn cancel(self, _: Context, target: CancelTarget) -> Result<RunId, ControlError> {
        let shown = match &target {
            CancelTarget::Job(job) => job.to_string(),
            CancelTarget::Run(run) => format!("run {run}"),
        };
        self.audited("cancel", Some(shown), async {
            self.handles.jobs.cancel(&target).await
        })
        .await
    }

    async fn list_runs(self, _: Context, query: RunQuery) -> Result<Vec<RunInfo>, ControlError> {
        self.reader()?;
        let limit = query.limit.clamp(1, MAX_RUNS);
        let runs = self
            .handles
            .store
            .list_runs(query.job.as_ref(), limit)
            .await
            .map_err(store_error)?;
        if let Some(job) = query.job.as_ref().filter(|_| runs.is_empty()) {
            self.known_job(job).await?;
        }
        Ok(runs)
    }

    async fn tail_logs(self, ctx: Context, mut query: LogQuery) -> Result<LogBatch, ControlError> {
        self.reader()?;
        let wait = capped_wait(&ctx, Duration::from_millis(query.wait_ms));
        query.wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        if let Some(run) = query.run {
            self.known_run(run).await?;
        }
        Ok(self.handles.logs.tail(&query).await)
    }

    async fn list_subscribers(
        self,
        _: Context,
        query: SubscriberQuery,
    ) -> Result<Vec<SubscriberInfo>, ControlError> {
        self.reader()?;
        let subs = self
            .handles
            .store
            .list_subscribers(query.active_only)
            .await
            .map_err(store_error)?;
        Ok(subs.into_iter().map(subscriber_info).collect())
    }

    async fn shutdown(self, _: Context) -> Result<(), ControlError> {
        self.audited("shutdown", None, async {
            tracing::info!(peer = %self.peer.describe(), "shutdown requested over the control socket");
            self.handles.shutdown.cancel();
            Ok(())
        })
        .await
    }

    async fn control_service(
        self,
        _: Context,
        service: ServiceName,
        action: ServiceAction,
    ) -> Result<ServiceInfo, ControlError> {
        let target = format!("{action} {service}");
        self.audited(
            "control_service",
            Some(target),
            self.switch_service(service, action),
        )
        .await
    }

    async fn list_notices(
        self,
        _: Context,
        query: NoticeQuery,
    ) -> Result<Vec<NoticeInfo>, ControlError> {
        self.reader()?;
        self.notices(query).await
    }

    async fn list_deliveries(
        self,
        _: Context,
        notice_id: String,
    ) -> Result<Vec<DeliveryInfo>, ControlError> {
        self.reader()?;
        self.deliveries(&notice_id).await
    }

    async fn broadcast(self, _: Context, text: String) -> Result<BroadcastReceipt, ControlError> {
        let shown = bounded(&text, 80);
        self.audited("broadcast", Some(shown), self.queue_broadcast(&text))
            .await
    }

    async fn mark_all_sent(self, _: Context) -> Result<u64, ControlError> {
        self.audited("mark_all_sent", None, async {
            let now = Utc::now();
            self.handles
                .store
                .mark_all_sent(now)
                .await
                .map_err(store_error)
        })
        .await
    }

    async fn list_audit(
        self,
        _: Context,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, ControlError> {
        self.reader()?;
        self.audit_entries(query).await
    }
}

/// At most `max` characters of `text`, for logs and audit targets.
pub(super) fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Resident set size from `/proc/self/status` (`VmRSS`, in kB); 0 where that is unavailable.
async fn rss_bytes() -> u64 {
    let Ok(status) = tokio::fs::read_to_string("/proc/self/status").await else {
        return 0;
    };
    parse_vm_rss(&status).unwrap_or(0)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss() {
        assert_eq!(
            parse_vm_rss("Name:\tx\nVmRSS:\t   1234 kB\n"),
            Some(1234 * 1024)
        );
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn long_polls_stop_short_of_the_deadline() {
        let mut ctx = tarpc::context::current();
        ctx.deadline = Instant::now() + Duration::from_secs(5);
        let wait = capped_wait(&ctx, Duration::from_secs(30));
        assert!(wait <= Duration::from_millis(4_800) && wait > Duration::from_secs(4));
        assert_eq!(
            capped_wait(&ctx, Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}
