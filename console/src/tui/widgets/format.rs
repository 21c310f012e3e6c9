//! Text formatting shared by the views: durations, byte sizes and times relative to "now".
//! Coarse on purpose: a value that changes less often redraws less often over slow links.

use chrono::{DateTime, Utc};

/// `42s`, `12m`, `3h 12m`, `2d 3h`.
pub fn duration_coarse(ms: u64) -> String {
    let s = ms / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A run duration with sub-second precision where it matters: `850ms`, `12.3s`, `4m 05s`.
pub fn duration_precise(ms: u64) -> String {
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..3_600_000 => format!("{}m {:02}s", ms / 60_000, (ms % 60_000) / 1000),
        _ => duration_coarse(ms),
    }
}

/// `12m ago` or `in 3h 05m`.
pub fn relative(when: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let delta = when.signed_duration_since(now).num_milliseconds();
    if delta >= 0 {
        format!("in {}", duration_coarse(delta.unsigned_abs()))
    } else {
        format!("{} ago", duration_coarse(delta.unsigned_abs()))
    }
}

pub use crate::units::bytes;

/// The first line of a possibly multi-line message; tables show one line per row.
pub fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_coarse_or_precise() {
        assert_eq!(duration_coarse(42_000), "42s");
        assert_eq!(duration_coarse(3_600_000 * 3 + 60_000 * 12), "3h 12m");
        assert_eq!(duration_coarse(86_400_000 * 2 + 3_600_000), "2d 1h");
        assert_eq!(duration_precise(850), "850ms");
        assert_eq!(duration_precise(12_345), "12.3s");
        assert_eq!(duration_precise(245_000), "4m 05s");
    }

    #[test]
    fn relative_times_and_sizes() {
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap_or_default();
        assert_eq!(relative(now + chrono::Duration::minutes(5), now), "in 5m");
        assert_eq!(
            relative(now - chrono::Duration::seconds(30), now),
            "30s ago"
        );
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(13 * 1024 * 1024), "13.0 MiB");
    }
}
