//! The `.env` file in the working directory, loaded into the environment before anything
//! reads it (never overriding a variable already set).
//!
//! dotenvy stops at the first line it cannot parse and drops every variable after it, so a
//! malformed file is a configuration error rather than a silently half-loaded one. Its own
//! error text quotes the line, which is usually `SOME_TOKEN=…`, so the message here names the
//! line number and the variable only.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// Load `path` if it exists. The whole file is checked before any variable is set.
pub(super) fn load(path: &Path) -> Result<(), ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(error(path, format!("cannot read it: {e}"))),
    };
    check(&text).map_err(|reason| error(path, reason))?;
    dotenvy::from_read(text.as_bytes()).map_err(|e| error(path, describe(&text, &e)))
}

fn error(path: &Path, reason: String) -> ConfigError {
    ConfigError::Parse {
        path: std::path::absolute(path).unwrap_or_else(|_| PathBuf::from(path)),
        reason,
    }
}

/// Parse every line without touching the environment.
fn check(text: &str) -> Result<(), String> {
    for item in dotenvy::from_read_iter(text.as_bytes()) {
        item.map_err(|e| describe(text, &e))?;
    }
    Ok(())
}

fn describe(text: &str, err: &dotenvy::Error) -> String {
    let dotenvy::Error::LineParse(fragment, index) = err else {
        // I/O and variable errors carry no file content.
        return err.to_string();
    };
    let place = match locate(text, fragment) {
        Some(start) => place(text, start, start + index),
        None => "a line".to_owned(),
    };
    format!(
        "{place} cannot be parsed; write NAME=value, quoting a value with spaces or special \
         characters and closing every quote (the line is not shown: it may hold a secret)"
    )
}

/// Where dotenvy's fragment starts in `text`. The fragment is a whole entry (possibly several
/// lines of a quoted value) or the value part of one, and in both cases ends its entry.
fn locate(text: &str, fragment: &str) -> Option<usize> {
    if fragment.is_empty() {
        return None;
    }
    text.match_indices(fragment).map(|(p, _)| p).find(|&p| {
        let after = text[p + fragment.len()..].trim_start_matches([' ', '\t', '\r']);
        let before = &text[line_start(text, p)..p];
        (after.is_empty() || after.starts_with('\n'))
            && (before.trim().is_empty() || before.trim_end().ends_with('='))
    })
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// "line N, column C (NAME)" for the entry starting at `start`, failing at `at`. The column is
/// left out when the failure is past the entry's first line (an unclosed quote, say).
fn place(text: &str, start: usize, at: usize) -> String {
    let first = line_start(text, start);
    let line_end = text[first..].find('\n').map_or(text.len(), |i| first + i);
    let number = text[..first].matches('\n').count() + 1;
    let column = if at < line_end.min(text.trim_end().len()) {
        format!(", column {}", text[first..at].chars().count() + 1)
    } else {
        String::new()
    };
    let variable = variable_of(&text[first..line_end])
        .map(|v| format!(" ({v})"))
        .unwrap_or_default();
    format!("line {number}{column}{variable}")
}

/// The variable a `NAME=value` (or `export NAME=value`) line sets, if it looks like a name.
fn variable_of(line: &str) -> Option<&str> {
    let (name, _) = line.split_once('=')?;
    let name = name.trim();
    let name = name.strip_prefix("export ").unwrap_or(name).trim();
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.'));
    plain.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_line_is_named_by_number_and_variable_but_not_shown() {
        let text = "A=1\n# note\nTELEGRAM_BOT_TOKEN=123 SECRET'ABC\nB=2\n";
        let err = check(text).unwrap_err();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("TELEGRAM_BOT_TOKEN"), "{err}");
        assert!(!err.contains("SECRET") && !err.contains("123"), "{err}");
    }

    #[test]
    fn an_unterminated_quote_is_reported() {
        let err = check("A=1\nPASSWORD=\"SECRET\nB=2\n").unwrap_err();
        assert!(
            err.contains("line 2 (PASSWORD)") && !err.contains("SECRET"),
            "{err}"
        );
        let err = check("A=1\nB=1\nC=1 2\n").unwrap_err();
        assert!(err.contains("line 3, column 5 (C)"), "{err}");
        let err = check("A=1\n  \nnot a variable\n").unwrap_err();
        assert!(err.contains("line 3, column 5 cannot"), "{err}");
    }

    #[test]
    fn a_good_file_passes_and_a_missing_one_is_fine() {
        assert!(check("A=1\nexport B='two words'\n\n# c\n").is_ok());
        let dir = tempfile::tempdir().unwrap();
        assert!(load(&dir.path().join(".env")).is_ok());
    }

    #[test]
    fn a_bad_file_is_a_configuration_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "SUPERSETD_TEST_UNSET_X=1 2 3\n").unwrap();
        let err = load(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(std::env::var_os("SUPERSETD_TEST_UNSET_X").is_none());
    }
}
