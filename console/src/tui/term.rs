//! The terminal: raw mode and the alternate screen on the way in, and a restore on every way
//! out. Three paths restore: the drop guard ([`TerminalGuard`]) for returns and errors, a panic
//! hook that restores before the panic message is printed (so it is readable), and [`Signals`]
//! which turns SIGHUP/SIGTERM/SIGINT into a normal return from the event loop, after which the
//! guard drops. Restoring twice is harmless.

use std::io::{self, Stdout, stdout};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::signal::unix::{Signal, SignalKind, signal};

use super::ansi16::Ansi16;

pub type Term = Terminal<CrosstermBackend<Ansi16<Stdout>>>;

/// Owns the terminal while the TUI runs; dropping it restores the terminal.
pub struct TerminalGuard {
    terminal: Term,
}

impl TerminalGuard {
    /// Enter raw mode and the alternate screen. Installs the panic hook first, so a panic at
    /// any later point restores the terminal.
    pub fn enter() -> io::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode()?;
        let mut out = stdout();
        // Clear with a plain escape: `Terminal::clear` asks the terminal for the cursor position
        // and waits up to 2 s for an answer a bare pty (or a slow link) may never give.
        if let Err(e) = execute!(out, EnterAlternateScreen, Clear(ClearType::All)) {
            restore();
            return Err(e);
        }
        match Terminal::new(CrosstermBackend::new(Ansi16::new(out))) {
            Ok(mut terminal) => {
                // A failure here only leaves the cursor visible.
                let _ = terminal.hide_cursor();
                Ok(TerminalGuard { terminal })
            }
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    pub fn terminal(&mut self) -> &mut Term {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leave raw mode and the alternate screen and show the cursor. Errors are ignored: this runs
/// on the way out, where there is no one left to report them to.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, Show);
}

fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The signals that end the TUI cleanly: the SSH session went away (SIGHUP), someone asked
/// us to stop (SIGTERM), or an interrupt arrived from outside the raw-mode terminal (SIGINT).
pub struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    pub fn new() -> io::Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when any of the signals arrives.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.hangup.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.interrupt.recv() => {}
        }
    }
}

/// The environment variable that, in debug builds only, names a key that panics: the pty test
/// presses it to prove a panic restores the terminal. Release builds do not contain this.
#[cfg(debug_assertions)]
pub const TEST_PANIC_ENV: &str = "SUPERSET_CONSOLE_TEST_PANIC_KEY";

/// Panic if `key` is the debug-build test panic key (see [`TEST_PANIC_ENV`]).
#[cfg(debug_assertions)]
pub fn test_panic_on(key: &crossterm::event::KeyEvent) {
    let Some(wanted) = std::env::var(TEST_PANIC_ENV)
        .ok()
        .and_then(|v| v.chars().next())
    else {
        return;
    };
    if key.code == crossterm::event::KeyCode::Char(wanted) {
        panic!("test panic requested with {TEST_PANIC_ENV}");
    }
}
