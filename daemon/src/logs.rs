//! The in-memory log ring that `supersetctl logs` and the console read by cursor.
//!
//! [`LogRing`] owns the last N formatted log lines and the sequence numbers that let readers
//! resume where they stopped. It is fed by a `tracing_subscriber` layer ([`LogRing::layer`]) and
//! read by [`LogRing::tail`], a long-poll: tarpc has no server streaming, so a follower asks
//! "lines after cursor, waiting up to W for the first one" in a loop.
//!
//! The writer side is every thread that logs, so it must never wait on a reader: it holds a
//! std mutex only to push one line (entries are `Arc`s so readers copy pointers out under the
//! lock and filter outside it), and wakes followers through a `watch` channel, which never
//! blocks the sender. A reader that falls behind loses lines visibly (`dropped`), never slows
//! the daemon. It does not own file or stderr logging; those are other layers.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use supersetd_proto::{LogBatch, LogEntry, LogLevel, LogQuery, RunId};
use tokio::sync::watch;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Lines held by default: about an hour of a busy run at info level, a few MB at most.
pub const DEFAULT_CAPACITY: usize = 10_000;
/// The most lines one reply carries, so one call's frame stays far below the frame limit.
pub const MAX_BATCH: u32 = 1000;
/// The longest a single `tail` waits; clients loop for longer follows.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// A bounded ring of recent log lines, fed by a tracing layer. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LogRing {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    capacity: usize,
    ring: Mutex<Ring>,
    /// The next sequence number to be written; followers wait for it to change.
    next_seq: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<Arc<LogEntry>>,
    /// Sequence number of `entries[0]`; entries are contiguous from here.
    oldest_seq: u64,
    next_seq: u64,
}

impl Default for LogRing {
    fn default() -> Self {
        LogRing::new(DEFAULT_CAPACITY)
    }
}

impl LogRing {
    /// A ring holding at most `capacity` lines (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (next_seq, _) = watch::channel(0);
        LogRing {
            inner: Arc::new(Inner {
                capacity,
                ring: Mutex::new(Ring {
                    entries: VecDeque::with_capacity(capacity.min(1024)),
                    ..Ring::default()
                }),
                next_seq,
            }),
        }
    }

    /// Append a line, assigning its sequence number. Never blocks on readers.
    pub fn push(
        &self,
        time: chrono::DateTime<Utc>,
        level: LogLevel,
        target: &str,
        text: String,
        run: Option<RunId>,
    ) {
        let next = {
            // Held only for the push; readers copy `Arc`s out and filter after unlocking.
            let mut ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
            let seq = ring.next_seq;
            if ring.entries.len() == self.inner.capacity {
                ring.entries.pop_front();
                ring.oldest_seq += 1;
            }
            if ring.entries.is_empty() {
                ring.oldest_seq = seq;
            }
            ring.entries.push_back(Arc::new(LogEntry {
                seq,
                time,
                level,
                target: target.to_owned(),
                text,
                run,
            }));
            ring.next_seq = seq + 1;
            ring.next_seq
        };
        self.inner.next_seq.send_replace(next);
    }

    /// A tracing layer that formats every event into this ring.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        RingLayer { ring: self.clone() }
    }

    /// Lines after `q.cursor` that match the filters, at most `q.max` (capped at [`MAX_BATCH`]),
    /// waiting up to `q.wait_ms` (capped at [`MAX_WAIT`]) for the first match. With `q.tail`,
    /// starts from the last `tail` matching lines instead. A cursor beyond the end (the daemon
    /// restarted since the reader's last call) restarts from the oldest line held.
    ///
    /// Cancel safe: it only reads.
    pub async fn tail(&self, q: &LogQuery) -> LogBatch {
        let max = q.max.clamp(1, MAX_BATCH) as usize;
        let wait = Duration::from_millis(q.wait_ms).min(MAX_WAIT);
        let deadline = tokio::time::Instant::now() + wait;
        let filter = Filter::new(q);
        // Subscribed before the first look, so a line pushed between the look and the wait
        // still marks the channel changed: no lost wake-up.
        let mut changed = self.inner.next_seq.subscribe();
        changed.borrow_and_update();

        let (snapshot, oldest, next) = self.snapshot();
        let first = if let Some(n) = q.tail {
            let n = (n as usize).min(max);
            let entries = last_matching(&snapshot, &filter, n);
            if !entries.is_empty() || wait.is_zero() {
                return LogBatch {
                    entries,
                    next_cursor: next,
                    dropped: 0,
                };
            }
            next
        } else if q.cursor > next {
            oldest
        } else {
            q.cursor
        };
        let dropped = oldest.saturating_sub(first);
        let mut cursor = first.max(oldest);
        let mut batch = scan(&snapshot, oldest, cursor, &filter, max, next);
        loop {
            if !batch.entries.is_empty() {
                break;
            }
            cursor = batch.next_cursor;
            let timed_out = tokio::time::timeout_at(deadline, changed.changed()).await;
            if !matches!(timed_out, Ok(Ok(()))) {
                break;
            }
            let (snapshot, oldest, next) = self.snapshot();
            // Lines may have fallen out while we waited; those count as dropped too.
            let missed = oldest.saturating_sub(cursor);
            batch = scan(&snapshot, oldest, cursor.max(oldest), &filter, max, next);
            batch.dropped += missed;
        }
        batch.dropped += dropped;
        batch
    }

    fn snapshot(&self) -> (Vec<Arc<LogEntry>>, u64, u64) {
        let ring = self.inner.ring.lock().unwrap_or_else(|p| p.into_inner());
        (
            ring.entries.iter().cloned().collect(),
            ring.oldest_seq,
            ring.next_seq,
        )
    }
}

