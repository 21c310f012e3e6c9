//! Drawing the whole screen: header, tabs, the focused view, footer and popups. Read-only
//! over [`App`]; never panics, whatever the frame size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{App, Link, MIN_HEIGHT, MIN_WIDTH, Popup};
use crate::tui::keymap::{self, Binding};
use crate::tui::widgets::{chrome, format, popup};

impl App {
    fn header_status(&self) -> Vec<Span<'static>> {
        let t = self.opts.theme;
        let socket = self.opts.socket.display();
        let mut spans: Vec<Span<'static>> = match &self.link {
            Link::Connecting {
                attempt: 1,
                last_error: None,
            } => {
                vec![Span::styled(format!("connecting to {socket}…"), t.warn())]
            }
            Link::Connecting { attempt, .. } => vec![Span::styled(
                format!("reconnecting to {socket} (attempt {attempt})…"),
                t.warn(),
            )],
            Link::Incompatible(_) => vec![Span::styled(
                format!("incompatible daemon at {socket}"),
                t.bad(),
            )],
            Link::Connected { hello, uptime_ms } => {
                let mut s = vec![
                    Span::styled("connected", t.good()),
                    Span::raw(format!(
                        " · supersetd {} · pid {}",
                        hello.daemon_version, hello.pid
                    )),
                ];
                if let Some(ms) = uptime_ms {
                    s.push(Span::raw(format!(" · up {}", format::duration_coarse(*ms))));
                }
                s
            }
        };
        if self.is_read_only() {
            spans.insert(0, Span::styled("read-only · ", t.accent()));
        }
        spans
    }

    /// Why the daemon is not there, for the rows under the tabs.
    fn notice(&self) -> Option<&str> {
        match &self.link {
            Link::Connecting {
                last_error: Some(err),
                ..
            } => Some(format::first_line(err)),
            Link::Incompatible(text) => Some(text),
            _ => None,
        }
    }

    /// Draw everything. Never panics, whatever the frame size.
    pub fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let theme = self.opts.theme;
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = format!("terminal too small (need {MIN_WIDTH}×{MIN_HEIGHT})");
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
            return;
        }
        let [header, tabs, body, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        chrome::draw_header(frame, header, self.header_status());
        let titles: Vec<&'static str> = self.views.iter().map(|v| v.title()).collect();
        chrome::draw_tabs(frame, tabs, &titles, self.focus, theme);
        // The rows under the tabs say why we are not connected; otherwise one row is a spacer.
        let notice_rows = match self.notice() {
            Some(text) => {
                let width = usize::from(body.width.max(1));
                let rows = (Line::raw(text).width() / width + 1).min(3) as u16;
                let notice = Paragraph::new(Line::styled(text.to_owned(), theme.bad()))
                    .wrap(Wrap { trim: true });
                frame.render_widget(
                    notice,
                    Rect {
                        height: rows.min(body.height),
                        ..body
                    },
                );
                rows
            }
            None => 1,
        };
        let view = &self.views[self.focus];
        view.draw(
            frame,
            Rect {
                y: body.y + notice_rows.min(body.height),
                height: body.height.saturating_sub(notice_rows),
                ..body
            },
        );
        let tables = self.active_tables();
        let hints: Vec<&Binding> = keymap::visible(&tables, self.is_read_only())
            .into_iter()
            .filter(|b| b.is_hint)
            .collect();
        let flash = self.flash.as_ref().map(|f| (f.text.as_str(), f.is_error));
        chrome::draw_footer(frame, footer, &hints, flash, theme);
        for p in &self.popups {
            match p {
                Popup::Help => {
                    popup::draw_help(frame, body, view.bindings(), self.is_read_only(), theme)
                }
                Popup::Confirm { prompt, .. } => popup::draw_confirm(frame, body, prompt, theme),
                Popup::Prompt { kind, text } => {
                    popup::draw_prompt(frame, footer, kind.sigil(), text, theme)
                }
            }
        }
    }
}
