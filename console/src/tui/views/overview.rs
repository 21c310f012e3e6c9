//! The overview: the daemon process, its store and its supervised services.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use supersetd_proto::{DaemonStatus, ServiceState};

use crate::tui::keymap::{self, Binding};
use crate::tui::msg::{Command, ConnEvent, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;

pub struct OverviewView {
    theme: Theme,
    now: DateTime<Utc>,
    status: Option<DaemonStatus>,
    error: Option<String>,
}

impl OverviewView {
    pub fn new(theme: Theme, now: DateTime<Utc>) -> OverviewView {
        OverviewView {
            theme,
            now,
            status: None,
            error: None,
        }
    }

    fn process_lines(&self, status: &DaemonStatus) -> Vec<Line<'static>> {
        let t = self.theme;
        let store = &status.store;
        let health = if store.healthy {
            Span::styled("healthy", t.good())
        } else {
            let why = store
                .error
                .as_deref()
                .map(format::first_line)
                .unwrap_or("no detail");
            Span::styled(format!("unhealthy: {why}"), t.bad())
        };
        vec![
            Line::from(vec![
                Span::styled("supersetd ", t.title()),
                Span::raw(status.version.clone()),
                Span::styled("  pid ", t.dim()),
                Span::raw(status.pid.to_string()),
                Span::styled("  up ", t.dim()),
                Span::raw(format::duration_coarse(status.uptime_ms)),
                Span::styled("  rss ", t.dim()),
                Span::raw(format::bytes(status.rss_bytes)),
                Span::styled("  clients ", t.dim()),
                Span::raw(status.connections.to_string()),
            ]),
            Line::from(vec![
                Span::styled("store ", t.title()),
                Span::raw(store.backend.clone()),
                Span::raw("  "),
                health,
            ]),
            Line::from(vec![
                Span::styled("at    ", t.dim()),
                Span::raw(store.location.clone()),
            ]),
        ]
    }

    fn state_style(&self, state: &ServiceState) -> ratatui::style::Style {
        match state {
            ServiceState::Running => self.theme.good(),
            ServiceState::Starting | ServiceState::Backoff => self.theme.warn(),
            ServiceState::Failed => self.theme.bad(),
            ServiceState::Stopped | ServiceState::Disabled(_) => self.theme.dim(),
        }
    }

    fn services_table(&self, status: &DaemonStatus) -> Table<'static> {
        let t = self.theme;
        let rows = status.services.iter().map(|s| {
            // The state column stays short; a disabled service's reason goes in the last
            // column when there is no error to show there.
            let state = match &s.state {
                ServiceState::Disabled(_) => "disabled".to_owned(),
                other => other.to_string(),
            };
            let detail = match (&s.last_error, &s.state) {
                (Some(err), _) => Span::styled(format::first_line(err).to_owned(), t.bad()),
                (None, ServiceState::Disabled(why)) => Span::styled(why.clone(), t.dim()),
                (None, _) => Span::raw(""),
            };
            Row::new(vec![
                Cell::from(s.name.clone()),
                Cell::from(Span::styled(state, self.state_style(&s.state))),
                Cell::from(format::relative(s.since, self.now)),
                Cell::from(s.restarts.to_string()),
                Cell::from(detail),
            ])
        });
        let header =
            Row::new(["Service", "State", "Since", "Restarts", "Last error"]).style(t.title());
        let widths = [
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Fill(1),
        ];
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .title(Span::styled(" Services ", t.title())),
            )
    }
}

impl View for OverviewView {
    fn title(&self) -> &'static str {
        "Overview"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match msg {
            Msg::Tick(now) => self.now = *now,
            Msg::Conn(ConnEvent::Status(status)) => {
                self.status = Some(status.clone());
                self.error = None;
            }
            Msg::Conn(ConnEvent::RequestFailed {
                what: "status",
                error,
            }) => self.error = Some(error.clone()),
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let Some(status) = &self.status else {
            let text = self
                .error
                .clone()
                .unwrap_or_else(|| "waiting for the daemon's status…".to_owned());
            frame.render_widget(Paragraph::new(text).style(self.theme.dim()), area);
            return;
        };
        let [top, error, rest] = Layout::vertical([
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(self.process_lines(status)), top);
        if let Some(err) = &self.error {
            let line = Line::styled(
                format!("status: {}", format::first_line(err)),
                self.theme.bad(),
            );
            frame.render_widget(Paragraph::new(line), error);
        }
        frame.render_widget(self.services_table(status), rest);
    }

    fn bindings(&self) -> &'static [Binding] {
        keymap::OVERVIEW
    }
}
