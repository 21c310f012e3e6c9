//! The connection task: everything that talks to the daemon, off the UI's path.
//!
//! [`spawn`] starts one task that connects (with a timeout), polls status and jobs once a
//! second, long-polls the log ring, and executes [`Command`]s. It reports through a bounded
//! channel of [`ConnEvent`]s and never holds the UI up: the event loop only ever `try_send`s
//! commands. Any transport failure ends the session and the task reconnects with backoff
//! (250 ms doubling to 5 s) while the header says so; a daemon speaking another protocol
//! version is reported as such and retried at the slowest rate, in case it gets upgraded.
//!
//! Socket resolution ([`resolve_socket`]) is here for now; it moves to the shared `client`
//! module once that exists.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use futures::future::Future;
use supersetd_proto::connect::context_with_timeout;
use supersetd_proto::{
    Access, CancelTarget, ConnectError, ControlClient, ControlError, LogBatch, LogLevel, LogQuery,
    SocketPathError,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::msg::{Command, ConnEvent};

pub const CLIENT_NAME: &str = "superset-console";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_secs(1);
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one `tail_logs` call waits for a line; short enough to notice a dead daemon soon.
const LOG_WAIT_MS: u64 = 5_000;
/// Lines shown from before the console started.
const LOG_BACKLOG: u32 = 500;
const LOG_BATCH_MAX: u32 = 1_000;
/// Pause before asking again after the daemon refused a log read, so a refusal is not a loop.
const LOG_RETRY: Duration = Duration::from_secs(2);

/// Where the control socket is, for the TUI: `--socket`, else `$SUPERSETD_SOCKET`, else the
/// daemon's rule (`[control] socket` from the config, `$XDG_RUNTIME_DIR`, the state dir).
pub fn resolve_socket(
    explicit: Option<&Path>,
    config: Option<&Path>,
) -> Result<PathBuf, SocketError> {
    if let Some(path) = explicit {
        return Ok(supersetd_proto::resolve_socket_path(
            Some(path),
            None,
            Path::new("/"),
        )?);
    }
    if let Some(env) = std::env::var_os("SUPERSETD_SOCKET").filter(|v| !v.is_empty()) {
        return Ok(supersetd_proto::resolve_socket_path(
            Some(Path::new(&env)),
            None,
            Path::new("/"),
        )?);
    }
    let config_path = config
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("SUPERSETD_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| Some(PathBuf::from("supersetd.toml")).filter(|p| p.is_file()));
    let (socket, state_dir) = match config_path {
        Some(path) => read_config(&path)?,
        None => (None, None),
    };
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let state_dir = state_dir.unwrap_or_else(supersetd_proto::default_state_dir);
    Ok(supersetd_proto::resolve_socket_path(
        socket.as_deref(),
        runtime.as_deref(),
        &state_dir,
    )?)
}

/// The two settings that place the socket: `[control] socket` and `state_dir`.
fn read_config(path: &Path) -> Result<(Option<PathBuf>, Option<PathBuf>), SocketError> {
    let bad = |reason: String| SocketError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_owned()))?;
    let socket = table
        .get("control")
        .and_then(|c| c.get("socket"))
        .and_then(|s| s.as_str())
        .map(PathBuf::from);
    let state_dir = table
        .get("state_dir")
        .and_then(|s| s.as_str())
        .map(PathBuf::from);
    Ok((socket, state_dir))
}

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("{0}")]
    Path(#[from] SocketPathError),
    #[error("cannot read the configuration {path}: {reason}")]
    Config { path: PathBuf, reason: String },
}

/// The UI's end of the connection task. Dropping it stops the task.
pub struct ConnHandle {
    commands: mpsc::Sender<Command>,
    pub events: mpsc::Receiver<ConnEvent>,
    task: JoinHandle<()>,
}

impl ConnHandle {
    /// Queue a command without waiting; `Err` carries a message for the footer.
    pub fn try_send(&self, command: Command) -> Result<(), String> {
        self.commands.try_send(command).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                "busy: too many commands in flight, try again".to_owned()
            }
            mpsc::error::TrySendError::Closed(_) => "the connection task has stopped".to_owned(),
        })
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start the connection task for `socket`. `read_only` refuses mutating commands here too,
/// not only in the keymap.
pub fn spawn(socket: PathBuf, read_only: bool) -> ConnHandle {
    let (commands, command_rx) = mpsc::channel(16);
    let (event_tx, events) = mpsc::channel(64);
    let task = tokio::spawn(run(socket, read_only, command_rx, event_tx));
    ConnHandle {
        commands,
        events,
        task,
    }
}

/// Why a session ended.
enum End {
    /// The UI is gone; stop.
    Closed,
    /// The daemon went away; reconnect.
    Lost(String),
}

