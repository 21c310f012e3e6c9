//! superset-console: the operator's TUI for supersetd. Parses arguments and hands over to
//! [`superset_console::tui::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = superset_console::tui::ConsoleArgs::parse();
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
