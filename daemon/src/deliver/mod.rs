//! The delivery engine: every notice to every recipient exactly once, within Telegram's limits.

pub mod pacer;
