//! The in-memory log ring that `supersetctl logs` and the console read by cursor.

/// A bounded ring of recent log lines, fed by a tracing layer. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LogRing {}
