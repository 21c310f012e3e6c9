//! Engine tests: a real SQLite store in a tempdir, a scripted [`Sender`] standing in for the
//! Bot API, tokio's paused clock for the pacer and a [`ManualClock`] for ledger times.
//!
//! The scripted sender keeps what "Telegram" accepted, so every test can check the one
//! property that matters from the student's side: which messages arrived, how often, in
//! which order.

mod broadcast;
mod failures;
mod resume;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tempfile::TempDir;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{DeliveryEngine, DeliveryReport, DeliverySettings};
use crate::clock::{Clock, ManualClock};
use crate::store::embedded::EmbeddedStore;
use crate::store::{Delivery, DeliveryStatus, Notice, Recipient, Store, SubscriberProfile};
use crate::telegram::{ChatTarget, SendError, Sender, SentMessage, TextMode};

/// A message "Telegram" accepted.
#[derive(Debug, Clone)]
pub(super) struct Received {
    pub chat: ChatTarget,
    pub text: String,
    pub mode: TextMode,
    pub at: Instant,
}

/// A scripted Bot API: accepts everything unless told otherwise, and records what it accepted.
#[derive(Default)]
pub(super) struct ScriptedSender {
    state: Mutex<SenderState>,
    /// Fired when the simulated crash point is reached.
    pub crashed: Notify,
}

#[derive(Default)]
struct SenderState {
    received: Vec<Received>,
    calls: Vec<(ChatTarget, TextMode, Instant)>,
    in_flight: usize,
    max_in_flight: usize,
    hung: usize,
    latency: Duration,
    /// Answers by call number (1-based), whatever the chat.
    at_call: HashMap<usize, SendError>,
    /// Answers for the next calls to one chat.
    per_chat: HashMap<ChatTarget, VecDeque<SendError>>,
    /// Chats that refuse HTML every time.
    refuses_html: HashSet<ChatTarget>,
    /// After this many accepted messages, accept one more but never answer, and hang every
    /// later call without accepting it: the process "dies" with sends on the wire.
    crash_after: Option<usize>,
}

impl ScriptedSender {
    fn with(&self, f: impl FnOnce(&mut SenderState)) {
        f(&mut self.state.lock().unwrap());
    }

    pub fn set_latency(&self, latency: Duration) {
        self.with(|s| s.latency = latency);
    }

    /// Answer the `n`-th call (counting from 1) with `error`.
    pub fn fail_call(&self, n: usize, error: SendError) {
        self.with(|s| {
            s.at_call.insert(n, error);
        });
    }

    pub fn fail_chat(&self, chat: ChatTarget, error: SendError) {
        self.with(|s| s.per_chat.entry(chat).or_default().push_back(error));
    }

    pub fn refuse_html(&self, chat: ChatTarget) {
        self.with(|s| {
            s.refuses_html.insert(chat);
        });
    }

    pub fn crash_after(&self, accepted: Option<usize>) {
        self.with(|s| s.crash_after = accepted);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn received_by(&self, chat: &ChatTarget) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.chat == *chat)
            .collect()
    }

    pub fn calls(&self) -> Vec<(ChatTarget, TextMode, Instant)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Calls that will never be answered (after the simulated crash).
    pub fn hung(&self) -> usize {
        self.state.lock().unwrap().hung
    }

    pub fn max_in_flight(&self) -> usize {
        self.state.lock().unwrap().max_in_flight
    }

    /// Decide the answer to one call; `None` means hang forever.
    fn answer(
        &self,
        chat: &ChatTarget,
        text: &str,
        mode: TextMode,
    ) -> Option<Result<SentMessage, SendError>> {
        let mut s = self.state.lock().unwrap();
        let now = Instant::now();
        s.calls.push((chat.clone(), mode, now));
        if let Some(limit) = s.crash_after
            && s.received.len() >= limit
        {
            if s.received.len() == limit {
                s.received.push(Received {
                    chat: chat.clone(),
                    text: text.into(),
                    mode,
                    at: now,
                });
                self.crashed.notify_one();
            }
            s.hung += 1;
            return None;
        }
        let call = s.calls.len();
        let scripted = s
            .at_call
            .remove(&call)
            .or_else(|| s.per_chat.get_mut(chat).and_then(VecDeque::pop_front));
        if let Some(error) = scripted {
            return Some(Err(error));
        }
        if mode == TextMode::Html && s.refuses_html.contains(chat) {
            return Some(Err(SendError::Unparseable {
                reason: "can't parse entities".into(),
            }));
        }
        s.received.push(Received {
            chat: chat.clone(),
            text: text.into(),
            mode,
            at: now,
        });
        Some(Ok(SentMessage {
            message_id: s.received.len() as i64,
        }))
    }
}