/// Matching lines from `from` on; `next_cursor` is past the last line examined.
fn scan(
    snapshot: &[Arc<LogEntry>],
    oldest: u64,
    from: u64,
    filter: &Filter,
    max: usize,
    next: u64,
) -> LogBatch {
    let start = usize::try_from(from.saturating_sub(oldest))
        .unwrap_or(usize::MAX)
        .min(snapshot.len());
    let mut entries = Vec::new();
    let mut next_cursor = next;
    for entry in &snapshot[start..] {
        if filter.matches(entry) {
            entries.push(LogEntry::clone(entry));
            if entries.len() == max {
                next_cursor = entry.seq + 1;
                break;
            }
        }
    }
    LogBatch {
        entries,
        next_cursor,
        dropped: 0,
    }
}

fn last_matching(snapshot: &[Arc<LogEntry>], filter: &Filter, n: usize) -> Vec<LogEntry> {
    let mut entries: Vec<LogEntry> = snapshot
        .iter()
        .rev()
        .filter(|e| filter.matches(e))
        .take(n)
        .map(|e| LogEntry::clone(e))
        .collect();
    entries.reverse();
    entries
}

struct Filter {
    min_level: Option<LogLevel>,
    grep: Option<String>,
    run: Option<RunId>,
    target: Option<String>,
}

impl Filter {
    fn new(q: &LogQuery) -> Self {
        let grep = q
            .grep
            .as_deref()
            .filter(|g| !g.is_empty())
            .map(str::to_lowercase);
        Filter {
            min_level: q.min_level,
            grep,
            run: q.run,
            target: q.target.clone().filter(|t| !t.is_empty()),
        }
    }

    fn matches(&self, e: &LogEntry) -> bool {
        self.min_level.is_none_or(|min| e.level >= min)
            && self.run.is_none_or(|run| e.run == Some(run))
            && self
                .target
                .as_deref()
                .is_none_or(|t| under_target(&e.target, t))
            && self
                .grep
                .as_deref()
                .is_none_or(|g| e.text.to_lowercase().contains(g) || e.target.contains(g))
    }
}

/// `target` is `prefix` or a module below it: `supersetd::scheduler` takes
/// `supersetd::scheduler::timer` but not `supersetd::schedulerx`.
fn under_target(target: &str, prefix: &str) -> bool {
    target
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

struct RingLayer {
    ring: LogRing,
}

/// The `run_id` a span carries, stored in the span's extensions when it is created.
struct SpanRunId(u64);

impl<S> Layer<S> for RingLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut finder = RunIdFinder(None);
        attrs.record(&mut finder);
        if let (Some(run), Some(span)) = (finder.0, ctx.span(id)) {
            span.extensions_mut().insert(SpanRunId(run));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut finder = RunIdFinder(None);
        values.record(&mut finder);
        if let (Some(run), Some(span)) = (finder.0, ctx.span(id)) {
            span.extensions_mut().replace(SpanRunId(run));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut text = TextVisitor::default();
        event.record(&mut text);
        let run = ctx.event_scope(event).and_then(|scope| {
            scope
                .into_iter()
                .find_map(|span| span.extensions().get::<SpanRunId>().map(|r| RunId(r.0)))
        });
        let meta = event.metadata();
        self.ring.push(
            Utc::now(),
            level(*meta.level()),
            meta.target(),
            text.finish(),
            run,
        );
    }
}

fn level(l: Level) -> LogLevel {
    match l {
        Level::TRACE => LogLevel::Trace,
        Level::DEBUG => LogLevel::Debug,
        Level::INFO => LogLevel::Info,
        Level::WARN => LogLevel::Warn,
        Level::ERROR => LogLevel::Error,
    }
}

struct RunIdFinder(Option<u64>);

impl Visit for RunIdFinder {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "run_id" {
            self.0 = Some(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if field.name() == "run_id" {
            self.0 = u64::try_from(value).ok();
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "run_id" {
            self.0 = value.parse().ok();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "run_id" {
            self.0 = format!("{value:?}").parse().ok();
        }
    }
}

/// Renders `message key=value key2="with space"`.
#[derive(Default)]
struct TextVisitor {
    message: String,
    fields: String,
}

impl TextVisitor {
    fn finish(self) -> String {
        if self.message.is_empty() {
            self.fields.trim_start().to_owned()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for TextVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else if value.is_empty() || value.contains(char::is_whitespace) || value.contains('"') {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests;
