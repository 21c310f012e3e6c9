//! `supersetd stop`: ask politely over the control socket, fall back to SIGTERM, and return
//! only once the process is gone.
//!
//! The pid to signal comes from the pid file only while its lock is held, i.e. while the
//! process that wrote it is alive: a stale file naming some unrelated process is never
//! signalled (the original's `stop` could kill an arbitrary process after pid reuse).

use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::pidfile;
use crate::config::Config;

#[derive(Debug, PartialEq, Eq)]
pub enum StopOutcome {
    Stopped { pid: u32 },
    NotRunning,
}

#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error(
        "supersetd (pid {pid}) is still running after {secs} s; it may be finishing a delivery. hint: wait and retry, or kill -TERM {pid}"
    )]
    StillRunning { pid: u32, secs: u64 },
    #[error(transparent)]
    PidFile(#[from] pidfile::PidFileError),
    #[error("cannot signal pid {pid}: {reason}")]
    Signal { pid: u32, reason: String },
}

pub async fn stop(cfg: &Config, timeout: Duration) -> Result<StopOutcome, StopError> {
    let pid_path = cfg.pid_file();
    let Some(pid) = pidfile::holder(&pid_path)? else {
        return Ok(StopOutcome::NotRunning);
    };
    let deadline = Instant::now() + timeout;
    if !ask_over_socket(&cfg.control.socket).await {
        signal(pid)?;
    }
    loop {
        match pidfile::holder(&pid_path)? {
            // The lock goes a moment before the process does; wait for the process too.
            None if !process_running(pid) => return Ok(StopOutcome::Stopped { pid }),
            None if Instant::now() >= deadline => {
                return Err(StopError::StillRunning {
                    pid,
                    secs: timeout.as_secs(),
                });
            }
            None => tokio::time::sleep(Duration::from_millis(10)).await,
            Some(_) if Instant::now() >= deadline => {
                return Err(StopError::StillRunning {
                    pid,
                    secs: timeout.as_secs(),
                });
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// `true` when the daemon accepted the shutdown request.
async fn ask_over_socket(socket: &Path) -> bool {
    let timeout = Duration::from_secs(3);
    let Ok(conn) = supersetd_proto::connect(socket, "supersetd-stop", timeout).await else {
        return false;
    };
    let ctx = supersetd_proto::connect::context_with_timeout(timeout);
    matches!(conn.client.shutdown(ctx).await, Ok(Ok(())))
}

/// Whether `pid` is a live process. A zombie (exited, not yet reaped by a parent that may
/// never reap it, as in a container without an init) counts as gone.
pub fn process_running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself contain spaces.
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

fn signal(pid: u32) -> Result<(), StopError> {
    if pid == 0 {
        // The lock is held but the file had no pid in it yet; nothing safe to signal.
        return Ok(());
    }
    let target = i32::try_from(pid).map_err(|_| StopError::Signal {
        pid,
        reason: "pid out of range".into(),
    })?;
    kill(Pid::from_raw(target), Signal::SIGTERM).map_err(|e| StopError::Signal {
        pid,
        reason: e.to_string(),
    })
}