#[async_trait]
impl Sender for ScriptedSender {
    async fn send(
        &self,
        chat: &ChatTarget,
        text: &str,
        mode: TextMode,
    ) -> Result<SentMessage, SendError> {
        let latency = {
            let mut s = self.state.lock().unwrap();
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            s.latency
        };
        tokio::time::sleep(latency).await;
        let answer = self.answer(chat, text, mode);
        self.with(|s| s.in_flight -= 1);
        match answer {
            Some(answer) => answer,
            None => std::future::pending().await,
        }
    }
}

/// A store in a tempdir, a manual clock and a scripted sender.
pub(super) struct Harness {
    _dir: TempDir,
    pub store: Arc<EmbeddedStore>,
    pub clock: ManualClock,
    pub sender: Arc<ScriptedSender>,
}

pub(super) fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_780_000_000_000).unwrap()
}

impl Harness {
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(&dir.path().join("supersetd.db")).unwrap());
        Harness {
            _dir: dir,
            store,
            clock: ManualClock::new(start_time()),
            sender: Arc::default(),
        }
    }

    pub fn engine(&self, settings: DeliverySettings) -> DeliveryEngine {
        DeliveryEngine::new(
            self.store.clone(),
            self.sender.clone(),
            Arc::new(self.clock.clone()),
            settings,
        )
    }

    /// Subscribe users `ids` in private chats (chat id = user id).
    pub async fn subscribe(&self, ids: impl IntoIterator<Item = i64>) {
        for id in ids {
            self.subscribe_in(id, id).await;
        }
    }

    pub async fn subscribe_in(&self, user_id: i64, chat_id: i64) {
        let profile = SubscriberProfile {
            user_id,
            chat_id,
            username: None,
            first_name: Some("S".into()),
            last_name: None,
        };
        self.store
            .upsert_subscriber(profile, self.clock.now())
            .await
            .unwrap();
    }

    /// Store notice `id` with `message` as its formatted text, published `order` seconds in.
    pub async fn add_notice(&self, id: &str, order: i64, message: &str) {
        let mut notice: Notice =
            crate::store::contract::notice(id, start_time().timestamp_millis() + order * 1000);
        notice.formatted_message = message.to_owned();
        self.store.save_fetch(vec![notice], vec![]).await.unwrap();
    }

    pub async fn rows(&self, notice_id: &str) -> Vec<Delivery> {
        self.store.deliveries_for_notice(notice_id).await.unwrap()
    }

    pub async fn row(&self, notice_id: &str, recipient: &Recipient) -> Delivery {
        self.rows(notice_id)
            .await
            .into_iter()
            .find(|r| r.recipient == *recipient)
            .unwrap()
    }
}

/// Pacing that does not slow tests down; limits are tested where they matter.
pub(super) fn fast() -> DeliverySettings {
    DeliverySettings {
        rate_per_sec: 0.0,
        private_chat_interval: Duration::ZERO,
        group_chat_interval: Duration::ZERO,
        ..DeliverySettings::default()
    }
}

pub(super) async fn deliver(engine: &DeliveryEngine) -> DeliveryReport {
    engine
        .deliver_pending(&CancellationToken::new())
        .await
        .unwrap()
}

pub(super) fn user(user_id: i64) -> Recipient {
    Recipient::Subscriber { user_id }
}

/// Poll `condition` until it holds; panic with `what` after a minute of (tokio) time.
pub(super) async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// How many times each (chat, text) arrived.
pub(super) fn arrivals(received: &[Received]) -> HashMap<(ChatTarget, String), usize> {
    let mut counts = HashMap::new();
    for r in received {
        *counts.entry((r.chat.clone(), r.text.clone())).or_default() += 1;
    }
    counts
}
