//! crontab(5) semantics, table-driven: next fire times of 50+ expressions in Asia/Kolkata and
//! across both 2026 daylight-saving transitions of America/New_York.
//!
//! The expected times were computed by an independent brute-force matcher (minute by minute
//! over UTC, matching the zone's wall clock with the crontab day-field OR rule, a skipped wall
//! time firing at the first instant after the gap, a repeated one firing once), not by the
//! code under test. The same table is run again in child processes whose host zone (`TZ`) is
//! UTC and others: the host's zone must never change a schedule.

use chrono::{NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::cron::CronExpr;

/// (expression, zone, start as local wall time, next three fire times).
const TABLE: &[(&str, &str, &str, [&str; 3])] = &[
    (
        "* * * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 10:01 +0530",
            "2026-12-05 Sat 10:02 +0530",
            "2026-12-05 Sat 10:03 +0530",
        ],
    ),
    (
        "0 * * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 11:00 +0530",
            "2026-12-05 Sat 12:00 +0530",
            "2026-12-05 Sat 13:00 +0530",
        ],
    ),
    (
        "0 0,8-23 * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 11:00 +0530",
            "2026-12-05 Sat 12:00 +0530",
            "2026-12-05 Sat 13:00 +0530",
        ],
    ),
    (
        "0 0,8-23 * * *",
        "Asia/Kolkata",
        "2026-12-05 23:30",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-06 Sun 08:00 +0530",
            "2026-12-06 Sun 09:00 +0530",
        ],
    ),
    (
        "0 12 * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 12:00 +0530",
            "2026-12-06 Sun 12:00 +0530",
            "2026-12-07 Mon 12:00 +0530",
        ],
    ),
    (
        "30 9 * * 1-5",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-07 Mon 09:30 +0530",
            "2026-12-08 Tue 09:30 +0530",
            "2026-12-09 Wed 09:30 +0530",
        ],
    ),
    (
        "30 9 * * mon-fri",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-07 Mon 09:30 +0530",
            "2026-12-08 Tue 09:30 +0530",
            "2026-12-09 Wed 09:30 +0530",
        ],
    ),
    (
        "0 9 13 * 5",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-11 Fri 09:00 +0530",
            "2026-12-13 Sun 09:00 +0530",
            "2026-12-18 Fri 09:00 +0530",
        ],
    ),
    (
        "0 9 13 * fri",
        "Asia/Kolkata",
        "2026-12-11 10:00",
        [
            "2026-12-13 Sun 09:00 +0530",
            "2026-12-18 Fri 09:00 +0530",
            "2026-12-25 Fri 09:00 +0530",
        ],
    ),
    (
        "*/15 8-18 * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 10:15 +0530",
            "2026-12-05 Sat 10:30 +0530",
            "2026-12-05 Sat 10:45 +0530",
        ],
    ),
    (
        "*/15 8-18 * * *",
        "Asia/Kolkata",
        "2026-12-05 18:50",
        [
            "2026-12-06 Sun 08:00 +0530",
            "2026-12-06 Sun 08:15 +0530",
            "2026-12-06 Sun 08:30 +0530",
        ],
    ),
    (
        "@daily",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-07 Mon 00:00 +0530",
            "2026-12-08 Tue 00:00 +0530",
        ],
    ),
    (
        "@hourly",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 11:00 +0530",
            "2026-12-05 Sat 12:00 +0530",
            "2026-12-05 Sat 13:00 +0530",
        ],
    ),
    (
        "@weekly",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-13 Sun 00:00 +0530",
            "2026-12-20 Sun 00:00 +0530",
        ],
    ),
    (
        "@monthly",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2027-01-01 Fri 00:00 +0530",
            "2027-02-01 Mon 00:00 +0530",
            "2027-03-01 Mon 00:00 +0530",
        ],
    ),
    (
        "@yearly",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2027-01-01 Fri 00:00 +0530",
            "2028-01-01 Sat 00:00 +0530",
            "2029-01-01 Mon 00:00 +0530",
        ],
    ),
    (
        "@midnight",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-07 Mon 00:00 +0530",
            "2026-12-08 Tue 00:00 +0530",
        ],
    ),
    (
        "0 0 * * 0",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-13 Sun 00:00 +0530",
            "2026-12-20 Sun 00:00 +0530",
        ],
    ),
    (
        "0 0 * * 7",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-13 Sun 00:00 +0530",
            "2026-12-20 Sun 00:00 +0530",
        ],
    ),
    (
        "0 0 * * sun",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-13 Sun 00:00 +0530",
            "2026-12-20 Sun 00:00 +0530",
        ],
    ),
    (
        "0 6 * * 6,0",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 06:00 +0530",
            "2026-12-12 Sat 06:00 +0530",
            "2026-12-13 Sun 06:00 +0530",
        ],
    ),
    (
        "0 6 * * 5-7",
        "Asia/Kolkata",
        "2026-12-06 07:00",
        [
            "2026-12-11 Fri 06:00 +0530",
            "2026-12-12 Sat 06:00 +0530",
            "2026-12-13 Sun 06:00 +0530",
        ],
    ),
    (
        "5 4 * * sun",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 04:05 +0530",
            "2026-12-13 Sun 04:05 +0530",
            "2026-12-20 Sun 04:05 +0530",
        ],
    ),
    (
        "0 22 * * 1-5",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-07 Mon 22:00 +0530",
            "2026-12-08 Tue 22:00 +0530",
            "2026-12-09 Wed 22:00 +0530",
        ],
    ),
    (
        "23 0-20/2 * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 10:23 +0530",
            "2026-12-05 Sat 12:23 +0530",
            "2026-12-05 Sat 14:23 +0530",
        ],
    ),
    (
        "0 0 1 * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2027-01-01 Fri 00:00 +0530",
            "2027-02-01 Mon 00:00 +0530",
            "2027-03-01 Mon 00:00 +0530",
        ],
    ),
    (
        "0 0 1,15 * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-15 Tue 00:00 +0530",
            "2027-01-01 Fri 00:00 +0530",
            "2027-01-15 Fri 00:00 +0530",
        ],
    ),
    (
        "0 0 31 * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-31 Thu 00:00 +0530",
            "2027-01-31 Sun 00:00 +0530",
            "2027-03-31 Wed 00:00 +0530",
        ],
    ),
    (
        "0 0 30 * *",
        "Asia/Kolkata",
        "2027-01-15 00:00",
        [
            "2027-01-30 Sat 00:00 +0530",
            "2027-03-30 Tue 00:00 +0530",
            "2027-04-30 Fri 00:00 +0530",
        ],
    ),
    (
        "0 0 1 jan *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2027-01-01 Fri 00:00 +0530",
            "2028-01-01 Sat 00:00 +0530",
            "2029-01-01 Mon 00:00 +0530",
        ],
    ),
    (
        "0 0 1 jan-mar *",
        "Asia/Kolkata",
        "2027-01-15 00:00",
        [
            "2027-02-01 Mon 00:00 +0530",
            "2027-03-01 Mon 00:00 +0530",
            "2028-01-01 Sat 00:00 +0530",
        ],
    ),
    (
        "0 12 1 */3 *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2027-01-01 Fri 12:00 +0530",
            "2027-04-01 Thu 12:00 +0530",
            "2027-07-01 Thu 12:00 +0530",
        ],
    ),
    (
        "15 14 1 * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2027-01-01 Fri 14:15 +0530",
            "2027-02-01 Mon 14:15 +0530",
            "2027-03-01 Mon 14:15 +0530",
        ],
    ),
    (
        "0 9-17 * * mon-fri",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-07 Mon 09:00 +0530",
            "2026-12-07 Mon 10:00 +0530",
            "2026-12-07 Mon 11:00 +0530",
        ],
    ),
    (
        "0 9-17/2 * * mon-fri",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-07 Mon 09:00 +0530",
            "2026-12-07 Mon 11:00 +0530",
            "2026-12-07 Mon 13:00 +0530",
        ],
    ),
    (
        "*/5 * * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 10:05 +0530",
            "2026-12-05 Sat 10:10 +0530",
            "2026-12-05 Sat 10:15 +0530",
        ],
    ),
    (
        "7/20 * * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-05 Sat 10:07 +0530",
            "2026-12-05 Sat 10:27 +0530",
            "2026-12-05 Sat 10:47 +0530",
        ],
    ),
    (
        "0 0 * * 1/2",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-07 Mon 00:00 +0530",
            "2026-12-09 Wed 00:00 +0530",
        ],
    ),
    (
        "1-5/2 3 * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 03:01 +0530",
            "2026-12-06 Sun 03:03 +0530",
            "2026-12-06 Sun 03:05 +0530",
        ],
    ),
    (
        "0 0 1 * mon",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-07 Mon 00:00 +0530",
            "2026-12-14 Mon 00:00 +0530",
            "2026-12-21 Mon 00:00 +0530",
        ],
    ),
    (
        "0 0 * dec *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 00:00 +0530",
            "2026-12-07 Mon 00:00 +0530",
            "2026-12-08 Tue 00:00 +0530",
        ],
    ),
    (
        "0 0 24 12 *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-24 Thu 00:00 +0530",
            "2027-12-24 Fri 00:00 +0530",
            "2028-12-24 Sun 00:00 +0530",
        ],
    ),
    (
        "0 0 * * 5",
        "Asia/Kolkata",
        "2026-12-31 23:59",
        [
            "2027-01-01 Fri 00:00 +0530",
            "2027-01-08 Fri 00:00 +0530",
            "2027-01-15 Fri 00:00 +0530",
        ],
    ),
    (
        "59 23 31 12 *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-31 Thu 23:59 +0530",
            "2027-12-31 Fri 23:59 +0530",
            "2028-12-31 Sun 23:59 +0530",
        ],
    ),
    (
        "0 10 * * *",
        "Asia/Kolkata",
        "2026-12-05 10:00",
        [
            "2026-12-06 Sun 10:00 +0530",
            "2026-12-07 Mon 10:00 +0530",
            "2026-12-08 Tue 10:00 +0530",
        ],
    ),
    (
        "30 2 * * *",
        "America/New_York",
        "2026-03-07 12:00",
        [
            "2026-03-08 Sun 03:00 -0400",
            "2026-03-09 Mon 02:30 -0400",
            "2026-03-10 Tue 02:30 -0400",
        ],
    ),
    (
        "0 2 * * *",
        "America/New_York",
        "2026-03-07 12:00",
        [
            "2026-03-08 Sun 03:00 -0400",
            "2026-03-09 Mon 02:00 -0400",
            "2026-03-10 Tue 02:00 -0400",
        ],
    ),
    (
        "*/30 1-3 * * *",
        "America/New_York",
        "2026-03-08 01:00",
        [
            "2026-03-08 Sun 01:30 -0500",
            "2026-03-08 Sun 03:00 -0400",
            "2026-03-08 Sun 03:30 -0400",
        ],
    ),
    (
        "0 3 * * *",
        "America/New_York",
        "2026-03-07 12:00",
        [
            "2026-03-08 Sun 03:00 -0400",
            "2026-03-09 Mon 03:00 -0400",
            "2026-03-10 Tue 03:00 -0400",
        ],
    ),
    (
        "0 * * * *",
        "America/New_York",
        "2026-03-08 00:30",
        [
            "2026-03-08 Sun 01:00 -0500",
            "2026-03-08 Sun 03:00 -0400",
            "2026-03-08 Sun 04:00 -0400",
        ],
    ),
    (
        "30 1 * * *",
        "America/New_York",
        "2026-10-31 12:00",
        [
            "2026-11-01 Sun 01:30 -0400",
            "2026-11-02 Mon 01:30 -0500",
            "2026-11-03 Tue 01:30 -0500",
        ],
    ),
    (
        "0 1 * * *",
        "America/New_York",
        "2026-10-31 12:00",
        [
            "2026-11-01 Sun 01:00 -0400",
            "2026-11-02 Mon 01:00 -0500",
            "2026-11-03 Tue 01:00 -0500",
        ],
    ),
    (
        "*/30 0-2 * * *",
        "America/New_York",
        "2026-11-01 00:45",
        [
            "2026-11-01 Sun 01:00 -0400",
            "2026-11-01 Sun 01:30 -0400",
            "2026-11-01 Sun 02:00 -0500",
        ],
    ),
    (
        "0 * * * *",
        "America/New_York",
        "2026-11-01 00:30",
        [
            "2026-11-01 Sun 01:00 -0400",
            "2026-11-01 Sun 02:00 -0500",
            "2026-11-01 Sun 03:00 -0500",
        ],
    ),
    (
        "0 2 * * *",
        "America/New_York",
        "2026-10-31 12:00",
        [
            "2026-11-01 Sun 02:00 -0500",
            "2026-11-02 Mon 02:00 -0500",
            "2026-11-03 Tue 02:00 -0500",
        ],
    ),
    (
        "30 2 * * 0",
        "America/New_York",
        "2026-03-01 12:00",
        [
            "2026-03-08 Sun 03:00 -0400",
            "2026-03-15 Sun 02:30 -0400",
            "2026-03-22 Sun 02:30 -0400",
        ],
    ),
    (
        "0 9 * * 1-5",
        "America/New_York",
        "2026-10-30 12:00",
        [
            "2026-11-02 Mon 09:00 -0500",
            "2026-11-03 Tue 09:00 -0500",
            "2026-11-04 Wed 09:00 -0500",
        ],
    ),
];

