//! Process life: `run`, `start`, `stop`, `check-config`.
