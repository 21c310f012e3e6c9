//! Running the real binaries: a `supersetd` with its own state directory and configuration,
//! driven with `supersetctl`, inspected through its SQLite file.
//!
//! The binaries are the ones `cargo build --workspace --bins` put next to this test's own
//! executable (`scripts/test` builds them first), so end-to-end tests exercise exactly what an
//! operator runs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Where cargo put the workspace's binaries for this build: next to this executable (a
/// binary of this crate) or one level up (a test, which lives in `deps/`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let here = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let candidates = [
        here.join(name),
        here.parent().map(|p| p.join(name)).unwrap_or_default(),
    ];
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => p.clone(),
        None => panic!(
            "{name} is missing next to {}: run `cargo build --workspace --bins` first (scripts/test does)",
            exe.display()
        ),
    }
}

/// What the test daemon talks to.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    pub telegram_url: Option<String>,
    pub telegram_token: Option<String>,
    pub portal_url: Option<String>,
    pub portal_key_pem: Option<String>,
    pub accounts: Vec<(String, String)>,
    pub channel: Option<String>,
    /// Extra TOML appended verbatim.
    pub extra: String,
    /// Default `debug`, so a failing test's log shows every step.
    pub log_level: Option<String>,
}

impl Endpoints {
    /// A daemon wired to a fake Bot API and a fake portal with one account.
    pub fn fakes(
        tg: &crate::fakes::telegram::FakeTelegram,
        token: &str,
        portal: &crate::fakes::superset::FakePortal,
        account: (&str, &str),
    ) -> Endpoints {
        Endpoints {
            telegram_url: Some(tg.base_url()),
            telegram_token: Some(token.to_owned()),
            portal_url: Some(portal.base_url()),
            portal_key_pem: Some(portal.public_key_pem()),
            accounts: vec![(account.0.to_owned(), account.1.to_owned())],
            ..Endpoints::default()
        }
    }
}

/// One daemon's world: a temporary state directory with a config file in it.
pub struct Daemon {
    pub dir: TempDir,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub web_port: u16,
    /// A foreground `supersetd run`, when started that way.
    pub child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

fn toml_str(s: &str) -> String {
    format!("{s:?}")
}

impl Daemon {
    pub fn new(ep: &Endpoints) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("sd")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let web_port = free_port();
        let socket = dir.path().join("run").join("control.sock");
        let mut text = format!(
            "state_dir = {}\ndrain_secs = 10\n[control]\nsocket = {}\n[web]\nlisten = \"127.0.0.1:{web_port}\"\n[log]\nlevel = {}\n",
            toml_str(&dir.path().display().to_string()),
            toml_str(&socket.display().to_string()),
            toml_str(ep.log_level.as_deref().unwrap_or("debug")),
        );
        text.push_str("[telegram]\nrequest_timeout_secs = 5\n");
        if let (Some(url), Some(token)) = (&ep.telegram_url, &ep.telegram_token) {
            text.push_str(&format!(
                "api_url = {}\ntoken = {}\n",
                toml_str(url),
                toml_str(token)
            ));
        }
        if let Some(ch) = &ep.channel {
            text.push_str(&format!("channel_chat_id = {}\n", toml_str(ch)));
        }
        text.push_str("[superset]\ntimeout_secs = 5\n");
        if let Some(url) = &ep.portal_url {
            text.push_str(&format!("base_url = {}\n", toml_str(url)));
        }
        if let Some(pem) = &ep.portal_key_pem {
            text.push_str(&format!("rsa_public_key = {}\n", toml_str(pem)));
        }
        for (email, password) in &ep.accounts {
            text.push_str(&format!(
                "[[superset.accounts]]\nemail = {}\npassword = {}\n",
                toml_str(email),
                toml_str(password)
            ));
        }
        text.push_str(&ep.extra);
        let config = dir.path().join("supersetd.toml");
        std::fs::write(&config, text).unwrap_or_else(|e| panic!("write config: {e}"));
        Daemon {
            dir,
            config,
            socket,
            web_port,
            child: None,
        }
    }

