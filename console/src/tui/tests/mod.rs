//! TUI tests: feed `Msg` sequences into an [`App`] and read what a `TestBackend` shows. No real
//! terminal, no daemon, no clock: every input is in the test.

mod fixtures;
mod keymap;
mod render;
mod routing;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::text::Span;

use super::app::{App, AppOptions};
use super::msg::{Command, Msg};
use super::theme::Theme;

pub const SOCKET: &str = "/run/test/supersetd/control.sock";

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default()
}

pub fn app_with(read_only: bool, theme: Theme) -> App {
    App::new(
        AppOptions {
            socket: SOCKET.into(),
            read_only,
            theme,
        },
        now(),
    )
}

pub fn app() -> App {
    app_with(false, Theme::plain())
}

/// Feed messages, collecting every command the app returns.
pub fn feed(app: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Command> {
    msgs.into_iter().flat_map(|m| app.handle(m)).collect()
}

pub fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

pub fn code(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub fn draw_buffer(app: &App, width: u16, height: u16) -> Buffer {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(never) => match never {},
    };
    if let Err(never) = terminal.draw(|f| app.draw(f)) {
        match never {}
    }
    terminal.backend().buffer().clone()
}

/// The screen as text, one `\n`-terminated line per row. A wide character's trailing cell is
/// skipped so `日本` reads as written.
pub fn screen_of(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut skip = 0;
        for x in 0..area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            skip = Span::raw(symbol).width().saturating_sub(1);
            out.push_str(symbol);
        }
        out.push('\n');
    }
    out
}

pub fn screen(app: &App, width: u16, height: u16) -> String {
    screen_of(&draw_buffer(app, width, height))
}

#[track_caller]
pub fn assert_shows(screen: &str, needle: &str) {
    assert!(
        screen.contains(needle),
        "expected {needle:?} on screen:\n{screen}"
    );
}

#[track_caller]
pub fn assert_hides(screen: &str, needle: &str) {
    assert!(
        !screen.contains(needle),
        "did not expect {needle:?} on screen:\n{screen}"
    );
}
