//! `service`, `notices`, `deliveries`, `broadcast`, `mark-sent` and `audit`: the operator's
//! calls beyond jobs and logs.
//!
//! Each command is one call and one rendering; `--json` prints the daemon's reply as is, so
//! the field names are those of `supersetd_proto` (documented in `supersetctl(1)`).

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use supersetd_proto::{AuditQuery, NoticeQuery, ServiceAction, ServiceName};

use super::Env;
use super::exit::{CliError, Exit};
use super::output;

pub async fn service(
    env: &Env,
    action: ServiceAction,
    name: ServiceName,
) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let what = format!("cannot {action} {name}");
    // Stopping waits for the service to wind down (up to 10 s in the daemon).
    let info = client
        .call(Duration::from_secs(12), |c, ctx| async move {
            c.control_service(ctx, name, action).await
        })
        .await
        .map_err(|e| CliError::client(&what, e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &info)?;
    } else {
        writeln!(
            out,
            "{} {} (restarts {})",
            info.name, info.state, info.restarts
        )?;
    }
    Ok(Exit::Ok)
}

pub async fn notices(env: &Env, unsent: bool, limit: u32) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let query = NoticeQuery {
        unsent_only: unsent,
        limit,
    };
    let notices = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.list_notices(ctx, query).await
        })
        .await
        .map_err(|e| CliError::client("notices", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &notices)?;
        return Ok(Exit::Ok);
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = notices
        .iter()
        .map(|n| {
            vec![
                n.id.clone(),
                output::time(n.created_at, now),
                n.source.clone(),
                (if n.is_sent { "yes" } else { "no" }).to_owned(),
                output::clip(&n.title, 60),
            ]
        })
        .collect();
    output::table(
        &mut out,
        &["ID", "PUBLISHED", "SOURCE", "SENT", "TITLE"],
        &rows,
    )?;
    Ok(Exit::Ok)
}

pub async fn deliveries(env: &Env, notice_id: String) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let what = format!("deliveries of {notice_id}");
    let rows = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.list_deliveries(ctx, notice_id).await
        })
        .await
        .map_err(|e| CliError::client(&what, e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &rows)?;
        return Ok(Exit::Ok);
    }
    let now = Utc::now();
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            vec![
                d.recipient.clone(),
                d.state.to_string(),
                d.attempts.to_string(),
                output::time(d.updated_at, now),
                output::or_dash(d.last_error.as_deref()),
            ]
        })
        .collect();
    output::table(
        &mut out,
        &["RECIPIENT", "STATE", "ATTEMPTS", "UPDATED", "LAST ERROR"],
        &table,
    )?;
    Ok(Exit::Ok)
}

pub async fn broadcast(env: &Env, text: String) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let receipt = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.broadcast(ctx, text).await
        })
        .await
        .map_err(|e| CliError::client("cannot broadcast", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &receipt)?;
    } else {
        writeln!(out, "broadcast queued as notice {}", receipt.notice_id)?;
        writeln!(
            out,
            "follow it with: supersetctl deliveries {}",
            receipt.notice_id
        )?;
    }
    Ok(Exit::Ok)
}

pub async fn mark_sent(env: &Env) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let marked = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.mark_all_sent(ctx).await
        })
        .await
        .map_err(|e| CliError::client("cannot mark notices sent", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &serde_json::json!({ "marked": marked }))?;
    } else {
        writeln!(out, "{marked} notices marked as sent")?;
    }
    Ok(Exit::Ok)
}

pub async fn audit(env: &Env, limit: u32) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let entries = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.list_audit(ctx, AuditQuery { limit }).await
        })
        .await
        .map_err(|e| CliError::client("audit", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &entries)?;
        return Ok(Exit::Ok);
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let who = match &e.user {
                Some(user) => format!("{user} ({})", e.uid),
                None => e.uid.to_string(),
            };
            vec![
                output::time(e.at, now),
                who,
                output::or_dash(e.pid),
                e.client.clone(),
                e.action.clone(),
                output::or_dash(e.target.as_deref()),
                e.error.clone().unwrap_or_else(|| "ok".to_owned()),
            ]
        })
        .collect();
    output::table(
        &mut out,
        &["WHEN", "WHO", "PID", "CLIENT", "ACTION", "TARGET", "RESULT"],
        &rows,
    )?;
    Ok(Exit::Ok)
}
