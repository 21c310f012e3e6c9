//! supersetd: placement alerts for students.
//!
//! One process runs three services (the Telegram bot, the HTTP API and the job scheduler)
//! around one pipeline: sources produce items, the store decides what is new, the formatter
//! renders Telegram HTML and the delivery engine sends each notice to each subscriber exactly
//! once. A control socket lets `supersetctl` and `superset-console` watch and steer it.
//!
//! The binary (`main.rs`) only parses arguments and calls [`lifecycle::main`]; everything else
//! is here so tests can drive the pieces in-process as well as through the built binary.
//! Modules own one responsibility each; they meet at traits (`Store`, `Sender`, `Clock`), and
//! only [`lifecycle`] knows every concrete type.

pub mod clock;
pub mod config;
pub mod control;
pub mod deliver;
pub mod error_text;
pub mod format;
pub mod leader;
pub mod lifecycle;
pub mod logs;
pub mod pipeline;
pub mod scheduler;
pub mod secret;
pub mod services;
pub mod sources;
pub mod store;
pub mod telegram;
pub mod web;
