//! `supersetctl`: the scripting interface to supersetd.
//!
//! One file per noun (`status`, `jobs`, `runs`, `logs`, `subscribers`); [`output`] renders,
//! [`exit`] maps every failure to the contract's exit codes. Commands return
//! `Result<Exit, CliError>` and never print errors themselves, so each failure is reported
//! once, by [`main`], with the program name in front. Global options are `global = true` so
//! they work before or after the subcommand.

pub mod exit;
mod jobs;
mod logs;
mod ops;
pub mod output;
mod runs;
mod status;
mod subscribers;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use supersetd_proto::{ServiceAction, ServiceName};

use crate::client::{Client, SocketInputs, resolve_socket};
use exit::{CliError, Exit};
use output::Style;

#[derive(Debug, Parser)]
#[command(name = "supersetctl", version, about = "Control a running supersetd")]
pub struct Cli {
    /// The daemon's control socket (default: from --config, $SUPERSETD_SOCKET or the runtime dir).
    #[arg(long, global = true, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// Seconds to wait for the daemon before giving up with exit code 3.
    #[arg(long, global = true, value_name = "SECS", default_value = "5", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Print one JSON document (one object per line with --follow or --watch).
    #[arg(long, global = true)]
    pub json: bool,
    /// The daemon's configuration file, to find the socket.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Daemon pid, version, uptime, memory, connections, store and services.
    Status(WatchArgs),
    /// Every job: schedule, paused, next and last run.
    Jobs(WatchArgs),
    /// Start a run of JOB now and print its id.
    Run {
        job: String,
        /// Wait for the run to end; exit 0 if it succeeded, 1 otherwise.
        #[arg(long)]
        wait: bool,
    },
    /// Stop scheduling JOB (a run in progress continues).
    Pause { job: String },
    /// Schedule JOB again.
    Resume {
        job: String,
        /// Also run once now if ticks were skipped while the job was paused.
        #[arg(long)]
        catch_up: bool,
    },
    /// Cancel the active run of JOB, or the run with id RUN_ID.
    Cancel {
        #[arg(value_name = "JOB|RUN_ID")]
        target: String,
    },
    /// Run history, newest first, with step results.
    Runs {
        job: Option<String>,
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Daemon log lines.
    Logs(logs::LogsArgs),
    /// Telegram subscribers (active only unless --all).
    Subscribers {
        #[arg(long)]
        all: bool,
    },
    /// Start, stop or restart one service (the others keep running). A stopped scheduler fires
    /// no scheduled ticks; on start the missed ones follow each job's misfire policy.
    Service {
        #[arg(value_enum)]
        action: ServiceActionArg,
        #[arg(value_enum)]
        service: ServiceNameArg,
    },
    /// Stored notices, newest first.
    Notices {
        /// Only notices not yet delivered to everyone.
        #[arg(long)]
        unsent: bool,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Every delivery of one notice: recipient, state, attempts, last error.
    Deliveries {
        #[arg(value_name = "NOTICE_ID")]
        notice_id: String,
    },
    /// Send TEXT to every active subscriber (through the delivery ledger and rate limits).
    Broadcast {
        #[arg(value_name = "TEXT")]
        text: String,
    },
    /// Record every stored notice as delivered without sending (bootstrap a fresh install).
    MarkSent {
        /// Required: this marks everything, and cannot be undone.
        #[arg(long, required = true)]
        all: bool,
    },
    /// Operator actions on the control socket: who, when, what, result. Newest first.
    Audit {
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Stop the daemon gracefully.
    Shutdown,
    /// Print a shell completion script (e.g. supersetctl completions bash > /etc/bash_completion.d/supersetctl).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Print again every --interval seconds until interrupted.
    #[arg(long, short = 'w')]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_interval)]
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServiceActionArg {
    Start,
    Stop,
    Restart,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ServiceNameArg {
    Bot,
    Web,
    Scheduler,
}

impl From<ServiceActionArg> for ServiceAction {
    fn from(a: ServiceActionArg) -> Self {
        match a {
            ServiceActionArg::Start => ServiceAction::Start,
            ServiceActionArg::Stop => ServiceAction::Stop,
            ServiceActionArg::Restart => ServiceAction::Restart,
        }
    }
}

impl From<ServiceNameArg> for ServiceName {
    fn from(n: ServiceNameArg) -> Self {
        match n {
            ServiceNameArg::Bot => ServiceName::Bot,
            ServiceNameArg::Web => ServiceName::Web,
            ServiceNameArg::Scheduler => ServiceName::Scheduler,
        }
    }
}

/// A refresh interval: at least 0.1 s, so a watch cannot hammer the daemon.
fn parse_interval(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.1..=3600.0).contains(&secs) {
        return Err("must be between 0.1 and 3600 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 3600.0) {
        return Err("must be more than 0 and at most 3600 seconds".to_owned());
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Man page sections beyond the commands and options (`supersetctl(1)`).
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "EXIT STATUS",
        "0 ok. 1 the operation failed (also: run --wait of a run that did not succeed, status with an unhealthy store). 2 usage error or invalid argument. 3 the daemon is not reachable: no socket, connection refused, or no answer within --timeout (never a hang). 4 no such job, run, service or notice. 5 permission denied (the socket's mode keeps this user out, or the daemon refused the peer's credentials, or a viewer tried to act).",
    ),
    (
        "JSON OUTPUT",
        "With --json each command prints one JSON document on stdout (one object per line with --follow or --watch); an error prints {\"error\": {\"what\", \"message\", \"hint\", \"exit_code\"}}. Field names are stable. status: pid, version, started_at, uptime_ms, rss_bytes, connections, store {backend, location, healthy, error}, services [{name, state, since, restarts, last_error}]. jobs: [{name, schedule, timezone, is_paused, next_run, last_run, active_run}]. runs and run --wait: {id, job, trigger, started_at, ended_at, duration_ms, outcome, steps [{name, started_at, ended_at, outcome, counts, error}], error}. logs: {entries [{seq, time, level, target, text, run}], next_cursor, dropped}. subscribers: [{user_id, chat_id, username, first_name, last_name, is_active, created_at, updated_at}]. notices: [{id, title, source, author, category, created_at, saved_at, is_sent, sent_at}]. deliveries: [{notice_id, recipient, state, attempts, chunks_sent, message_ids, last_error, not_before, created_at, updated_at}]. broadcast: {notice_id}. mark-sent: {marked}. audit: [{id, at, uid, user, pid, client, action, target, error}]. service: {name, state, since, restarts, last_error}. Times are RFC 3339 in UTC; durations are integer milliseconds (_ms).",
    ),
    (
        "ACCESS",
        "The daemon's user and root may read and act. Members of [control] operator_group may act; members of [control] viewer_group may only read. Everyone else is refused with exit 5. Every action, allowed or refused, is recorded: supersetctl audit.",
    ),
    (
        "ENVIRONMENT",
        "SUPERSETD_SOCKET names the control socket; SUPERSETD_CONFIG the daemon's configuration file (read only for [control] socket and state_dir). NO_COLOR (any non-empty value) turns colour off. Otherwise the socket is $XDG_RUNTIME_DIR/supersetd/control.sock, else <state_dir>/control.sock.",
    ),
    ("SEE ALSO", "superset-console(1), supersetd(8)"),
];

/// What every command needs: how to print and how to reach the daemon.
pub struct Env {
    pub style: Style,
    pub timeout: Duration,
    socket: Option<PathBuf>,
    config: Option<PathBuf>,
}

impl Env {
    /// Resolve the socket and connect, within the timeout.
    pub async fn connect(&self) -> Result<Client, CliError> {
        let inputs = SocketInputs::from_env(self.socket.clone(), self.config.clone());
        let path = resolve_socket(&inputs)
            .map_err(|e| CliError::client("cannot find the control socket", e))?;
        Client::connect(&path, "supersetctl", self.timeout)
            .await
            .map_err(|e| CliError::client("cannot connect", e))
    }
}

/// Parse the arguments (exit 2 on a usage error), run the command, report.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return CliError::new(Exit::Failed, "cannot start", e.to_string()).report(),
    };
    match runtime.block_on(run(cli)) {
        Ok(exit) => exit.into(),
        Err(err) if json => err.report_json(),
        Err(err) => err.report(),
    }
}

/// Run one parsed command.
pub async fn run(cli: Cli) -> Result<Exit, CliError> {
    let env = Env {
        style: Style::detect(cli.json),
        timeout: cli.timeout,
        socket: cli.socket,
        config: cli.config,
    };
    match cli.command {
        Command::Status(w) if w.watch => {
            let style = env.style;
            watch::watch(
                &env,
                "status",
                w.interval,
                |c| async move { status::fetch(&c).await },
                |out, s| status::render(out, s, &style),
            )
            .await
        }
        Command::Status(_) => status::status(&env).await,
        Command::Jobs(w) if w.watch => {
            let style = env.style;
            watch::watch(
                &env,
                "jobs",
                w.interval,
                |c| async move { jobs::fetch(&c).await },
                |out, j| jobs::render(out, j, &style),
            )
            .await
        }
        Command::Jobs(_) => jobs::list(&env).await,
        Command::Run { job, wait } => jobs::run(&env, job, wait).await,
        Command::Pause { job } => jobs::pause(&env, job, true, false).await,
        Command::Resume { job, catch_up } => jobs::pause(&env, job, false, catch_up).await,
        Command::Cancel { target } => jobs::cancel(&env, target).await,
        Command::Runs { job, limit } => runs::list(&env, job, limit).await,
        Command::Logs(args) => logs::logs(&env, args).await,
        Command::Subscribers { all } => subscribers::list(&env, all).await,
        Command::Shutdown => status::shutdown(&env).await,
        Command::Service { action, service } => {
            ops::service(&env, action.into(), service.into()).await
        }
        Command::Notices { unsent, limit } => ops::notices(&env, unsent, limit).await,
        Command::Deliveries { notice_id } => ops::deliveries(&env, notice_id).await,
        Command::Broadcast { text } => ops::broadcast(&env, text).await,
        Command::MarkSent { all: _ } => ops::mark_sent(&env).await,
        Command::Audit { limit } => ops::audit(&env, limit).await,
        Command::Completions { shell } => completions(shell),
    }
}

/// Write the completion script for `shell`, generated from this very definition.
fn completions(shell: clap_complete::Shell) -> Result<Exit, CliError> {
    // Into a buffer first: clap_complete panics on a write error, and `| head` closes the pipe.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "supersetctl", &mut script);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, &script)?;
    std::io::Write::flush(&mut out)?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let a = Cli::try_parse_from(["supersetctl", "--json", "--timeout", "2", "jobs"]).unwrap();
        let b = Cli::try_parse_from(["supersetctl", "jobs", "--json", "--timeout", "2"]).unwrap();
        assert!(a.json && b.json);
        assert_eq!(a.timeout, b.timeout);
        assert!(Cli::try_parse_from(["supersetctl", "jobs", "--timeout", "0"]).is_err());
    }
}
