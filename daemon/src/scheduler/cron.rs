//! crontab(5) expressions, evaluated with the `cron` crate.
//!
//! The `cron` crate speaks its own dialect: a leading seconds field, weekdays numbered from
//! 1 = Sunday, and day-of-month ANDed with day-of-week. Operators write crontab(5), where
//! 0 and 7 are Sunday and a time matches when EITHER restricted day field matches. Passing
//! their text through would silently run jobs on other days, so each field is parsed here
//! into the exact set of values it means, and the crate is handed explicit lists it cannot
//! misread. The day-field OR becomes two crate schedules whose next times are merged.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::offset::LocalResult;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct CronError {
    pub field: &'static str,
    pub reason: String,
}

/// A parsed crontab expression.
#[derive(Clone)]
pub struct CronExpr {
    text: String,
    schedules: Vec<cron::Schedule>,
}

impl fmt::Debug for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronExpr({:?})", self.text)
    }
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DOM: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
/// 7 is accepted as Sunday and folded to 0 after parsing.
const DOW: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

const CRATE_DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl CronExpr {
    pub fn parse(text: &str) -> Result<CronExpr, CronError> {
        let expanded = expand_macro(text.trim())?;
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(CronError {
                field: "expression",
                reason: format!(
                    "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                    fields.len()
                ),
            });
        }
        let minutes = parse_field(&MINUTE, fields[0])?;
        let hours = parse_field(&HOUR, fields[1])?;
        let doms = parse_field(&DOM, fields[2])?;
        let months = parse_field(&MONTH, fields[3])?;
        let dows: BTreeSet<u32> = parse_field(&DOW, fields[4])?
            .into_iter()
            .map(|d| d % 7)
            .collect();
        let dom_restricted = !fields[2].starts_with('*');
        let dow_restricted = !fields[4].starts_with('*');
        let (min, hour, mon) = (list(&minutes), list(&hours), list(&months));
        let dom_list = list(&doms);
        let dow_list = dows
            .iter()
            .map(|d| CRATE_DAYS[*d as usize])
            .collect::<Vec<_>>()
            .join(",");
        let specs = match (dom_restricted, dow_restricted) {
            (true, true) => vec![(dom_list, "*".to_owned()), ("*".to_owned(), dow_list)],
            (true, false) => vec![(dom_list, "*".to_owned())],
            (false, true) => vec![("*".to_owned(), dow_list)],
            (false, false) => vec![("*".to_owned(), "*".to_owned())],
        };
        let schedules = specs
            .into_iter()
            .map(|(dom, dow)| {
                let spec = format!("0 {min} {hour} {dom} {mon} {dow}");
                cron::Schedule::from_str(&spec).map_err(|e| CronError {
                    field: "expression",
                    reason: format!("cannot be scheduled: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CronExpr {
            text: text.trim().to_owned(),
            schedules,
        })
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The first fire time strictly after `after`, read in `after`'s zone.
    ///
    /// Matching is done on the zone's wall-clock time, then mapped to an instant: a wall time
    /// that a daylight-saving jump skips fires once, at the first valid instant after the
    /// gap; a wall time that a fall-back repeats fires once, at its first occurrence. So a
    /// daily `30 2 * * *` runs exactly once on both transition days, as in cron(8).
    pub fn next_after<Z: TimeZone>(&self, after: &DateTime<Z>) -> Option<DateTime<Z>> {
        let tz = after.timezone();
        // Walking wall times forward from `after`'s own is enough: the only instants whose
        // wall time lies behind it are second occurrences of a repeated hour, which never fire.
        let mut naive = after.naive_local();
        for _ in 0..MAX_CANDIDATES {
            naive = self.next_wall_time(naive)?;
            if let Some(at) = wall_to_instant(&tz, naive).filter(|at| at > after) {
                return Some(at);
            }
        }
        None
    }

    /// The fire times in `(after, until]`: the newest `cap` of them, oldest first, and how
    /// many there were in all.
    pub fn ticks_between<Z: TimeZone>(
        &self,
        after: &DateTime<Z>,
        until: &DateTime<Z>,
        cap: usize,
    ) -> (Vec<DateTime<Z>>, u64) {
        let (mut ticks, mut total) = (std::collections::VecDeque::new(), 0u64);
        let mut cursor = after.clone();
        while let Some(t) = self.next_after(&cursor).filter(|t| t <= until) {
            if ticks.len() == cap {
                ticks.pop_front();
            }
            ticks.push_back(t.clone());
            total += 1;
            cursor = t;
        }
        (ticks.into(), total)
    }

    /// The next matching wall-clock minute after `naive`, ignoring zones: the crate is given
    /// UTC, which has no gaps or repeats.
    fn next_wall_time(&self, naive: NaiveDateTime) -> Option<NaiveDateTime> {
        let as_utc = Utc.from_utc_datetime(&naive);
        self.schedules
            .iter()
            .filter_map(|s| s.after(&as_utc).next())
            .min()
            .map(|t| t.naive_utc())
    }
}

/// No zone moves its clocks by more than this (Antarctica/Troll: 2 h).
const MAX_GAP_MINUTES: i64 = 3 * 60;
/// Candidates tried before giving up (a gap maps many wall times onto one instant).
const MAX_CANDIDATES: usize = 10_000;

/// The instant a wall-clock time stands for in `tz` (see [`CronExpr::next_after`]).
fn wall_to_instant<Z: TimeZone>(tz: &Z, naive: NaiveDateTime) -> Option<DateTime<Z>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t),
        LocalResult::Ambiguous(first, _) => Some(first),
        LocalResult::None => {
            // Inside a gap: walk forward to where the clock resumes.
            let mut probe = naive;
            for _ in 0..MAX_GAP_MINUTES {
                probe += Duration::minutes(1);
                let probe = probe.with_second(0)?;
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return Some(t);
                }
            }
            None
        }
    }
}

