//! Leadership: which of several daemons sharing one database runs scheduled jobs and polls
//! the bot.
//!
//! Two daemons polling one bot token make Telegram refuse both (409), and two schedulers on one
//! database would run every job twice. So one daemon leads, through a lease in the store
//! ([`Store::acquire_lease`]): it renews the lease every third of its time, and stops leading
//! on its own when it could not renew for two thirds of it, before the lease can expire and
//! another daemon take it. The others stand by, retrying at the same pace, and take over
//! within the lease time when the leader dies. A store only one daemon can open (the embedded
//! file) always grants the lease, so a single daemon simply leads.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::store::{LeaseState, SharedStore};

/// The lease's name in the store.
pub const LEASE: &str = "supersetd-leader";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Leader,
    /// Not leading; says why (who leads, or that the store cannot be asked).
    Standby(String),
}

/// This daemon's current role; cheap to clone.
#[derive(Clone)]
pub struct Leadership {
    role: watch::Receiver<Role>,
    holder: Arc<str>,
}

impl Leadership {
    /// A daemon alone with its store: always the leader.
    pub fn always() -> Leadership {
        let (_tx, role) = watch::channel(Role::Leader);
        Leadership {
            role,
            holder: Arc::from(holder_name()),
        }
    }

    /// Ask for the lease once (so the role is known before the daemon reports ready), then
    /// keep it or wait for it in the background until `shutdown`, releasing it then.
    pub async fn start(
        store: SharedStore,
        ttl: Duration,
        shutdown: CancellationToken,
    ) -> (Leadership, BoxFuture<'static, ()>) {
        let holder: Arc<str> = Arc::from(holder_name());
        let mut lease = Lease {
            store,
            holder: holder.clone(),
            ttl,
            until: None,
        };
        let first = lease.attempt().await;
        let (tx, role) = watch::channel(first);
        let task = async move {
            lease.keep(&tx, shutdown).await;
        };
        (Leadership { role, holder }, Box::pin(task))
    }

    pub fn role(&self) -> Role {
        self.role.borrow().clone()
    }

    pub fn is_leader(&self) -> bool {
        *self.role.borrow() == Role::Leader
    }

    /// `host:pid`, as other daemons see this one.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// A receiver that changes with the role, for tasks that follow it.
    pub fn watch(&self) -> watch::Receiver<Role> {
        self.role.clone()
    }

    /// Resolves once this daemon leads; `false` if `cancel` came first.
    pub async fn wait_leader(&self, cancel: &CancellationToken) -> bool {
        let mut role = self.role.clone();
        tokio::select! {
            r = role.wait_for(|r| *r == Role::Leader) => r.is_ok(),
            () = cancel.cancelled() => false,
        }
    }

    /// Resolves once this daemon stops leading (never, for [`Leadership::always`]).
    pub async fn lost(&self) {
        let mut role = self.role.clone();
        if role.wait_for(|r| *r != Role::Leader).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

struct Lease {
    store: SharedStore,
    holder: Arc<str>,
    ttl: Duration,
    /// Until when this daemon holds the lease, by its last successful renewal.
    until: Option<DateTime<Utc>>,
}

impl Lease {
    fn every(&self) -> Duration {
        self.ttl / 3
    }

    async fn keep(&mut self, tx: &watch::Sender<Role>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.every()) => {}
            }
            let role = self.attempt().await;
            if *tx.borrow() != role {
                match &role {
                    Role::Leader => {
                        tracing::info!(holder = %self.holder, "this daemon now leads: it runs scheduled jobs and polls the bot")
                    }
                    Role::Standby(why) => tracing::warn!(reason = %why, "this daemon stands by"),
                }
            }
            tx.send_replace(role);
        }
        if self.until.take().is_some() {
            let _ =
                tokio::time::timeout(self.every(), self.store.release_lease(LEASE, &self.holder))
                    .await;
        }
    }

    /// One try for the lease, bounded by a third of its time.
    async fn attempt(&mut self) -> Role {
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::seconds(15));
        let asked = self.store.acquire_lease(LEASE, &self.holder, ttl, now);
        let answer = match tokio::time::timeout(self.every(), asked).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err("the store did not answer in time".to_owned()),
        };
        match answer {
            Ok(LeaseState::Held { until }) => {
                self.until = Some(until);
                Role::Leader
            }
            Ok(LeaseState::HeldBy { holder, .. }) => {
                self.until = None;
                Role::Standby(format!("standby, leader is {holder}"))
            }
            Err(e) => self.unrenewed(&e),
        }
    }

    /// A leader that cannot renew keeps leading only while its lease is safely its own: a
    /// third of the lease time before expiry it steps down, so no other daemon can take over
    /// while it still acts.
    fn unrenewed(&mut self, error: &str) -> Role {
        let margin = chrono::Duration::from_std(self.every()).unwrap_or_default();
        match self.until {
            Some(until) if Utc::now() + margin < until => Role::Leader,
            _ => {
                self.until = None;
                Role::Standby(format!(
                    "standby, cannot reach the lease in the store: {error}"
                ))
            }
        }
    }
}

/// `host:pid`.
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}
