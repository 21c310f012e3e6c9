//! `superset-console` in a real pseudo-terminal: it starts, draws, and on `q`, SIGHUP or
//! SIGTERM exits 0 having left the alternate screen and shown the cursor again. Without a
//! daemon this also shows the reconnecting header; against a real control server (in this
//! process, with a real store) keys pause one job and run another, and a forced panic leaves
//! the terminal settings (`stty -g`) as they were. `setsid --ctty` gives the child the pty as
//! its controlling terminal, as an SSH session would.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{Winsize, openpty};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const LEAVE_ALT_SCREEN: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";

struct Console {
    child: Child,
    master: std::fs::File,
    /// A copy of the slave side, for `stty -g` after.
    slave: OwnedFd,
    /// `stty -g` of the pty before the console started.
    stty_before: String,
    output: Arc<Mutex<Vec<u8>>>,
    _reader: std::thread::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Console {
    fn start(cols: u16, rows: u16) -> Console {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("control.sock");
        Console::start_with(cols, rows, &socket, &[], dir)
    }

    fn start_with(
        cols: u16,
        rows: u16,
        socket: &std::path::Path,
        env: &[(&str, &str)],
        dir: tempfile::TempDir,
    ) -> Console {
        let size = Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).unwrap();
        let slave: OwnedFd = pty.slave;
        let keep = slave.try_clone().unwrap();
        let stty_before = stty(&keep);
        let child = Command::new("setsid")
            .arg("--ctty")
            .arg(env!("CARGO_BIN_EXE_superset-console"))
            .arg("--socket")
            .arg(socket)
            .env("TERM", "xterm-256color")
            .env_remove("NO_COLOR")
            .envs(env.iter().copied())
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader_end = master.try_clone().unwrap();
        let sink = Arc::clone(&output);
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child and every slave copy are gone.
            while let Ok(n @ 1..) = reader_end.read(&mut buf) {
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Console {
            child,
            master,
            slave: keep,
            stty_before,
            output,
            _reader: reader,
            _dir: dir,
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    #[track_caller]
    fn wait_for_output(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if pred(&self.output()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no {what} within 10 s; output so far: {:?}", self.output());
    }

    /// Waits for the child to exit. Its last bytes may still sit in the pty, not yet read by
    /// the reader thread: wait for what is expected from them with [`Self::wait_for_output`].
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        panic!(
            "superset-console did not exit within 10 s; output: {:?}",
            self.output()
        );
    }

    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.child.id() as i32), signal).unwrap();
    }

    #[track_caller]
    fn assert_restored(&mut self) {
        let status = self.wait_exit();
        assert!(
            status.success(),
            "exit status {status}; output: {:?}",
            self.output()
        );
        self.wait_for_output("the restore sequences", restored);
        assert_eq!(
            stty(&self.slave),
            self.stty_before,
            "stty -g differs after exit"
        );
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The terminal's settings as `stty -g` prints them, read through the pty's slave side.
fn stty(slave: &OwnedFd) -> String {
    let out = Command::new("stty")
        .arg("-g")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stty: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The restore comes after the last frame: the alternate screen left, then the cursor shown.
fn restored(out: &str) -> bool {
    out.rfind(LEAVE_ALT_SCREEN)
        .is_some_and(|at| out[at..].contains(SHOW_CURSOR))
}

fn drew_header(out: &str) -> bool {
    out.contains("connecting to") && out.contains("1 Overview")
}

#[test]
fn starts_draws_and_quits_on_q() {
    let mut console = Console::start(80, 24);
    console.wait_for_output("first frame", drew_header);
    console.wait_for_output("reconnect attempt", |out| out.contains("(attempt"));
    let out = console.output();
    assert!(
        !out.contains("38;5;"),
        "only classic 16-colour escapes: {out:?}"
    );
    assert!(
        out.contains("\x1b[33"),
        "the connecting header is yellow: {out:?}"
    );
    console.master.write_all(b"q").unwrap();
    console.assert_restored();
}

#[test]
fn sighup_and_sigterm_restore_the_terminal() {
    for signal in [Signal::SIGHUP, Signal::SIGTERM] {
        let mut console = Console::start(80, 24);
        console.wait_for_output("first frame", drew_header);
        console.signal(signal);
        console.assert_restored();
    }
}

#[test]
fn a_tiny_terminal_gets_a_notice_not_a_panic() {
    let mut console = Console::start(20, 5);
    console.wait_for_output("size notice", |out| {
        out.contains("terminal") && out.contains("(need")
    });
    console.master.write_all(b"?q").unwrap();
    console.assert_restored();
}

mod with_a_daemon {
    use std::sync::Arc;

    use chrono::Utc;
    use supersetd::control::testkit::RecordingJobs;
    use supersetd::control::{Handles, JobControl, bind, serve};
    use supersetd::logs::LogRing;
    use supersetd::services::ServiceRegistry;
    use supersetd::store::embedded::EmbeddedStore;
    use supersetd_proto::{JobName, ServiceState};
    use tokio_util::sync::CancellationToken;

    use super::*;

    #[test]
    fn keys_pause_one_job_and_run_another_and_a_panic_restores_the_terminal() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("run").join("control.sock");
        let jobs = Arc::new(RecordingJobs::default());
        let services = ServiceRegistry::new();
        services.set_state("scheduler", ServiceState::Running, None);
        let handles = Handles {
            jobs: jobs.clone(),
            services,
            logs: LogRing::new(100),
            store: Arc::new(EmbeddedStore::open(&dir.path().join("state.db")).unwrap()),
            shutdown: CancellationToken::new(),
            started_at: Utc::now(),
        };
        let cancel = CancellationToken::new();
        let listener = rt.block_on(bind(&socket)).unwrap();
        rt.spawn(serve(listener, handles, cancel.clone()));

        let env = [("SUPERSET_CONSOLE_TEST_PANIC_KEY", "!")];
        let mut console = Console::start_with(100, 30, &socket, &env, dir);
        // The frames are cell diffs, so look for a run of text drawn in one piece.
        console.wait_for_output("connected header", |o| {
            o.contains(" · supersetd 0.1.0 · pid")
        });
        let called = |what: &str| {
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if jobs.calls().iter().any(|c| c == what) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            panic!("the daemon never got {what}: {:?}", jobs.calls());
        };
        // Jobs view, first job (update): pause. Down to official: run now.
        console.master.write_all(b"2").unwrap();
        console.wait_for_output("jobs view", |o| o.contains("Schedule"));
        console.master.write_all(b"p").unwrap();
        called("pause_job update");
        console.master.write_all(b"jx").unwrap();
        called("run_job official");
        let calls = jobs.calls();
        assert!(calls.contains(&"pause_job update".to_owned()), "{calls:?}");
        assert!(calls.contains(&"run_job official".to_owned()), "{calls:?}");
        let listed = rt.block_on(jobs.list_jobs()).unwrap();
        let update = listed
            .iter()
            .find(|j| j.name == JobName::from("update"))
            .unwrap();
        assert!(update.is_paused, "the daemon's state changed");

        console.master.write_all(b"!").unwrap();
        let status = console.wait_exit();
        assert!(
            !status.success(),
            "the forced panic must fail the process: {status}"
        );
        console.wait_for_output("the panic message after the restore", |out| {
            restored(out) && out.contains("test panic requested")
        });
        assert_eq!(
            stty(&console.slave),
            console.stty_before,
            "stty -g differs after the panic"
        );
        cancel.cancel();
    }
}
