//! The files the daemon logs to: appended to, and created readable by its group at most.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error(
        "cannot open log file {}: {source}; check that its directory is writable by this user",
        path.display()
    )]
    Open { path: PathBuf, source: io::Error },
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
}
