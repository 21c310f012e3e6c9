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
//!
//! When the store cannot be reached nobody can hold the lease. Runs need the store anyway and
//! wait; the bot, though, keeps answering ("temporarily unavailable") on the daemon that led
//! last, or on every daemon when none is known to lead (then Telegram may refuse one of two
//! pollers with 409 until the store is back and the election settles).

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
    /// Another daemon leads (as last seen); says which.
    Standby(String),
    /// Nobody is known to lead: the store cannot be asked. Runs wait for the store anyway, but
    /// the bot keeps polling, so students hear "temporarily unavailable" rather than nothing.
    Unknown(String),
}

impl Role {
    /// Why runs do not start here, unless this daemon leads.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Role::Leader => None,
            Role::Standby(why) | Role::Unknown(why) => Some(why),
        }
    }

    /// Whether this daemon polls the bot: unless another daemon is known to lead.
    pub fn polls_bot(&self) -> bool {
        !matches!(self, Role::Standby(_))
    }
}

/// This daemon's current role; cheap to clone.
#[derive(Clone)]
pub struct Leadership {
    role: watch::Receiver<Role>,
    holder: Arc<str>,
    /// False for [`Leadership::always`]: no other daemon shares the store.
    shared: bool,
}

impl Leadership {
    /// A daemon alone with its store: always the leader.
    pub fn always() -> Leadership {
        let (_tx, role) = watch::channel(Role::Leader);
        Leadership {
            role,
            holder: Arc::from(holder_name()),
            shared: false,
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
            last: Role::Unknown("not asked yet".to_owned()),
        };
        let first = lease.attempt().await;
        let (tx, role) = watch::channel(first);
        let task = async move {
            lease.keep(&tx, shutdown).await;
        };
        let leadership = Leadership {
            role,
            holder,
            shared: true,
        };
        (leadership, Box::pin(task))
    }

    /// Whether other daemons may share the store and lead instead of this one.
    pub fn is_shared(&self) -> bool {
        self.shared
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

    /// Resolves once this daemon may poll the bot; `false` if `cancel` came first.
    pub async fn wait_to_poll(&self, cancel: &CancellationToken) -> bool {
        let mut role = self.role.clone();
        tokio::select! {
            r = role.wait_for(Role::polls_bot) => r.is_ok(),
            () = cancel.cancelled() => false,
        }
    }

    /// Resolves once another daemon is known to lead (never, for [`Leadership::always`]).
    pub async fn yielded(&self) {
        let mut role = self.role.clone();
        if role.wait_for(|r| !r.polls_bot()).await.is_err() {
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
    /// The role the last attempt gave.
    last: Role,
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
                    Role::Unknown(why) => {
                        tracing::warn!(reason = %why, "no daemon is known to lead")
                    }
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
        let role = self.ask().await;
        self.last = role.clone();
        role
    }

    async fn ask(&mut self) -> Role {
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
    /// while it still acts. A standby stays one: the leader it saw may reach the store still.
    fn unrenewed(&mut self, error: &str) -> Role {
        let margin = chrono::Duration::from_std(self.every()).unwrap_or_default();
        match (self.until, &self.last) {
            (Some(until), _) if Utc::now() + margin < until => Role::Leader,
            (_, Role::Standby(why)) => Role::Standby(why.clone()),
            _ => {
                self.until = None;
                Role::Unknown(format!(
                    "no leader: cannot reach the lease in the store: {error}"
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded::EmbeddedStore;

    fn lease(dir: &tempfile::TempDir) -> Lease {
        let store = EmbeddedStore::open(&dir.path().join("s.db")).unwrap();
        Lease {
            store: Arc::new(store),
            holder: Arc::from("h:1"),
            ttl: Duration::from_secs(15),
            until: None,
            last: Role::Unknown("not asked yet".to_owned()),
        }
    }

    #[test]
    fn a_leader_that_cannot_renew_steps_down_a_third_before_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = lease(&dir);
        l.last = Role::Leader;
        l.until = Some(Utc::now() + chrono::Duration::seconds(12));
        assert_eq!(l.unrenewed("down"), Role::Leader, "12 s left, 5 s margin");
        l.until = Some(Utc::now() + chrono::Duration::seconds(4));
        assert!(matches!(l.unrenewed("down"), Role::Unknown(why) if why.contains("down")));
        assert_eq!(l.until, None, "never leads again on an old lease");
    }

    #[test]
    fn a_standby_stays_one_while_the_store_is_unreachable() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = lease(&dir);
        l.last = Role::Standby("standby, leader is x:2".to_owned());
        assert_eq!(l.unrenewed("down"), l.last.clone());
        assert!(!l.last.polls_bot() && Role::Unknown(String::new()).polls_bot());
    }

    #[tokio::test]
    async fn a_store_for_one_daemon_always_grants_the_lease() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = lease(&dir);
        assert_eq!(l.attempt().await, Role::Leader);
        assert!(Leadership::always().is_leader());
    }
}
