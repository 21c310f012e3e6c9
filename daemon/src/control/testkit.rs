//! Test doubles for the control seam: a [`JobControl`] that records what it was asked and
//! answers from a small in-memory model. Compiled for this crate's tests and, with the
//! `testkit` feature, for other crates' tests (the CLI's), so both drive the real server.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use supersetd_proto::{
    CancelTarget, ControlError, JobInfo, JobName, Outcome, RunId, RunInfo, StepInfo, Trigger,
};

use super::JobControl;

/// Jobs `update` and `official`; a run of `update` succeeds and a run of `official` fails, so
/// both outcomes can be exercised. Run ids start at 100.
#[derive(Debug)]
pub struct RecordingJobs {
    state: Mutex<Model>,
}

#[derive(Debug)]
struct Model {
    jobs: Vec<JobInfo>,
    runs: BTreeMap<RunId, RunInfo>,
    next_run: u64,
    calls: Vec<String>,
    /// `wait_run` answers "still running" this many times before the run ends.
    pending_polls: u32,
}

impl Default for RecordingJobs {
    fn default() -> Self {
        let job = |name: &str, schedule: &str| JobInfo {
            name: JobName::from(name),
            schedule: schedule.to_owned(),
            timezone: "Asia/Kolkata".to_owned(),
            is_paused: false,
            next_run: Some(Utc::now() + chrono::Duration::minutes(3)),
            last_run: None,
            active_run: None,
        };
        RecordingJobs {
            state: Mutex::new(Model {
                jobs: vec![
                    job("update", "0 0,8-23 * * *"),
                    job("official", "0 12 * * *"),
                ],
                runs: BTreeMap::new(),
                next_run: 100,
                calls: Vec::new(),
                pending_polls: 0,
            }),
        }
    }
}

impl RecordingJobs {
    /// Every call so far, as `method arg`.
    pub fn calls(&self) -> Vec<String> {
        self.model().calls.clone()
    }

    /// Make the next runs report "still running" to this many `wait_run` calls first.
    pub fn set_pending_polls(&self, n: u32) {
        self.model().pending_polls = n;
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn no_job(job: &JobName) -> ControlError {
    ControlError::NotFound {
        kind: "job".into(),
        name: job.0.clone(),
    }
}

fn no_run(run: RunId) -> ControlError {
    ControlError::NotFound {
        kind: "run".into(),
        name: run.to_string(),
    }
}

impl Model {
    fn job_mut(&mut self, job: &JobName) -> Result<&mut JobInfo, ControlError> {
        self.jobs
            .iter_mut()
            .find(|j| &j.name == job)
            .ok_or_else(|| no_job(job))
    }

    fn finish(&mut self, run: RunId) -> Option<RunInfo> {
        let info = self.runs.get_mut(&run)?;
        let now = Utc::now();
        let outcome = if info.job.0 == "update" {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        info.outcome = outcome;
        info.ended_at = Some(now);
        info.duration_ms = Some(1500);
        info.error = (outcome == Outcome::Failed).then(|| "portal answered 503".to_owned());
        info.steps = vec![StepInfo {
            name: "superset".into(),
            started_at: info.started_at,
            ended_at: Some(now),
            outcome,
            counts: BTreeMap::from([("notices_new".to_owned(), 2), ("sent".to_owned(), 4)]),
            error: info.error.clone(),
        }];
        let done = info.clone();
        if let Ok(job) = self.job_mut(&done.job) {
            job.active_run = None;
            job.last_run = Some(done.clone());
        }
        Some(done)
    }
}

#[async_trait]
impl JobControl for RecordingJobs {
    async fn list_jobs(&self) -> Result<Vec<JobInfo>, ControlError> {
        let mut m = self.model();
        m.calls.push("list_jobs".into());
        Ok(m.jobs.clone())
    }

    async fn run_job(&self, job: &JobName, trigger: Trigger) -> Result<RunId, ControlError> {
        let mut m = self.model();
        m.calls.push(format!("run_job {job}"));
        let id = RunId(m.next_run);
        m.job_mut(job)?.active_run = Some(id);
        m.next_run += 1;
        let run = RunInfo {
            id,
            job: job.clone(),
            trigger,
            started_at: Utc::now(),
            ended_at: None,
            duration_ms: None,
            outcome: Outcome::Running,
            steps: vec![],
            error: None,
        };
        m.runs.insert(id, run);
        Ok(id)
    }

    async fn wait_run(&self, run: RunId, wait: Duration) -> Result<Option<RunInfo>, ControlError> {
        let still_running = {
            let mut m = self.model();
            m.calls.push(format!("wait_run {run}"));
            if !m.runs.contains_key(&run) {
                return Err(no_run(run));
            }
            if m.pending_polls > 0 {
                m.pending_polls -= 1;
                true
            } else {
                false
            }
        };
        if still_running {
            // A short stand-in for the real wait, enough for the client to loop.
            tokio::time::sleep(wait.min(Duration::from_millis(20))).await;
            return Ok(None);
        }
        Ok(self.model().finish(run))
    }

    async fn pause_job(&self, job: &JobName) -> Result<JobInfo, ControlError> {
        let mut m = self.model();
        m.calls.push(format!("pause_job {job}"));
        let info = m.job_mut(job)?;
        info.is_paused = true;
        Ok(info.clone())
    }

    async fn resume_job(&self, job: &JobName, catch_up: bool) -> Result<JobInfo, ControlError> {
        let mut m = self.model();
        let flag = if catch_up { " --catch-up" } else { "" };
        m.calls.push(format!("resume_job {job}{flag}"));
        let info = m.job_mut(job)?;
        info.is_paused = false;
        Ok(info.clone())
    }

    async fn cancel(&self, target: &CancelTarget) -> Result<RunId, ControlError> {
        let mut m = self.model();
        match target {
            CancelTarget::Job(job) => {
                m.calls.push(format!("cancel job {job}"));
                m.job_mut(job)?
                    .active_run
                    .ok_or_else(|| ControlError::Conflict {
                        reason: format!("{job} has no run in progress"),
                    })
            }
            CancelTarget::Run(run) => {
                m.calls.push(format!("cancel run {run}"));
                m.runs.get(run).map(|r| r.id).ok_or_else(|| no_run(*run))
            }
        }
    }
}
