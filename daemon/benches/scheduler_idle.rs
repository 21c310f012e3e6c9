//! The scheduler's idle cost: how often an idle scheduler with 20 jobs wakes up.
//!
//! Nineteen jobs run daily at 03:00 and one every minute. The scheduler runs on the real wall
//! clock for `--secs` seconds (default 60) in a single-threaded runtime, and we report the
//! timer wake-ups it counted and the voluntary context switches of the whole process (every
//! thread, from /proc), which include anything else that woke. The answer we want: one
//! wake-up per due tick, nothing in between.
//! Run with `cargo bench -j2 -p supersetd --bench scheduler_idle [-- --secs N]`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use supersetd::clock::SystemClock;
use supersetd::scheduler::{CronExpr, JobRunner, JobSpec, RunRecorder, Scheduler};
use supersetd::store::embedded::EmbeddedStore;
use supersetd_proto::JobName;
use tokio_util::sync::CancellationToken;

struct Nothing;

#[async_trait]
impl JobRunner for Nothing {
    async fn run(
        &self,
        _job: &JobName,
        _run: &mut RunRecorder,
        _cancel: CancellationToken,
    ) -> Result<(), String> {
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let secs: u64 = std::env::args()
        .skip_while(|a| a != "--secs")
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(60);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(Duration::from_secs(secs)))
}

async fn run(window: Duration) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let store = Arc::new(EmbeddedStore::open(&dir.path().join("idle.db"))?);
    let mut specs = Vec::new();
    for i in 0..19 {
        let expr = CronExpr::parse("0 3 * * *")?;
        specs.push(JobSpec::new(
            JobName(format!("daily-{i}")),
            expr,
            chrono_tz::Asia::Kolkata,
        ));
    }
    let minutely = CronExpr::parse("* * * * *")?;
    specs.push(JobSpec::new(
        JobName::from("minutely"),
        minutely,
        chrono_tz::Asia::Kolkata,
    ));
    let stop = CancellationToken::new();
    let s = Scheduler::start(
        specs,
        store,
        Arc::new(SystemClock),
        Arc::new(Nothing),
        stop.clone(),
    )
    .await;
    // Let start-up settle before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (w0, c0, t0) = (s.timer_wakeups(), context_switches(), Instant::now());
    tokio::time::sleep(window).await;
    let (w1, c1) = (s.timer_wakeups(), context_switches());
    let elapsed = t0.elapsed().as_secs_f64();
    let due = (elapsed / 60.0).floor() as u64;
    println!("scheduler idle, 20 jobs (19 daily at 03:00, 1 every minute), {elapsed:.1} s:");
    println!(
        "  timer wake-ups: {} (ticks due in the window: {due} or {})",
        w1 - w0,
        due + 1
    );
    println!(
        "  process voluntary context switches: {}",
        switches_between(&c0, &c1)
    );
    stop.cancel();
    s.drain(Duration::from_secs(5)).await;
    Ok(())
}

/// Voluntary context switches per thread of this process, by thread id.
fn context_switches() -> HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .filter_map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).ok()?;
            let n = status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
                .trim()
                .parse()
                .ok()?;
            Some((t.file_name().to_string_lossy().into_owned(), n))
        })
        .collect()
}

/// Switches between two readings; threads that exited in between (the blocking pool's idle
/// threads do) are left out rather than counted negative.
fn switches_between(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}
