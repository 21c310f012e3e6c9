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
use supersetd_proto::{ServiceAction, ServiceInfo, ServiceState};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The shared board of service states, and the switches that start and stop each supervised
/// service on its own. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ServiceRegistry {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    states: Mutex<BTreeMap<String, ServiceInfo>>,
    /// Whether the operator wants each supervised service running. Only services run by
    /// [`supervise`] have one; the others cannot be switched.
    wanted: Mutex<BTreeMap<String, watch::Sender<bool>>>,
    /// Bumped on every state change, so a waiting `stop` wakes without polling.
    changed: watch::Sender<u64>,
}

/// Why a service could not be switched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceControlError {
    #[error("no such service: {0}")]
    Unknown(String),
    #[error("{name} cannot be started or stopped on its own: {reason}")]
    NotSwitchable { name: String, reason: String },
    #[error("{0} did not stop within {1} s; it is still shutting down")]
    StopTimedOut(String, u64),
}

/// How long `stop` waits for a service to wind down (the web server finishing its requests).
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);

impl ServiceRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    fn states(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ServiceInfo>> {
        // The lock is never held across an await, so a std mutex is the right tool.
        self.inner.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record a new state for `name`. Moving to `Starting` after a failure counts a restart.
    pub fn set_state(&self, name: &str, state: ServiceState, error: Option<String>) {
        {
            let mut map = self.states();
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
        self.inner.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn snapshot(&self) -> Vec<ServiceInfo> {
        self.states().values().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Option<ServiceInfo> {
        self.states().get(name).cloned()
    }

    /// The operator's on/off switch for `name`, created on first use (on). [`supervise`] uses
    /// it for the services it runs; a service that manages its own life (the scheduler)
    /// watches it itself and reports its state with [`Self::set_state`].
    pub fn switch_for(&self, name: &str) -> watch::Receiver<bool> {
        self.wanted(name)
    }

    fn wanted(&self, name: &str) -> watch::Receiver<bool> {
        let mut map = self.inner.wanted.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(name.to_owned())
            .or_insert_with(|| watch::channel(true).0)
            .subscribe()
    }

    fn switch(&self, name: &str, on: bool) -> Result<(), ServiceControlError> {
        let map = self.inner.wanted.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(name) {
            Some(tx) => {
                tx.send_replace(on);
                Ok(())
            }
            None => Err(self.not_switchable(name)),
        }
    }

    fn not_switchable(&self, name: &str) -> ServiceControlError {
        match self.get(name).map(|i| i.state) {
            None => ServiceControlError::Unknown(name.to_owned()),
            Some(ServiceState::Disabled(reason)) => ServiceControlError::NotSwitchable {
                name: name.to_owned(),
                reason: format!(
                    "it is disabled ({reason}); fix the configuration and restart supersetd"
                ),
            },
            Some(_) => ServiceControlError::NotSwitchable {
                name: name.to_owned(),
                reason: "it is not supervised separately in this version; pause its jobs instead"
                    .to_owned(),
            },
        }
    }

    /// Start, stop or restart one supervised service, leaving the others alone. Returns once
    /// the service has stopped (for stop and restart) or been asked to start; its state then.
    pub async fn control(
        &self,
        name: &str,
        action: ServiceAction,
    ) -> Result<ServiceInfo, ServiceControlError> {
        match action {
            ServiceAction::Start => self.switch(name, true)?,
            ServiceAction::Stop => self.stop(name).await?,
            ServiceAction::Restart => {
                self.stop(name).await?;
                self.bump_restarts(name);
                self.switch(name, true)?;
            }
        }
        if action != ServiceAction::Stop {
            self.wait_for(
                name,
                |s| !matches!(s, ServiceState::Stopped | ServiceState::Starting),
                STOP_TIMEOUT,
            )
            .await;
        }
        self.get(name)
            .ok_or_else(|| ServiceControlError::Unknown(name.to_owned()))
    }

    async fn stop(&self, name: &str) -> Result<(), ServiceControlError> {
        self.switch(name, false)?;
        if self
            .wait_for(name, |s| s == &ServiceState::Stopped, STOP_TIMEOUT)
            .await
        {
            Ok(())
        } else {
            Err(ServiceControlError::StopTimedOut(
                name.to_owned(),
                STOP_TIMEOUT.as_secs(),
            ))
        }
    }

    fn bump_restarts(&self, name: &str) {
        if let Some(info) = self.states().get_mut(name) {
            info.restarts += 1;
        }
    }

    /// Wait until `name`'s state passes `pred`; false if `timeout` ran out first.
    async fn wait_for(
        &self,
        name: &str,
        pred: impl Fn(&ServiceState) -> bool,
        timeout: Duration,
    ) -> bool {
        let mut changed = self.inner.changed.subscribe();
        let check = |reg: &ServiceRegistry| reg.get(name).is_some_and(|i| pred(&i.state));
        tokio::time::timeout(timeout, async {
            while !check(self) {
                if changed.changed().await.is_err() {
                    return;
                }
            }
        })
        .await
        .is_ok()
            && check(self)
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
/// returns an error. Its state is kept on `registry` under `name`, and the operator can stop
/// and start it there ([`ServiceRegistry::control`]): a stopped service waits, without
/// backoff, until it is started again.
pub async fn supervise<F, Fut>(
    registry: ServiceRegistry,
    name: &'static str,
    cancel: CancellationToken,
    mut service: F,
) where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let mut wanted = registry.wanted(name);
    let mut backoff = BACKOFF_START;
    loop {
        if !wait_until_wanted(&registry, name, &mut wanted, &cancel).await {
            return;
        }
        registry.set_state(name, ServiceState::Starting, None);
        registry.set_state(name, ServiceState::Running, None);
        let started = Instant::now();
        let (result, by_operator) = run_once(&mut service, &cancel, &mut wanted).await;
        if cancel.is_cancelled() || by_operator {
            registry.set_state(name, ServiceState::Stopped, result.err());
            if cancel.is_cancelled() {
                return;
            }
            tracing::info!(service = name, "service stopped by the operator");
            backoff = BACKOFF_START;
            continue;
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
            true = switched(&mut wanted, false) => {}
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Wait until the switch reads `on`; false if it can no longer change. Returns no borrow of
/// the channel, so the caller's future stays `Send`.
async fn switched(wanted: &mut watch::Receiver<bool>, on: bool) -> bool {
    wanted.wait_for(|v| *v == on).await.is_ok()
}

/// Wait while the operator has the service switched off. False once the daemon stops.
async fn wait_until_wanted(
    registry: &ServiceRegistry,
    name: &str,
    wanted: &mut watch::Receiver<bool>,
    cancel: &CancellationToken,
) -> bool {
    if *wanted.borrow_and_update() {
        return !cancel.is_cancelled();
    }
    registry.set_state(name, ServiceState::Stopped, None);
    tokio::select! {
        _ = cancel.cancelled() => false,
        on = switched(wanted, true) => on,
    }
}

/// One run of the service. Switching it off cancels its token and lets it finish cleanly
/// (the web server completes its requests); the flag says the operator asked.
async fn run_once<F, Fut>(
    service: &mut F,
    cancel: &CancellationToken,
    wanted: &mut watch::Receiver<bool>,
) -> (Result<(), String>, bool)
where
    F: FnMut(CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let token = cancel.child_token();
    let run = service(token.clone());
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => (result, false),
        true = switched(wanted, false) => {
            token.cancel();
            (run.await, true)
        }
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

    /// A service that runs until its token is cancelled, counting its starts.
    fn idle_service(
        reg: &ServiceRegistry,
        name: &'static str,
        cancel: &CancellationToken,
        starts: &Arc<std::sync::atomic::AtomicU32>,
    ) -> tokio::task::JoinHandle<()> {
        let starts = starts.clone();
        tokio::spawn(supervise(reg.clone(), name, cancel.clone(), move |token| {
            starts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                token.cancelled().await;
                Ok(())
            }
        }))
    }

    #[tokio::test]
    async fn one_service_stops_and_starts_without_touching_another() {
        let reg = ServiceRegistry::new();
        let cancel = CancellationToken::new();
        let (bot_starts, web_starts) = (Arc::default(), Arc::default());
        let bot = idle_service(&reg, "bot", &cancel, &bot_starts);
        let web = idle_service(&reg, "web", &cancel, &web_starts);
        assert!(
            reg.wait_for("web", |s| s == &ServiceState::Running, STOP_TIMEOUT)
                .await
        );
        assert!(
            reg.wait_for("bot", |s| s == &ServiceState::Running, STOP_TIMEOUT)
                .await
        );
        let web_since = reg.get("web").map(|i| i.since);

        let stopped = reg.control("bot", ServiceAction::Stop).await.unwrap();
        assert_eq!(stopped.state, ServiceState::Stopped);
        let started = reg.control("bot", ServiceAction::Start).await.unwrap();
        assert_eq!(started.state, ServiceState::Running);
        let restarted = reg.control("bot", ServiceAction::Restart).await.unwrap();
        assert_eq!(restarted.state, ServiceState::Running);
        assert_eq!(restarted.restarts, 1, "an operator restart is counted");
        let load =
            |a: &Arc<std::sync::atomic::AtomicU32>| a.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(load(&bot_starts), 3);
        assert_eq!(load(&web_starts), 1, "web was never restarted");
        assert_eq!(reg.get("web").map(|i| i.since), web_since);

        cancel.cancel();
        bot.await.unwrap();
        web.await.unwrap();
    }

    #[tokio::test]
    async fn unsupervised_and_unknown_services_are_refused() {
        let reg = ServiceRegistry::new();
        reg.set_state("scheduler", ServiceState::Running, None);
        reg.set_state("bot", ServiceState::Disabled("no token".into()), None);
        assert!(matches!(
            reg.control("scheduler", ServiceAction::Stop).await,
            Err(ServiceControlError::NotSwitchable { .. })
        ));
        let err = reg.control("bot", ServiceAction::Start).await.unwrap_err();
        assert!(err.to_string().contains("disabled (no token)"), "{err}");
        assert_eq!(
            reg.control("mail", ServiceAction::Start).await,
            Err(ServiceControlError::Unknown("mail".into()))
        );
    }
}
