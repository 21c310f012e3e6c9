//! The HTTP API: `/health` and `/ready` (more endpoints arrive with later issues).