    pub fn state_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("supersetd.sqlite3")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.dir.path().join("supersetd.pid")
    }

    pub fn log_file(&self) -> PathBuf {
        self.dir.path().join("supersetd.log")
    }

    /// A `supersetd` command with this daemon's configuration and a clean environment.
    pub fn supersetd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin("supersetd"));
        cmd.args(args)
            .arg("--config")
            .arg(&self.config)
            .current_dir(self.dir.path());
        scrub(&mut cmd);
        cmd
    }

    /// `supersetd start`; panics with the log when it fails.
    pub fn start(&self) -> u32 {
        let out = self
            .supersetd(&["start"])
            .output()
            .unwrap_or_else(|e| panic!("spawn supersetd: {e}"));
        assert!(
            out.status.success(),
            "supersetd start failed: {}\n--- log ---\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("start printed no pid: {e}"))
    }

    /// `supersetd run` as a child process (stderr to a file in the state directory).
    pub fn run_foreground(&mut self) {
        let err = std::fs::File::create(self.dir.path().join("foreground.log"))
            .unwrap_or_else(|e| panic!("log: {e}"));
        let child = self
            .supersetd(&["run"])
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn: {e}"));
        self.child = Some(child);
        self.wait_until("the control socket answers", Duration::from_secs(20), |d| {
            d.ctl(&["status"]).status.success()
        });
    }

    pub fn stop(&self) -> Output {
        self.supersetd(&["stop", "--timeout", "20"])
            .output()
            .unwrap_or_else(|e| panic!("spawn stop: {e}"))
    }

    /// `supersetctl` against this daemon.
    pub fn ctl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin("supersetctl"));
        cmd.arg("--socket").arg(&self.socket).args(args);
        scrub(&mut cmd);
        cmd.output()
            .unwrap_or_else(|e| panic!("spawn supersetctl: {e}"))
    }

    /// `supersetctl --json ARGS` parsed.
    pub fn ctl_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ctl(&all);
        assert!(
            out.status.success(),
            "supersetctl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("supersetctl {args:?} printed no JSON: {e}"))
    }

    /// The daemon's pid from the pid file (while it runs).
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pid_file())
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    pub fn kill(&mut self, signal: nix::sys::signal::Signal) {
        let pid = self
            .child
            .as_ref()
            .map(|c| c.id() as i32)
            .or_else(|| self.pid());
        if let Some(pid) = pid {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
        }
    }

    /// Wait until no process holds the pid lock.
    pub fn wait_exited(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        if let Some(child) = self.child.as_mut() {
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some(status);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            return None;
        }
        self.wait_until("the daemon exits", timeout, |d| {
            d.pid().is_none() || !alive(d.pid().unwrap_or(0))
        });
        None
    }

    pub fn log(&self) -> String {
        let a = std::fs::read_to_string(self.log_file()).unwrap_or_default();
        let b = std::fs::read_to_string(self.dir.path().join("foreground.log")).unwrap_or_default();
        let text = format!("{a}{b}");
        let tail: Vec<&str> = text.lines().rev().take(80).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// Poll `cond` until true or panic after `timeout`, showing the daemon's log.
    pub fn wait_until(&self, what: &str, timeout: Duration, mut cond: impl FnMut(&Daemon) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if cond(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out waiting until {what}\n--- daemon log ---\n{}",
            self.log()
        );
    }

    /// A read-only connection to the daemon's database for assertions.
    pub fn db(&self) -> rusqlite::Connection {
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
        let conn = rusqlite::Connection::open_with_flags(self.db_path(), flags)
            .unwrap_or_else(|e| panic!("open db: {e}"));
        let _ = conn.busy_timeout(Duration::from_secs(5));
        conn
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill(nix::sys::signal::Signal::SIGKILL);
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// A live, non-zombie process (a detached daemon's parent is init, which in a container may
/// never reap it).
pub fn alive(pid: i32) -> bool {
    pid > 0 && supersetd::lifecycle::stop::process_running(pid as u32)
}

/// Keep the developer's environment from steering the daemon under test.
fn scrub(cmd: &mut Command) {
    for var in [
        "SUPERSETD_CONFIG",
        "SUPERSETD_SOCKET",
        "XDG_RUNTIME_DIR",
        "XDG_STATE_HOME",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_CHAT_ID",
        "MONGO_CONNECTION_STR",
        "SUPERSET_CREDENTIALS",
        "LOG_LEVEL",
        "WEBHOOK_HOST",
        "WEBHOOK_PORT",
        "NO_COLOR",
    ] {
        cmd.env_remove(var);
    }
}
