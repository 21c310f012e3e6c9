//! The pacer: when the next message may leave, for everyone sending through one bot.
//!
//! Telegram enforces three limits at once: about 30 messages a second per bot, one a second
//! per private chat and about 20 a minute per group or channel; a 429 says "nothing at all
//! until then". The pacer owns all three so workers never coordinate among themselves:
//! a worker calls [`Pacer::acquire`] for the chat it is about to write to and sends when it
//! returns.
//!
//! Shape: the global limit is a GCRA with no burst allowance (a "theoretical arrival time"
//! that advances by `1 / rate` per grant), so grants are evenly spaced and no one-second window
//! ever holds more than `rate` sends, however Telegram aligns its windows. A grant is a
//! reservation: the caller learns its slot under the lock and then sleeps without holding it,
//! so waiting costs one timer, never a busy loop.
//!
//! Per-chat spacing is checked *before* the global slot is reserved. Reserving a global slot
//! in the future for a chat that must wait would push every other worker behind it; instead a
//! worker first sleeps until its chat is free and only then takes the next global slot.
//!
//! Evenly spaced grants are not evenly spaced arrivals: a send can be held up between its
//! grant and Telegram (a slow ledger fsync, a descheduled process) and then arrive together
//! with later ones, and every worker whose slot passed during a stall wakes at once. Telegram
//! counts arrivals, which we cannot see, but each arrival lies between its grant and its
//! answer. So [`Pacer::acquire`] hands out a [`SendSlot`] that the worker holds while its
//! request is on the wire, and a grant is released only while the sends answered within the
//! last second plus those still on the wire are fewer than `rate`. Any one-second window of
//! arrivals then holds at most `rate` of them: the last one released into it saw every
//! earlier one either on the wire or answered less than a second before. Dropping the slot
//! also starts its chat's spacing from the answer, so two messages to one chat arrive at
//! least an interval apart however long the first took.
//!
//! A 429 calls [`Pacer::pause_until`]: the global schedule restarts at that instant and every
//! reservation made before the pause is invalidated (an epoch counter), so workers that were
//! already sleeping re-queue behind the pause instead of waking together and bursting.
//!
//! Time is `tokio::time::Instant`, so tests drive the pacer with `tokio::time::pause()`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::telegram::ChatTarget;

/// Prune the per-chat table when it grows past this many chats; entries in the past carry
/// no information, so a broadcast to many subscribers does not keep them all.
const CHAT_TABLE_PRUNE_AT: usize = 1024;

/// The limits the pacer enforces.
#[derive(Debug, Clone, Copy)]
pub struct PacerLimits {
    /// Messages per second overall. Values ≤ 0 are treated as "no global limit".
    pub rate_per_sec: f64,
    pub private_chat_interval: Duration,
    pub group_chat_interval: Duration,
}

/// Shared by every worker of an engine (and across steps, so spacing holds between them).
#[derive(Debug)]
pub struct Pacer {
    limits: PacerLimits,
    emission_interval: Duration,
    /// At most this many releases in any one second (0: no window check).
    window_cap: usize,
    state: Mutex<PacerState>,
}

#[derive(Debug)]
struct PacerState {
    /// The earliest instant the next global grant may have.
    next_global: Instant,
    /// Nothing is granted before this instant (a 429's `retry_after`).
    paused_until: Option<Instant>,
    /// Bumped by every pause; a reservation from an older epoch is void.
    epoch: u64,
    /// Per chat: the earliest instant its next message may leave.
    next_for_chat: HashMap<ChatTarget, Instant>,
    /// Sends granted and not yet answered.
    on_the_wire: usize,
    /// When sends were answered within the last second, oldest first.
    answered: VecDeque<Instant>,
}

/// A granted send. Hold it until the request has its answer, then drop it: that frees the
/// send's place in the one-second window and starts its chat's spacing.
#[must_use = "drop the slot once the send has its answer"]
pub struct SendSlot<'a> {
    pacer: &'a Pacer,
    chat: ChatTarget,
}

impl Drop for SendSlot<'_> {
    fn drop(&mut self) {
        self.pacer.answered(&self.chat);
    }
}

