//! Dates as students read them: always Asia/Kolkata, whatever the host's zone.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Kolkata;

fn ist(ms: i64) -> Option<DateTime<chrono_tz::Tz>> {
    (ms > 0).then(|| DateTime::<Utc>::from_timestamp_millis(ms)).flatten().map(|t| t.with_timezone(&Kolkata))
}

/// "February 20, 2026 at 10:15 AM IST"; "Not specified" for a missing (≤ 0) time.
pub fn format_post_date_ist(ms: i64) -> String {
    ist(ms).map_or_else(
        || "Not specified".to_owned(),
        |t| t.format("%B %d, %Y at %I:%M %p IST").to_string(),
    )
}

/// "March 05, 2026, 11:59 PM IST" (the job deadline form).
pub fn format_deadline_ist(ms: i64) -> String {
    ist(ms).map_or_else(
        || "Not specified".to_owned(),
        |t| t.format("%B %d, %Y, %I:%M %p IST").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-02-20T04:45:00Z = 10:15 IST.
    const POSTED: i64 = 1_771_562_700_000;

    #[test]
    fn post_date_in_ist() {
        assert_eq!(format_post_date_ist(POSTED), "February 20, 2026 at 10:15 AM IST");
        assert_eq!(format_post_date_ist(0), "Not specified");
    }

    #[test]
    fn deadline_in_ist_crossing_midnight() {
        // 2026-03-05T18:29:00Z = March 05, 23:59 IST; 18:31Z is already March 06.
        assert_eq!(format_deadline_ist(1_772_735_340_000), "March 05, 2026, 11:59 PM IST");
        assert_eq!(format_deadline_ist(1_772_735_460_000), "March 06, 2026, 12:01 AM IST");
    }

    #[test]
    fn host_zone_does_not_matter() {
        // chrono-tz never reads TZ, but prove it: rerun the IST test in a child process of
        // this test binary under far-away zones (setting TZ in-process would race other tests).
        let exe = std::env::current_exe().unwrap();
        for tz in ["America/Los_Angeles", "Pacific/Kiritimati", "UTC"] {
            let out = std::process::Command::new(&exe)
                .args(["--exact", "format::dates::tests::post_date_in_ist", "--test-threads=1"])
                .env("TZ", tz)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "TZ={tz}: {stdout}");
            assert!(stdout.contains("1 passed"), "TZ={tz}: the test did not run: {stdout}");
        }
    }
}
