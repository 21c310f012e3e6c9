//! superset-console, the TUI.
