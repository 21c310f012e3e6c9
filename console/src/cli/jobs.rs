//! `jobs`, `run`, `pause`, `resume`, `cancel`: the scheduler's jobs and their runs.

use std::io::Write;
use std::time::Duration;

use chrono::Utc;
use supersetd_proto::{CancelTarget, JobInfo, JobName, Outcome, RunId, RunInfo};

use super::Env;
use super::exit::{CliError, Exit};
use super::output::{self, Style};
use crate::client::Client;

/// `run --wait` asks in slices this long, so no single call outlives a reasonable deadline.
const WAIT_SLICE: Duration = Duration::from_secs(5);

pub async fn list(env: &Env) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let jobs = fetch(&client)
        .await
        .map_err(|e| CliError::client("jobs", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &jobs)?;
        return Ok(Exit::Ok);
    }
    render(&mut out, &jobs, &env.style)?;
    Ok(Exit::Ok)
}

pub async fn fetch(client: &Client) -> Result<Vec<JobInfo>, crate::client::ClientError> {
    client
        .call(
            Duration::ZERO,
            |c, ctx| async move { c.list_jobs(ctx).await },
        )
        .await
}

pub fn render(out: &mut impl Write, jobs: &[JobInfo], style: &Style) -> std::io::Result<()> {
    let now = Utc::now();
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            let next = match (j.is_paused, j.next_run) {
                (true, _) => "paused".to_owned(),
                (false, next) => {
                    output::or_dash(next.map(|t| output::time_in_zone(t, &j.timezone, now)))
                }
            };
            let last = match (&j.active_run, &j.last_run) {
                (Some(id), _) => format!("#{id} running"),
                (None, Some(r)) => last_run(r, now, style),
                (None, None) => "-".to_owned(),
            };
            vec![
                j.name.to_string(),
                j.schedule.clone(),
                j.timezone.clone(),
                yes_no(j.is_paused),
                next,
                last,
            ]
        })
        .collect();
    output::table(
        out,
        &["JOB", "SCHEDULE", "ZONE", "PAUSED", "NEXT RUN", "LAST RUN"],
        &rows,
    )
}

fn yes_no(b: bool) -> String {
    (if b { "yes" } else { "no" }).to_owned()
}

fn last_run(r: &RunInfo, now: chrono::DateTime<Utc>, style: &Style) -> String {
    let took = r
        .duration_ms
        .map(output::duration_ms)
        .map(|d| format!(" {d}"))
        .unwrap_or_default();
    format!(
        "#{} {}{took} {}",
        r.id,
        output::time(r.started_at, now),
        style.outcome(r.outcome)
    )
}

pub async fn run(env: &Env, job: String, wait: bool) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let what = format!("cannot run {job}");
    let name = JobName(job);
    let id = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.run_job(ctx, name).await
        })
        .await
        .map_err(|e| CliError::client(&what, e))?;
    if !wait {
        let mut out = std::io::stdout().lock();
        if env.style.json {
            output::json(&mut out, &id)?
        } else {
            writeln!(out, "{id}")?
        }
        return Ok(Exit::Ok);
    }
    if !env.style.json {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{id}")?;
        out.flush()?;
    }
    let run = wait_for(&client, id).await?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &run)?;
    } else {
        summary(&mut out, &run, &env.style)?;
    }
    Ok(if run.outcome == Outcome::Succeeded {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// Poll `wait_run` in slices until the run ends. Each call may take its slice plus the
/// timeout; a daemon that stops answering ends this with exit 3 like any other call.
async fn wait_for(client: &Client, id: RunId) -> Result<RunInfo, CliError> {
    loop {
        let slice_ms = u64::try_from(WAIT_SLICE.as_millis()).unwrap_or(5000);
        let reply = client
            .call(WAIT_SLICE, |c, ctx| async move {
                c.wait_run(ctx, id, slice_ms).await
            })
            .await
            .map_err(|e| CliError::client(format!("waiting for run {id}"), e))?;
        if let Some(run) = reply {
            return Ok(run);
        }
    }
}

fn summary(out: &mut impl Write, run: &RunInfo, style: &Style) -> std::io::Result<()> {
    let took = run
        .duration_ms
        .map(output::duration_ms)
        .unwrap_or_else(|| "-".to_owned());
    writeln!(
        out,
        "run {} of {} {} in {took}",
        run.id,
        run.job,
        style.outcome(run.outcome)
    )?;
    for step in &run.steps {
        let counts: Vec<String> = step
            .counts
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(
            out,
            "  {:<10} {} {}",
            step.name,
            style.outcome(step.outcome),
            counts.join(" ")
        )?;
        if let Some(err) = &step.error {
            writeln!(out, "  {:<10} error: {err}", "")?;
        }
    }
    if let Some(err) = &run.error {
        writeln!(out, "error: {err}")?;
    }
    Ok(())
}

/// `pause JOB` (`pause`), or `resume JOB [--catch-up]`.
pub async fn pause(env: &Env, job: String, pause: bool, catch_up: bool) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let verb = if pause { "pause" } else { "resume" };
    let what = format!("cannot {verb} {job}");
    let name = JobName(job);
    let info: JobInfo = client
        .call(Duration::ZERO, |c, ctx| async move {
            if pause {
                c.pause_job(ctx, name).await
            } else {
                c.resume_job(ctx, name, catch_up).await
            }
        })
        .await
        .map_err(|e| CliError::client(&what, e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &info)?;
    } else {
        let state = if info.is_paused { "paused" } else { "resumed" };
        writeln!(out, "{} {state}", info.name)?;
    }
    Ok(Exit::Ok)
}

/// A number is a run id; anything else names a job.
fn cancel_target(target: &str) -> CancelTarget {
    match target.parse::<u64>() {
        Ok(id) => CancelTarget::Run(RunId(id)),
        Err(_) => CancelTarget::Job(JobName(target.to_owned())),
    }
}

pub async fn cancel(env: &Env, target: String) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let what = format!("cannot cancel {target}");
    let parsed = cancel_target(&target);
    let id = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.cancel(ctx, parsed).await
        })
        .await
        .map_err(|e| CliError::client(&what, e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &id)?
    } else {
        writeln!(out, "cancel requested for run {id}")?
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_targets_are_runs() {
        assert_eq!(cancel_target("42"), CancelTarget::Run(RunId(42)));
        assert_eq!(
            cancel_target("update"),
            CancelTarget::Job(JobName::from("update"))
        );
    }
}
