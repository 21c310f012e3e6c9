//! `logs`: print the daemon's recent log lines, or follow them.
//!
//! Following is a loop of long polls on a cursor (`tail_logs`). When the daemon goes away the
//! loop keeps reconnecting and resumes: from the same cursor if it is the same daemon, from
//! the oldest line held if the daemon restarted (its pid changed). Lines lost in between, or
//! because this reader fell behind the daemon's ring, are reported on stderr, never hidden.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use clap::Args;
use supersetd_proto::{LogBatch, LogEntry, LogLevel, LogQuery, RunId};

use super::Env;
use super::exit::{CliError, Exit};
use super::output;
use crate::client::{Client, ClientError};

/// How long one follow call waits for a line (the daemon caps waits at 30 s).
const FOLLOW_WAIT: Duration = Duration::from_secs(25);
/// Pause between reconnect attempts while the daemon is away.
const RECONNECT_EVERY: Duration = Duration::from_secs(1);
/// The daemon returns at most this many lines per call.
const BATCH: u32 = 1000;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Keep printing new lines as they are logged.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines at this level or above (trace, debug, info, warn, error).
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<LogLevel>,
    /// Only lines containing TEXT (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Only lines logged by run RUN_ID.
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<u64>,
    /// Only lines from this module or below it (e.g. supersetd::scheduler).
    #[arg(long, value_name = "TARGET")]
    pub target: Option<String>,
    /// Start with the last N matching lines (default 100, or 10 with --follow).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1000))]
    pub lines: Option<u32>,
}

impl LogsArgs {
    fn query(&self) -> LogQuery {
        LogQuery {
            cursor: 0,
            max: BATCH,
            wait_ms: 0,
            min_level: self.level,
            grep: self.grep.clone(),
            run: self.run.map(RunId),
            target: self.target.clone(),
            tail: Some(self.lines.unwrap_or(if self.follow { 10 } else { 100 })),
        }
    }
}

pub async fn logs(env: &Env, args: LogsArgs) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let query = args.query();
    let first = tail(&client, query.clone(), Duration::ZERO)
        .await
        .map_err(|e| CliError::client("logs", e))?;
    if !args.follow {
        let mut out = std::io::stdout().lock();
        if env.style.json {
            output::json(&mut out, &first)?;
        } else {
            print_entries(&mut out, &first.entries)?;
        }
        return Ok(Exit::Ok);
    }
    // Known before anything is printed, so a restart right after the backlog is still seen
    // as one.
    let daemon = identity(&client)
        .await
        .map_err(|e| CliError::client("logs", e))?;
    print_batch(env, &first)?;
    follow(
        env,
        client,
        daemon,
        LogQuery {
            cursor: first.next_cursor,
            tail: None,
            ..query
        },
    )
    .await
}

async fn tail(client: &Client, query: LogQuery, wait: Duration) -> Result<LogBatch, ClientError> {
    let query = LogQuery {
        wait_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        ..query
    };
    client
        .call(wait, |c, ctx| async move { c.tail_logs(ctx, query).await })
        .await
}

async fn follow(
    env: &Env,
    mut client: Client,
    mut daemon: (u32, DateTime<Utc>),
    mut query: LogQuery,
) -> Result<Exit, CliError> {
    loop {
        match tail(&client, query.clone(), FOLLOW_WAIT).await {
            Ok(batch) => {
                print_batch(env, &batch)?;
                query.cursor = batch.next_cursor;
            }
            Err(e) if e.is_unreachable() => {
                eprintln!("supersetctl: lost the connection to supersetd ({e}); reconnecting");
                let (again, now) = reconnect(env).await;
                client = again;
                if now != daemon {
                    // A new daemon numbers its lines from zero: the old cursor means nothing.
                    eprintln!(
                        "supersetctl: supersetd restarted (pid {}); following its new log",
                        now.0
                    );
                    query.cursor = 0;
                    daemon = now;
                }
            }
            Err(e) => return Err(CliError::client("logs", e)),
        }
    }
}

/// Which daemon instance this is: its pid and start time (a pid alone can repeat).
async fn identity(client: &Client) -> Result<(u32, DateTime<Utc>), ClientError> {
    let status = client
        .call(
            Duration::ZERO,
            |c, ctx| async move { c.get_status(ctx).await },
        )
        .await?;
    Ok((status.pid, status.started_at))
}

/// Keep trying until the daemon answers again. Only Ctrl-C ends a follow.
async fn reconnect(env: &Env) -> (Client, (u32, DateTime<Utc>)) {
    loop {
        tokio::time::sleep(RECONNECT_EVERY).await;
        if let Ok(client) = env.connect().await
            && let Ok(id) = identity(&client).await
        {
            return (client, id);
        }
    }
}

fn print_batch(env: &Env, batch: &LogBatch) -> Result<(), CliError> {
    if batch.dropped > 0 {
        eprintln!(
            "supersetctl: {} log lines were dropped before this reader could see them",
            batch.dropped
        );
    }
    let mut out = std::io::stdout().lock();
    if env.style.json {
        for entry in &batch.entries {
            output::json(&mut out, entry)?;
        }
    } else {
        print_entries(&mut out, &batch.entries)?;
    }
    out.flush()?;
    Ok(())
}

fn print_entries(out: &mut impl Write, entries: &[LogEntry]) -> std::io::Result<()> {
    for e in entries {
        let run = e.run.map(|r| format!(" [run {r}]")).unwrap_or_default();
        let time = e.time.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S");
        writeln!(
            out,
            "{time} {:<5} {}: {}{run}",
            e.level.to_string(),
            e.target,
            e.text
        )?;
    }
    Ok(())
}
