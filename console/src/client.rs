//! The connection to supersetd shared by both binaries: where the socket is, connecting with
//! a timeout, and calling with a deadline.
//!
//! The point of this module is that "the daemon is not there" and "the daemon did not answer
//! in time" are decided here, once, and always within the caller's timeout: every call runs
//! under a tarpc deadline *and* a local timer, so a daemon stopped with SIGSTOP (whose socket
//! still accepts) cannot make a client hang. Retrying and printing are the callers' business.

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use supersetd_proto::connect::{context_with_timeout, rpc_error};
use supersetd_proto::{ConnectError, ControlClient, ControlError, ServerHello, SocketPathError};
use tarpc::client::RpcError;
use tarpc::context::Context;

/// Environment variable naming the socket directly.
pub const SOCKET_ENV: &str = "SUPERSETD_SOCKET";
/// Environment variable naming the daemon's configuration file.
pub const CONFIG_ENV: &str = "SUPERSETD_CONFIG";
/// The configuration file picked up from the working directory.
pub const LOCAL_CONFIG: &str = "supersetd.toml";

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read the configuration {path}: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error(transparent)]
    SocketPath(#[from] SocketPathError),
    /// Not reachable, timed out, or the connection broke: the daemon is not usable.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The daemon answered, and the answer is an error.
    #[error(transparent)]
    Daemon(#[from] ControlError),
}

impl ClientError {
    /// True when the daemon could not be reached, did not answer in time, or was too busy to
    /// take the connection: worth retrying later.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            ClientError::Connect(
                ConnectError::Unreachable { .. }
                    | ConnectError::Timeout { .. }
                    | ConnectError::Transport { .. }
                    | ConnectError::Refused(ControlError::Unavailable { .. })
            )
        )
    }
}

/// Where the socket path comes from, as given on the command line and in the environment.
#[derive(Debug, Clone, Default)]
pub struct SocketInputs {
    /// `--socket PATH`.
    pub socket: Option<PathBuf>,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    pub env_socket: Option<OsString>,
    pub env_config: Option<OsString>,
    pub runtime_dir: Option<OsString>,
}

impl SocketInputs {
    /// The command-line values plus this process's environment.
    pub fn from_env(socket: Option<PathBuf>, config: Option<PathBuf>) -> Self {
        SocketInputs {
            socket,
            config,
            env_socket: std::env::var_os(SOCKET_ENV).filter(|v| !v.is_empty()),
            env_config: std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()),
            runtime_dir: std::env::var_os("XDG_RUNTIME_DIR"),
        }
    }
}

/// Resolve the socket: `--socket`, else `$SUPERSETD_SOCKET`, else the configuration file's
/// `[control] socket` / `state_dir` (`--config`, else `$SUPERSETD_CONFIG`, else
/// `./supersetd.toml` if present), else the built-in default, exactly as the daemon does.
pub fn resolve_socket(inputs: &SocketInputs) -> Result<PathBuf, ClientError> {
    if let Some(path) = inputs
        .socket
        .clone()
        .or_else(|| inputs.env_socket.clone().map(PathBuf::from))
    {
        return Ok(supersetd_proto::resolve_socket_path(
            Some(&absolute(path)),
            None,
            Path::new("/"),
        )?);
    }
    let config = inputs
        .config
        .clone()
        .or_else(|| inputs.env_config.clone().map(PathBuf::from))
        .or_else(|| {
            let local = PathBuf::from(LOCAL_CONFIG);
            local.is_file().then_some(local)
        });
    let (socket, state_dir) = match config {
        Some(path) => read_config(&path)?,
        None => (None, None),
    };
    let state_dir = state_dir.unwrap_or_else(supersetd_proto::default_state_dir);
    let runtime_dir = inputs.runtime_dir.as_ref().map(PathBuf::from);
    Ok(supersetd_proto::resolve_socket_path(
        socket.as_deref(),
        runtime_dir.as_deref(),
        &state_dir,
    )?)
}

fn absolute(path: PathBuf) -> PathBuf {
    if path.is_absolute() {
        return path;
    }
    std::env::current_dir()
        .map(|cwd| cwd.join(&path))
        .unwrap_or(path)
}

