//! `status` and `shutdown`: the daemon process as a whole.

use std::io::Write;

use chrono::Utc;
use supersetd_proto::DaemonStatus;

use super::Env;
use super::exit::{CliError, Exit};
use super::output::{self, Style};
use crate::client::{Client, ClientError};

pub async fn status(env: &Env) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let status = fetch(&client)
        .await
        .map_err(|e| CliError::client("status", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &status)?;
    } else {
        render(&mut out, &status, &env.style)?;
    }
    Ok(if status.store.healthy {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

pub async fn fetch(client: &Client) -> Result<DaemonStatus, ClientError> {
    client
        .call(Default::default(), |c, ctx| async move {
            c.get_status(ctx).await
        })
        .await
}

pub fn render(out: &mut impl Write, s: &DaemonStatus, _style: &Style) -> std::io::Result<()> {
    let now = Utc::now();
    writeln!(
        out,
        "supersetd {}  pid {}  up {}  rss {}  connections {}",
        s.version,
        s.pid,
        output::duration_ms(s.uptime_ms),
        output::bytes(s.rss_bytes),
        s.connections
    )?;
    writeln!(out, "started {}", output::time(s.started_at, now))?;
    let health = match (&s.store.healthy, &s.store.error) {
        (true, _) => "healthy".to_owned(),
        (false, Some(e)) => format!("unhealthy: {e}"),
        (false, None) => "unhealthy".to_owned(),
    };
    writeln!(
        out,
        "store {} at {}: {health}",
        s.store.backend, s.store.location
    )?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = s
        .services
        .iter()
        .map(|svc| {
            vec![
                svc.name.clone(),
                svc.state.to_string(),
                output::time(svc.since, now),
                svc.restarts.to_string(),
                output::or_dash(svc.last_error.as_ref()),
            ]
        })
        .collect();
    output::table(
        out,
        &["SERVICE", "STATE", "SINCE", "RESTARTS", "LAST ERROR"],
        &rows,
    )
}

pub async fn shutdown(env: &Env) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    client
        .call(
            Default::default(),
            |c, ctx| async move { c.shutdown(ctx).await },
        )
        .await
        .map_err(|e| CliError::client("shutdown", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &())?;
    } else {
        writeln!(out, "shutdown requested (pid {})", client.hello.pid)?;
    }
    Ok(Exit::Ok)
}
