//! Supervised services: the bot, the web server and the scheduler.
//!
//! A service is a tokio task with a state the operator can see. [`ServiceRegistry`] is the
//! shared board those states are written to; `status` and the console read it. The restart
//! loop lives here too, so a failing service is restarted with backoff and never takes the
//! others down.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use supersetd_proto::{ServiceInfo, ServiceState};

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
}
