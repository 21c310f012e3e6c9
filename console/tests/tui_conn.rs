//! The TUI's connection task against a fake daemon on a real Unix socket in a tempdir: it
//! connects, polls, tails logs, runs commands, refuses mutations when read-only, reports an
//! incompatible daemon, and reconnects when the daemon goes away and comes back.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use superset_console::tui::conn::{self, ConnHandle};
use superset_console::tui::msg::LogFilter;
use superset_console::tui::{Command, ConnEvent};
use supersetd_proto::*;
use tarpc::context::Context;
use tarpc::server::{BaseChannel, Channel};
use tokio::task::{JoinHandle, JoinSet};

#[derive(Clone, Default)]
struct FakeDaemon {
    state: Arc<Mutex<State>>,
    /// Answer `hello` as a daemon of another protocol version.
    is_incompatible: bool,
}

#[derive(Default)]
struct State {
    paused: bool,
    calls: Vec<String>,
}

impl FakeDaemon {
    fn record(&self, call: &str) {
        self.state.lock().unwrap().calls.push(call.to_owned());
    }
    fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }
    fn job(&self) -> JobInfo {
        JobInfo {
            name: JobName::from("update"),
            schedule: "0 0 * * * *".into(),
            timezone: "Asia/Kolkata".into(),
            is_paused: self.state.lock().unwrap().paused,
            next_run: None,
            last_run: None,
            active_run: None,
        }
    }
}

impl Control for FakeDaemon {
    async fn hello(self, _: Context, client: ClientHello) -> Result<ServerHello, ControlError> {
        if self.is_incompatible {
            return Err(ControlError::IncompatibleVersion {
                daemon: PROTO_VERSION + 1,
                client: client.proto_version,
            });
        }
        Ok(ServerHello {
            proto_version: PROTO_VERSION,
            daemon_version: "9.9.9".into(),
            pid: 777,
            access: Access::Operator,
        })
    }
    async fn get_status(self, _: Context) -> Result<DaemonStatus, ControlError> {
        Ok(DaemonStatus {
            pid: 777,
            version: "9.9.9".into(),
            started_at: Utc::now(),
            uptime_ms: 1_000,
            rss_bytes: 1 << 20,
            store: StoreStatus {
                backend: "embedded".into(),
                location: "/tmp/x".into(),
                healthy: true,
                error: None,
            },
            services: vec![],
            connections: 1,
        })
    }
    async fn list_jobs(self, _: Context) -> Result<Vec<JobInfo>, ControlError> {
        Ok(vec![self.job()])
    }
    async fn run_job(self, _: Context, job: JobName) -> Result<RunId, ControlError> {
        self.record(&format!("run {job}"));
        Ok(RunId(41))
    }
    async fn wait_run(self, _: Context, _: RunId, _: u64) -> Result<Option<RunInfo>, ControlError> {
        Ok(None)
    }
    async fn pause_job(self, _: Context, job: JobName) -> Result<JobInfo, ControlError> {
        self.record(&format!("pause {job}"));
        self.state.lock().unwrap().paused = true;
        Ok(self.job())
    }
    async fn resume_job(
        self,
        _: Context,
        job: JobName,
        _catch_up: bool,
    ) -> Result<JobInfo, ControlError> {
        self.record(&format!("resume {job}"));
        self.state.lock().unwrap().paused = false;
        Ok(self.job())
    }
    async fn cancel(self, _: Context, _: CancelTarget) -> Result<RunId, ControlError> {
        Err(ControlError::Conflict {
            reason: "job update has no active run".into(),
        })
    }
    async fn list_runs(self, _: Context, _: RunQuery) -> Result<Vec<RunInfo>, ControlError> {
        Ok(vec![])
    }
    async fn tail_logs(self, _: Context, query: LogQuery) -> Result<LogBatch, ControlError> {
        if query.cursor >= 1 {
            // Nothing new: hold the long poll briefly, as the daemon would.
            tokio::time::sleep(Duration::from_millis(query.wait_ms.min(200))).await;
            return Ok(LogBatch {
                entries: vec![],
                next_cursor: query.cursor,
                dropped: 0,
            });
        }
        let entry = LogEntry {
            seq: 0,
            time: Utc::now(),
            level: LogLevel::Info,
            target: "supersetd".into(),
            text: format!("hello min_level={:?}", query.min_level),
            run: None,
        };
        Ok(LogBatch {
            entries: vec![entry],
            next_cursor: 1,
            dropped: 0,
        })
    }
    async fn list_subscribers(
        self,
        _: Context,
        _: SubscriberQuery,
    ) -> Result<Vec<SubscriberInfo>, ControlError> {
        Ok(vec![])
    }
    async fn shutdown(self, _: Context) -> Result<(), ControlError> {
        Ok(())
    }
    async fn control_service(
        self,
        _: Context,
        service: ServiceName,
        action: ServiceAction,
    ) -> Result<ServiceInfo, ControlError> {
        self.record(&format!("{action} {service}"));
        Err(ControlError::NotFound {
            kind: "service".into(),
            name: service.to_string(),
        })
    }
    async fn list_notices(
        self,
        _: Context,
        _: NoticeQuery,
    ) -> Result<Vec<NoticeInfo>, ControlError> {
        Ok(vec![])
    }
    async fn list_deliveries(
        self,
        _: Context,
        _: String,
    ) -> Result<Vec<DeliveryInfo>, ControlError> {
        Ok(vec![])
    }
    async fn broadcast(self, _: Context, _: String) -> Result<BroadcastReceipt, ControlError> {
        Err(ControlError::PermissionDenied {
            reason: "not in this fake".into(),
        })
    }
    async fn mark_all_sent(self, _: Context) -> Result<u64, ControlError> {
        Ok(0)
    }
    async fn list_audit(self, _: Context, _: AuditQuery) -> Result<Vec<AuditEntry>, ControlError> {
        Ok(vec![])
    }
}

