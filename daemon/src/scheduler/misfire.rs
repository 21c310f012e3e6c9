//! What to do with the ticks of a schedule once their time has come: the misfire policy.
//!
//! The timer hands over every tick that came due since the last one it handled, and this
//! module decides, without doing anything, which become runs and which become records of a
//! tick that did not run (and why). Keeping the decision pure keeps it testable and makes the
//! rule easy to state: a tick no later than the grace window runs as scheduled; older ticks
//! were missed and the job's policy says whether they are made up for; a paused job records
//! every tick as skipped. Nothing is ever passed over without a record.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use supersetd_proto::{Outcome, Trigger};

/// How a job makes up for ticks missed while the daemon was down or the host asleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MisfirePolicy {
    /// Record missed ticks; run at the next tick.
    Skip,
    /// Record missed ticks and run once now to make up for all of them.
    #[default]
    RunOnce,
    /// Run each missed tick, oldest first, up to the job's catch-up limit.
    CatchUp,
}

impl fmt::Display for MisfirePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MisfirePolicy::Skip => "skip",
            MisfirePolicy::RunOnce => "run-once",
            MisfirePolicy::CatchUp => "catch-up",
        })
    }
}

impl FromStr for MisfirePolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "skip" => Ok(MisfirePolicy::Skip),
            "run-once" => Ok(MisfirePolicy::RunOnce),
            "catch-up" => Ok(MisfirePolicy::CatchUp),
            _ => Err(format!(
                "{s:?} is not a misfire policy (use skip, run-once or catch-up)"
            )),
        }
    }
}

/// Why ticks came due without the timer firing on time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateCause {
    /// The ticks passed before this process started.
    DaemonDown,
    /// The process was running but woke late (host suspended, clock stepped forward).
    WokeLate,
    /// This daemon had just come to lead a shared store: the daemon that led before it
    /// stopped without handling these ticks (or the store could not be reached to tell).
    LeaderLost,
    /// An operator had stopped the scheduler (`supersetctl service stop scheduler`).
    SchedulerStopped,
}

impl LateCause {
    fn reason(self) -> &'static str {
        match self {
            LateCause::DaemonDown => "missed: the daemon was not running",
            LateCause::WokeLate => "missed: the daemon woke late (host suspended or clock changed)",
            LateCause::LeaderLost => {
                "missed: no daemon ran it (the leader stopped, or the store could not be reached)"
            }
            LateCause::SchedulerStopped => "missed: the scheduler was stopped by an operator",
        }
    }
}

/// The inputs of one decision.
#[derive(Debug, Clone)]
pub struct Due {
    /// Every tick due since the last handled one, oldest first (possibly capped).
    pub ticks: Vec<DateTime<Utc>>,
    /// How many ticks there were in all (`ticks` may hold fewer).
    pub total: u64,
    pub now: DateTime<Utc>,
    pub paused: bool,
    pub cause: LateCause,
}

/// A tick that will not run, recorded in the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    pub tick: DateTime<Utc>,
    pub outcome: Outcome,
    pub reason: String,
}

/// What to do, in order: first write `records`, then start `runs` one after another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub records: Vec<NotRun>,
    pub runs: Vec<(DateTime<Utc>, Trigger)>,
}

/// Decide what becomes of the due ticks.
pub fn plan(due: &Due, policy: MisfirePolicy, grace: Duration, catch_up_limit: u32) -> Plan {
    let mut plan = Plan::default();
    let Some((&last, earlier)) = due.ticks.split_last() else {
        return plan;
    };
    let uncounted = due.total.saturating_sub(due.ticks.len() as u64);
    if due.paused {
        let reason = format!("skipped: {}", super::PAUSED);
        plan.records = not_run(&due.ticks, Outcome::Skipped, &reason);
        note_uncounted(&mut plan, uncounted, "skipped while paused");
        return plan;
    }
    // The newest tick is on time if within grace; every older one was missed.
    let on_time = due.now - last <= grace;
    let missed: &[DateTime<Utc>] = if on_time { earlier } else { &due.ticks };
    let reason = due.cause.reason();
    match policy {
        MisfirePolicy::Skip => plan.records = not_run(missed, Outcome::Missed, reason),
        MisfirePolicy::RunOnce => {
            plan.records = not_run(missed, Outcome::Missed, reason);
            if !on_time && !missed.is_empty() {
                plan.runs.push((last, Trigger::CatchUp));
            }
        }
        MisfirePolicy::CatchUp => {
            let keep = (catch_up_limit as usize).min(missed.len());
            let (dropped, replay) = missed.split_at(missed.len() - keep);
            let over = format!("{reason}; beyond the catch-up limit of {catch_up_limit}");
            plan.records = not_run(dropped, Outcome::Missed, &over);
            plan.runs = replay.iter().map(|t| (*t, Trigger::CatchUp)).collect();
        }
    }
    note_uncounted(&mut plan, uncounted, "missed");
    if on_time {
        plan.runs.push((last, Trigger::Schedule));
    }
    plan
}

fn skip(tick: DateTime<Utc>, outcome: Outcome, reason: &str) -> NotRun {
    NotRun {
        tick,
        outcome,
        reason: reason.to_owned(),
    }
}