/// Not crontab(5): refused, naming the field.
const REJECTED: &[(&str, &str)] = &[
    ("0 0 10 1-7 * mon", "expression"),
    ("0 9 * *", "expression"),
    ("", "expression"),
    ("@reboot", "expression"),
    ("60 * * * *", "minute"),
    ("* 24 * * *", "hour"),
    ("* * 0 * *", "day-of-month"),
    ("* * 32 * *", "day-of-month"),
    ("* * * 13 *", "month"),
    ("* * * 0 *", "month"),
    ("* * * * 8", "day-of-week"),
    ("0 6 * * sat-sun", "day-of-week"),
    ("* 5-2 * * *", "hour"),
    ("*/0 * * * *", "minute"),
    ("a * * * *", "minute"),
    ("0 0 L * *", "day-of-month"),
    ("0 0 ? * *", "day-of-month"),
    ("0 0 * * 5#3", "day-of-week"),
    ("0 0 15W * *", "day-of-month"),
    ("0 0 * * mon-", "day-of-week"),
    ("0 0 * * ,", "day-of-week"),
    ("0 0 1 foo *", "month"),
];

fn zone(name: &str) -> Tz {
    name.parse().expect("zone in table")
}

#[test]
fn crontab_semantics_table() {
    if let Ok(host) = std::env::var("SUPERSETD_TEST_HOST_TZ") {
        assert_host_zone_took_effect(&host);
    }
    assert!(TABLE.len() >= 40);
    let mut failures = Vec::new();
    for (expr, zone_name, start, want) in TABLE {
        let tz = zone(zone_name);
        let naive = NaiveDateTime::parse_from_str(start, "%Y-%m-%d %H:%M").expect("start");
        let mut at = tz
            .from_local_datetime(&naive)
            .earliest()
            .expect("start exists");
        let parsed = CronExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
        for expected in want {
            at = parsed.next_after(&at).expect("a next fire time");
            let got = at.format("%Y-%m-%d %a %H:%M %z").to_string();
            if got != *expected {
                failures.push(format!(
                    "{expr:?} in {zone_name} after {start}: got {got}, want {expected}"
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rejected_expressions_name_the_field() {
    for (expr, field) in REJECTED {
        match CronExpr::parse(expr) {
            Ok(_) => panic!("{expr:?} must be rejected"),
            Err(e) => assert_eq!(e.field, *field, "{expr:?}: {e}"),
        }
    }
}

/// Each wall time fires exactly once a day through both transitions: no double run in the
/// repeated hour, no lost run in the skipped one.
#[test]
fn a_daily_job_runs_once_per_day_across_both_transitions() {
    let ny = zone("America/New_York");
    for (expr, from, to) in [
        ("30 2 * * *", (2026, 3, 1), (2026, 3, 15)),
        ("30 1 * * *", (2026, 10, 25), (2026, 11, 8)),
        ("0 2 * * *", (2026, 10, 25), (2026, 11, 8)),
    ] {
        let e = CronExpr::parse(expr).unwrap();
        let a = ny
            .with_ymd_and_hms(from.0, from.1, from.2, 12, 0, 0)
            .unwrap();
        let b = ny.with_ymd_and_hms(to.0, to.1, to.2, 12, 0, 0).unwrap();
        let (ticks, total) = e.ticks_between(&a, &b, 100);
        assert_eq!(total, 14, "{expr}: {ticks:?}");
        let days: std::collections::BTreeSet<_> = ticks.iter().map(|t| t.date_naive()).collect();
        assert_eq!(days.len(), 14, "{expr}: one run per day");
    }
}

/// The hourly job loses no hour and repeats none in real time across the fall-back: the
/// repeated 01:00 runs once.
#[test]
fn an_hourly_job_across_the_fall_back() {
    let ny = zone("America/New_York");
    let e = CronExpr::parse("0 * * * *").unwrap();
    let a = ny.with_ymd_and_hms(2026, 11, 1, 0, 30, 0).unwrap();
    let b = a + chrono::Duration::hours(5);
    let (ticks, _) = e.ticks_between(&a, &b, 100);
    let shown: Vec<String> = ticks
        .iter()
        .map(|t| t.format("%H:%M %z").to_string())
        .collect();
    assert_eq!(
        shown,
        ["01:00 -0400", "02:00 -0500", "03:00 -0500", "04:00 -0500"]
    );
}

/// The table again, in child processes with another host zone.
#[test]
fn the_host_zone_does_not_change_any_schedule() {
    if std::env::var_os("SUPERSETD_TEST_HOST_TZ").is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    for host in ["UTC", "America/Los_Angeles", "Asia/Tokyo", "Europe/London"] {
        let out = std::process::Command::new(&exe)
            .args(["--exact", "scheduler::cron_table::crontab_semantics_table"])
            .env("TZ", host)
            .env("SUPERSETD_TEST_HOST_TZ", host)
            .output()
            .expect("run the test binary");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "with TZ={host}:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Proof that the child really runs in `host`: the local offset on a winter date matches it.
fn assert_host_zone_took_effect(host: &str) {
    let winter = chrono::NaiveDate::from_ymd_opt(2026, 1, 15)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("date");
    let want = zone(host).offset_from_utc_datetime(&winter).fix();
    let got = chrono::Local.offset_from_utc_datetime(&winter).fix();
    assert_eq!(got, want, "TZ={host} did not take effect");
}