/// Serve `daemon` on `path` until the returned task is aborted, which also closes every
/// connection (they live in the task's `JoinSet`).
fn serve(path: &Path, daemon: FakeDaemon) -> JoinHandle<()> {
    let name = path.to_fs_name::<GenericFilePath>().unwrap().into_owned();
    let listener = ListenerOptions::new()
        .name(name)
        .try_overwrite(true)
        .create_tokio()
        .unwrap();
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let Ok(stream) = listener.accept().await else {
                continue;
            };
            let channel = BaseChannel::with_defaults(supersetd_proto::connect::transport(stream));
            let daemon = daemon.clone();
            connections.spawn(
                channel
                    .execute(daemon.serve())
                    .for_each_concurrent(None, |respond| respond),
            );
        }
    })
}

fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("control.sock")
}

/// Read events until one matches, failing with what was seen after the deadline.
async fn wait_for(
    conn: &mut ConnHandle,
    what: &str,
    mut pred: impl FnMut(&ConnEvent) -> bool,
) -> ConnEvent {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, conn.events.recv()).await {
            Ok(Some(event)) if pred(&event) => return event,
            Ok(Some(event)) => seen.push(format!("{event:?}")),
            Ok(None) => panic!("connection task ended while waiting for {what}; saw {seen:#?}"),
            Err(_) => panic!(
                "no {what} within 10 s; the last events were {:#?}",
                &seen[seen.len().saturating_sub(8)..]
            ),
        }
    }
}

fn is_done(e: &ConnEvent) -> bool {
    matches!(e, ConnEvent::CommandDone { .. })
}

