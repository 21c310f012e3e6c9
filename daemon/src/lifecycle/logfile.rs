//! The files the daemon logs to, and opening them again when logrotate asks.
//!
//! logrotate renames the file and sends SIGHUP (`postrotate kill -HUP`). A daemon that kept
//! its descriptor would go on filling the renamed file, so each file is opened again by path:
//! the detached daemon's stdout and stderr are re-pointed at the new file with dup2, so
//! whatever writes to them (a panic message included) lands there, and the foreground's extra
//! `[log] file` is swapped under its writer's lock. If the new file cannot be opened, the old
//! descriptor stays in use: losing the log is worse than writing to the rotated file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error(
        "cannot open log file {}: {source}; check that its directory is writable by this user",
        path.display()
    )]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot point stdout and stderr at {}: {source}", path.display())]
    Redirect { path: PathBuf, source: nix::Error },
}

/// Open `path` for appending, creating it 0640 and its directory 0750 when missing.
pub fn open(path: &Path) -> Result<File, LogFileError> {
    let err = |source| LogFileError::Open {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        super::create_state_dir(dir).map_err(err)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .map_err(err)
}

/// A log file loggers write through, which [`LogFiles::reopen`] can swap underneath them.
#[derive(Debug)]
pub struct SharedFile {
    path: PathBuf,
    file: Mutex<File>,
}

impl SharedFile {
    pub fn open(path: &Path) -> Result<Arc<SharedFile>, LogFileError> {
        Ok(Arc::new(SharedFile {
            path: path.to_path_buf(),
            file: Mutex::new(open(path)?),
        }))
    }

    fn reopen(&self) -> Result<(), LogFileError> {
        let fresh = open(&self.path)?;
        *self.lock() = fresh;
        Ok(())
    }

    // A logger that panicked mid-write leaves the file usable; keep logging.
    fn lock(&self) -> MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `&SharedFile: Write` makes `Arc<SharedFile>` a tracing writer.
impl Write for &SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        // One lock for the whole line, so concurrent events never interleave.
        self.lock().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock().flush()
    }
}

/// Every file the daemon logs to, for SIGHUP.
#[derive(Debug, Clone, Default)]
pub struct LogFiles {
    /// The detached daemon's stdout and stderr.
    stdio: Option<PathBuf>,
    /// The foreground's `[log] file`.
    extra: Option<Arc<SharedFile>>,
}

impl LogFiles {
    /// The detached daemon, whose stdout and stderr are `path`.
    pub fn stdio(path: PathBuf) -> LogFiles {
        LogFiles {
            stdio: Some(path),
            extra: None,
        }
    }

    /// The foreground daemon, with its extra log file if configured.
    pub fn foreground(extra: Option<Arc<SharedFile>>) -> LogFiles {
        LogFiles { stdio: None, extra }
    }

    pub fn extra(&self) -> Option<Arc<SharedFile>> {
        self.extra.clone()
    }

    /// Open every file again by path; returns the paths reopened. Stops at the first failure,
    /// leaving that file on its old descriptor.
    pub fn reopen(&self) -> Result<Vec<&Path>, LogFileError> {
        let mut done = Vec::new();
        if let Some(path) = &self.stdio {
            redirect_stdio(path)?;
            done.push(path.as_path());
        }
        if let Some(file) = &self.extra {
            file.reopen()?;
            done.push(file.path.as_path());
        }
        Ok(done)
    }
}

fn redirect_stdio(path: &Path) -> Result<(), LogFileError> {
    let file = open(path)?;
    let err = |source| LogFileError::Redirect {
        path: path.to_path_buf(),
        source,
    };
    nix::unistd::dup2_stdout(&file).map_err(err)?;
    nix::unistd::dup2_stderr(&file).map_err(err)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_log_file_and_its_directory_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("d.log");
        drop(open(&path).unwrap());
        // The umask may take more away, never add.
        assert_eq!(mode(path.parent().unwrap()) & !0o750, 0);
        assert_eq!(mode(&path) & !0o640, 0);
    }

    #[test]
    fn a_reopened_file_follows_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.log");
        let file = SharedFile::open(&path).unwrap();
        (&*file).write_all(b"before\n").unwrap();
        std::fs::rename(&path, dir.path().join("d.log.1")).unwrap();
        let files = LogFiles::foreground(Some(file.clone()));
        assert_eq!(files.reopen().unwrap(), [path.as_path()]);
        (&*file).write_all(b"after\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "after\n");
        let rotated = std::fs::read_to_string(dir.path().join("d.log.1")).unwrap();
        assert_eq!(rotated, "before\n");
    }
}
