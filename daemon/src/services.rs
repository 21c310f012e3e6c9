//! Supervised services: the bot, the web server and the scheduler.
//!
//! A service is a tokio task with a state the operator can see. [`ServiceRegistry`] is the
//! shared board those states are written to; `status` and the console read it. The restart
//! loop lives here too, so a failing service is restarted with backoff and never takes the
//! others down.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use supersetd_proto::{ServiceInfo, ServiceState};
use tokio_util::sync::CancellationToken;

/// The shared board of service states. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ServiceRegistry {
    inner: Arc<Mutex<BTreeMap<String, ServiceInfo>>>,
}

impl ServiceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a new state for `name`. Moving to `Starting` after a failure counts a restart.
    pub fn set_state(&self, name: &str, state: ServiceState, error: Option<String>) {
        // The lock is never held across an await, so a std mutex is the right tool.
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Utc::now();
        let entry = map.entry(name.to_owned()).or_insert_with(|| ServiceInfo {
            name: name.to_owned(),
            state: state.clone(),
            since: now,
            restarts: 0,
            last_error: None,
        });
        if entry.state != state {
            let was_down = matches!(entry.state, ServiceState::Backoff | ServiceState::Failed);
            if was_down && state == ServiceState::Starting {
                entry.restarts += 1;
            }
            entry.state = state;
            entry.since = now;
        }
        if error.is_some() {
            entry.last_error = error;
        }
    }

    pub fn snapshot(&self) -> Vec<ServiceInfo> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Option<ServiceInfo> {
        let map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name).cloned()
    }
}

/// How a running service tells the board it is struggling without returning.
///
/// The supervisor only learns of failures a service returns; a bot that retries an
/// unreachable Bot API for an hour is still "running" to it. With this handle the service
/// shows `backoff` and the error while it retries, and `running` again once it gets through.
#[derive(Debug, Clone)]
pub struct ServiceHealth {
    registry: ServiceRegistry,
    name: &'static str,
}

impl ServiceHealth {
    pub fn new(registry: &ServiceRegistry, name: &'static str) -> Self {
        ServiceHealth {
            registry: registry.clone(),
            name,
        }
    }

    /// The service is retrying after `error`.
    pub fn trouble(&self, error: String) {
        self.registry
            .set_state(self.name, ServiceState::Backoff, Some(error));
    }

    /// The service got through again (a no-op when it never had trouble).
    pub fn recovered(&self) {
        let struggling = self
            .registry
            .get(self.name)
            .is_some_and(|s| s.state == ServiceState::Backoff);
        if struggling {
            self.registry
                .set_state(self.name, ServiceState::Running, None);
        }
    }
}

/// First and longest wait between restarts of a failing service.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// A service that ran this long before failing restarts with the shortest wait again.
const STABLE_AFTER: Duration = Duration::from_secs(300);

/// Run `service` until `cancel` fires, restarting it with exponential backoff whenever it
/// returns an error. Its state is kept on `registry` under `name`.
pub async fn supervise<F, Fut>(
    registry: ServiceRegistry,
    name: &'static str,
    cancel: CancellationToken,
    mut service: F,
) where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut backoff = BACKOFF_START;
    loop {
        registry.set_state(name, ServiceState::Starting, None);
        registry.set_state(name, ServiceState::Running, None);
        let started = Instant::now();
        let result = service(cancel.child_token()).await;
        if cancel.is_cancelled() {
            registry.set_state(name, ServiceState::Stopped, result.err());
            return;
        }
        let error = match result {
            Ok(()) => "exited unexpectedly".to_owned(),
            Err(e) => e,
        };
        if started.elapsed() >= STABLE_AFTER {
            backoff = BACKOFF_START;
        }
        tracing::warn!(service = name, error = %error, backoff_ms = backoff.as_millis() as u64, "service failed; restarting");
        registry.set_state(name, ServiceState::Backoff, Some(error));
        tokio::select! {
            _ = cancel.cancelled() => {
                registry.set_state(name, ServiceState::Stopped, None);
                return;
            }
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_restarts_after_failures_only() {
        let reg = ServiceRegistry::new();
        reg.set_state("bot", ServiceState::Starting, None);
        reg.set_state("bot", ServiceState::Running, None);
        reg.set_state("bot", ServiceState::Backoff, Some("boom".into()));
        reg.set_state("bot", ServiceState::Starting, None);
        let info = reg.get("bot").map(|i| (i.restarts, i.last_error));
        assert_eq!(info, Some((1, Some("boom".into()))));
    }

    #[test]
    fn trouble_shows_until_recovered_without_counting_a_restart() {
        let reg = ServiceRegistry::new();
        reg.set_state("bot", ServiceState::Running, None);
        let health = ServiceHealth::new(&reg, "bot");
        health.recovered();
        assert_eq!(reg.get("bot").map(|i| i.state), Some(ServiceState::Running));
        health.trouble("getMe failed: connection refused".into());
        let info = reg.get("bot");
        assert_eq!(
            info.as_ref().map(|i| &i.state),
            Some(&ServiceState::Backoff)
        );
        assert_eq!(
            info.and_then(|i| i.last_error).as_deref(),
            Some("getMe failed: connection refused")
        );
        health.recovered();
        let info = reg.get("bot");
        assert_eq!(
            info.as_ref().map(|i| &i.state),
            Some(&ServiceState::Running)
        );
        assert_eq!(info.map(|i| i.restarts), Some(0));
    }

    #[tokio::test(start_paused = true)]
    async fn failing_services_restart_with_backoff_until_cancelled() {
        let reg = ServiceRegistry::new();
        let cancel = CancellationToken::new();
        let attempts = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = attempts.clone();
        let task = tokio::spawn(supervise(reg.clone(), "web", cancel.clone(), move |_| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Err("port taken".to_owned())
            }
        }));
        tokio::time::sleep(Duration::from_secs(8)).await;
        // Waits of 1, 2 and 4 s fit in 8 s: four attempts.
        assert_eq!(attempts.load(std::sync::atomic::Ordering::SeqCst), 4);
        assert_eq!(reg.get("web").map(|i| i.state), Some(ServiceState::Backoff));
        cancel.cancel();
        task.await.unwrap();
        assert_eq!(reg.get("web").map(|i| i.state), Some(ServiceState::Stopped));
    }
}
