//! The HTTP API: liveness and readiness for now (stats, push and notify arrive with later
//! issues).
//!
//! `/health` answers as long as the process can serve HTTP at all. `/ready` answers 200 only
//! when the daemon can do its job: the store answers, the scheduler runs, and no job has
//! missed a tick since the daemon started. Load balancers and monitors use the second; the
//! reasons in its body tell a human what is wrong.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::json;
use supersetd_proto::{JobInfo, ServiceState};
use tokio_util::sync::CancellationToken;

use crate::control::JobControl;
use crate::scheduler::CronExpr;
use crate::services::ServiceRegistry;
use crate::store::SharedStore;

/// A tick this late without a run makes the daemon not ready.
const OVERDUE_GRACE: chrono::Duration = chrono::Duration::minutes(10);
/// `/ready` must answer quickly even when the database hangs.
const STORE_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct WebState {
    pub store: SharedStore,
    pub services: ServiceRegistry,
    pub jobs: Arc<dyn JobControl>,
    pub started_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {source}")]
pub struct BindError {
    addr: SocketAddr,
    source: std::io::Error,
}

pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BindError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serve until `cancel` fires, then finish in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: WebState,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(cancel.cancelled_owned())
        .await
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "healthy", "version": env!("CARGO_PKG_VERSION") }))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such endpoint" })),
    )
        .into_response()
}

/// axum keeps the `Allow` header it computed; we only give the body the API's error shape.
async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({ "error": "method not allowed on this endpoint" })),
    )
        .into_response()
}

async fn ready(State(state): State<WebState>) -> Response {
    let mut problems = Vec::new();
    match tokio::time::timeout(STORE_CHECK_TIMEOUT, state.store.health()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => problems.push(format!("store: {e}")),
        Err(_) => problems.push("store: no answer within 2 s".to_owned()),
    }
    match state.services.get("scheduler").map(|s| s.state) {
        Some(ServiceState::Running) => {}
        Some(other) => problems.push(format!("scheduler: {other}")),
        None => problems.push("scheduler: not started".to_owned()),
    }
    match state.jobs.list_jobs().await {
        Ok(jobs) => problems.extend(
            jobs.iter()
                .filter_map(|j| overdue(j, state.started_at, Utc::now())),
        ),
        Err(e) => problems.push(format!("jobs: {e}")),
    }
    if problems.is_empty() {
        (StatusCode::OK, Json(json!({ "ready": true }))).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "problems": problems })),
        )
            .into_response()
    }
}

/// A job is overdue when a tick since the later of the daemon's start and its last run passed
/// more than the grace ago without a run starting. Paused jobs are never overdue.
fn overdue(job: &JobInfo, started_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    if job.is_paused || job.active_run.is_some() {
        return None;
    }
    let expr = CronExpr::parse(&job.schedule).ok()?;
    let tz: chrono_tz::Tz = job.timezone.parse().ok()?;
    let since = job
        .last_run
        .as_ref()
        .map_or(started_at, |r| r.started_at.max(started_at));
    let tick = expr
        .next_after(&since.with_timezone(&tz))?
        .with_timezone(&Utc);
    (tick + OVERDUE_GRACE < now).then(|| format!("job {}: tick at {tick} has not run", job.name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use supersetd_proto::JobName;

    fn job(schedule: &str) -> JobInfo {
        JobInfo {
            name: JobName::from("update"),
            schedule: schedule.into(),
            timezone: "Asia/Kolkata".into(),
            is_paused: false,
            next_run: None,
            last_run: None,
            active_run: None,
        }
    }

    #[test]
    fn a_missed_tick_makes_a_job_overdue() {
        let start = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
        let j = job("0 * * * *");
        assert!(overdue(&j, start, start + chrono::Duration::minutes(30)).is_none());
        assert!(overdue(&j, start, start + chrono::Duration::minutes(75)).is_some());
        let paused = JobInfo {
            is_paused: true,
            ..job("0 * * * *")
        };
        assert!(overdue(&paused, start, start + chrono::Duration::hours(5)).is_none());
    }
}
