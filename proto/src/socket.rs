//! Where the control socket lives.
//!
//! Daemon and clients must agree on the path without talking, so the rule is written once,
//! here: an explicit path wins; else `$XDG_RUNTIME_DIR/supersetd/control.sock`; else
//! `<state_dir>/control.sock`. The socket sits in a directory of its own so that the
//! directory's mode (0700) is what guards it: a Unix socket's own mode is not honoured
//! everywhere, a directory's always is.

use std::path::{Path, PathBuf};

/// The file name of the socket inside its directory.
pub const SOCKET_FILE: &str = "control.sock";

#[derive(Debug, thiserror::Error)]
pub enum SocketPathError {
    #[error("socket path {0} is not absolute")]
    NotAbsolute(PathBuf),
    #[error("socket path {path} is {len} bytes long; Unix sockets allow at most {max}")]
    TooLong {
        path: PathBuf,
        len: usize,
        max: usize,
    },
}

/// `sun_path` is 108 bytes on Linux, including the trailing NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Resolve the socket path from an explicit setting, the runtime directory and the state
/// directory, in that order of preference. `runtime_dir` is normally `$XDG_RUNTIME_DIR`.
pub fn resolve_socket_path(
    explicit: Option<&Path>,
    runtime_dir: Option<&Path>,
    state_dir: &Path,
) -> Result<PathBuf, SocketPathError> {
    let path = match (explicit, runtime_dir) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(rt)) if !rt.as_os_str().is_empty() => rt.join("supersetd").join(SOCKET_FILE),
        _ => state_dir.join(SOCKET_FILE),
    };
    check_socket_path(&path)?;
    Ok(path)
}

/// The default state directory: `$XDG_STATE_HOME/supersetd`, else `./data` made absolute
/// (the daemon changes directory to `/` when it detaches, so a relative path would move).
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("supersetd"),
        _ => std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join("data"),
    }
}

/// Reject paths the kernel would refuse later with a less helpful message.
pub fn check_socket_path(path: &Path) -> Result<(), SocketPathError> {
    if !path.is_absolute() {
        return Err(SocketPathError::NotAbsolute(path.to_path_buf()));
    }
    let len = path.as_os_str().len();
    if len > MAX_SOCKET_PATH {
        return Err(SocketPathError::TooLong {
            path: path.to_path_buf(),
            len,
            max: MAX_SOCKET_PATH,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins() {
        let p = resolve_socket_path(
            Some(Path::new("/x/s.sock")),
            Some(Path::new("/run/user/1")),
            Path::new("/var"),
        );
        assert_eq!(p.ok(), Some(PathBuf::from("/x/s.sock")));
    }

    #[test]
    fn runtime_dir_then_state_dir() {
        let p = resolve_socket_path(
            None,
            Some(Path::new("/run/user/1")),
            Path::new("/var/lib/s"),
        );
        assert_eq!(
            p.ok(),
            Some(PathBuf::from("/run/user/1/supersetd/control.sock"))
        );
        let p = resolve_socket_path(None, None, Path::new("/var/lib/s"));
        assert_eq!(p.ok(), Some(PathBuf::from("/var/lib/s/control.sock")));
    }

    #[test]
    fn relative_and_overlong_paths_are_refused() {
        assert!(resolve_socket_path(Some(Path::new("rel.sock")), None, Path::new("/")).is_err());
        let long = format!("/{}", "a".repeat(200));
        assert!(resolve_socket_path(Some(Path::new(&long)), None, Path::new("/")).is_err());
    }
}