fn not_run(ticks: &[DateTime<Utc>], outcome: Outcome, reason: &str) -> Vec<NotRun> {
    ticks.iter().map(|t| skip(*t, outcome, reason)).collect()
}

/// Ticks beyond the enumeration cap are summed up in one record, so a week-long outage of a
/// minutely job neither floods the history nor disappears from it.
fn note_uncounted(plan: &mut Plan, uncounted: u64, what: &str) {
    if uncounted == 0 {
        return;
    }
    let Some(first) = plan.records.first().map(|r| r.tick) else {
        return;
    };
    plan.records.insert(
        0,
        NotRun {
            tick: first,
            outcome: Outcome::Missed,
            reason: format!("{uncounted} earlier ticks {what}, not recorded one by one"),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, h, m, s).unwrap()
    }

    fn due(ticks: &[DateTime<Utc>], now: DateTime<Utc>) -> Due {
        Due {
            ticks: ticks.to_vec(),
            total: ticks.len() as u64,
            now,
            paused: false,
            cause: LateCause::DaemonDown,
        }
    }

    const GRACE: Duration = Duration::minutes(5);

    #[test]
    fn a_tick_within_grace_runs_as_scheduled() {
        let p = plan(
            &due(&[at(10, 0, 0)], at(10, 0, 2)),
            MisfirePolicy::RunOnce,
            GRACE,
            3,
        );
        assert_eq!(p.runs, vec![(at(10, 0, 0), Trigger::Schedule)]);
        assert!(p.records.is_empty());
    }

    #[test]
    fn run_once_records_every_missed_tick_and_runs_once() {
        let ticks = [at(6, 0, 0), at(7, 0, 0), at(8, 0, 0), at(9, 0, 0)];
        let p = plan(
            &due(&ticks, at(10, 0, 0) - Duration::minutes(30)),
            MisfirePolicy::RunOnce,
            GRACE,
            3,
        );
        assert_eq!(p.records.len(), 4);
        assert!(
            p.records
                .iter()
                .all(|r| r.outcome == Outcome::Missed && r.reason.contains("not running"))
        );
        assert_eq!(p.runs, vec![(at(9, 0, 0), Trigger::CatchUp)]);
    }

    #[test]
    fn run_once_with_an_on_time_tick_needs_no_extra_run() {
        let ticks = [at(8, 0, 0), at(9, 0, 0), at(10, 0, 0)];
        let p = plan(&due(&ticks, at(10, 1, 0)), MisfirePolicy::RunOnce, GRACE, 3);
        assert_eq!(p.records.len(), 2);
        assert_eq!(p.runs, vec![(at(10, 0, 0), Trigger::Schedule)]);
    }

    #[test]
    fn skip_only_records() {
        let ticks = [at(8, 0, 0), at(9, 0, 0)];
        let p = plan(&due(&ticks, at(9, 30, 0)), MisfirePolicy::Skip, GRACE, 3);
        assert_eq!(p.records.len(), 2);
        assert!(p.runs.is_empty());
    }

    #[test]
    fn catch_up_replays_the_newest_ticks_up_to_the_limit() {
        let ticks: Vec<_> = (4..9).map(|h| at(h, 0, 0)).collect();
        let p = plan(&due(&ticks, at(9, 30, 0)), MisfirePolicy::CatchUp, GRACE, 3);
        let replayed: Vec<_> = p.runs.iter().map(|(t, _)| t.hour()).collect();
        assert_eq!(replayed, vec![6, 7, 8]);
        assert!(p.runs.iter().all(|(_, tr)| *tr == Trigger::CatchUp));
        assert_eq!(p.records.len(), 2);
        assert!(p.records[0].reason.contains("catch-up limit of 3"));
    }

    #[test]
    fn a_paused_job_records_every_tick_as_skipped() {
        let mut d = due(&[at(9, 0, 0), at(10, 0, 0)], at(10, 0, 1));
        d.paused = true;
        let p = plan(&d, MisfirePolicy::CatchUp, GRACE, 3);
        assert!(p.runs.is_empty());
        assert_eq!(p.records.len(), 2);
        assert!(
            p.records
                .iter()
                .all(|r| r.outcome == Outcome::Skipped && r.reason.contains("paused"))
        );
    }

    #[test]
    fn ticks_beyond_the_cap_are_summed_up() {
        let mut d = due(&[at(8, 0, 0), at(9, 0, 0)], at(9, 30, 0));
        d.total = 1002;
        let p = plan(&d, MisfirePolicy::Skip, GRACE, 3);
        assert_eq!(p.records.len(), 3);
        assert!(p.records[0].reason.starts_with("1000 earlier ticks missed"));
    }

    #[test]
    fn policies_parse_as_configured() {
        assert_eq!("run-once".parse(), Ok(MisfirePolicy::RunOnce));
        assert_eq!("catch_up".parse(), Ok(MisfirePolicy::CatchUp));
        assert_eq!("SKIP".parse(), Ok(MisfirePolicy::Skip));
        assert!("sometimes".parse::<MisfirePolicy>().is_err());
    }

    use chrono::Timelike;
}