async fn run(
    socket: PathBuf,
    read_only: bool,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<ConnEvent>,
) {
    let mut attempt = 0;
    let mut backoff = BACKOFF_START;
    let mut last_error = None;
    let mut min_level = None;
    loop {
        attempt += 1;
        let connecting = ConnEvent::Connecting {
            attempt,
            last_error: last_error.clone(),
        };
        if events.send(connecting).await.is_err() {
            return;
        }
        let mut wait = backoff;
        match supersetd_proto::connect(&socket, CLIENT_NAME, CONNECT_TIMEOUT).await {
            Ok(conn) => {
                let read_only = read_only || conn.hello.access == Access::Viewer;
                if events.send(ConnEvent::Connected(conn.hello)).await.is_err() {
                    return;
                }
                let mut session = Session {
                    client: conn.client,
                    events: &events,
                    read_only,
                    min_level,
                    log_cursor: None,
                };
                let end = session.run(&mut commands).await;
                min_level = session.min_level;
                match end {
                    End::Closed => return,
                    End::Lost(error) => last_error = Some(error),
                }
                attempt = 0;
                backoff = BACKOFF_START;
                wait = Duration::ZERO;
            }
            Err(e @ ConnectError::Incompatible { .. }) => {
                if events
                    .send(ConnEvent::Incompatible(e.to_string()))
                    .await
                    .is_err()
                {
                    return;
                }
                last_error = Some(e.to_string());
                wait = BACKOFF_MAX;
            }
            Err(e @ ConnectError::Unreachable { .. }) => {
                let hint = "hint: start it with \"supersetd start\" or pass --socket";
                last_error = Some(format!("{e}; {hint}"));
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
            Err(e) => {
                last_error = Some(e.to_string());
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
        match wait_answering(wait, &mut commands, &events, &mut min_level).await {
            Ok(()) => {}
            Err(End::Closed | End::Lost(_)) => return,
        }
    }
}

/// Sleep for `wait` while telling the UI that commands cannot run now.
async fn wait_answering(
    wait: Duration,
    commands: &mut mpsc::Receiver<Command>,
    events: &mpsc::Sender<ConnEvent>,
    min_level: &mut Option<LogLevel>,
) -> Result<(), End> {
    let sleep = tokio::time::sleep(wait);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return Ok(()),
            command = commands.recv() => match command {
                None => return Err(End::Closed),
                Some(Command::TailLogs { min_level: level }) => *min_level = level,
                Some(_) => {
                    let text = "not connected to supersetd; try again once the header says connected".to_owned();
                    emit(events, ConnEvent::CommandDone { text, is_error: true }).await?;
                }
            }
        }
    }
}

async fn emit(events: &mpsc::Sender<ConnEvent>, event: ConnEvent) -> Result<(), End> {
    events.send(event).await.map_err(|_| End::Closed)
}

type LogFuture = Pin<
    Box<
        dyn Future<Output = Result<Result<LogBatch, ControlError>, tarpc::client::RpcError>> + Send,
    >,
>;

/// One connected session: polling, the log tail and commands, until the transport fails.
struct Session<'a> {
    client: ControlClient,
    events: &'a mpsc::Sender<ConnEvent>,
    read_only: bool,
    min_level: Option<LogLevel>,
    /// `None` until the first batch: then the backlog is read with `tail`.
    log_cursor: Option<u64>,
}