enum Reservation {
    /// The chat is busy until then: sleep and try again.
    ChatBusy(Instant),
    /// Go at `slot`, unless a pause arrives meanwhile.
    Granted { slot: Instant, epoch: u64 },
}

/// What a granted worker finds when its slot comes.
enum Release {
    Go,
    /// A pause voided the reservation: reserve again.
    Void,
    /// The window holds `rate` sends on the wire or answered: try again then.
    WindowFullUntil(Instant),
}

const WINDOW: Duration = Duration::from_secs(1);

impl Pacer {
    pub fn new(limits: PacerLimits) -> Self {
        let emission_interval = if limits.rate_per_sec > 0.0 && limits.rate_per_sec.is_finite() {
            Duration::from_secs_f64(1.0 / limits.rate_per_sec)
        } else {
            Duration::ZERO
        };
        let window_cap = if emission_interval.is_zero() {
            0
        } else {
            (limits.rate_per_sec.floor() as usize).max(1)
        };
        Pacer {
            limits,
            emission_interval,
            window_cap,
            state: Mutex::new(PacerState {
                next_global: Instant::now(),
                paused_until: None,
                epoch: 0,
                next_for_chat: HashMap::new(),
                on_the_wire: 0,
                answered: VecDeque::with_capacity(window_cap),
            }),
        }
    }

