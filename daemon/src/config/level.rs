//! The log level: a level name or tracing `EnvFilter` directives, checked and normalised here
//! so `check-config` and `run` agree and the logger can use the result as it is.
//!
//! The Python original took `LOG_LEVEL=WARNING`; its names are accepted in any case. A bare
//! word that is not a level is refused although `EnvFilter` accepts it: it reads as "only this
//! target, every level", which silences the daemon entirely.

use tracing_subscriber::EnvFilter;

const HELP: &str = "use a level (trace, debug, info, warn, error, off) or directives like \
                    \"info,supersetd::pipeline=debug\"";

/// The normalised form of `text`, or why it is not a log level.
pub(super) fn normalise(text: &str) -> Result<String, String> {
    let text = text.trim();
    let directives = text
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(directive)
        .collect::<Result<Vec<_>, _>>()?;
    if directives.is_empty() {
        return Err(format!("it is empty; {HELP}"));
    }
    let normalised = directives.join(",");
    EnvFilter::try_new(&normalised).map_err(|e| format!("{text:?} is not valid ({e}); {HELP}"))?;
    Ok(normalised)
}

/// One comma-separated part: `level` or `target[span{field}]=level`.
fn directive(d: &str) -> Result<String, String> {
    match d.rsplit_once('=') {
        // An `=` inside `[...]` or `{...}` belongs to a span field, not to the level.
        Some((target, level)) if !level.contains([']', '}']) => {
            let level = level_name(level).map_or_else(|| level.to_owned(), str::to_owned);
            Ok(format!("{target}={level}"))
        }
        _ => level_name(d).map(str::to_owned).ok_or_else(|| {
            format!("{d:?} is neither a level nor a target=level directive; {HELP}")
        }),
    }
}

/// Tracing's name for a level name, the original's included.
fn level_name(word: &str) -> Option<&'static str> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        "warn" | "warning" => "warn",
        "error" | "critical" => "error",
        "off" => "off",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_originals_names_are_accepted_in_any_case() {
        for (given, expected) in [
            ("WARNING", "warn"),
            ("Critical", "error"),
            ("DEBUG", "debug"),
            ("info", "info"),
            (" error ", "error"),
        ] {
            assert_eq!(normalise(given).as_deref(), Ok(expected), "{given}");
        }
    }

    #[test]
    fn directives_keep_their_targets_and_normalise_their_levels() {
        assert_eq!(
            normalise("INFO,supersetd::pipeline=WARNING").as_deref(),
            Ok("info,supersetd::pipeline=warn")
        );
        assert!(normalise("info,supersetd[sync{job=update}]=debug").is_ok());
    }

    #[test]
    fn words_that_would_silence_the_daemon_are_refused() {
        for bad in [
            "bogus",
            "verbose",
            "info,==",
            "",
            "info,supersetd=loud",
            "  ,  ",
        ] {
            assert!(normalise(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
