//! The logs view: a live tail of the daemon's log ring.
//!
//! The connection task long-polls `tail_logs` and feeds batches in; this view keeps the last
//! [`MAX_LINES`] of them. Following (the default) pins the view to the newest line; scrolling
//! up stops following and keeps the same lines on screen as new ones arrive; `G` follows
//! again. The level filter is applied by the daemon, so changing it restarts the tail; batches
//! read under another filter are ignored. Lines the daemon's ring dropped before we read them
//! are counted and shown, never silently lost.

use std::collections::VecDeque;

use chrono::Local;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use supersetd_proto::{LogEntry, LogLevel};

use crate::tui::keymap::{self, Action, Binding};
use crate::tui::msg::{Command, ConnEvent, LogFilter, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;
use crate::tui::widgets::list::matches;

/// Lines kept in memory. Rendering cost grows with what is held (k9s caps at 5000 for the
/// same reason); an operator who needs more reads the log file.
pub const MAX_LINES: usize = 5000;

pub struct LogsView {
    theme: Theme,
    entries: VecDeque<LogEntry>,
    filter: LogFilter,
    /// Lines counted as dropped by the daemon since the tail (re)started.
    dropped: u64,
    /// Lines evicted here because [`MAX_LINES`] was reached.
    evicted: u64,
    /// How many lines above the newest the view's bottom is; 0 means following.
    scroll_back: usize,
    /// Rows of log text the last resize left room for; the page size for PgUp/PgDn.
    page: usize,
    error: Option<String>,
    /// `/` search: only lines containing this (case-insensitive) are shown.
    search: String,
}

impl LogsView {
    pub fn new(theme: Theme) -> LogsView {
        LogsView {
            theme,
            entries: VecDeque::new(),
            filter: LogFilter::default(),
            dropped: 0,
            evicted: 0,
            scroll_back: 0,
            page: 10,
            error: None,
            search: String::new(),
        }
    }

    pub fn is_following(&self) -> bool {
        self.scroll_back == 0
    }

    pub fn min_level(&self) -> Option<LogLevel> {
        self.filter.min_level
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.dropped = 0;
        self.evicted = 0;
        self.scroll_back = 0;
    }

    fn push_batch(&mut self, entries: &[LogEntry], dropped: u64) {
        self.dropped += dropped;
        // Skip lines already held (a batch can overlap after a reconnect); seq only grows.
        let last_seq = self.entries.back().map(|e| e.seq);
        let fresh = entries
            .iter()
            .filter(|e| last_seq.is_none_or(|s| e.seq > s));
        let mut added = 0;
        for entry in fresh {
            if self.entries.len() == MAX_LINES {
                self.entries.pop_front();
                self.evicted += 1;
            }
            self.entries.push_back(entry.clone());
            added += 1;
        }
        if self.scroll_back > 0 {
            // Keep the same lines on screen while the operator reads.
            self.scroll_back = (self.scroll_back + added).min(self.max_scroll());
        }
    }

    fn max_scroll(&self) -> usize {
        self.entries.len().saturating_sub(1)
    }

    fn next_level(level: Option<LogLevel>) -> Option<LogLevel> {
        match level {
            None => Some(LogLevel::Debug),
            Some(LogLevel::Trace | LogLevel::Debug) => Some(LogLevel::Info),
            Some(LogLevel::Info) => Some(LogLevel::Warn),
            Some(LogLevel::Warn) => Some(LogLevel::Error),
            Some(LogLevel::Error) => None,
        }
    }

    fn act(&mut self, action: Action) -> Option<Command> {
        let max = self.max_scroll();
        match action {
            Action::Up => self.scroll_back = (self.scroll_back + 1).min(max),
            Action::Down => self.scroll_back = self.scroll_back.saturating_sub(1),
            Action::PageUp => self.scroll_back = (self.scroll_back + self.page.max(1)).min(max),
            Action::PageDown => {
                self.scroll_back = self.scroll_back.saturating_sub(self.page.max(1))
            }
            Action::Top => self.scroll_back = max,
            Action::Bottom => self.scroll_back = 0,
            Action::CycleLevel => {
                self.filter.min_level = Self::next_level(self.filter.min_level);
                self.clear();
                return Some(Command::TailLogs {
                    filter: self.filter,
                });
            }
            _ => {}
        }
        None
    }

    fn level_style(&self, level: LogLevel) -> Style {
        match level {
            LogLevel::Error => self.theme.bad(),
            LogLevel::Warn => self.theme.warn(),
            LogLevel::Info => self.theme.good(),
            LogLevel::Debug | LogLevel::Trace => self.theme.dim(),
        }
    }

    fn entry_line(&self, e: &LogEntry) -> Line<'static> {
        let time = e.time.with_timezone(&Local).format("%H:%M:%S").to_string();
        // Multi-line messages are shown on one row; `⏎` marks where the breaks were.
        let text = e.text.replace('\n', " ⏎ ");
        Line::from(vec![
            Span::styled(time, self.theme.dim()),
            Span::raw(" "),
            Span::styled(
                format!("{:<5}", e.level.to_string()),
                self.level_style(e.level),
            ),
            Span::raw(" "),
            Span::styled(format!("{}: ", e.target), self.theme.dim()),
            Span::raw(text),
        ])
    }

    fn status_line(&self) -> Line<'static> {
        let t = self.theme;
        let mut level = match self.filter.min_level {
            None => "all levels".to_owned(),
            Some(l) => format!("level ≥ {l}"),
        };
        if let Some(run) = self.filter.run {
            level.push_str(&format!(" · run #{run} (:follow for all)"));
        }
        let mut spans = vec![
            Span::styled("Logs", t.title()),
            Span::styled(
                format!(" · {level} · {} lines", self.entries.len()),
                t.dim(),
            ),
        ];
        if !self.search.is_empty() {
            spans.push(Span::styled(
                format!(" · search \"{}\"", self.search),
                t.accent(),
            ));
        }
        if self.is_following() {
            spans.push(Span::styled(" · following", t.accent()));
        } else {
            spans.push(Span::styled(
                format!(" · scrolled back {} (G to follow)", self.scroll_back),
                t.warn(),
            ));
        }
        let lost = self.dropped + self.evicted;
        if lost > 0 {
            spans.push(Span::styled(format!(" · {lost} lines dropped"), t.warn()));
        }
        if let Some(err) = &self.error {
            spans.push(Span::styled(
                format!(" · {}", format::first_line(err)),
                t.bad(),
            ));
        }
        Line::from(spans)
    }
}

