//! The jobs view: every scheduled job with its next and last run, and the operator's actions
//! on the selected one. Cancelling asks first (a [`Command::Confirm`]).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use supersetd_proto::{JobInfo, Outcome, RunInfo};

use crate::tui::keymap::{self, Action, Binding};
use crate::tui::msg::{Command, ConnEvent, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;

pub struct JobsView {
    theme: Theme,
    now: DateTime<Utc>,
    jobs: Vec<JobInfo>,
    selected: usize,
    error: Option<String>,
}

impl JobsView {
    pub fn new(theme: Theme, now: DateTime<Utc>) -> JobsView {
        JobsView {
            theme,
            now,
            jobs: Vec::new(),
            selected: 0,
            error: None,
        }
    }

    /// The name of the selected job, if any.
    pub fn selected_job(&self) -> Option<&JobInfo> {
        self.jobs.get(self.selected)
    }

    fn set_jobs(&mut self, jobs: &[JobInfo]) {
        // Keep the selection on the same job when the list is refreshed or reordered.
        let keep = self.selected_job().map(|j| j.name.clone());
        self.jobs = jobs.to_vec();
        self.selected = keep
            .and_then(|name| self.jobs.iter().position(|j| j.name == name))
            .unwrap_or(0);
        self.selected = self.selected.min(self.jobs.len().saturating_sub(1));
    }

    fn act(&mut self, action: Action) -> Option<Command> {
        let last = self.jobs.len().saturating_sub(1);
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => self.selected = (self.selected + 1).min(last),
            Action::Top => self.selected = 0,
            Action::Bottom => self.selected = last,
            Action::PauseJob => {
                return self
                    .selected_job()
                    .map(|j| Command::PauseJob(j.name.clone()));
            }
            Action::ResumeJob => {
                return self
                    .selected_job()
                    .map(|j| Command::ResumeJob(j.name.clone()));
            }
            Action::RunJob => return self.selected_job().map(|j| Command::RunJob(j.name.clone())),
            Action::CancelJob => {
                let job = self.selected_job()?;
                let prompt = match job.active_run {
                    Some(run) => format!("cancel run {run} of job {}?", job.name),
                    None => format!("job {} has no active run; ask to cancel anyway?", job.name),
                };
                return Some(Command::Confirm {
                    prompt,
                    command: Box::new(Command::CancelJob(job.name.clone())),
                });
            }
            _ => {}
        }
        None
    }

    fn outcome_style(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Succeeded => self.theme.good(),
            Outcome::Running | Outcome::Skipped => self.theme.accent(),
            Outcome::Missed | Outcome::Cancelled => self.theme.warn(),
            Outcome::Failed | Outcome::TimedOut => self.theme.bad(),
        }
    }

    fn last_run_cell(&self, run: Option<&RunInfo>) -> Cell<'static> {
        let Some(run) = run else {
            return Cell::from(Span::styled("never", self.theme.dim()));
        };
        let took = run
            .duration_ms
            .map(format::duration_precise)
            .unwrap_or_default();
        Cell::from(Line::from(vec![
            Span::styled(run.outcome.to_string(), self.outcome_style(run.outcome)),
            Span::raw(" "),
            Span::styled(took, self.theme.dim()),
        ]))
    }

    fn row(&self, job: &JobInfo) -> Row<'static> {
        let t = self.theme;
        let paused = if job.is_paused {
            Span::styled("paused", t.warn())
        } else {
            Span::styled("no", t.dim())
        };
        let next = match (job.is_paused, job.next_run) {
            (true, _) => "—".to_owned(),
            (false, Some(at)) => format::relative(at, self.now),
            (false, None) => "none".to_owned(),
        };
        let active = match job.active_run {
            Some(run) => Span::styled(format!("#{run}"), t.accent()),
            None => Span::raw(""),
        };
        Row::new(vec![
            Cell::from(job.name.to_string()),
            Cell::from(job.schedule.clone()),
            Cell::from(job.timezone.clone()),
            Cell::from(paused),
            Cell::from(next),
            self.last_run_cell(job.last_run.as_ref()),
            Cell::from(active),
        ])
    }

    fn detail_lines(&self, job: &JobInfo) -> Vec<Line<'static>> {
        let t = self.theme;
        let Some(run) = &job.last_run else {
            return vec![Line::styled(
                format!("{}: no run recorded yet", job.name),
                t.dim(),
            )];
        };
        let mut head = vec![
            Span::styled(format!("{} ", job.name), t.title()),
            Span::raw(format!("run #{} ({}) ", run.id, run.trigger)),
            Span::styled(run.outcome.to_string(), self.outcome_style(run.outcome)),
            Span::styled(
                format!(", started {}", format::relative(run.started_at, self.now)),
                t.dim(),
            ),
        ];
        if let Some(ms) = run.duration_ms {
            head.push(Span::styled(
                format!(", took {}", format::duration_precise(ms)),
                t.dim(),
            ));
        }
        let mut lines = vec![Line::from(head)];
        let steps: Vec<String> = run
            .steps
            .iter()
            .map(|s| format!("{} {}", s.name, s.outcome))
            .collect();
        if !steps.is_empty() {
            lines.push(Line::styled(
                format!("steps: {}", steps.join(" · ")),
                t.dim(),
            ));
        }
        let errors = run
            .error
            .iter()
            .chain(run.steps.iter().filter_map(|s| s.error.as_ref()));
        for err in errors.take(2) {
            lines.push(Line::styled(
                format!("error: {}", format::first_line(err)),
                t.bad(),
            ));
        }
        lines
    }
}

