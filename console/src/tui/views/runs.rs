//! The runs view: run history, newest first, with the selected run's steps, counters and
//! errors. Polled by the connection task at a slower rate than status (history changes only
//! when a run ends).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use supersetd_proto::{Outcome, RunInfo};

use crate::tui::keymap::{self, Action, Binding};
use crate::tui::msg::{Command, ConnEvent, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;
use crate::tui::widgets::list::{ListEvent, ListFrame, matches};

pub struct RunsView {
    theme: Theme,
    runs: Vec<RunInfo>,
    list: ListFrame,
}

impl RunsView {
    pub fn new(theme: Theme, now: DateTime<Utc>) -> RunsView {
        RunsView {
            theme,
            runs: Vec::new(),
            list: ListFrame::new(now, 12),
        }
    }

    fn visible(&self) -> Vec<&RunInfo> {
        self.runs
            .iter()
            .filter(|r| {
                let (id, outcome, trigger) = (
                    r.id.to_string(),
                    r.outcome.to_string(),
                    r.trigger.to_string(),
                );
                let error = r.error.clone().unwrap_or_default();
                matches(
                    &self.list.filter,
                    &[&id, &r.job.0, &outcome, &trigger, &error],
                )
            })
            .collect()
    }

    fn outcome_style(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Succeeded => self.theme.good(),
            Outcome::Running | Outcome::Skipped => self.theme.accent(),
            Outcome::Missed | Outcome::Cancelled => self.theme.warn(),
            Outcome::Failed | Outcome::TimedOut => self.theme.bad(),
        }
    }

    fn row(&self, r: &RunInfo) -> Row<'static> {
        let took = r
            .duration_ms
            .map(format::duration_precise)
            .unwrap_or_else(|| "—".into());
        Row::new(vec![
            Cell::from(format!("#{}", r.id)),
            Cell::from(r.job.to_string()),
            Cell::from(r.trigger.to_string()),
            Cell::from(format::relative(r.started_at, self.list.now)),
            Cell::from(took),
            Cell::from(Span::styled(
                r.outcome.to_string(),
                self.outcome_style(r.outcome),
            )),
        ])
    }

    fn detail(&self, r: &RunInfo) -> Vec<Line<'static>> {
        let t = self.theme;
        let mut lines = Vec::new();
        for step in &r.steps {
            let counts: Vec<String> = step
                .counts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            lines.push(Line::from(vec![
                Span::styled(format!("{:<10} ", step.name), t.title()),
                Span::styled(step.outcome.to_string(), self.outcome_style(step.outcome)),
                Span::styled(format!(" {}", counts.join(" ")), t.dim()),
            ]));
            if let Some(err) = &step.error {
                lines.push(Line::styled(
                    format!("  error: {}", format::first_line(err)),
                    t.bad(),
                ));
            }
        }
        if let Some(err) = &r.error {
            lines.push(Line::styled(
                format!("error: {}", format::first_line(err)),
                t.bad(),
            ));
        }
        if lines.is_empty() {
            lines.push(Line::styled("no steps recorded", t.dim()));
        }
        lines
    }
}

impl View for RunsView {
    fn title(&self) -> &'static str {
        "Runs"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match self.list.update(msg) {
            ListEvent::Navigate(Action::FollowRun) => {
                let run = self
                    .visible()
                    .get(self.list.cursor.selected)
                    .map(|r| r.id)?;
                return Some(Command::FollowRun(Some(run)));
            }
            ListEvent::Navigate(action) => {
                let len = self.visible().len();
                self.list.navigate(action, len);
            }
            ListEvent::Other => match msg {
                Msg::Conn(ConnEvent::Runs(runs)) => {
                    self.runs = runs.clone();
                    let len = self.visible().len();
                    self.list.loaded(len);
                }
                Msg::Conn(ConnEvent::RequestFailed {
                    what: "runs",
                    error,
                }) => self.list.error = Some(error.clone()),
                _ => {}
            },
            ListEvent::Done => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let t = self.theme;
        let [head, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        frame.render_widget(
            Paragraph::new(filter_line(
                "Runs",
                &self.list.filter,
                self.list.error.as_deref(),
                t,
            )),
            head,
        );
        let runs = self.visible();
        if runs.is_empty() {
            frame.render_widget(
                Paragraph::new("no runs recorded (or none match the filter)").style(t.dim()),
                body,
            );
            return;
        }
        let detail_height = if body.height >= 14 { 7 } else { 0 };
        let [table_area, detail_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(detail_height)]).areas(body);
        let header =
            Row::new(["Run", "Job", "Trigger", "Started", "Took", "Outcome"]).style(t.title());
        let widths = [
            Constraint::Length(7),
            Constraint::Min(8),
            Constraint::Length(9),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Min(9),
        ];
        let table = Table::new(runs.iter().map(|r| self.row(r)), widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(t.selected());
        let mut state = TableState::default().with_selected(Some(self.list.cursor.selected));
        frame.render_stateful_widget(table, table_area, &mut state);
        if let Some(run) = runs
            .get(self.list.cursor.selected)
            .filter(|_| detail_height > 0)
        {
            let block = Block::default()
                .borders(Borders::TOP)
                .title(Span::styled(format!(" Run #{} steps ", run.id), t.title()));
            frame.render_widget(
                Paragraph::new(self.detail(run))
                    .block(block)
                    .wrap(Wrap { trim: false }),
                detail_area,
            );
        }
    }

    fn bindings(&self) -> &'static [Binding] {
        keymap::RUNS
    }
}

/// `Title · filter "x" · error`, the first row of every list view.
pub fn filter_line(title: &str, filter: &str, error: Option<&str>, t: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(title.to_owned(), t.title())];
    if filter.is_empty() {
        spans.push(Span::styled(" · / to filter", t.dim()));
    } else {
        spans.push(Span::styled(
            format!(" · filter \"{filter}\" (/ then Enter clears)"),
            t.accent(),
        ));
    }
    if let Some(err) = error {
        spans.push(Span::styled(
            format!(" · {}", format::first_line(err)),
            t.bad(),
        ));
    }
    Line::from(spans)
}