impl View for LogsView {
    fn title(&self) -> &'static str {
        "Logs"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match msg {
            Msg::Resize(_, height) => self.page = usize::from(height.saturating_sub(6)),
            Msg::Conn(ConnEvent::Logs { filter, batch }) if *filter == self.filter => {
                self.error = None;
                self.push_batch(&batch.entries, batch.dropped);
            }
            Msg::Conn(ConnEvent::LogsReset { filter }) if *filter == self.filter => self.clear(),
            Msg::Conn(ConnEvent::RequestFailed {
                what: "logs",
                error,
            }) => self.error = Some(error.clone()),
            Msg::Filter(text) => {
                self.search = text.clone();
                self.scroll_back = 0;
            }
            Msg::FollowRun(run) if *run != self.filter.run => {
                self.filter.run = *run;
                self.clear();
                return Some(Command::TailLogs {
                    filter: self.filter,
                });
            }
            Msg::Action(action) => return self.act(*action),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let [status, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        frame.render_widget(Paragraph::new(self.status_line()), status);
        if self.entries.is_empty() {
            frame.render_widget(
                Paragraph::new("no log lines yet").style(self.theme.dim()),
                body,
            );
            return;
        }
        let shown: Vec<&LogEntry> = self
            .entries
            .iter()
            .filter(|e| matches(&self.search, &[&e.text, &e.target]))
            .collect();
        let end = shown.len().saturating_sub(self.scroll_back);
        let start = end.saturating_sub(usize::from(body.height));
        let lines: Vec<Line> = shown[start..end]
            .iter()
            .map(|e| self.entry_line(e))
            .collect();
        frame.render_widget(Paragraph::new(lines), body);
    }

    fn bindings(&self) -> &'static [Binding] {
        keymap::LOGS
    }
}
