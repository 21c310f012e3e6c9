//! Test support for supersetd: local fakes of the systems the daemon talks to and helpers
//! that run the real binaries.
//!
//! The fakes stand in only for what this machine cannot reach (the Telegram Bot API, the
//! SuperSet portal). Each binds 127.0.0.1:0, records what it receives and can be scripted to
//! fail the way the real service does.

pub mod daemon;
pub mod fakes;
pub mod mongo;
