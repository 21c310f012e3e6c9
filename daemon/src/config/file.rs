//! Reading the configuration file, with error messages that never quote a secret.
//!
//! `toml`'s own error text quotes the offending source line, and serde's quotes the offending
//! value; either may be a bot token or a password. The message built here names the place
//! (line, column, key) and the reason, and shows the line only when it holds no secret.

use std::path::Path;

use super::ConfigError;
use super::raw::RawConfig;

pub(super) fn read(path: &Path) -> Result<RawConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse(&text, path)
}

fn parse(text: &str, path: &Path) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        reason: describe_toml_error(text, &e),
    })
}

/// Keys whose lines may be quoted back. An allowlist rather than a list of secrets, because
/// a misspelt secret key (`tokn = "…"`) still holds a secret.
const SHOWABLE_KEYS: &[&str] = &[
    "state_dir",
    "drain_secs",
    "socket",
    "backend",
    "path",
    "database",
    "server_selection_timeout_secs",
    "operation_timeout_secs",
    "lease_secs",
    "api_url",
    "channel_chat_id",
    "admin_chat_ids",
    "request_timeout_secs",
    "base_url",
    "tenant_id",
    "timeout_secs",
    "email",
    "listen",
    "cors_origins",
    "backfill",
    "rate_per_sec",
    "concurrency",
    "max_inline_wait_secs",
    "timezone",
    "name",
    "schedule",
    "level",
    "file",
    "imap_host",
    "imap_port",
    "tls",
    "user",
    "mailbox",
    "url",
    "vapid_public_key",
    "contact",
];

/// Names of secret keys: a line mentioning one is never shown, whatever its own key is.
const SECRET_KEYS: &[&str] = &[
    "token",
    "password",
    "mongodb_uri",
    "api_key",
    "vapid_private_key",
];

fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let message = err.message().trim();
    let Some(span) = err.span() else {
        return message.to_owned();
    };
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let column = text[line_start..start].chars().count() + 1;
    let line = text[line_start..line_end].trim_end_matches('\r');
    let entry = entry_name(text, line_end).map(|name| format!("the entry named {name:?}"));
    let key = match (key_at(&text[..line_start], line), entry) {
        (Some(k), Some(entry)) => format!(" ({k} of {entry})"),
        (Some(k), None) => format!(" ({k})"),
        (None, Some(entry)) => format!(" ({entry})"),
        (None, None) => String::new(),
    };
    let shown = if line_is_showable(line) {
        format!("\n    {line_no} | {line}")
    } else {
        " (line not shown: it may hold a secret)".to_owned()
    };
    format!("line {line_no}, column {column}{key}: {message}{shown}")
}

/// The dotted key a `key = value` line sets, under the last table header before it. Only
/// plain key characters are accepted, so nothing of a value can slip into the name.
fn key_at(before: &str, line: &str) -> Option<String> {
    let plain = |k: &str| {
        !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if !plain(key) {
        return None;
    }
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| {
            l.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
        });
    match table {
        Some(t) if plain(t) => Some(format!("{t}.{key}")),
        Some(_) => None,
        None => Some(key.to_owned()),
    }
}

/// The `name` of the `[[array]]` entry holding the byte offset `at`: several
/// `[[scheduler.jobs]]` look alike, and a line number alone makes the operator count headers.
/// Only plain names are given back, so nothing else of the file is quoted.
fn entry_name(text: &str, at: usize) -> Option<String> {
    let is_header = |l: &str| l.trim_start().starts_with('[');
    let before = &text[..at];
    let header_start = before
        .lines()
        .rev()
        .find(|l| is_header(l))
        .filter(|l| l.trim_start().starts_with("[["))?;
    let section_start = before.rfind(header_start)? + header_start.len();
    let section = &text[section_start..];
    section
        .lines()
        .skip(1)
        .take_while(|l| !is_header(l))
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "name")
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        })
}

fn line_is_showable(line: &str) -> bool {
    let line = line.trim();
    if SECRET_KEYS.iter().any(|k| line.contains(k)) {
        return false;
    }
    if line.is_empty() || line.starts_with('#') || line.starts_with('[') {
        return true;
    }
    let Some((key, _)) = line.split_once('=') else {
        // A continuation of a multi-line value: whose value it is is unknown.
        return false;
    };
    let leaf = key.rsplit('.').next().unwrap_or(key);
    SHOWABLE_KEYS.contains(&leaf.trim().trim_matches(['"', '\'']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(text: &str) -> String {
        match parse(text, Path::new("/etc/supersetd.toml")) {
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn syntax_errors_on_secret_lines_do_not_quote_the_secret() {
        let err = parse_error("[telegram]\ntoken = 123456:SECRETABC\n");
        assert!(
            !err.contains("SECRETABC") && !err.contains("123456"),
            "{err}"
        );
        assert!(err.contains("line 2, column 9 (telegram.token)"), "{err}");
        let err = parse_error("[telegram]\ntokn = \"123456:SECRETABC\"\n");
        assert!(!err.contains("SECRETABC"), "{err}");
        assert!(err.contains("tokn"), "{err}");
    }

    #[test]
    fn type_errors_on_secrets_name_the_key_but_not_the_value() {
        for text in [
            "[web]\ntoken = 98765432\n",
            "[store]\nmongodb_uri = 98765432\n",
            "[superset]\naccounts = [{ email = \"a@b.c\", password = 98765432 }]\n",
            "[email]\npassword = 98765432\n",
            "[llm]\napi_key = 98765432\n",
            "[webpush]\nvapid_private_key = 98765432\n",
        ] {
            let err = parse_error(text);
            assert!(!err.contains("98765432"), "{text}: {err}");
            assert!(err.contains("line 2"), "{text}: {err}");
            assert!(err.contains("not shown"), "{text}: {err}");
        }
    }

    #[test]
    fn an_error_in_one_of_several_jobs_names_the_job() {
        let text = "[[scheduler.jobs]]\nname = \"update\"\nschedule = \"0 * * * *\"\n\
                    [[scheduler.jobs]]\nname = \"official\"\ncolour = \"red\"\n\
                    schedule = \"0 12 * * *\"\n";
        let err = parse_error(text);
        assert!(
            err.contains("(scheduler.jobs.colour of the entry named \"official\")"),
            "{err}"
        );
        let err = parse_error("[[scheduler.jobs]]\ncolour = \"red\"\nname = \"update\"\n");
        assert!(err.contains("entry named \"update\""), "{err}");
        let err = parse_error("[[scheduler.jobs]]\nname = \"official\"\n");
        assert!(
            err.contains("(the entry named \"official\"): missing field `schedule`"),
            "{err}"
        );
        let err = parse_error(
            "[[scheduler.jobs]]\nname = \"update\"\nschedule = \"0 * * * *\"\n[web]\nlisten = 8000\n",
        );
        assert!(!err.contains("entry named"), "not in an entry: {err}");
    }

    #[test]
    fn errors_on_ordinary_keys_show_the_line() {
        let err = parse_error("[web]\nlisten = 8000\n");
        assert!(err.contains("line 2, column 10 (web.listen)"), "{err}");
        assert!(err.contains("listen = 8000"), "{err}");
    }
}
