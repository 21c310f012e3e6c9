//! The pid file, held under an exclusive `flock` for the daemon's whole life.
//!
//! The lock, not the file's content, says whether a daemon runs: the kernel drops it when the
//! process dies, however it dies. So a stale file from a `kill -9`, a file naming some
//! unrelated live process, or an empty or garbage file never blocks a start, and of any number
//! of simultaneous starts exactly one gets the lock. The file is never unlinked: removing a
//! locked file lets a second process lock a fresh inode while a third still holds the old one.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("supersetd is already running{}", .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    AlreadyRunning { pid: Option<u32> },
    #[error("cannot use pid file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The held lock. Dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct PidLock {
    file: Flock<File>,
    path: PathBuf,
}

fn open(path: &Path) -> Result<File, PidFileError> {
    let io = |source| PidFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        super::create_state_dir(dir).map_err(io)?;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o640)
        .open(path)
        .map_err(io)
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// Take the lock and write our pid, or say who holds it.
pub fn acquire(path: &Path) -> Result<PidLock, PidFileError> {
    let file = open(path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut locked) => {
            let io = |source| PidFileError::Io {
                path: path.to_path_buf(),
                source,
            };
            locked.set_len(0).map_err(io)?;
            locked.seek(SeekFrom::Start(0)).map_err(io)?;
            writeln!(locked, "{}", std::process::id()).map_err(io)?;
            locked.sync_all().map_err(io)?;
            Ok(PidLock {
                file: locked,
                path: path.to_path_buf(),
            })
        }
        Err((mut file, Errno::EWOULDBLOCK)) => Err(PidFileError::AlreadyRunning {
            pid: holder_pid(&mut file),
        }),
        Err((_, errno)) => Err(PidFileError::Io {
            path: path.to_path_buf(),
            source: errno.into(),
        }),
    }
}

/// The winner may not have written its pid yet; give it a moment before saying "unknown".
fn holder_pid(file: &mut File) -> Option<u32> {
    for _ in 0..20 {
        if let Some(pid) = read_pid(file) {
            return Some(pid);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}

/// The pid of the live daemon holding the lock, or `None` when no daemon holds it (whatever
/// the file says).
pub fn holder(path: &Path) -> Result<Option<u32>, PidFileError> {
    if !path.exists() {
        return Ok(None);
    }
    let file = open(path)?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(_released_on_drop) => Ok(None),
        Err((mut file, Errno::EWOULDBLOCK)) => Ok(Some(holder_pid(&mut file).unwrap_or(0))),
        Err((_, errno)) => Err(PidFileError::Io {
            path: path.to_path_buf(),
            source: errno.into(),
        }),
    }
}

impl PidLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        // Empty the file so nobody reads a stale pid; the lock itself goes with the descriptor.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_garbage_and_foreign_pid_files_do_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        for content in ["", "garbage\n", "1\n", "999999999\n"] {
            std::fs::write(&path, content).unwrap();
            let lock = acquire(&path).unwrap();
            let written = std::fs::read_to_string(&path).unwrap();
            assert_eq!(written.trim(), std::process::id().to_string());
            drop(lock);
        }
    }

    #[test]
    fn a_held_lock_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.pid");
        let lock = acquire(&path).unwrap();
        match acquire(&path) {
            Err(PidFileError::AlreadyRunning { pid }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        assert_eq!(holder(&path).unwrap(), Some(std::process::id()));
        drop(lock);
        assert_eq!(holder(&path).unwrap(), None);
    }
}