impl Session<'_> {
    async fn run(&mut self, commands: &mut mpsc::Receiver<Command>) -> End {
        match self.run_inner(commands).await {
            Ok(never) => match never {},
            Err(end) => end,
        }
    }

    async fn run_inner(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<std::convert::Infallible, End> {
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        emit(
            self.events,
            ConnEvent::LogsReset {
                min_level: self.min_level,
            },
        )
        .await?;
        let mut logs = self.tail(Duration::ZERO);
        loop {
            tokio::select! {
                _ = poll.tick() => self.refresh().await?,
                command = commands.recv() => {
                    let Some(command) = command else { return Err(End::Closed) };
                    if let Command::TailLogs { min_level } = command {
                        self.min_level = min_level;
                        self.log_cursor = None;
                        emit(self.events, ConnEvent::LogsReset { min_level }).await?;
                        logs = self.tail(Duration::ZERO);
                    } else {
                        self.execute(command).await?;
                        self.refresh().await?;
                    }
                }
                reply = &mut logs => {
                    let delay = self.take_logs(reply).await?;
                    logs = self.tail(delay);
                }
            }
        }
    }

    /// Handle one `tail_logs` reply; returns how long to wait before the next read.
    async fn take_logs(
        &mut self,
        reply: Result<Result<LogBatch, ControlError>, tarpc::client::RpcError>,
    ) -> Result<Duration, End> {
        match reply {
            Ok(Ok(batch)) => {
                self.log_cursor = Some(batch.next_cursor);
                emit(
                    self.events,
                    ConnEvent::Logs {
                        min_level: self.min_level,
                        batch,
                    },
                )
                .await?;
                Ok(Duration::ZERO)
            }
            Ok(Err(error)) => {
                emit(
                    self.events,
                    ConnEvent::RequestFailed {
                        what: "logs",
                        error: error.to_string(),
                    },
                )
                .await?;
                Ok(LOG_RETRY)
            }
            Err(e) => Err(End::Lost(format!("reading logs failed: {e}"))),
        }
    }

    /// The next log read, after `delay`: the backlog first, then a long poll from the cursor.
    fn tail(&self, delay: Duration) -> LogFuture {
        let client = self.client.clone();
        let query = LogQuery {
            cursor: self.log_cursor.unwrap_or(0),
            max: LOG_BATCH_MAX,
            wait_ms: if self.log_cursor.is_some() {
                LOG_WAIT_MS
            } else {
                0
            },
            min_level: self.min_level,
            tail: if self.log_cursor.is_some() {
                None
            } else {
                Some(LOG_BACKLOG)
            },
            ..LogQuery::default()
        };
        let timeout = REQUEST_TIMEOUT + Duration::from_millis(query.wait_ms);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            client.tail_logs(context_with_timeout(timeout), query).await
        })
    }

    async fn refresh(&self) -> Result<(), End> {
        let (status, jobs) = tokio::join!(
            self.client
                .get_status(context_with_timeout(REQUEST_TIMEOUT)),
            self.client.list_jobs(context_with_timeout(REQUEST_TIMEOUT)),
        );
        let lost = |e: tarpc::client::RpcError| End::Lost(format!("polling failed: {e}"));
        match status.map_err(lost)? {
            Ok(status) => emit(self.events, ConnEvent::Status(status)).await?,
            Err(e) => {
                emit(
                    self.events,
                    ConnEvent::RequestFailed {
                        what: "status",
                        error: e.to_string(),
                    },
                )
                .await?
            }
        }
        match jobs.map_err(lost)? {
            Ok(jobs) => emit(self.events, ConnEvent::Jobs(jobs)).await?,
            Err(e) => {
                emit(
                    self.events,
                    ConnEvent::RequestFailed {
                        what: "jobs",
                        error: e.to_string(),
                    },
                )
                .await?
            }
        }
        Ok(())
    }

    /// Run a daemon-facing command and report its outcome for the footer.
    async fn execute(&self, command: Command) -> Result<(), End> {
        if self.read_only && command.is_mutating() {
            let text = "read-only: this console does not change the daemon".to_owned();
            return emit(
                self.events,
                ConnEvent::CommandDone {
                    text,
                    is_error: true,
                },
            )
            .await;
        }
        let ctx = || context_with_timeout(REQUEST_TIMEOUT);
        let c = &self.client;
        let (what, result) = match command {
            Command::PauseJob(job) => (
                format!("pause {job}"),
                c.pause_job(ctx(), job.clone())
                    .await
                    .map(|r| r.map(|_| format!("paused {job}"))),
            ),
            Command::ResumeJob(job) => (
                format!("resume {job}"),
                c.resume_job(ctx(), job.clone())
                    .await
                    .map(|r| r.map(|_| format!("resumed {job}"))),
            ),
            Command::RunJob(job) => (
                format!("run {job}"),
                c.run_job(ctx(), job.clone())
                    .await
                    .map(|r| r.map(|id| format!("started run {id} of {job}"))),
            ),
            Command::CancelJob(job) => (
                format!("cancel {job}"),
                c.cancel(ctx(), CancelTarget::Job(job.clone()))
                    .await
                    .map(|r| r.map(|id| format!("asked run {id} of {job} to stop"))),
            ),
            // Handled by the caller and by `App`; nothing to send.
            Command::TailLogs { .. } | Command::Confirm { .. } => return Ok(()),
        };
        let event = match result {
            Ok(Ok(text)) => ConnEvent::CommandDone {
                text,
                is_error: false,
            },
            Ok(Err(e)) => ConnEvent::CommandDone {
                text: format!("{what} failed: {e}"),
                is_error: true,
            },
            Err(e) => {
                let text = format!("{what} failed: no answer from supersetd ({e})");
                emit(
                    self.events,
                    ConnEvent::CommandDone {
                        text,
                        is_error: true,
                    },
                )
                .await?;
                return Err(End::Lost(e.to_string()));
            }
        };
        emit(self.events, event).await
    }
}
