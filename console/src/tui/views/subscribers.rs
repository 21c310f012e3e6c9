//! The subscribers view: who receives notices, active or not. Names come from Telegram and can
//! be any script; the table measures them by display width, so emoji and CJK stay aligned.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use supersetd_proto::SubscriberInfo;

use super::runs::filter_line;
use crate::tui::keymap::{self, Binding};
use crate::tui::msg::{Command, ConnEvent, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;
use crate::tui::widgets::list::{ListEvent, ListFrame, matches};

pub struct SubscribersView {
    theme: Theme,
    subscribers: Vec<SubscriberInfo>,
    list: ListFrame,
}

/// `First Last`, or `-`.
fn full_name(s: &SubscriberInfo) -> String {
    let name = [s.first_name.as_deref(), s.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        "-".to_owned()
    } else {
        name
    }
}

impl SubscribersView {
    pub fn new(theme: Theme, now: DateTime<Utc>) -> SubscribersView {
        SubscribersView {
            theme,
            subscribers: Vec::new(),
            list: ListFrame::new(now, 6),
        }
    }

    fn visible(&self) -> Vec<&SubscriberInfo> {
        self.subscribers
            .iter()
            .filter(|s| {
                let (id, name) = (s.user_id.to_string(), full_name(s));
                let user = s.username.clone().unwrap_or_default();
                matches(&self.list.filter, &[&id, &name, &user])
            })
            .collect()
    }

    fn row(&self, s: &SubscriberInfo) -> Row<'static> {
        let t = self.theme;
        let active = if s.is_active {
            Span::styled("yes", t.good())
        } else {
            Span::styled("no", t.dim())
        };
        Row::new(vec![
            Cell::from(s.user_id.to_string()),
            Cell::from(full_name(s)),
            Cell::from(
                s.username
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |u| format!("@{u}")),
            ),
            Cell::from(active),
            Cell::from(format::relative(s.created_at, self.list.now)),
        ])
    }
}

impl View for SubscribersView {
    fn title(&self) -> &'static str {
        "Subscribers"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match self.list.update(msg) {
            ListEvent::Navigate(action) => {
                let len = self.visible().len();
                self.list.navigate(action, len);
            }
            ListEvent::Other => match msg {
                Msg::Conn(ConnEvent::Subscribers(rows)) => {
                    self.subscribers = rows.clone();
                    let len = self.visible().len();
                    self.list.loaded(len);
                }
                Msg::Conn(ConnEvent::RequestFailed {
                    what: "subscribers",
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
        let active = self.subscribers.iter().filter(|s| s.is_active).count();
        let title = format!(
            "Subscribers · {active} active of {}",
            self.subscribers.len()
        );
        frame.render_widget(
            Paragraph::new(filter_line(
                &title,
                &self.list.filter,
                self.list.error.as_deref(),
                t,
            )),
            head,
        );
        let rows = self.visible();
        if rows.is_empty() {
            frame.render_widget(
                Paragraph::new("no subscribers (or none match the filter)").style(t.dim()),
                body,
            );
            return;
        }
        let header = Row::new(["User", "Name", "Username", "Active", "Since"]).style(t.title());
        let widths = [
            Constraint::Length(12),
            Constraint::Min(12),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Length(10),
        ];
        let table = Table::new(rows.iter().map(|s| self.row(s)), widths)
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
