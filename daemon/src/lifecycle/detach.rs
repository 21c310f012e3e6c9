//! `supersetd start`: detach from the terminal and report back only once the daemon serves.
//!
//! The double fork is `daemonix` (the maintained fork of `daemonize` without its undefined
//! behaviour; we never call `privileged_action`). A double fork alone tells the launcher
//! nothing: it returns as soon as the intermediate child exits, before the daemon has taken
//! its pid lock or bound its socket. So the launcher and the daemon share a socket pair made
//! before the fork; the daemon writes `READY <pid>` once its control socket answers, or
//! `FAIL <reason>`, and a daemon that dies silently closes the pair, which the launcher reads
//! as end of file. No tokio runtime may exist before the fork (a forked runtime deadlocks),
//! so everything here is blocking std code.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::logfile::{self, LogFileError};

/// The daemon's end: tell the launcher how start-up went.
#[derive(Debug)]
pub struct ReadyWriter(UnixStream);

impl ReadyWriter {
    pub fn ready(mut self) {
        let _ = writeln!(self.0, "READY {}", std::process::id());
    }

    pub fn fail(mut self, reason: &str) {
        let _ = writeln!(self.0, "FAIL {}", reason.replace('\n', " "));
    }
}

/// What the launcher learns.
#[derive(Debug, PartialEq, Eq)]
pub enum StartReport {
    Ready {
        pid: u32,
    },
    Failed {
        reason: String,
    },
    /// The daemon exited without a word (see its log).
    Died,
    TimedOut,
}

pub enum Detached {
    Launcher(StartReport),
    Daemon(ReadyWriter),
}

#[derive(Debug, thiserror::Error)]
pub enum DetachError {
    #[error(transparent)]
    LogFile(#[from] LogFileError),
    #[error("cannot create the start-up channel: {0}")]
    Channel(std::io::Error),
    #[error("cannot detach: {0}")]
    Fork(String),
}

/// Fork into the background. Returns in both processes: the launcher gets the daemon's report
/// (waiting at most `wait`), the daemon gets the writer to report with.
pub fn detach(log_file: &Path, wait: Duration) -> Result<Detached, DetachError> {
    let log = logfile::open(log_file)?;
    let log2 = log.try_clone().map_err(|source| LogFileError::Open {
        path: log_file.to_path_buf(),
        source,
    })?;
    let (launcher_end, daemon_end) = UnixStream::pair().map_err(DetachError::Channel)?;
    let outcome = daemonix::Daemonize::new()
        .working_directory("/")
        .umask(0o027)
        .stdout(log)
        .stderr(log2)
        .execute();
    match outcome {
        daemonix::Outcome::Parent(Ok(_)) => {
            drop(daemon_end);
            Ok(Detached::Launcher(read_report(launcher_end, wait)))
        }
        daemonix::Outcome::Parent(Err(e)) => Err(DetachError::Fork(e.to_string())),
        daemonix::Outcome::Child(Ok(_)) => {
            drop(launcher_end);
            Ok(Detached::Daemon(ReadyWriter(daemon_end)))
        }
        // In the child with nowhere sensible to report but the channel and the log.
        daemonix::Outcome::Child(Err(e)) => {
            ReadyWriter(daemon_end).fail(&format!("cannot detach: {e}"));
            std::process::exit(1);
        }
    }
}

fn read_report(stream: UnixStream, wait: Duration) -> StartReport {
    if stream.set_read_timeout(Some(wait)).is_err() {
        return StartReport::TimedOut;
    }
    let mut line = String::new();
    match BufReader::new(stream).read_line(&mut line) {
        Ok(0) => StartReport::Died,
        Ok(_) => parse_report(line.trim_end()),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            StartReport::TimedOut
        }
        Err(_) => StartReport::Died,
    }
}

fn parse_report(line: &str) -> StartReport {
    if let Some(pid) = line.strip_prefix("READY ").and_then(|p| p.parse().ok()) {
        return StartReport::Ready { pid };
    }
    match line.strip_prefix("FAIL ") {
        Some(reason) => StartReport::Failed {
            reason: reason.to_owned(),
        },
        None => StartReport::Died,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let (a, b) = UnixStream::pair().unwrap();
        ReadyWriter(b).fail("already running (pid 7)");
        assert_eq!(
            read_report(a, Duration::from_secs(1)),
            StartReport::Failed {
                reason: "already running (pid 7)".into()
            }
        );
        let (a, b) = UnixStream::pair().unwrap();
        drop(b);
        assert_eq!(read_report(a, Duration::from_secs(1)), StartReport::Died);
        let (a, _b) = UnixStream::pair().unwrap();
        assert_eq!(
            read_report(a, Duration::from_millis(50)),
            StartReport::TimedOut
        );
    }
}
