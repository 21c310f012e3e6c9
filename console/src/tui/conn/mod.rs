//! The connection task: everything that talks to the daemon, off the UI's path.
//!
//! [`spawn`] starts one task that connects (with a timeout), polls status and jobs once a
//! second, long-polls the log ring, and executes [`Command`]s. It reports through a bounded
//! channel of [`ConnEvent`]s and never holds the UI up: the event loop only ever `try_send`s
//! commands. Any transport failure ends the session and the task reconnects with backoff
//! (250 ms doubling to 5 s) while the header says so; a daemon speaking another protocol
//! version is reported as such and retried at the slowest rate, in case it gets upgraded.
//!
//! `session.rs` is one connected session; the socket path comes from [`crate::client`],
//! shared with supersetctl so both binaries always find the same daemon.

use std::path::PathBuf;
use std::time::Duration;

use supersetd_proto::{Access, ConnectError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::msg::{Command, ConnEvent, LogFilter};

mod session;

use session::Session;

pub const CLIENT_NAME: &str = "superset-console";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Runs, subscribers and notices are read every this many polls.
const SLOW_POLL_EVERY: u32 = 5;
/// Rows of each list the console reads.
const LIST_LIMIT: u32 = 200;
const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How long one `tail_logs` call waits for a line; short enough to notice a dead daemon soon.
const LOG_WAIT_MS: u64 = 5_000;
/// Lines shown from before the console started.
const LOG_BACKLOG: u32 = 500;
const LOG_BATCH_MAX: u32 = 1_000;
/// Pause before asking again after the daemon refused a log read, so a refusal is not a loop.
const LOG_RETRY: Duration = Duration::from_secs(2);

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
    let mut filter = LogFilter::default();
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
                    filter,
                    log_cursor: None,
                };
                let end = session.run(&mut commands).await;
                filter = session.filter;
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
        match wait_answering(wait, &mut commands, &events, &mut filter).await {
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
    filter: &mut LogFilter,
) -> Result<(), End> {
    let sleep = tokio::time::sleep(wait);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return Ok(()),
            command = commands.recv() => match command {
                None => return Err(End::Closed),
                Some(Command::TailLogs { filter: wanted }) => *filter = wanted,
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
