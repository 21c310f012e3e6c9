//! Exit codes and the one error type commands return.
//!
//! The codes are the contract's: scripts branch on them, so every failure is mapped here,
//! once, from what went wrong (a [`ClientError`], a [`ControlError`] the daemon returned, a
//! failed write) rather than decided ad hoc in each command.

use std::io;
use std::process::ExitCode;

use supersetd_proto::{ConnectError, ControlError};

use crate::client::ClientError;

/// The contract's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// The operation failed (including a run that did not succeed).
    Failed = 1,
    /// Usage error or an invalid argument.
    Usage = 2,
    /// The daemon is not reachable or did not answer within the timeout.
    Unreachable = 3,
    /// No such job, run or service.
    NotFound = 4,
    PermissionDenied = 5,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// A failure to report: `supersetctl: <what>: <why>` and an optional `hint:` line.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub what: String,
    pub why: String,
    pub hint: Option<String>,
    /// Nothing to print (stdout went away: a closed pipe is not an error).
    pub quiet: bool,
}

impl CliError {
    pub fn new(exit: Exit, what: impl Into<String>, why: impl Into<String>) -> Self {
        CliError {
            exit,
            what: what.into(),
            why: why.into(),
            hint: None,
            quiet: false,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Map a client failure while doing `what`.
    pub fn client(what: impl Into<String>, err: ClientError) -> Self {
        let what = what.into();
        match err {
            // The socket's mode (or its directory's) kept us out: a permission problem, not a
            // missing daemon.
            ClientError::Connect(ConnectError::Unreachable { path, source })
                if source.kind() == io::ErrorKind::PermissionDenied =>
            {
                CliError::new(Exit::PermissionDenied, what, format!("cannot open supersetd's socket {}: {source}", path.display()))
                    .hint("run as the daemon's user or root, or ask for membership of its [control] operator_group or viewer_group")
            }
            ClientError::Connect(ConnectError::Unreachable { path, source }) => {
                CliError::new(Exit::Unreachable, what, format!("cannot reach supersetd at {}: {source}", path.display()))
                    .hint("start it with \"supersetd start\"; if it runs with another configuration, pass its --config or --socket")
            }
            ClientError::Connect(e @ (ConnectError::Timeout { .. } | ConnectError::Transport { .. })) => {
                CliError::new(Exit::Unreachable, what, e.to_string())
                    .hint("the daemon may be stopped, overloaded or restarting; raise --timeout to wait longer")
            }
            ClientError::Connect(e @ ConnectError::Incompatible { .. }) => CliError::new(Exit::Failed, what, e.to_string()),
            // At hello, "unavailable" means the daemon is too busy to take the connection.
            ClientError::Connect(ConnectError::Refused(err @ ControlError::Unavailable { .. })) => {
                CliError::new(Exit::Unreachable, what, err.to_string())
                    .hint("other supersetctl or console sessions hold every connection; retry shortly")
            }
            ClientError::Connect(ConnectError::Refused(err)) | ClientError::Daemon(err) => Self::daemon(what, err),
            e @ (ClientError::Config { .. } | ClientError::SocketPath(_)) => {
                CliError::new(Exit::Usage, what, e.to_string()).hint("pass --socket PATH or fix the configuration")
            }
        }
    }

    fn daemon(what: String, err: ControlError) -> Self {
        let why = err.to_string();
        match err {
            ControlError::NotFound { kind, .. } => {
                let e = CliError::new(Exit::NotFound, what, why);
                match kind.as_str() {
                    "job" => e.hint("\"supersetctl jobs\" lists the jobs"),
                    "run" => e.hint("\"supersetctl runs\" lists recent runs"),
                    _ => e,
                }
            }
            ControlError::PermissionDenied { .. } => {
                CliError::new(Exit::PermissionDenied, what, why)
            }
            ControlError::Invalid { .. } => CliError::new(Exit::Usage, what, why),
            ControlError::IncompatibleVersion { .. } => CliError::new(Exit::Failed, what, why)
                .hint("upgrade the older of supersetctl and supersetd"),
            ControlError::Conflict { .. }
            | ControlError::Unavailable { .. }
            | ControlError::Internal { .. } => CliError::new(Exit::Failed, what, why),
        }
    }

    /// Print to stderr (unless quiet) and give the exit code.
    pub fn report(&self) -> ExitCode {
        if !self.quiet {
            eprintln!("supersetctl: {}: {}", self.what, self.why);
            if let Some(hint) = &self.hint {
                eprintln!("hint: {hint}");
            }
        }
        self.exit.into()
    }

    /// With `--json`, scripts read stdout only: the error goes there too, as the one JSON
    /// document (`{"error": {...}}`), besides the usual lines on stderr.
    pub fn report_json(&self) -> ExitCode {
        if !self.quiet {
            let doc = serde_json::json!({
                "error": {
                    "what": self.what,
                    "message": self.why,
                    "hint": self.hint,
                    "exit_code": self.exit as u8,
                }
            });
            println!("{doc}");
        }
        self.report()
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return CliError {
                exit: Exit::Ok,
                what: String::new(),
                why: String::new(),
                hint: None,
                quiet: true,
            };
        }
        CliError::new(Exit::Failed, "cannot write output", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daemon_errors_map_to_contract_codes() {
        let nf = ControlError::NotFound {
            kind: "job".into(),
            name: "x".into(),
        };
        assert_eq!(
            CliError::client("pause", ClientError::Daemon(nf)).exit,
            Exit::NotFound
        );
        let pd = ControlError::PermissionDenied {
            reason: "no".into(),
        };
        assert_eq!(
            CliError::client("x", ClientError::Daemon(pd)).exit,
            Exit::PermissionDenied
        );
        let inv = ControlError::Invalid {
            field: "limit".into(),
            reason: "0".into(),
        };
        assert_eq!(
            CliError::client("x", ClientError::Daemon(inv)).exit,
            Exit::Usage
        );
        let busy = ControlError::Unavailable {
            service: "control socket".into(),
            reason: "daemon busy".into(),
        };
        let busy = CliError::client("status", ClientError::Connect(ConnectError::Refused(busy)));
        assert_eq!(busy.exit, Exit::Unreachable);
        assert!(busy.why.contains("daemon busy"), "{}", busy.why);
        let broken = CliError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(broken.quiet && broken.exit == Exit::Ok);
    }
}
