//! A fake Telegram Bot API, faithful to reference §12.1.
//!
//! It serves `POST /bot<TOKEN>/<method>` on 127.0.0.1 (method names matched case-insensitively,
//! as Telegram does and teloxide needs: it sends `SendMessage`), answers in Telegram's JSON
//! envelope with Telegram's error texts, enforces the message length after HTML parsing and the
//! flood limits, and records what it accepted. Tests script failures through [`FakeTelegram`];
//! shell scripts do the same over `/__control/<action>`:
//!
//! | request | effect |
//! |---|---|
//! | `POST /__control/block {"chat_id": 42}` | 403 bot was blocked (also `deactivate`, `chat_not_found`, `reject_html_once`) |
//! | `POST /__control/migrate {"chat_id": -1, "new_chat_id": -100}` | 400 with `migrate_to_chat_id` |
//! | `POST /__control/fail_next_with_429 {"retry_after": 3}` | the next send gets a 429 |
//! | `POST /__control/stall_after {"n": 2}`, `POST /__control/release` | cut and restore the "network" |
//! | `POST /__control/rate_limits {"enabled": false}` | turn the flood limits off |
//! | `POST /__control/push_command {"user_id":1,"chat_id":1,"first_name":"A","text":"/start"}` | queue a command |
//! | `POST /__control/push_update {"update": {...}}` | queue any update |
//! | `GET /__control/sent`, `GET /__control/calls?method=sendMessage`, `GET /__control/rate_limited` | read back |

mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use routes::Shared;
pub use state::{MAX_MESSAGE_UTF16, RateLimited, SentRecord};

/// A running fake Bot API. Stops serving when dropped.
#[derive(Debug)]
pub struct FakeTelegram {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

/// Start a fake that accepts `token` (any other token gets Telegram's 404).
pub async fn start(token: &str) -> FakeTelegram {
    FakeTelegram::start(token).await
}

impl FakeTelegram {
    pub async fn start(token: &str) -> FakeTelegram {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake telegram on 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("local address of the fake telegram");
        let shared = Arc::new(Shared::new(token));
        let app = routes::router(shared.clone());
        let closed = shared.closed.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(closed.cancelled_owned())
                .await;
        });
        FakeTelegram {
            addr,
            shared,
            server,
        }
    }

    /// The root to configure as `telegram.api_url`; clients append `/bot<TOKEN>/<Method>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `username` `getMe` reports, for `/cmd@username` tests.
    pub fn bot_username(&self) -> String {
        self.shared.lock().bot_username.clone()
    }

    // ---- updates --------------------------------------------------------------------------

    /// Queue a private-chat message from `user_id` as Telegram would deliver it, with a
    /// `bot_command` entity when `text` starts with `/`.
    pub fn push_command(&self, user_id: i64, chat_id: i64, first_name: &str, text: &str) {
        self.shared.push_command(user_id, chat_id, first_name, text);
    }

    /// Queue any update; its `update_id` is assigned by the fake.
    pub fn push_update(&self, update: Value) {
        self.shared.push_update(update);
    }

    /// Updates queued and not yet confirmed by an `offset`.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.len()
    }

    /// Whether someone called `deleteWebhook` with `drop_pending_updates`.
    pub fn dropped_pending_updates(&self) -> bool {
        self.shared.lock().dropped_pending
    }

    /// Cap on how long an empty `getUpdates` waits (default 1 s, whatever `timeout` says).
    pub fn set_long_poll_cap(&self, cap: Duration) {
        self.shared.lock().long_poll_cap = cap;
    }

    // ---- scripted behaviour ---------------------------------------------------------------

    pub fn block(&self, chat_id: i64) {
        self.shared.lock().blocked.insert(chat_id);
    }

    pub fn deactivate(&self, chat_id: i64) {
        self.shared.lock().deactivated.insert(chat_id);
    }

    pub fn chat_not_found(&self, chat_id: i64) {
        self.shared.lock().not_found.insert(chat_id);
    }

    pub fn migrate(&self, chat_id: i64, new_chat_id: i64) {
        self.shared.lock().migrated.insert(chat_id, new_chat_id);
    }

    /// The next `sendMessage`, whatever it is, gets a 429 with this `retry_after`.
    pub fn fail_next_with_429(&self, retry_after_secs: u64) {
        self.shared.lock().fail_next_429 = Some(retry_after_secs);
    }

    /// The next HTML message to `chat_id` gets "can't parse entities".
    pub fn reject_html_once(&self, chat_id: i64) {
        self.shared.lock().reject_html_once.insert(chat_id);
    }

    /// After `n` accepted messages in total, further sends hang unrecorded until [`release`].
    ///
    /// [`release`]: FakeTelegram::release
    pub fn stall_after(&self, n: usize) {
        self.shared.lock().stall_after = Some(n);
    }

    /// Lift a stall; held requests whose clients still wait are then processed.
    pub fn release(&self) {
        self.shared.release();
    }

    /// Lift a stall and abandon the held requests unrecorded (they never reached Telegram).
    pub fn drop_stalled(&self) {
        self.shared.drop_stalled();
    }

    /// Flood limits (30/s overall, 1/s per private chat, 20/min per group). On by default.
    pub fn set_rate_limits(&self, enabled: bool) {
        self.shared.lock().set_rate_limits(enabled);
    }

    // ---- recordings -----------------------------------------------------------------------

    pub fn sent(&self) -> Vec<SentRecord> {
        self.shared.lock().sent.clone()
    }

    pub fn sent_to(&self, chat_id: i64) -> Vec<SentRecord> {
        self.shared
            .lock()
            .sent
            .iter()
            .filter(|r| r.chat_id == chat_id)
            .cloned()
            .collect()
    }

    pub fn rate_limited_count(&self) -> usize {
        self.shared.lock().rate_limited.len()
    }

    /// Every 429 given so far, with the limit behind it.
    pub fn rate_limited(&self) -> Vec<RateLimited> {
        self.shared.lock().rate_limited.clone()
    }

    /// How often `method` was called (any case; a wrong token does not count).
    pub fn calls(&self, method: &str) -> usize {
        self.shared
            .lock()
            .calls
            .get(&method.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Wait until at least `n` messages were accepted, or fail with what was seen.
    pub async fn wait_for_sent(&self, n: usize, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut changed = self.shared.sent_changed.subscribe();
            let count = self.shared.lock().sent.len();
            if count >= n {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline.into(), changed.changed())
                .await
                .is_err()
            {
                let texts: Vec<String> = self.sent().into_iter().map(|r| r.text).collect();
                return Err(format!(
                    "expected {n} sent messages within {timeout:?}, got {count}: {texts:?}"
                ));
            }
        }
    }

    /// Wait until `method` was called at least `n` times.
    pub async fn wait_for_calls(
        &self,
        method: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let count = self.calls(method);
            if count >= n {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "expected {n} calls of {method} within {timeout:?}, got {count}"
                ));
            }
            // Calls have no change signal of their own; a short poll keeps this simple.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl FakeTelegram {
    /// Stop serving and wait until the port is closed and open connections are gone, as
    /// when Telegram becomes unreachable.
    pub async fn shutdown(mut self) {
        self.shared.closed.cancel();
        let _ = (&mut self.server).await;
    }
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        // Graceful shutdown ends waiting requests and closes connections; the task then ends.
        self.shared.closed.cancel();
    }
}