/// Read only `[control] socket` and `state_dir`; the rest of the file is the daemon's.
fn read_config(path: &Path) -> Result<(Option<PathBuf>, Option<PathBuf>), ClientError> {
    let fail = |reason: String| ClientError::Config {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| fail(e.message().to_owned()))?;
    let string_at = |value: Option<&toml::Value>, key: &str| match value {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(absolute(PathBuf::from(s)))),
        Some(_) => Err(fail(format!("{key} must be a string"))),
    };
    let socket = string_at(
        table.get("control").and_then(|c| c.get("socket")),
        "control.socket",
    )?;
    let state_dir = string_at(table.get("state_dir"), "state_dir")?;
    Ok((socket, state_dir))
}

/// A handshaken connection plus the timeout every call is held to.
#[derive(Clone)]
pub struct Client {
    pub client: ControlClient,
    pub hello: ServerHello,
    pub path: PathBuf,
    pub timeout: Duration,
}

impl Client {
    /// Connect and say hello, all within `timeout`.
    pub async fn connect(
        path: &Path,
        client_name: &str,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let conn = supersetd_proto::connect(path, client_name, timeout).await?;
        Ok(Client {
            client: conn.client,
            hello: conn.hello,
            path: path.to_path_buf(),
            timeout,
        })
    }

    /// Make one call. The daemon gets `extra_wait` on top of the timeout (for long polls, which
    /// are expected to take that long); past that the call fails as a timeout.
    pub async fn call<T, F, Fut>(&self, extra_wait: Duration, f: F) -> Result<T, ClientError>
    where
        F: FnOnce(ControlClient, Context) -> Fut,
        Fut: Future<Output = Result<Result<T, ControlError>, RpcError>>,
    {
        let budget = self.timeout + extra_wait;
        let call = f(self.client.clone(), context_with_timeout(budget));
        // The tarpc deadline normally fires first; the timer is the backstop for a dispatch
        // that is itself stuck (a peer that stopped reading).
        match tokio::time::timeout(budget + Duration::from_millis(100), call).await {
            Ok(Ok(reply)) => Ok(reply?),
            Ok(Err(e)) => Err(ClientError::Connect(rpc_error(&self.path, budget, e))),
            Err(_) => Err(ClientError::Connect(ConnectError::Timeout {
                path: self.path.clone(),
                timeout_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_socket_beats_the_environment() {
        let inputs = SocketInputs {
            socket: Some("/a/s.sock".into()),
            env_socket: Some("/b/s.sock".into()),
            ..SocketInputs::default()
        };
        assert_eq!(resolve_socket(&inputs).unwrap(), PathBuf::from("/a/s.sock"));
        let inputs = SocketInputs {
            env_socket: Some("/b/s.sock".into()),
            ..SocketInputs::default()
        };
        assert_eq!(resolve_socket(&inputs).unwrap(), PathBuf::from("/b/s.sock"));
    }

    #[test]
    fn config_file_socket_then_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(&cfg, "state_dir = \"/var/lib/x\"\n[control]\nsocket = \"/run/x/c.sock\"\n[web]\nlisten = 1\n").unwrap();
        let inputs = SocketInputs {
            config: Some(cfg.clone()),
            runtime_dir: Some("/run/user/1".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_socket(&inputs).unwrap(),
            PathBuf::from("/run/x/c.sock")
        );
        std::fs::write(&cfg, "state_dir = \"/var/lib/x\"\n").unwrap();
        let inputs = SocketInputs {
            env_config: Some(cfg.into()),
            ..Default::default()
        };
        assert_eq!(
            resolve_socket(&inputs).unwrap(),
            PathBuf::from("/var/lib/x/control.sock")
        );
    }

    #[test]
    fn runtime_dir_is_the_default() {
        let inputs = SocketInputs {
            config: Some("/nonexistent/never.toml".into()),
            runtime_dir: Some("/run/user/1".into()),
            ..Default::default()
        };
        assert!(matches!(
            resolve_socket(&inputs),
            Err(ClientError::Config { .. })
        ));
        let inputs = SocketInputs {
            runtime_dir: Some("/run/user/1".into()),
            ..Default::default()
        };
        // Only when no ./supersetd.toml sits in the test's working directory.
        if !Path::new(LOCAL_CONFIG).exists() {
            assert_eq!(
                resolve_socket(&inputs).unwrap(),
                PathBuf::from("/run/user/1/supersetd/control.sock")
            );
        }
    }

    #[test]
    fn a_bad_config_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("c.toml");
        std::fs::write(&cfg, "[control]\nsocket = 5\n").unwrap();
        let err = resolve_socket(&SocketInputs {
            config: Some(cfg),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("control.socket"), "{err}");
    }
}
