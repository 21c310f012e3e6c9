//! A real MongoDB wire-protocol server for tests: nx-27017 (PyPI), started per test on a free
//! port, reached by the real `mongodb` driver over TCP.
//!
//! No MongoDB server is packaged for Debian, so `scripts/mongo install` puts nx-27017 into
//! `.venv-mongo/` at the workspace root (CI runs it first). A test that needs the server calls
//! [`MongoServer::start`]; when the server is not installed it returns `None` after a loud
//! message, unless `SUPERSETD_REQUIRE_MONGO=1` (set by `scripts/test`), where that is a failure.
//! `SUPERSETD_NX27017` overrides the binary's path.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The version `scripts/mongo` installs.
pub const NX_VERSION: &str = "0.8.1";

/// The version actually installed next to `binary`, asked of its venv's Python.
fn installed_version(binary: &Path) -> String {
    let python = binary.with_file_name("python");
    Command::new(python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('nx-27017'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| format!("(version unknown; scripts/mongo installs {NX_VERSION})"))
}

pub struct MongoServer {
    child: Option<Child>,
    port: u16,
    /// Where the databases live, so a restart finds them again.
    data: TempDir,
    binary: PathBuf,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The nx-27017 executable, if installed.
pub fn binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("SUPERSETD_NX27017") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    Some(workspace_root().join(".venv-mongo/bin/nx-27017")).filter(|p| p.is_file())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl MongoServer {
    /// Start a fresh, empty server, or explain loudly why there is none.
    pub fn start() -> Option<MongoServer> {
        let Some(binary) = binary() else {
            let msg = "nx-27017 is not installed, so this MongoDB test cannot run: \
                       run `scripts/mongo install` (scripts/test and .ci/run do)";
            if std::env::var("SUPERSETD_REQUIRE_MONGO").is_ok_and(|v| v == "1") {
                panic!("{msg}");
            }
            eprintln!("\n!!!!!!!! SKIPPED: {msg} !!!!!!!!\n");
            return None;
        };
        let data = tempfile::Builder::new()
            .prefix("nx")
            .tempdir()
            .unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut server = MongoServer {
            child: None,
            port: free_port(),
            data,
            binary,
        };
        server.launch();
        eprintln!(
            "MongoDB test server: nx-27017 {} at {}",
            installed_version(&server.binary),
            server.uri()
        );
        Some(server)
    }

    fn launch(&mut self) {
        let dir = self.data.path();
        let log = std::fs::File::create(dir.join("server.log")).ok();
        let child = Command::new(&self.binary)
            .arg("--data-dir")
            .arg(dir.join("db"))
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--log-file")
            .arg(dir.join("nx.log"))
            .arg("--pid-file")
            .arg(dir.join("nx.pid"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.map_or_else(Stdio::null, Stdio::from))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        self.wait_listening();
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("nx-27017 exited at start ({status}): {}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nx-27017 did not listen on {} within 20 s", self.port);
    }

    /// A connection string for this server, as an operator would write it.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kill the server (as a crash or an outage would); the data stays for [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port over the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.data.path().join("server.log")).unwrap_or_default();
        let start = text.len().saturating_sub(2000);
        text.get(start..).unwrap_or_default().to_owned()
    }
}

impl Drop for MongoServer {
    fn drop(&mut self) {
        self.stop();
    }
}