#[tokio::test]
async fn connects_polls_tails_and_runs_commands() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = FakeDaemon::default();
    let server = serve(&socket_in(&dir), daemon.clone());
    let mut conn = conn::spawn(socket_in(&dir), false);
    wait_for(
        &mut conn,
        "handshake",
        |e| matches!(e, ConnEvent::Connected(h) if h.pid == 777),
    )
    .await;
    wait_for(
        &mut conn,
        "status",
        |e| matches!(e, ConnEvent::Status(s) if s.version == "9.9.9"),
    )
    .await;
    wait_for(
        &mut conn,
        "jobs",
        |e| matches!(e, ConnEvent::Jobs(j) if j.len() == 1),
    )
    .await;
    wait_for(
        &mut conn,
        "logs",
        |e| matches!(e, ConnEvent::Logs { batch, .. } if batch.entries.len() == 1),
    )
    .await;

    conn.try_send(Command::PauseJob(JobName::from("update")))
        .unwrap();
    let done = wait_for(&mut conn, "pause outcome", is_done).await;
    assert!(
        matches!(done, ConnEvent::CommandDone { ref text, is_error: false } if text == "paused update"),
        "{done:?}"
    );
    wait_for(
        &mut conn,
        "paused job",
        |e| matches!(e, ConnEvent::Jobs(j) if j[0].is_paused),
    )
    .await;

    conn.try_send(Command::CancelJob(JobName::from("update")))
        .unwrap();
    let done = wait_for(&mut conn, "cancel outcome", is_done).await;
    assert!(
        matches!(done, ConnEvent::CommandDone { ref text, is_error: true } if text.contains("no active run")),
        "{done:?}"
    );

    // A new filter restarts the tail from the backlog with that level.
    let warn = LogFilter {
        min_level: Some(LogLevel::Warn),
        run: None,
    };
    conn.try_send(Command::TailLogs { filter: warn }).unwrap();
    wait_for(
        &mut conn,
        "reset",
        |e| matches!(e, ConnEvent::LogsReset { filter } if *filter == warn),
    )
    .await;
    wait_for(&mut conn, "filtered logs", |e| {
        matches!(e, ConnEvent::Logs { filter, batch }
            if *filter == warn && batch.entries.iter().any(|l| l.text.contains("Some(Warn)")))
    })
    .await;
    assert_eq!(daemon.calls(), vec!["pause update".to_owned()]);
    server.abort();
}

#[tokio::test]
async fn read_only_never_sends_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = FakeDaemon::default();
    let server = serve(&socket_in(&dir), daemon.clone());
    let mut conn = conn::spawn(socket_in(&dir), true);
    wait_for(&mut conn, "handshake", |e| {
        matches!(e, ConnEvent::Connected(_))
    })
    .await;
    conn.try_send(Command::RunJob(JobName::from("update")))
        .unwrap();
    let done = wait_for(&mut conn, "refusal", is_done).await;
    assert!(
        matches!(done, ConnEvent::CommandDone { ref text, is_error: true } if text.contains("read-only")),
        "{done:?}"
    );
    assert!(daemon.calls().is_empty());
    server.abort();
}

#[tokio::test]
async fn an_incompatible_daemon_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = FakeDaemon {
        is_incompatible: true,
        ..FakeDaemon::default()
    };
    let server = serve(&socket_in(&dir), daemon);
    let mut conn = conn::spawn(socket_in(&dir), false);
    let event = wait_for(&mut conn, "incompatible", |e| {
        matches!(e, ConnEvent::Incompatible(_))
    })
    .await;
    let ConnEvent::Incompatible(text) = event else {
        unreachable!()
    };
    assert!(text.contains("incompatible daemon version"), "{text}");
    assert!(text.contains("upgrade"), "{text}");
    server.abort();
}

#[tokio::test]
async fn reconnects_with_backoff_when_the_daemon_comes_and_goes() {
    let dir = tempfile::tempdir().unwrap();
    let socket = socket_in(&dir);
    let mut conn = conn::spawn(socket.clone(), false);
    // No daemon yet: attempts count up, each reporting the previous error.
    wait_for(&mut conn, "third attempt", |e| {
        matches!(e, ConnEvent::Connecting { attempt: 3, last_error: Some(err) }
            if err.contains("cannot reach supersetd"))
    })
    .await;
    // Commands while disconnected are answered, not queued forever.
    conn.try_send(Command::PauseJob(JobName::from("update")))
        .unwrap();
    wait_for(&mut conn, "not connected", |e| {
        matches!(e, ConnEvent::CommandDone { text, is_error: true } if text.contains("not connected"))
    })
    .await;

    let server = serve(&socket, FakeDaemon::default());
    wait_for(&mut conn, "handshake", |e| {
        matches!(e, ConnEvent::Connected(_))
    })
    .await;
    wait_for(&mut conn, "status", |e| matches!(e, ConnEvent::Status(_))).await;

    // The daemon goes away: the session ends and reconnecting starts, naming the cause.
    server.abort();
    let _ = server.await;
    wait_for(&mut conn, "lost connection", |e| {
        matches!(
            e,
            ConnEvent::Connecting {
                last_error: Some(_),
                ..
            }
        )
    })
    .await;

    let server = serve(&socket, FakeDaemon::default());
    wait_for(&mut conn, "handshake again", |e| {
        matches!(e, ConnEvent::Connected(_))
    })
    .await;
    wait_for(&mut conn, "logs restart", |e| {
        matches!(e, ConnEvent::LogsReset { .. })
    })
    .await;
    server.abort();
}
