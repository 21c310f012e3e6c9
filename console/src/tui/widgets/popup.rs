//! The help overlay and the confirm popup. Both are generated from keymap tables: the overlay
//! lists exactly the bindings dispatch would act on, so it cannot drift from behaviour.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::keymap::{self, Binding, Group};
use crate::tui::theme::Theme;
use crate::tui::widgets::centered;

/// Lines for one column of the help overlay: a title per group, then `keys  label` rows.
fn help_column(bindings: &[&Binding], theme: Theme) -> Vec<Line<'static>> {
    let mut groups: Vec<Group> = bindings.iter().map(|b| b.group).collect();
    groups.sort();
    groups.dedup();
    let key_width = bindings
        .iter()
        .map(|b| b.keys_text().chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    for group in groups {
        if !lines.is_empty() {
            lines.push(Line::raw(""));
        }
        lines.push(Line::styled(group.title(), theme.title()));
        for b in bindings.iter().filter(|b| b.group == group) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:<key_width$}  ", b.keys_text()), theme.accent()),
                Span::raw(b.label),
            ]));
        }
    }
    lines
}

/// The `?` overlay: global and popup bindings on the left, the focused view's on the right.
pub fn draw_help(frame: &mut Frame, area: Rect, view: &[Binding], read_only: bool, theme: Theme) {
    let general = keymap::visible(&[keymap::GLOBAL, keymap::HELP, keymap::CONFIRM], read_only);
    let own = keymap::visible(&[view], read_only);
    let left = help_column(&general, theme);
    let right = help_column(&own, theme);
    let rows = left.len().max(right.len()) as u16;
    let popup = centered(area, 76, rows.saturating_add(2));
    frame.render_widget(Clear, popup);
    let title = if read_only {
        " Help (read-only) "
    } else {
        " Help "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title()));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [l, r] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    frame.render_widget(Paragraph::new(left), l);
    frame.render_widget(Paragraph::new(right), r);
}

/// A yes/no question about a destructive command.
pub fn draw_confirm(frame: &mut Frame, area: Rect, prompt: &str, theme: Theme) {
    let popup = centered(area, 56, 6);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(" Confirm ", theme.title()));
    let hints: Vec<Span> = keymap::CONFIRM
        .iter()
        .flat_map(|b| {
            [
                Span::styled(b.keys_text(), theme.accent()),
                Span::raw(format!(" {}   ", b.label)),
            ]
        })
        .collect();
    let lines = vec![
        Line::raw(prompt.to_owned()),
        Line::raw(""),
        Line::from(hints),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        popup,
    );
}

/// The `/` or `:` line being typed, drawn over the footer (as in vim and k9s).
pub fn draw_prompt(frame: &mut Frame, footer: Rect, sigil: char, text: &str, theme: Theme) {
    frame.render_widget(Clear, footer);
    let line = Line::from(vec![
        Span::styled(sigil.to_string(), theme.accent()),
        Span::raw(text.to_owned()),
        Span::styled("▏", theme.accent()),
    ]);
    frame.render_widget(Paragraph::new(line), footer);
}
