//! Where the daemon's log lines go: stderr (the log file once detached), an optional extra
//! file in the foreground, and the in-memory ring the control socket serves.

use std::fs::File;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::logs::LogRing;

/// Libraries that are chatty at info (one line per HTTP request or RPC) are held to warn.
const QUIET: &str =
    "hyper=warn,hyper_util=warn,reqwest=warn,teloxide=warn,tarpc=warn,h2=warn,rustls=warn";

/// Install the global subscriber. `level` is a level name or an EnvFilter directive.
pub fn init(level: &str, ring: &LogRing, extra: Option<File>) -> Result<(), String> {
    let filter = EnvFilter::try_new(format!("{level},{QUIET}"))
        .map_err(|e| format!("invalid log level {level:?}: {e}"))?;
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(true);
    let file = extra.map(|f| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(Mutex::new(f))
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .with(ring.layer())
        .try_init()
        .map_err(|e| format!("cannot install the logger: {e}"))
}
