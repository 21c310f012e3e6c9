//! Fakes of external systems, faithful to the shapes recorded in the reference.

pub mod superset;
pub mod superset_fixtures;
pub mod telegram;
pub mod telegram_html;
