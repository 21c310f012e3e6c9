//! Process life: `supersetd run`, `start`, `stop` and `check-config`.
//!
//! This is the one module that knows every concrete type (which store, which sender, which
//! sources) and wires them together. The order matters and is fixed here: parse arguments and
//! configuration, take the pid lock, fork if detaching, and only then start tokio — a runtime
//! built before `fork` deadlocks the child.

mod daemon;
pub mod detach;
pub mod logfile;
pub(crate) mod logging;
pub mod pidfile;
pub mod stop;

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};

/// supersetd: placement alerts from the SuperSet portal to Telegram.
#[derive(Debug, Parser)]
#[command(name = "supersetd", version, about)]
pub struct Cli {
    /// Configuration file (default: $SUPERSETD_CONFIG, else ./supersetd.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run in the foreground, logging to stderr.
    Run,
    /// Start in the background; returns once the control socket answers.
    Start {
        /// How long to wait for the daemon to become ready.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        wait: u64,
    },
    /// Stop the running daemon gracefully.
    Stop {
        /// How long to wait for it to exit.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        timeout: u64,
    },
    /// Validate the configuration and print it with secrets masked.
    CheckConfig,
}

/// Man page sections beyond the commands and options (`supersetd(8)`).
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "CONFIGURATION",
        "--config FILE, else $SUPERSETD_CONFIG, else ./supersetd.toml if present, else built-in defaults. Environment variables override the file; a .env file in the working directory is loaded first. supersetd check-config prints the effective configuration with secrets masked. [control] socket sets the control socket; [control] operator_group and viewer_group open it to a group (socket 0660 for one group; with two, 0666 and every call is authorised from the peer's credentials).",
    ),
    (
        "SIGNALS",
        "SIGTERM and SIGINT stop gracefully: no new work, running steps finish or checkpoint within drain_secs (default 20), then exit 0. SIGHUP reopens the log files.",
    ),
    (
        "FILES",
        "<state_dir>/supersetd.sqlite3 (embedded store), <state_dir>/supersetd.pid (pid file, locked while running), <state_dir>/supersetd.log (log of a detached daemon), the control socket (default $XDG_RUNTIME_DIR/supersetd/control.sock, else <state_dir>/control.sock; its directory is created 0700).",
    ),
    (
        "EXIT STATUS",
        "0 success (also stop when none was running); 1 could not start or stop (the reason is printed); 2 invalid configuration.",
    ),
    ("SEE ALSO", "supersetctl(1), superset-console(1)"),
];

/// Exit codes shared with supersetctl's conventions.
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;

/// Create the state (or log) directory and missing parents as 0750: it holds the pid file, the
/// logs and often the store, which are not for other users. `start` creates it before its
/// umask 027 applies, so the mode is given here. An existing directory is left as it is.
pub(crate) fn create_state_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(dir)
}

/// The daemon binary's entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match config::load(cli.config.as_deref()) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("supersetd: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match cli.command {
        Command::CheckConfig => check_config(&cfg),
        Command::Run => daemon::run_foreground(cfg),
        Command::Start { wait } => start(cfg, Duration::from_secs(wait)),
        Command::Stop { timeout } => stop(&cfg, Duration::from_secs(timeout)),
    }
}

fn check_config(cfg: &Config) -> ExitCode {
    print!("{}", cfg.to_masked_toml());
    eprintln!(
        "supersetd: configuration is valid{}",
        cfg.source
            .as_ref()
            .map(|p| format!(" ({})", p.display()))
            .unwrap_or_default()
    );
    ExitCode::SUCCESS
}

fn start(cfg: Config, wait: Duration) -> ExitCode {
    match pidfile::holder(&cfg.pid_file()) {
        Ok(Some(pid)) => {
            eprintln!("supersetd: already running (pid {pid})");
            return ExitCode::from(EXIT_FAILED);
        }
        Ok(None) => {}
        Err(e) => {
            eprintln!("supersetd: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    }
    let log_file = cfg.daemon_log_file();
    match detach::detach(&log_file, wait) {
        Err(e) => {
            eprintln!("supersetd: cannot start: {e}");
            ExitCode::from(EXIT_FAILED)
        }
        Ok(detach::Detached::Daemon(ready)) => daemon::run_detached(cfg, ready),
        Ok(detach::Detached::Launcher(report)) => launcher_exit(report, &log_file, wait),
    }
}

fn launcher_exit(
    report: detach::StartReport,
    log_file: &std::path::Path,
    wait: Duration,
) -> ExitCode {
    use detach::StartReport::*;
    match report {
        Ready { pid } => {
            println!("{pid}");
            return ExitCode::SUCCESS;
        }
        Failed { reason } => eprintln!("supersetd: cannot start: {reason}"),
        Died => eprintln!(
            "supersetd: the daemon exited during start-up; see {}",
            log_file.display()
        ),
        TimedOut => eprintln!(
            "supersetd: the daemon did not become ready within {} s; see {}",
            wait.as_secs(),
            log_file.display()
        ),
    }
    ExitCode::from(EXIT_FAILED)
}

fn stop(cfg: &Config, timeout: Duration) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("supersetd: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    match runtime.block_on(stop::stop(cfg, timeout)) {
        Ok(stop::StopOutcome::Stopped { pid }) => {
            eprintln!("supersetd: stopped (pid {pid})");
            ExitCode::SUCCESS
        }
        Ok(stop::StopOutcome::NotRunning) => {
            eprintln!("supersetd: not running");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("supersetd: {e}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}
