//! `runs`: run history, newest first, with each step's outcome and counts.

use std::time::Duration;

use chrono::Utc;
use supersetd_proto::{JobName, RunInfo, RunQuery};

use super::Env;
use super::exit::{CliError, Exit};
use super::output::{self, Style};

pub async fn list(env: &Env, job: Option<String>, limit: u32) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let query = RunQuery {
        job: job.map(JobName),
        limit,
    };
    let runs = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.list_runs(ctx, query).await
        })
        .await
        .map_err(|e| CliError::client("runs", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &runs)?;
        return Ok(Exit::Ok);
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = runs.iter().map(|r| row(r, now, &env.style)).collect();
    output::table(
        &mut out,
        &[
            "ID", "JOB", "TRIGGER", "STARTED", "DURATION", "OUTCOME", "STEPS", "ERROR",
        ],
        &rows,
    )?;
    Ok(Exit::Ok)
}

fn row(r: &RunInfo, now: chrono::DateTime<Utc>, style: &Style) -> Vec<String> {
    let steps: Vec<String> = r
        .steps
        .iter()
        .map(|s| {
            let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if counts.is_empty() {
                format!("{}:{}", s.name, s.outcome)
            } else {
                format!("{}:{} {}", s.name, s.outcome, counts.join(" "))
            }
        })
        .collect();
    let error = r
        .error
        .clone()
        .or_else(|| r.steps.iter().find_map(|s| s.error.clone()));
    vec![
        r.id.to_string(),
        r.job.to_string(),
        r.trigger.to_string(),
        output::time(r.started_at, now),
        output::or_dash(r.duration_ms.map(output::duration_ms)),
        style.outcome(r.outcome),
        if steps.is_empty() {
            "-".to_owned()
        } else {
            steps.join("; ")
        },
        output::or_dash(error),
    ]
}
