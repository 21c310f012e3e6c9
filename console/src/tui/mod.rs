//! superset-console, the operator's TUI.
//!
//! The shape follows tokio-console and gitui: [`conn`] owns the daemon connection (a task that
//! polls, tails logs, runs commands and reconnects), [`app`] owns the one event loop and routes
//! [`msg::Msg`]s to [`views`], [`keymap`] is the key table that dispatch, hints and help all
//! read, and [`term`] guarantees the terminal is restored on every exit path. Views never do
//! I/O, so every screen can be tested by feeding messages into a `TestBackend`.

pub mod ansi16;
pub mod app;
pub mod conn;
pub mod keymap;
pub mod msg;
pub mod render;
pub mod term;
pub mod theme;
pub mod views;
pub mod widgets;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

pub use app::{App, AppOptions};
pub use msg::{Command, ConnEvent, Msg};

/// The command line of `superset-console`. Here, not in the binary, so the man page is
/// generated from the same definition.
#[derive(Debug, clap::Parser)]
#[command(
    name = "superset-console",
    version,
    about = "Watch and steer a running supersetd from the terminal"
)]
pub struct ConsoleArgs {
    /// The daemon's control socket (default: $SUPERSETD_SOCKET, else from the configuration).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The configuration file, read only to find the socket (default: $SUPERSETD_CONFIG).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Only watch: hide and refuse every action that changes the daemon. Also the mode when
    /// the daemon grants only viewer rights.
    #[arg(long)]
    pub read_only: bool,
}

/// Man page sections beyond the options (`superset-console(1)`); KEYS comes from the keymap.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "ENVIRONMENT",
        "SUPERSETD_SOCKET names the control socket; SUPERSETD_CONFIG the daemon's configuration file, read only for [control] socket and state_dir. NO_COLOR (any non-empty value) turns colour off. Only the 16 ANSI colours are used, sent as the classic escape codes, so a 16-colour terminal shows them as well as a 256-colour one.",
    ),
    (
        "TERMINAL",
        "The console redraws only when something changed, so an idle console sends almost nothing over SSH. Below 40x10 it shows a notice instead of the views. The terminal is restored on quit, on an error, on a panic and on SIGHUP and SIGTERM. When the daemon goes away the header says reconnecting and the console reconnects by itself.",
    ),
    (
        "EXIT STATUS",
        "0 on quit or a signal; 1 on an error; 2 when the socket cannot be worked out.",
    ),
    ("SEE ALSO", "supersetctl(1), supersetd(8)"),
];
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--socket`.
    pub socket: Option<PathBuf>,
    /// `--config`, used only to find the socket.
    pub config: Option<PathBuf>,
    /// `--read-only`: hide and refuse every action that changes the daemon.
    pub read_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error(transparent)]
    Socket(#[from] crate::client::ClientError),
    #[error("superset-console needs a terminal on stdin and stdout; for scripts use supersetctl")]
    NotATerminal,
    #[error("the connection task stopped unexpectedly; this is a bug, please report it")]
    ConnectionTask,
    #[error("terminal error: {0}")]
    Terminal(#[from] std::io::Error),
}

/// Lets the event loop run on ratatui's in-memory backend, whose error type is uninhabited.
impl From<std::convert::Infallible> for TuiError {
    fn from(never: std::convert::Infallible) -> TuiError {
        match never {}
    }
}

/// Run the TUI until the operator quits or a signal arrives. The terminal is restored on
/// every way out, including errors and panics.
pub async fn run(options: Options) -> Result<(), TuiError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(TuiError::NotATerminal);
    }
    let inputs =
        crate::client::SocketInputs::from_env(options.socket.clone(), options.config.clone());
    let socket = crate::client::resolve_socket(&inputs)?;
    let opts = AppOptions {
        socket: socket.clone(),
        read_only: options.read_only,
        theme: theme::Theme::from_env(),
    };
    let signals = term::Signals::new()?;
    let conn = conn::spawn(socket, options.read_only);
    let app = App::new(opts, chrono::Utc::now());
    let mut guard = term::TerminalGuard::enter()?;
    let result = app::run_loop(guard.terminal(), app, conn, signals).await;
    drop(guard);
    result
}
