//! The connection to supersetd shared by both binaries.
