//! superset-console: the operator's TUI for supersetd. Parses arguments and hands over to
//! [`superset_console::tui::run`].

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Watch and steer a running supersetd from the terminal.
#[derive(Debug, Parser)]
#[command(name = "superset-console", version)]
struct Args {
    /// The daemon's control socket (default: $SUPERSETD_SOCKET, else from the configuration).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The configuration file, read only to find the socket (default: $SUPERSETD_CONFIG).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Only watch: hide and refuse pause, resume, run and cancel.
    #[arg(long)]
    read_only: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("superset-console: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = superset_console::tui::Options {
        socket: args.socket,
        config: args.config,
        read_only: args.read_only,
    };
    match runtime.block_on(superset_console::tui::run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("superset-console: {e}");
            // A socket that cannot be worked out is a usage problem (2), like supersetctl's.
            match e {
                superset_console::tui::TuiError::Socket(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
