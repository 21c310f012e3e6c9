//! Rendering: aligned tables, JSON documents, local times with relative hints, durations.
//!
//! Commands build rows of plain strings and hand them here, so alignment, colour policy and
//! time formatting are the same everywhere. Everything writes to a `Write` and returns its
//! error, so a closed pipe surfaces as `BrokenPipe` (exit 0, quietly) instead of a panic in
//! `println!`.

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Local, Utc};
use serde::Serialize;
use supersetd_proto::Outcome;

/// How to print: `--json` or tables, with or without colour.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub json: bool,
    pub colour: bool,
}

impl Style {
    /// Colour only for a terminal, and never with `NO_COLOR` set.
    pub fn detect(json: bool) -> Style {
        let colour = !json
            && io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Style { json, colour }
    }

    /// An outcome word, green or red when colour is on.
    pub fn outcome(&self, o: Outcome) -> String {
        let code = match o {
            Outcome::Succeeded => "32",
            Outcome::Failed | Outcome::TimedOut => "31",
            Outcome::Cancelled | Outcome::Missed => "33",
            Outcome::Running | Outcome::Skipped => "",
        };
        if self.colour && !code.is_empty() {
            format!("\x1b[{code}m{o}\x1b[0m")
        } else {
            o.to_string()
        }
    }
}

/// One JSON document on its own line.
pub fn json<T: Serialize>(out: &mut impl Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

/// A table with a header row; columns separated by two spaces, the last one not padded.
pub fn table(out: &mut impl Write, headers: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
    let mut widths: Vec<usize> = headers.iter().map(|h| visible_len(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(visible_len(cell));
            }
        }
    }
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 < row.len() {
                let pad = widths
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(visible_len(cell));
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad + 2));
            } else {
                line.push_str(cell);
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// Length as shown: colour escapes take no room.
fn visible_len(s: &str) -> usize {
    let mut len = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => len += 1,
        }
    }
    len
}

/// `2026-12-03 20:00 (5m ago)` in local time.
pub fn time(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        t.with_timezone(&Local).format("%Y-%m-%d %H:%M"),
        relative(t, now)
    )
}

/// `2026-12-04 08:00 +05:30 (in 5h48m)` in `zone` (an IANA name; local time if unknown):
/// a job's next run reads the way its schedule is written.
pub fn time_in_zone(t: DateTime<Utc>, zone: &str, now: DateTime<Utc>) -> String {
    match zone.parse::<chrono_tz::Tz>() {
        Ok(tz) => format!(
            "{} ({})",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M %:z"),
            relative(t, now)
        ),
        Err(_) => time(t, now),
    }
}

/// `in 3m`, `5m ago`, `just now`.
pub fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (t - now).num_seconds();
    if secs.abs() < 5 {
        return "just now".to_owned();
    }
    let span = short_span(secs.unsigned_abs());
    if secs > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

fn short_span(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// A duration in milliseconds, compact: `850ms`, `1.5s`, `3m02s`, `2h05m`.
pub fn duration_ms(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m{:02}s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

pub use crate::units::bytes;

/// At most `max` characters of the first line of `s`, with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

/// `-` for a missing value.
pub fn or_dash(s: Option<impl ToString>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_ignore_colour_codes() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["update".into(), "\x1b[32mok\x1b[0m".into(), "x".into()],
            vec!["o".into(), "failed".into(), "".into()],
        ];
        table(&mut out, &["NAME", "OUTCOME", "NOTE"], &rows).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME    OUTCOME  NOTE");
        assert_eq!(lines[1], "update  \x1b[32mok\x1b[0m       x");
        assert_eq!(lines[2], "o       failed");
    }

    #[test]
    fn relative_hints() {
        let now = Utc::now();
        assert_eq!(relative(now + chrono::Duration::seconds(185), now), "in 3m");
        assert_eq!(relative(now - chrono::Duration::minutes(5), now), "5m ago");
        assert_eq!(relative(now, now), "just now");
        assert_eq!(duration_ms(1500), "1.5s");
        assert_eq!(duration_ms(122_000), "2m02s");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
