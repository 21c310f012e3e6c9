//! Where the daemon's log lines go: stderr (the log file once detached), an optional extra
//! file in the foreground, and the in-memory ring the control socket serves.
//!
//! Colour is for people at a terminal: stderr is often a file (`start`, `run 2>file`, a
//! service manager), where escape codes only get in the way of `grep` and log shippers.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::sync::Arc;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use super::logfile::SharedFile;
use crate::logs::LogRing;

/// Libraries that are chatty at info (one line per HTTP request or RPC) are held to warn.
/// tarpc is held to error: it warns about every transport error, a client that merely hung up
/// ("Broken pipe") included, so the control server logs those itself, sorted by cause.
const QUIET: &str =
    "hyper=warn,hyper_util=warn,reqwest=warn,teloxide=warn,tarpc=error,h2=warn,rustls=warn";

/// Install the global subscriber. `level` is a level name or an EnvFilter directive.
pub fn init(level: &str, ring: &LogRing, extra: Option<Arc<SharedFile>>) -> Result<(), String> {
    subscriber(level, ring, extra)?
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))
}

/// The subscriber [`init`] installs, for tests that want the daemon's exact filtering.
pub(crate) fn subscriber(
    level: &str,
    ring: &LogRing,
    extra: Option<Arc<SharedFile>>,
) -> Result<impl Subscriber + Send + Sync + 'static, String> {
    let filter = EnvFilter::try_new(format!("{level},{QUIET}"))
        .map_err(|e| format!("invalid log level {level:?}: {e}"))?;
    let no_color = std::env::var_os("NO_COLOR");
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(wants_colour(
            std::io::stderr().is_terminal(),
            no_color.as_deref(),
        ))
        .with_writer(std::io::stderr)
        .with_target(true);
    let file = extra.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(f)
    });
    Ok(tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .with(ring.layer()))
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything (no-color.org).
fn wants_colour(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(false, None));
    }
}
