//! Fakes of external systems, faithful to the shapes recorded in the reference.

pub mod superset;
pub mod telegram;
pub mod telegram_html;
