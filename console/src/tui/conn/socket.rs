//! Finding the control socket the way the daemon places it.

use std::path::{Path, PathBuf};

use supersetd_proto::SocketPathError;

/// Where the control socket is, for the TUI: `--socket`, else `$SUPERSETD_SOCKET`, else the
/// daemon's rule (`[control] socket` from the config, `$XDG_RUNTIME_DIR`, the state dir).
pub fn resolve_socket(
    explicit: Option<&Path>,
    config: Option<&Path>,
) -> Result<PathBuf, SocketError> {
    if let Some(path) = explicit {
        return Ok(supersetd_proto::resolve_socket_path(
            Some(path),
            None,
            Path::new("/"),
        )?);
    }
    if let Some(env) = std::env::var_os("SUPERSETD_SOCKET").filter(|v| !v.is_empty()) {
        return Ok(supersetd_proto::resolve_socket_path(
            Some(Path::new(&env)),
            None,
            Path::new("/"),
        )?);
    }
    let config_path = config
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os("SUPERSETD_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| Some(PathBuf::from("supersetd.toml")).filter(|p| p.is_file()));
    let (socket, state_dir) = match config_path {
        Some(path) => read_config(&path)?,
        None => (None, None),
    };
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
    let state_dir = state_dir.unwrap_or_else(supersetd_proto::default_state_dir);
    Ok(supersetd_proto::resolve_socket_path(
        socket.as_deref(),
        runtime.as_deref(),
        &state_dir,
    )?)
}

/// The two settings that place the socket: `[control] socket` and `state_dir`.
fn read_config(path: &Path) -> Result<(Option<PathBuf>, Option<PathBuf>), SocketError> {
    let bad = |reason: String| SocketError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| bad(e.message().to_owned()))?;
    let socket = table
        .get("control")
        .and_then(|c| c.get("socket"))
        .and_then(|s| s.as_str())
        .map(PathBuf::from);
    let state_dir = table
        .get("state_dir")
        .and_then(|s| s.as_str())
        .map(PathBuf::from);
    Ok((socket, state_dir))
}

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("{0}")]
    Path(#[from] SocketPathError),
    #[error("cannot read the configuration {path}: {reason}")]
    Config { path: PathBuf, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_socket_wins_and_must_be_absolute() {
        let config = Path::new("/nonexistent/supersetd.toml");
        let path = resolve_socket(Some(Path::new("/run/x/control.sock")), Some(config));
        assert_eq!(path.ok(), Some(PathBuf::from("/run/x/control.sock")));
        assert!(resolve_socket(Some(Path::new("relative.sock")), None).is_err());
    }

    #[test]
    fn config_places_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("supersetd.toml");
        std::fs::write(
            &file,
            "state_dir = \"/var/lib/s\"\n[control]\nsocket = \"/run/s/c.sock\"\n",
        )
        .unwrap();
        let (socket, state_dir) = read_config(&file).unwrap();
        assert_eq!(socket, Some(PathBuf::from("/run/s/c.sock")));
        assert_eq!(state_dir, Some(PathBuf::from("/var/lib/s")));
        std::fs::write(&file, "state_dir = [").unwrap();
        let err = read_config(&file).unwrap_err().to_string();
        assert!(err.contains("supersetd.toml"), "{err}");
        let missing = read_config(&dir.path().join("nope.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("cannot read the configuration"),
            "{missing}"
        );
    }
}
