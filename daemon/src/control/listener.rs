//! Binding the control socket: its directory, stale-socket reclaim and the live check.
//!
//! A missing directory is created 0700. An existing one is left as its owner made it: it may
//! be shared (`/tmp`, `/run`), and changing its mode would break everyone else in it. There
//! the socket's own 0600 mode (which Linux enforces on connect) and the peer-credential check
//! guard access. A directory others may write without the sticky bit is refused: anyone could
//! unlink our socket and bind their own in its place. A socket file left by a killed daemon is
//! reclaimed only after a connect attempt proves nobody answers, so starting a second daemon
//! can never steal the socket of a running one.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName};
use interprocess::os::unix::local_socket::ListenerOptionsExt;

use super::access::AccessPolicy;

/// The bound control socket, ready for [`super::serve`].
pub struct ControlListener {
    pub(super) listener: Listener,
    pub(super) path: PathBuf,
    pub(super) policy: AccessPolicy,
}

impl ControlListener {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::fmt::Debug for ControlListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlListener")
            .field("path", &self.path)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlBindError {
    #[error("supersetd is already running: its control socket {socket} answers")]
    AlreadyRunning { socket: PathBuf },
    #[error("cannot prepare the socket directory {dir}: {source}")]
    Directory { dir: PathBuf, source: io::Error },
    #[error(
        "socket directory {dir} is writable by other users without the sticky bit (mode {mode:o}), so anyone could replace the socket; use a private directory for [control] socket, or chmod +t {dir}"
    )]
    UnsafeDirectory { dir: PathBuf, mode: u32 },
    #[error("cannot remove the stale control socket {socket}: {source}")]
    Reclaim { socket: PathBuf, source: io::Error },
    #[error("cannot bind the control socket {socket}: {source}")]
    Bind { socket: PathBuf, source: io::Error },
}

/// Bind the control socket at `socket` (absolute) for the daemon's user and root only. Creates
/// a missing parent directory with mode 0700 and refuses an unsafe existing one
/// ([`ControlBindError::UnsafeDirectory`]), removes a stale socket file nobody answers on, and
/// refuses with [`ControlBindError::AlreadyRunning`] when a daemon answers there.
pub async fn bind(socket: &Path) -> Result<ControlListener, ControlBindError> {
    bind_with(socket, AccessPolicy::default()).await
}

/// [`bind`] with operator and viewer groups: the socket (and a directory created for it) is
/// given to the group with the modes [`AccessPolicy`] chooses.
pub async fn bind_with(
    socket: &Path,
    policy: AccessPolicy,
) -> Result<ControlListener, ControlBindError> {
    if let Some(dir) = socket.parent() {
        let dir = dir.to_path_buf();
        tokio::task::spawn_blocking(move || prepare_dir(&dir, &policy))
            .await
            .map_err(|e| ControlBindError::Directory {
                dir: socket.to_path_buf(),
                source: io::Error::other(e),
            })??;
    }
    reclaim_if_stale(socket).await?;
    let bind_err = |source| ControlBindError::Bind {
        socket: socket.to_path_buf(),
        source,
    };
    let name = socket.to_fs_name::<GenericFilePath>().map_err(bind_err)?;
    let listener = ListenerOptions::new()
        .name(name)
        .mode(0o600)
        .create_tokio()
        .map_err(bind_err)?;
    share_with_group(socket, policy.socket_gid(), policy.socket_mode()).map_err(bind_err)?;
    Ok(ControlListener {
        listener,
        path: socket.to_path_buf(),
        policy,
    })
}

/// Hand `path` to `gid` with `mode`. The socket is bound 0600 first, so it is never wider
/// than configured, only briefly narrower.
fn share_with_group(path: &Path, gid: Option<u32>, mode: u32) -> io::Result<()> {
    let Some(gid) = gid else { return Ok(()) };
    std::os::unix::fs::lchown(path, None, Some(gid))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn prepare_dir(dir: &Path, policy: &AccessPolicy) -> Result<(), ControlBindError> {
    let dir_err = |source| ControlBindError::Directory {
        dir: dir.to_path_buf(),
        source,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(dir_err(io::Error::from(io::ErrorKind::NotADirectory))),
        Ok(meta) if writable_by_others(meta.mode()) => Err(ControlBindError::UnsafeDirectory {
            dir: dir.to_path_buf(),
            mode: meta.mode() & 0o7777,
        }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(dir_err)?;
            // `mode` is filtered by the umask; set it exactly.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .map_err(dir_err)?;
            share_with_group(dir, policy.socket_gid(), policy.dir_mode()).map_err(dir_err)
        }
        Err(e) => Err(dir_err(e)),
    }
}

/// Group- or world-writable without the sticky bit, which would stop others from removing or
/// renaming files they do not own.
fn writable_by_others(mode: u32) -> bool {
    mode & 0o022 != 0 && mode & 0o1000 == 0
}

async fn reclaim_if_stale(socket: &Path) -> Result<(), ControlBindError> {
    match tokio::fs::symlink_metadata(socket).await {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(ControlBindError::Bind {
                socket: socket.to_path_buf(),
                source: e,
            });
        }
        Ok(_) => {}
    }
    let name = socket
        .to_fs_name::<GenericFilePath>()
        .map_err(|source| ControlBindError::Bind {
            socket: socket.to_path_buf(),
            source,
        })?;
    match Stream::connect(name).await {
        Ok(_) => Err(ControlBindError::AlreadyRunning {
            socket: socket.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(socket = %socket.display(), "removing stale control socket");
            tokio::fs::remove_file(socket)
                .await
                .map_err(|source| ControlBindError::Reclaim {
                    socket: socket.to_path_buf(),
                    source,
                })
        }
        // Anything else (not a socket, no permission) is for the operator to look at; binding
        // would fail with the same cause, so report it as a bind error.
        Err(source) => Err(ControlBindError::Bind {
            socket: socket.to_path_buf(),
            source,
        }),
    }
}
