//! The deliveries view: recent notices, and for the selected one every delivery (recipient,
//! state, attempts, last error). Moving the selection asks the connection task for that
//! notice's ledger rows; a refreshed notice list asks again, so a broadcast in progress can be
//! watched advancing.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};
use supersetd_proto::{DeliveryInfo, DeliveryState, NoticeInfo};

use super::runs::filter_line;
use crate::tui::keymap::{self, Binding};
use crate::tui::msg::{Command, ConnEvent, Msg};
use crate::tui::theme::Theme;
use crate::tui::views::View;
use crate::tui::widgets::format;
use crate::tui::widgets::list::{ListCursor, matches};

pub struct DeliveriesView {
    theme: Theme,
    now: DateTime<Utc>,
    notices: Vec<NoticeInfo>,
    /// The notice the rows below belong to, and its rows.
    deliveries: Option<(String, Vec<DeliveryInfo>)>,
    filter: String,
    cursor: ListCursor,
    page: usize,
    error: Option<String>,
}

impl DeliveriesView {
    pub fn new(theme: Theme, now: DateTime<Utc>) -> DeliveriesView {
        DeliveriesView {
            theme,
            now,
            notices: Vec::new(),
            deliveries: None,
            filter: String::new(),
            cursor: ListCursor::default(),
            page: 5,
            error: None,
        }
    }

    fn visible(&self) -> Vec<&NoticeInfo> {
        self.notices
            .iter()
            .filter(|n| matches(&self.filter, &[&n.id, &n.title, &n.source]))
            .collect()
    }

    fn selected_id(&self) -> Option<String> {
        self.visible()
            .get(self.cursor.selected)
            .map(|n| n.id.clone())
    }

    fn fetch_selected(&self) -> Option<Command> {
        self.selected_id().map(Command::FetchDeliveries)
    }

    fn notice_row(&self, n: &NoticeInfo) -> Row<'static> {
        let t = self.theme;
        let sent = if n.is_sent {
            Span::styled("sent", t.good())
        } else {
            Span::styled("open", t.warn())
        };
        Row::new(vec![
            Cell::from(format::relative(n.created_at, self.now)),
            Cell::from(n.source.clone()),
            Cell::from(sent),
            Cell::from(format::first_line(&n.title).to_owned()),
        ])
    }

    fn delivery_row(&self, d: &DeliveryInfo) -> Row<'static> {
        let t = self.theme;
        let style = match d.state {
            DeliveryState::Sent => t.good(),
            DeliveryState::Pending | DeliveryState::Sending => t.accent(),
            DeliveryState::Skipped => t.dim(),
            DeliveryState::Blocked | DeliveryState::Failed => t.bad(),
        };
        Row::new(vec![
            Cell::from(d.recipient.clone()),
            Cell::from(Span::styled(d.state.to_string(), style)),
            Cell::from(d.attempts.to_string()),
            Cell::from(
                d.last_error
                    .as_deref()
                    .map(format::first_line)
                    .unwrap_or("")
                    .to_owned(),
            ),
        ])
    }

    fn draw_deliveries(&self, frame: &mut Frame, area: Rect) {
        let t = self.theme;
        let selected = self.selected_id();
        let rows = match (&self.deliveries, &selected) {
            (Some((id, rows)), Some(sel)) if id == sel => rows.as_slice(),
            _ => &[],
        };
        let sent = rows
            .iter()
            .filter(|d| d.state == DeliveryState::Sent)
            .count();
        let block = Block::default().borders(Borders::TOP).title(Span::styled(
            format!(" Deliveries · {sent} sent of {} ", rows.len()),
            t.title(),
        ));
        let header = Row::new(["Recipient", "State", "Tries", "Last error"]).style(t.title());
        let widths = [
            Constraint::Length(16),
            Constraint::Length(8),
            Constraint::Length(5),
            Constraint::Fill(1),
        ];
        let table = Table::new(rows.iter().map(|d| self.delivery_row(d)), widths)
            .header(header)
            .column_spacing(1)
            .block(block);
        frame.render_widget(table, area);
    }
}

impl View for DeliveriesView {
    fn title(&self) -> &'static str {
        "Deliveries"
    }

    fn update(&mut self, msg: &Msg) -> Option<Command> {
        match msg {
            Msg::Tick(now) => self.now = *now,
            Msg::Resize(_, h) => self.page = usize::from(h.saturating_sub(6) / 2),
            Msg::Conn(ConnEvent::Notices(notices)) => {
                let keep = self.selected_id();
                self.notices = notices.clone();
                self.error = None;
                let (found, len) = {
                    let visible = self.visible();
                    let found = keep.and_then(|id| visible.iter().position(|n| n.id == id));
                    (found, visible.len())
                };
                self.cursor.selected = found.unwrap_or(self.cursor.selected);
                self.cursor.clamp(len);
                return self.fetch_selected();
            }
            Msg::Conn(ConnEvent::Deliveries { notice_id, rows }) => {
                self.deliveries = Some((notice_id.clone(), rows.clone()));
            }
            Msg::Conn(ConnEvent::RequestFailed {
                what: "notices" | "deliveries",
                error,
            }) => self.error = Some(error.clone()),
            Msg::Filter(text) => {
                self.filter = text.clone();
                self.cursor = ListCursor::default();
                return self.fetch_selected();
            }
            Msg::Action(action) => {
                let before = self.selected_id();
                let len = self.visible().len();
                if self.cursor.act(*action, len, self.page) && self.selected_id() != before {
                    return self.fetch_selected();
                }
            }
            _ => {}
        }
        None
    }

    fn draw(&self, frame: &mut Frame, area: Rect) {
        let t = self.theme;
        let [head, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
        frame.render_widget(
            Paragraph::new(filter_line(
                "Notices",
                &self.filter,
                self.error.as_deref(),
                t,
            )),
            head,
        );
        let notices = self.visible();
        if notices.is_empty() {
            frame.render_widget(
                Paragraph::new("no notices stored (or none match the filter)").style(t.dim()),
                body,
            );
            return;
        }
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let header = Row::new(["Published", "Source", "State", "Title"]).style(t.title());
        let widths = [
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(5),
            Constraint::Fill(1),
        ];
        let table = Table::new(notices.iter().map(|n| self.notice_row(n)), widths)
            .header(header)
            .column_spacing(1)
            .row_highlight_style(t.selected());
        let mut state = TableState::default().with_selected(Some(self.cursor.selected));
        frame.render_stateful_widget(table, top, &mut state);
        self.draw_deliveries(frame, bottom);
    }

    fn bindings(&self) -> &'static [Binding] {
        keymap::LIST
    }
}
