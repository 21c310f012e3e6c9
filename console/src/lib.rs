//! The operator's tools for supersetd: `supersetctl` (scripting) and `superset-console` (TUI),
//! two binaries over the shared connection handling in [`client`].

pub mod cli;
pub mod client;
pub mod tui;
pub mod units;
