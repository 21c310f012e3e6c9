//! Configuration: TOML file, then `.env`, then the environment.