fn expand_macro(text: &str) -> Result<String, CronError> {
    let Some(name) = text.strip_prefix('@') else {
        return Ok(text.to_owned());
    };
    let expr = match name.to_ascii_lowercase().as_str() {
        "hourly" => "0 * * * *",
        "daily" | "midnight" => "0 0 * * *",
        "weekly" => "0 0 * * 0",
        "monthly" => "0 0 1 * *",
        "yearly" | "annually" => "0 0 1 1 *",
        _ => {
            return Err(CronError {
                field: "expression",
                reason: format!(
                    "unknown macro @{name} (use @hourly, @daily, @weekly, @monthly or @yearly)"
                ),
            });
        }
    };
    Ok(expr.to_owned())
}

fn list(values: &BTreeSet<u32>) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_field(field: &Field, text: &str) -> Result<BTreeSet<u32>, CronError> {
    let err = |reason: String| CronError {
        field: field.name,
        reason,
    };
    let mut out = BTreeSet::new();
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .map_err(|_| err(format!("step {s:?} in {item:?} is not a number")))?;
                if step == 0 {
                    return Err(err(format!("step 0 in {item:?}")));
                }
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = match range {
            "*" => (field.min, field.max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(field, a)?, value(field, b)?),
                // `a/step` means from a to the end of the range, as in Vixie cron.
                None if step.is_some() => (value(field, r)?, field.max),
                None => {
                    let v = value(field, r)?;
                    (v, v)
                }
            },
        };
        if lo > hi {
            return Err(err(format!("range {range:?} runs backwards")));
        }
        out.extend((lo..=hi).step_by(step.unwrap_or(1) as usize));
    }
    Ok(out)
}

fn value(field: &Field, text: &str) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        // Month names count from 1 (the field's minimum), weekday names from 0.
        return Ok(i as u32 + field.min);
    }
    let v: u32 = text.parse().map_err(|_| CronError {
        field: field.name,
        reason: format!(
            "{text:?} is not a number{}",
            if field.names.is_empty() {
                ""
            } else {
                " or a name"
            }
        ),
    })?;
    if v < field.min || v > field.max {
        return Err(CronError {
            field: field.name,
            reason: format!("{v} is outside {}-{}", field.min, field.max),
        });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Kolkata;

    fn next(expr: &str, from: (i32, u32, u32, u32, u32)) -> String {
        let e = CronExpr::parse(expr).unwrap();
        let start = Kolkata
            .with_ymd_and_hms(from.0, from.1, from.2, from.3, from.4, 0)
            .unwrap();
        e.next_after(&start)
            .unwrap()
            .format("%Y-%m-%d %a %H:%M")
            .to_string()
    }

    #[test]
    fn weekdays_are_crontab_numbered() {
        // 2026-12-05 is a Saturday.
        assert_eq!(
            next("30 9 * * 1-5", (2026, 12, 5, 10, 0)),
            "2026-12-07 Mon 09:30"
        );
        assert_eq!(
            next("0 0 * * 0", (2026, 12, 5, 10, 0)),
            "2026-12-06 Sun 00:00"
        );
        assert_eq!(
            next("0 0 * * 7", (2026, 12, 5, 10, 0)),
            "2026-12-06 Sun 00:00"
        );
        assert_eq!(
            next("0 8 * * sat", (2026, 12, 5, 10, 0)),
            "2026-12-12 Sat 08:00"
        );
    }

    #[test]
    fn restricted_day_fields_are_ored() {
        // The 13th OR any Friday: from Sat 2026-12-05 the next is Fri 12-11, then Sun 12-13.
        assert_eq!(
            next("0 9 13 * 5", (2026, 12, 5, 10, 0)),
            "2026-12-11 Fri 09:00"
        );
        assert_eq!(
            next("0 9 13 * 5", (2026, 12, 11, 10, 0)),
            "2026-12-13 Sun 09:00"
        );
    }

    #[test]
    fn default_update_schedule() {
        assert_eq!(
            next("0 0,8-23 * * *", (2026, 12, 5, 0, 30)),
            "2026-12-05 Sat 08:00"
        );
        assert_eq!(
            next("0 0,8-23 * * *", (2026, 12, 5, 23, 0)),
            "2026-12-06 Sun 00:00"
        );
        assert_eq!(
            next("*/15 8-18 * * *", (2026, 12, 5, 18, 45)),
            "2026-12-06 Sun 08:00"
        );
        assert_eq!(
            next("@daily", (2026, 12, 5, 18, 45)),
            "2026-12-06 Sun 00:00"
        );
    }

    #[test]
    fn bad_expressions_name_the_field() {
        let e = CronExpr::parse("0 0 10 1-7 * mon").unwrap_err();
        assert_eq!(e.field, "expression");
        assert_eq!(CronExpr::parse("61 * * * *").unwrap_err().field, "minute");
        assert_eq!(CronExpr::parse("* 5-2 * * *").unwrap_err().field, "hour");
        assert_eq!(CronExpr::parse("* * * foo *").unwrap_err().field, "month");
        assert_eq!(CronExpr::parse("*/0 * * * *").unwrap_err().field, "minute");
        assert!(CronExpr::parse("@reboot").is_err());
    }

    #[test]
    fn month_names() {
        assert_eq!(
            next("0 0 1 jan *", (2026, 12, 5, 10, 0)),
            "2027-01-01 Fri 00:00"
        );
    }
}
