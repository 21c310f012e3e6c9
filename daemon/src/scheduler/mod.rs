//! The job scheduler.
