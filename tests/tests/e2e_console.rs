//! The real `superset-console` in a real pseudo-terminal against the real `supersetd`: keys
//! pause one job and run another (checked through `supersetctl`), the console reconnects by
//! itself across a daemon restart, and a panic forced in this debug build leaves the terminal
//! settings (`stty -g`) exactly as they were.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use supersetd_tests::daemon::{Daemon, Endpoints, bin};

struct Pty {
    child: Child,
    master: std::fs::File,
    slave: OwnedFd,
    /// `stty -g` before the console started.
    before: String,
    output: Arc<Mutex<Vec<u8>>>,
}

fn stty(slave: &OwnedFd) -> String {
    let out = Command::new("stty")
        .arg("-g")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Pty {
    fn console(d: &Daemon) -> Pty {
        let size = nix::pty::Winsize {
            ws_row: 30,
            ws_col: 110,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(Some(&size), None).unwrap();
        let slave = pty.slave;
        let before = stty(&slave);
        let child = Command::new("setsid")
            .arg("--ctty")
            .arg(bin("superset-console"))
            .arg("--socket")
            .arg(&d.socket)
            .env("TERM", "xterm-256color")
            .env("SUPERSET_CONSOLE_TEST_PANIC_KEY", "!")
            .env_remove("NO_COLOR")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave.try_clone().unwrap()))
            .spawn()
            .unwrap();
        let master = std::fs::File::from(pty.master);
        let output = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, sink) = (master.try_clone().unwrap(), output.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                sink.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            master,
            slave,
            before,
            output,
        }
    }

    fn output(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }

    /// Wait until the output written since `from` contains `text` (drawn in one piece).
    #[track_caller]
    fn wait_for(&self, from: usize, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.output().get(from..).is_some_and(|o| o.contains(text)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no {text:?} on the terminal within 20 s: {:?}",
            self.output().get(from..)
        );
    }

    fn keys(&self, keys: &[u8]) {
        (&self.master).write_all(keys).unwrap();
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn job<'a>(jobs: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    jobs.as_array()
        .and_then(|j| j.iter().find(|j| j["name"] == name))
        .unwrap_or_else(|| panic!("no job {name} in {jobs}"))
}

#[test]
fn the_console_pauses_runs_reconnects_and_restores_the_terminal_after_a_panic() {
    let mut d = Daemon::new(&Endpoints::default());
    d.run_foreground();
    let mut pty = Pty::console(&d);
    pty.wait_for(0, " · supersetd ");

    // Jobs are listed by name: official, then update. Pause official, run update.
    pty.keys(b"2");
    pty.wait_for(0, "Schedule");
    pty.keys(b"p");
    d.wait_until("official is paused", Duration::from_secs(10), |d| {
        job(&d.ctl_json(&["jobs"]), "official")["is_paused"] == true
    });
    pty.keys(b"jx");
    d.wait_until(
        "a run of update by the operator",
        Duration::from_secs(10),
        |d| {
            let runs = d.ctl_json(&["runs", "update"]);
            runs.as_array()
                .is_some_and(|r| r.iter().any(|r| r["trigger"] == "operator"))
        },
    );
    assert_eq!(
        job(&d.ctl_json(&["jobs"]), "update")["is_paused"],
        false,
        "only official paused"
    );
    let audit = d.ctl_json(&["audit"]);
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["client"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("superset-console", "pause_job"),
            ("superset-console", "run_job")
        ]
    );

    // The daemon restarts: the console says so and comes back by itself.
    let mark = pty.output().len();
    assert!(d.stop().status.success());
    pty.wait_for(mark, "reconnecting to");
    d.run_foreground();
    let mark = pty.output().len();
    pty.wait_for(mark, " · supersetd ");

    pty.keys(b"!");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = pty.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the console did not exit after the panic"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    assert!(pty.output().contains("test panic requested"));
    assert_eq!(
        stty(&pty.slave),
        pty.before,
        "stty -g after the panic differs from before"
    );
}

#[test]
fn a_frozen_console_does_not_slow_the_daemon_or_other_consoles() {
    let mut d = Daemon::new(&Endpoints::default());
    d.run_foreground();
    let frozen = Pty::console(&d);
    let live = Pty::console(&d);
    frozen.wait_for(0, " · supersetd ");
    live.wait_for(0, " · supersetd ");
    let pid = nix::unistd::Pid::from_raw(frozen.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    // While it is frozen its polls go unread; everyone else is served as before.
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let t = Instant::now();
        assert!(d.ctl(&["--timeout", "2", "status"]).status.success());
        slowest = slowest.max(t.elapsed());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a status took {slowest:?}"
    );
    let status = d.ctl_json(&["status"]);
    assert!(
        status["connections"].as_u64().is_some_and(|n| n >= 3),
        "{status}"
    );
    let mark = live.output().len();
    assert!(d.ctl(&["pause", "update"]).status.success());
    live.keys(b"2");
    live.wait_for(mark, "paused");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
}
