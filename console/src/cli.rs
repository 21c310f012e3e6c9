//! supersetctl subcommands.
