//! The header (connection state), the tab bar and the footer (hints or the last command's
//! outcome). `App` passes in what to show; nothing here holds state.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Tabs};

use crate::tui::keymap::Binding;
use crate::tui::theme::Theme;

/// The header line: the connection state, already worded and styled. It gets the whole
/// width (the program name sits on the tab bar) so the socket and attempt count fit in 80
/// columns.
pub fn draw_header(frame: &mut Frame, area: Rect, status: Vec<Span<'static>>) {
    frame.render_widget(Paragraph::new(Line::from(status)), area);
}

pub fn draw_tabs(
    frame: &mut Frame,
    area: Rect,
    titles: &[&'static str],
    focus: usize,
    theme: Theme,
) {
    let titles: Vec<Line> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| Line::raw(format!("{} {t}", i + 1)))
        .collect();
    let tabs = Tabs::new(titles)
        .select(focus)
        .highlight_style(theme.selected())
        .divider("│");
    frame.render_widget(tabs, area);
    let name = Line::styled("superset-console ", theme.header()).right_aligned();
    // The name yields to the tabs when the terminal is narrow.
    if area.width >= 60 {
        frame.render_widget(Paragraph::new(name), area);
    }
}

/// Hints from the keymap tables, or a flash message when there is one.
pub fn draw_footer(
    frame: &mut Frame,
    area: Rect,
    hints: &[&Binding],
    flash: Option<(&str, bool)>,
    theme: Theme,
) {
    let line = match flash {
        Some((text, is_error)) => Line::styled(
            text.to_owned(),
            if is_error { theme.bad() } else { theme.good() },
        ),
        None => {
            let mut spans = Vec::new();
            for b in hints {
                if !spans.is_empty() {
                    spans.push(Span::styled(" · ", theme.dim()));
                }
                spans.push(Span::styled(b.keys_text(), theme.accent()));
                spans.push(Span::raw(format!(" {}", b.label)));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}
