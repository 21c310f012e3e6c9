//! Time as the daemon sees it.
//!
//! Everything that asks "what time is it" for a decision (schedules, retry-after deadlines,
//! record timestamps) goes through [`Clock`], and everything that waits for a wall-clock time
//! (the scheduler's ticks) waits through [`Clock::sleep_until`], so tests move time instead of
//! sleeping and the scheduler never needs to poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;

/// A future a clock returns from [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Resolve once `now() >= deadline`, or earlier when the clock was stepped (set by hand,
    /// NTP, resume from suspend): callers re-read `now()` and wait again if needed. A sleep
    /// never ends late by more than the clock's own precision, and costs no wake-ups before
    /// its deadline.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        Box::pin(wall::sleep_until(deadline))
    }
}

/// A clock that only moves when told to. For tests: a sleeper wakes exactly when a test sets
/// the time at or past its deadline.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<watch::Sender<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Arc::new(watch::channel(start).0))
    }

    pub fn advance(&self, by: Duration) {
        self.0.send_modify(|now| *now += by);
    }

    pub fn set(&self, to: DateTime<Utc>) {
        self.0.send_replace(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let mut rx = self.0.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; if it is gone, nobody can move time.
            let _ = rx.wait_for(|now| *now >= deadline).await;
        })
    }
}

pub type SharedClock = Arc<dyn Clock>;

/// Wall time that follows tokio's clock: under `tokio::time::pause()` it moves exactly as far
/// as the test advances tokio time, so timers and "now" agree. For tests.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start_wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start_wall: DateTime<Utc>) -> Self {
        TokioClock {
            start_wall,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.start.elapsed();
        self.start_wall + Duration::from_std(elapsed).unwrap_or_else(|_| Duration::zero())
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep {
        let left = (deadline - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(left))
    }
}

/// Sleeping until a wall-clock time.
///
/// tokio's timers run on the monotonic clock, which stops while the host is suspended and
/// ignores clock steps, so a plain sleep of an hour can fire long after its wall time. Polling
/// the wall clock instead costs a wake-up a minute per job. On Linux a `CLOCK_REALTIME`
/// timerfd armed at the absolute deadline, with `TFD_TIMER_CANCEL_ON_SET`, fires at the wall
/// time itself, also after a suspend, and reports a clock step at once: the way systemd's
/// calendar timers wait. Elsewhere (or if the timerfd cannot be made) a capped monotonic
/// sleep is the fallback.
mod wall {
    use chrono::{DateTime, Utc};

    /// Longest monotonic sleep of the fallback, so a clock step is noticed within it.
    const FALLBACK_CAP: std::time::Duration = std::time::Duration::from_secs(60);

    pub async fn sleep_until(deadline: DateTime<Utc>) {
        #[cfg(target_os = "linux")]
        match linux::sleep_until(deadline).await {
            Ok(()) => return,
            Err(e) => tracing::debug!(error = %e, "timerfd unavailable; using a capped sleep"),
        }
        let left = (deadline - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(left.min(FALLBACK_CAP)).await;
    }

    #[cfg(target_os = "linux")]
    mod linux {
        use chrono::{DateTime, Utc};
        use nix::errno::Errno;
        use nix::sys::time::TimeSpec;
        use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
        use std::os::fd::{AsFd, AsRawFd, RawFd};
        use tokio::io::unix::AsyncFd;

        /// `TimerFd` offers `AsFd`; tokio's reactor wants `AsRawFd`.
        struct Timer(TimerFd);

        impl AsRawFd for Timer {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_fd().as_raw_fd()
            }
        }

        /// Ends at `deadline`, or early with `Ok` when the wall clock was stepped.
        pub async fn sleep_until(deadline: DateTime<Utc>) -> std::io::Result<()> {
            let fd = TimerFd::new(
                ClockId::CLOCK_REALTIME,
                TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
            )?;
            let secs = deadline.timestamp().max(0);
            let nanos = i64::from(deadline.timestamp_subsec_nanos());
            let at = TimeSpec::new(secs, nanos);
            fd.set(
                Expiration::OneShot(at),
                TimerSetTimeFlags::TFD_TIMER_ABSTIME | TimerSetTimeFlags::TFD_TIMER_CANCEL_ON_SET,
            )?;
            // `new` is deprecated for the unsafe `register`, whose contract (the descriptor
            // stays open and the same while registered) holds here by construction: the
            // `TimerFd` owning it lives inside the `AsyncFd`. This crate forbids unsafe code.
            #[allow(deprecated)]
            let fd = AsyncFd::new(Timer(fd))?;
            loop {
                let mut guard = fd.readable().await?;
                let mut buf = [0u8; 8];
                match nix::unistd::read(guard.get_inner().0.as_fd(), &mut buf) {
                    // Expired, or the clock was set: either way the caller looks at the time.
                    Ok(_) | Err(Errno::ECANCELED) => return Ok(()),
                    Err(Errno::EAGAIN) => guard.clear_ready(),
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}