impl View for JobsView {
    fn title(&self) -> &'static str {
        "Jobs"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match msg {
            Msg::Tick(now) => self.now = *now,
            Msg::Conn(ConnEvent::Jobs(jobs)) => {
                self.set_jobs(jobs);
                self.error = None;
            }
            Msg::Conn(ConnEvent::RequestFailed {
                what: "jobs",
                error,
            }) => self.error = Some(error.clone()),
            Msg::Action(action) => return self.act(*action),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let t = self.theme;
        if self.jobs.is_empty() {
            let text = self
                .error
                .clone()
                .unwrap_or_else(|| "no jobs reported by the daemon (yet)".to_owned());
            frame.render_widget(Paragraph::new(text).style(t.dim()), area);
            return;
        }
        let detail_height = if area.height >= 14 { 5 } else { 0 };
        let [table_area, detail_area] =
            Layout::vertical([Constraint::Fill(1), Constraint::Length(detail_height)]).areas(area);
        let header = Row::new([
            "Job", "Schedule", "Zone", "Paused", "Next", "Last run", "Active",
        ])
        .style(t.title());
        let widths = [
            Constraint::Min(8),
            Constraint::Length(13),
            Constraint::Length(12),
            Constraint::Length(6),
            Constraint::Length(9),
            Constraint::Min(16),
            Constraint::Length(7),
        ];
        let table = Table::new(self.jobs.iter().map(|j| self.row(j)), widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(t.selected());
        let mut state = TableState::default().with_selected(Some(self.selected));
        frame.render_stateful_widget(table, table_area, &mut state);
        if let Some(job) = self.selected_job().filter(|_| detail_height > 0) {
            let mut lines = self.detail_lines(job);
            if let Some(err) = &self.error {
                lines.push(Line::styled(
                    format!("jobs: {}", format::first_line(err)),
                    t.bad(),
                ));
            }
            let block = Block::default()
                .borders(Borders::TOP)
                .title(Span::styled(" Last run ", t.title()));
            frame.render_widget(
                Paragraph::new(lines)
                    .block(block)
                    .wrap(Wrap { trim: false }),
                detail_area,
            );
        }
    }

    fn bindings(&self) -> &'static [Binding] {
        keymap::JOBS
    }
}