    /// Wait until a message to `chat` may be sent, and count it as sent at that instant.
    ///
    /// Cancel safety: dropping the future before it returns gives the reserved slot up
    /// unused (the global pace is slightly slower for one slot; nothing is over-sent).
    pub async fn acquire(&self, chat: &ChatTarget) -> SendSlot<'_> {
        loop {
            match self.reserve(chat) {
                Reservation::ChatBusy(until) => tokio::time::sleep_until(until).await,
                Reservation::Granted { slot, epoch } => {
                    let mut at = slot;
                    loop {
                        tokio::time::sleep_until(at).await;
                        match self.release(epoch) {
                            Release::Go => {
                                return SendSlot {
                                    pacer: self,
                                    chat: chat.clone(),
                                };
                            }
                            Release::WindowFullUntil(until) => at = until,
                            // A 429 arrived while we slept: our slot was before the pause.
                            Release::Void => break,
                        }
                    }
                }
            }
        }
    }

    /// Let a granted worker go now, unless a pause voided its grant or the window already
    /// holds `window_cap` sends (on the wire, or answered within the last second).
    fn release(&self, epoch: u64) -> Release {
        let now = Instant::now();
        let mut state = self.lock();
        if state.epoch != epoch {
            return Release::Void;
        }
        while state
            .answered
            .front()
            .is_some_and(|at| now.duration_since(*at) >= WINDOW)
        {
            state.answered.pop_front();
        }
        if self.window_cap > 0 && state.answered.len() + state.on_the_wire >= self.window_cap {
            return Release::WindowFullUntil(Self::window_frees(&state, now));
        }
        state.on_the_wire += 1;
        Release::Go
    }

    /// When a full window next has room. An answer does not free a place (its send only
    /// moves from the wire to the last second's answers); a place frees when an answer is a
    /// second old, and the oldest answer goes first. With none yet, every place is on the
    /// wire, and the earliest any can free is a second after its answer, so after now.
    fn window_frees(state: &PacerState, now: Instant) -> Instant {
        state.answered.front().map_or(now, |at| *at) + WINDOW
    }

    /// Grant nothing before `until`. A later pause extends an earlier one, never shortens it.
    pub fn pause_until(&self, until: Instant) {
        let mut state = self.lock();
        let paused = state.paused_until.map_or(until, |p| p.max(until));
        state.paused_until = Some(paused);
        state.next_global = state.next_global.max(paused);
        state.epoch += 1;
    }

    /// A send to `chat` got its answer (its [`SendSlot`] was dropped).
    fn answered(&self, chat: &ChatTarget) {
        let now = Instant::now();
        let free = now + self.chat_interval(chat);
        let mut state = self.lock();
        let next = state.next_for_chat.entry(chat.clone()).or_insert(free);
        *next = (*next).max(free);
        state.on_the_wire = state.on_the_wire.saturating_sub(1);
        if self.window_cap > 0 {
            state.answered.push_back(now);
        }
    }

    /// Grant nothing for `duration` from now.
    pub fn pause_for(&self, duration: Duration) {
        self.pause_until(Instant::now() + duration);
    }

    fn reserve(&self, chat: &ChatTarget) -> Reservation {
        let now = Instant::now();
        let mut state = self.lock();
        let mut earliest = state.next_global.max(now);
        if let Some(paused) = state.paused_until {
            if paused <= now {
                state.paused_until = None;
            } else {
                earliest = earliest.max(paused);
            }
        }
        if let Some(&chat_free) = state.next_for_chat.get(chat)
            && chat_free > earliest
        {
            return Reservation::ChatBusy(chat_free);
        }
        state.next_global = earliest + self.emission_interval;
        let interval = self.chat_interval(chat);
        state
            .next_for_chat
            .insert(chat.clone(), earliest + interval);
        if state.next_for_chat.len() > CHAT_TABLE_PRUNE_AT {
            state.next_for_chat.retain(|_, free| *free > now);
        }
        Reservation::Granted {
            slot: earliest,
            epoch: state.epoch,
        }
    }

    fn chat_interval(&self, chat: &ChatTarget) -> Duration {
        if chat.is_group_like() {
            self.limits.group_chat_interval
        } else {
            self.limits.private_chat_interval
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        // No code panics while holding the lock, and the state stays consistent if one did.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn pacer(rate_per_sec: f64, private_ms: u64, group_ms: u64) -> Arc<Pacer> {
        Arc::new(Pacer::new(PacerLimits {
            rate_per_sec,
            private_chat_interval: Duration::from_millis(private_ms),
            group_chat_interval: Duration::from_millis(group_ms),
        }))
    }

    /// Run one `acquire` per chat concurrently; return each grant's offset from the start, in
    /// grant order.
    async fn grants(pacer: &Arc<Pacer>, chats: Vec<ChatTarget>) -> Vec<(ChatTarget, Duration)> {
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chat in chats {
            let pacer = Arc::clone(pacer);
            set.spawn(async move {
                drop(pacer.acquire(&chat).await);
                (chat, start.elapsed())
            });
        }
        let mut out = set.join_all().await;
        out.sort_by_key(|(_, at)| *at);
        out
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[tokio::test(start_paused = true)]
    async fn global_rate_spaces_grants_evenly() {
        let pacer = pacer(10.0, 0, 0);
        let chats = (1..=20).map(ChatTarget::Id).collect();
        let got = grants(&pacer, chats).await;
        let offsets: Vec<Duration> = got.iter().map(|(_, at)| *at).collect();
        let expected: Vec<Duration> = (0..20).map(|i| ms(100 * i)).collect();
        assert_eq!(offsets, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn private_and_group_chats_are_spaced() {
        let pacer = pacer(0.0, 1000, 3000);
        let start = Instant::now();
        let mut private = Vec::new();
        let mut group = Vec::new();
        for _ in 0..3 {
            drop(pacer.acquire(&ChatTarget::Id(7)).await);
            private.push(start.elapsed());
        }
        let start = Instant::now();
        for _ in 0..3 {
            drop(pacer.acquire(&ChatTarget::Username("@chan".into())).await);
            group.push(start.elapsed());
        }
        assert_eq!(private, vec![ms(0), ms(1000), ms(2000)]);
        assert_eq!(group, vec![ms(0), ms(3000), ms(6000)]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_chat_does_not_hold_up_others() {
        let pacer = pacer(10.0, 1000, 3000);
        let got = grants(
            &pacer,
            vec![
                ChatTarget::Id(1),
                ChatTarget::Id(1),
                ChatTarget::Id(2),
                ChatTarget::Id(3),
            ],
        )
        .await;
        let at = |id: i64| {
            got.iter()
                .filter(|(c, _)| *c == ChatTarget::Id(id))
                .map(|(_, d)| *d)
                .collect::<Vec<_>>()
        };
        assert_eq!(at(1), vec![ms(0), ms(1000)]);
        // Chats 2 and 3 take the next global slots, not slots behind chat 1's second message.
        let mut others = [at(2)[0], at(3)[0]];
        others.sort();
        assert_eq!(others, [ms(100), ms(200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_sends_to_one_chat_stay_spaced() {
        let pacer = pacer(0.0, 1000, 3000);
        let got = grants(&pacer, vec![ChatTarget::Id(-100); 4]).await;
        let offsets: Vec<Duration> = got.iter().map(|(_, at)| *at).collect();
        assert_eq!(offsets, vec![ms(0), ms(3000), ms(6000), ms(9000)]);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everyone_including_waiting_reservations() {
        let pacer = pacer(1.0, 0, 0);
        let start = Instant::now();
        let waiting = {
            let pacer = Arc::clone(&pacer);
            tokio::spawn(async move { grants(&pacer, (1..=3).map(ChatTarget::Id).collect()).await })
        };
        // The first grant is at 0 s; the others hold reservations for 1 s and 2 s.
        tokio::time::sleep(ms(500)).await;
        pacer.pause_for(Duration::from_secs(10));
        let got = waiting.await.unwrap();
        let offsets: Vec<Duration> = got.iter().map(|(_, at)| *at).collect();
        assert_eq!(offsets, vec![ms(0), ms(10_500), ms(11_500)]);
        // A later, shorter pause does not shorten the longer one.
        pacer.pause_until(start + ms(20_000));
        pacer.pause_until(start + ms(15_000));
        drop(pacer.acquire(&ChatTarget::Id(9)).await);
        assert_eq!(start.elapsed(), ms(20_000));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_does_not_release_a_burst() {
        let pacer = pacer(10.0, 0, 0);
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chat in (1..=30).map(ChatTarget::Id) {
            let pacer = Arc::clone(&pacer);
            set.spawn(async move {
                drop(pacer.acquire(&chat).await);
                start.elapsed()
            });
        }
        // Every worker takes its slot, then the process "stalls" for 1.5 s: 16 slots pass
        // unserved and their workers all wake at the same instant.
        tokio::task::yield_now().await;
        tokio::time::advance(ms(1500)).await;
        let mut released = set.join_all().await;
        released.sort();
        for (first, eleventh) in released.iter().zip(released.iter().skip(10)) {
            assert!(
                *eleventh - *first >= Duration::from_secs(1),
                "more than 10 releases within one second: {first:?} .. {eleventh:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_answer_pushes_the_chats_next_grant_back() {
        let pacer = pacer(0.0, 1000, 0);
        let chat = ChatTarget::Id(7);
        let start = Instant::now();
        let slot = pacer.acquire(&chat).await;
        // The request took 400 ms to get its answer: the next send waits 1 s from then.
        tokio::time::advance(ms(400)).await;
        drop(slot);
        let _slot = pacer.acquire(&chat).await;
        assert_eq!(start.elapsed(), ms(1400));
    }

    #[tokio::test(start_paused = true)]
    async fn sends_still_on_the_wire_count_against_the_window() {
        let pacer = pacer(10.0, 0, 0);
        let start = Instant::now();
        let mut set = tokio::task::JoinSet::new();
        for chat in (1..=11).map(ChatTarget::Id) {
            let pacer = Arc::clone(&pacer);
            set.spawn(async move {
                let slot = pacer.acquire(&chat).await;
                let released = start.elapsed();
                // Telegram is slow to answer: each request stays on the wire for 2 s.
                tokio::time::sleep(Duration::from_secs(2)).await;
                drop(slot);
                released
            });
        }
        let mut released = set.join_all().await;
        released.sort();
        // Ten leave 100 ms apart; the eleventh waits for the first answer, since the ten
        // could still all arrive within one second of it.
        assert!(released[9] < ms(1000), "{released:?}");
        assert!(released[10] >= ms(2000), "{released:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn no_rate_means_no_global_wait() {
        let pacer = pacer(0.0, 0, 0);
        let got = grants(&pacer, (1..=50).map(ChatTarget::Id).collect()).await;
        assert!(got.iter().all(|(_, at)| *at == Duration::ZERO));
    }
}
