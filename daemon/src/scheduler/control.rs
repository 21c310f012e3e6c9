//! The scheduler as the control socket sees it.

use std::time::Duration;

use async_trait::async_trait;
use supersetd_proto::{CancelTarget, ControlError, JobInfo, JobName, RunId, RunInfo, Trigger};

use super::{Scheduler, lock};
use crate::control::JobControl;

fn store_down(e: crate::store::StoreError) -> ControlError {
    ControlError::Unavailable {
        service: "store".into(),
        reason: e.to_string(),
    }
}

#[async_trait]
impl JobControl for Scheduler {
    async fn list_jobs(&self) -> Result<Vec<JobInfo>, ControlError> {
        let mut out = Vec::with_capacity(self.inner.jobs.len());
        for name in self.inner.jobs.keys() {
            out.push(self.job_info(name).await?);
        }
        Ok(out)
    }

    async fn run_job(&self, job: &JobName, trigger: Trigger) -> Result<RunId, ControlError> {
        self.start_run(job, trigger).await
    }

    async fn wait_run(&self, run: RunId, wait: Duration) -> Result<Option<RunInfo>, ControlError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut ended = self.inner.run_ended.subscribe();
        loop {
            // Subscribed before reading, so an end between the read and the wait is not lost.
            let info = self.inner.store.get_run(run).await.map_err(store_down)?;
            let info = info.ok_or_else(|| ControlError::NotFound {
                kind: "run".into(),
                name: run.to_string(),
            })?;
            if info.outcome.is_finished() {
                return Ok(Some(info));
            }
            match tokio::time::timeout_at(deadline, ended.changed()).await {
                Ok(Ok(())) => continue,
                _ => return Ok(None),
            }
        }
    }

    async fn pause_job(&self, job: &JobName) -> Result<JobInfo, ControlError> {
        self.set_paused(job, true).await
    }

    async fn resume_job(&self, job: &JobName, catch_up: bool) -> Result<JobInfo, ControlError> {
        self.resume(job, catch_up).await
    }

    async fn cancel(&self, target: &CancelTarget) -> Result<RunId, ControlError> {
        let found = {
            let active = lock(&self.inner.active);
            match target {
                CancelTarget::Job(job) => active.get(job).cloned(),
                CancelTarget::Run(id) => active.values().find(|(r, _)| r == id).cloned(),
            }
        };
        if let Some((id, token)) = found {
            token.cancel();
            tracing::info!(run_id = id.0, "run cancellation requested");
            return Ok(id);
        }
        match target {
            CancelTarget::Job(job) => {
                self.spec(job)?;
                Err(ControlError::Conflict {
                    reason: format!("job {job} has no run in progress"),
                })
            }
            CancelTarget::Run(id) => {
                match self.inner.store.get_run(*id).await.map_err(store_down)? {
                    Some(info) => Err(ControlError::Conflict {
                        reason: format!("run {id} already ended ({})", info.outcome),
                    }),
                    None => Err(ControlError::NotFound {
                        kind: "run".into(),
                        name: id.to_string(),
                    }),
                }
            }
        }
    }
}
