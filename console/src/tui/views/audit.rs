//! The audit view: who did what over the control socket, and how it ended, newest first. The
//! same records as `supersetctl audit`; a refused attempt shows in red with its reason.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use supersetd_proto::AuditEntry;

use super::runs::filter_line;
use crate::tui::keymap::{self, Binding};
use crate::tui::msg::{Command, ConnEvent, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;
use crate::tui::widgets::list::{ListEvent, ListFrame, matches};

pub struct AuditView {
    theme: Theme,
    entries: Vec<AuditEntry>,
    list: ListFrame,
}

/// `ops (1000)`, or the bare uid when the name is unknown.
fn who(e: &AuditEntry) -> String {
    match &e.user {
        Some(user) => format!("{user} ({})", e.uid),
        None => e.uid.to_string(),
    }
}

impl AuditView {
    pub fn new(theme: Theme, now: DateTime<Utc>) -> AuditView {
        AuditView {
            theme,
            entries: Vec::new(),
            list: ListFrame::new(now, 6),
        }
    }

    fn visible(&self) -> Vec<&AuditEntry> {
        self.entries
            .iter()
            .filter(|e| {
                let (who, target) = (who(e), e.target.clone().unwrap_or_default());
                let error = e.error.clone().unwrap_or_default();
                matches(
                    &self.list.filter,
                    &[&who, &e.action, &target, &e.client, &error],
                )
            })
            .collect()
    }

    fn row(&self, e: &AuditEntry) -> Row<'static> {
        let t = self.theme;
        let result = match &e.error {
            None => Span::styled("ok", t.good()),
            Some(err) => Span::styled(format::first_line(err).to_owned(), t.bad()),
        };
        Row::new(vec![
            Cell::from(format::relative(e.at, self.list.now)),
            Cell::from(who(e)),
            Cell::from(e.client.clone()),
            Cell::from(e.action.clone()),
            Cell::from(e.target.clone().unwrap_or_default()),
            Cell::from(result),
        ])
    }
}

impl View for AuditView {
    fn title(&self) -> &'static str {
        "Audit"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match self.list.update(msg) {
            ListEvent::Navigate(action) => {
                let len = self.visible().len();
                self.list.navigate(action, len);
            }
            ListEvent::Other => match msg {
                Msg::Conn(ConnEvent::Audit(rows)) => {
                    self.entries = rows.clone();
                    let len = self.visible().len();
                    self.list.loaded(len);
                }
                Msg::Conn(ConnEvent::RequestFailed {
                    what: "audit",
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
        let line = filter_line(
            "Operator actions",
            &self.list.filter,
            self.list.error.as_deref(),
            t,
        );
        frame.render_widget(Paragraph::new(line), head);
        let rows = self.visible();
        if rows.is_empty() {
            let text = "no operator actions recorded (or none match the filter)";
            frame.render_widget(Paragraph::new(text).style(t.dim()), body);
            return;
        }
        let header =
            Row::new(["When", "Who", "Client", "Action", "Target", "Result"]).style(t.title());
        let widths = [
            Constraint::Length(9),
            Constraint::Min(10),
            Constraint::Length(16),
            Constraint::Length(15),
            Constraint::Min(8),
            Constraint::Fill(1),
        ];
        let table = Table::new(rows.iter().map(|e| self.row(e)), widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(t.selected());
        let mut state = TableState::default().with_selected(Some(self.list.cursor.selected));
        frame.render_stateful_widget(table, body, &mut state);
    }

    fn bindings(&self) -> &'static [Binding] {
        keymap::LIST
    }
}
