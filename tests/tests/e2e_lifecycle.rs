//! The daemon's life cycle with the real binaries: start, stop, pid file, control socket,
//! signals and configuration errors.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use supersetd_tests::daemon::{Daemon, Endpoints, alive};

fn plain() -> Daemon {
    Daemon::new(&Endpoints::default())
}

#[test]
fn stale_garbage_and_foreign_pid_files_never_block_a_start() {
    for content in ["", "garbage\n", "1\n", "999999\n"] {
        let d = plain();
        std::fs::write(d.pid_file(), content).unwrap();
        let pid = d.start();
        assert!(alive(pid as i32));
        // start returns only once the socket answers: no retry needed here.
        let status = d.ctl_json(&["status"]);
        assert_eq!(status["pid"].as_u64(), Some(u64::from(pid)));
        assert!(d.stop().status.success());
        assert!(
            !alive(pid as i32),
            "stop returned while pid {pid} still runs"
        );
        assert!(
            alive(1),
            "pid 1 named in a stale pid file must never be signalled"
        );
    }
}

#[test]
fn ten_concurrent_starts_leave_exactly_one_daemon() {
    let d = plain();
    let spawned: Vec<_> = (0..10)
        .map(|_| d.supersetd(&["start"]).spawn().unwrap())
        .collect();
    let codes: Vec<i32> = spawned
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap_or(-1))
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 1, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 0 || *c == 1), "{codes:?}");
    let running = processes_mentioning(&d.config.display().to_string());
    assert_eq!(running, 1, "daemons running with this config: {running}");
    assert!(d.stop().status.success());
}

#[test]
fn a_stale_socket_is_reclaimed_and_a_live_one_respected() {
    let a = plain();
    std::fs::create_dir_all(a.socket.parent().unwrap()).unwrap();
    drop(UnixListener::bind(&a.socket).unwrap()); // leaves the file behind, like kill -9
    a.start();
    // A second daemon with its own state but the same socket must not steal it.
    let b = plain();
    let text = std::fs::read_to_string(&b.config).unwrap();
    let old = format!("socket = {:?}", b.socket.display().to_string());
    let new = format!("socket = {:?}", a.socket.display().to_string());
    std::fs::write(&b.config, text.replace(&old, &new)).unwrap();
    let out = b.supersetd(&["start"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&a.socket.display().to_string()), "{err}");
    assert!(
        a.ctl(&["status"]).status.success(),
        "the first daemon must be untouched"
    );
    assert!(a.stop().status.success());
}

#[test]
fn sigterm_drains_and_exits_0() {
    let mut d = plain();
    d.run_foreground();
    let started = Instant::now();
    d.kill(Signal::SIGTERM);
    let status = d
        .wait_exited(Duration::from_secs(25))
        .expect("the daemon did not exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", d.log());
    assert!(started.elapsed() < Duration::from_secs(21));
    assert!(
        !d.socket.exists(),
        "the socket must be removed on a clean stop"
    );
}

#[test]
fn an_unreachable_or_frozen_daemon_gives_exit_3_within_the_timeout() {
    let mut d = plain();
    assert_eq!(
        d.ctl(&["status"]).status.code(),
        Some(3),
        "no daemon at all"
    );
    d.run_foreground();
    d.kill(Signal::SIGSTOP);
    let started = Instant::now();
    let out = d.ctl(&["--timeout", "1", "status"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    d.kill(Signal::SIGCONT);
    assert!(d.ctl(&["status"]).status.success());
}

#[test]
fn stop_without_a_daemon_says_so_and_succeeds() {
    let d = plain();
    let out = d.stop();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not running"));
}

#[test]
fn check_config_masks_secrets_and_rejects_bad_values() {
    let d = Daemon::new(&Endpoints {
        extra: "[store]\nbackend = \"embedded\"\nmongodb_uri = \"mongodb://u:hunter2@db/\"\n"
            .into(),
        ..Endpoints::default()
    });
    let mut text = std::fs::read_to_string(&d.config).unwrap();
    text = text.replace("[telegram]\n", "[telegram]\ntoken = \"999:SUPERSECRET\"\n");
    std::fs::write(&d.config, &text).unwrap();
    let out = d.supersetd(&["check-config"]).output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !all.contains("SUPERSECRET") && !all.contains("hunter2"),
        "{all}"
    );
    assert!(out.status.success(), "{all}");
    std::fs::write(&d.config, text.replace("[web]\n", "[web]\nbogus = 1\n")).unwrap();
    let out = d.supersetd(&["check-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus"));
}

/// `supersetd check-config` on the default test configuration as `edit` changes it, with
/// `env` set and `dotenv` (if any) as the working directory's `.env`: exit code and all output.
fn check_config(
    edit: impl Fn(&str) -> String,
    env: &[(&str, &str)],
    dotenv: Option<&str>,
) -> (Option<i32>, String) {
    let d = plain();
    let text = std::fs::read_to_string(&d.config).unwrap();
    std::fs::write(&d.config, edit(&text)).unwrap();
    if let Some(dotenv) = dotenv {
        std::fs::write(d.state_dir().join(".env"), dotenv).unwrap();
    }
    let out = d
        .supersetd(&["check-config"])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), all)
}

/// Add `line` to a section the test configuration already has.
fn add_to(section: &'static str, line: &'static str) -> impl Fn(&str) -> String {
    move |text| text.replace(&format!("[{section}]\n"), &format!("[{section}]\n{line}\n"))
}

/// Append a section the test configuration lacks.
fn append(toml: &'static str) -> impl Fn(&str) -> String {
    move |text| format!("{text}{toml}\n")
}

#[test]
fn check_config_errors_never_show_a_secret() {
    let cases: [(_, &[(&str, &str)], &str); 3] = [
        (add_to("telegram", "token = 123456:SECRETABC"), &[], "line "),
        (add_to("web", "token = 98765432"), &[], "line "),
        (
            add_to("web", ""),
            &[(
                "SUPERSET_CREDENTIALS",
                r#"[{"email":"x","password":98765}]"#,
            )],
            "SUPERSET_CREDENTIALS",
        ),
    ];
    for (edit, env, names) in cases {
        let (code, all) = check_config(edit, env, None);
        assert_eq!(code, Some(2), "{all}");
        assert!(all.contains(names), "{all}");
        for secret in ["SECRETABC", "98765"] {
            assert!(!all.contains(secret), "{all}");
        }
    }
}

#[test]
fn check_config_checks_the_log_level_as_run_would() {
    let (code, all) = check_config(|t| t.to_owned(), &[("LOG_LEVEL", "WARNING")], None);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("level = \"warn\""), "{all}");
    for bad in ["bogus", "verbose", "info,=="] {
        let edit = move |t: &str| t.replace("level = \"debug\"", &format!("level = {bad:?}"));
        let (code, all) = check_config(edit, &[], None);
        assert_eq!(code, Some(2), "{bad}: {all}");
        assert!(all.contains("log.level"), "{bad}: {all}");
    }
}

#[test]
fn a_malformed_dotenv_is_a_configuration_error() {
    let dotenv = "WEBHOOK_PORT=8001\nTELEGRAM_BOT_TOKEN=1 SECRET'ABC\n";
    let (code, all) = check_config(|t| t.to_owned(), &[], Some(dotenv));
    assert_eq!(code, Some(2), "{all}");
    assert!(all.contains(".env") && all.contains("line 2"), "{all}");
    assert!(!all.contains("SECRET"), "{all}");
}

#[test]
fn check_config_refuses_what_run_would_refuse() {
    let (code, all) = check_config(append("[store]\nbackend = \"mongodb\""), &[], None);
    assert_eq!(code, Some(2), "{all}");
    assert!(all.contains("needs a connection string"), "{all}");
    let with_uri =
        append("[store]\nbackend = \"mongodb\"\nmongodb_uri = \"mongodb://app:Pw0rd4567@db1/\"");
    let (code, all) = check_config(with_uri, &[], None);
    assert_eq!(code, Some(0), "{all}");
    assert!(
        !all.contains("Pw0rd4567"),
        "the password is never shown: {all}"
    );
    let (code, all) = check_config(append("[email]\nimap_port = 99999"), &[], None);
    assert_eq!(code, Some(2), "{all}");
    let file = tempfile::NamedTempFile::new().unwrap();
    let path = file.path().display().to_string();
    let at_file = |t: &str| {
        let mut lines: Vec<String> = t.lines().map(str::to_owned).collect();
        lines[0] = format!("state_dir = {path:?}");
        lines.join("\n") + "\n"
    };
    let (code, all) = check_config(at_file, &[], None);
    assert_eq!(code, Some(2), "{all}");
    assert!(
        all.contains(&format!("state_dir {path} is not a directory")),
        "{all}"
    );
}

#[test]
fn web_listen_accepts_a_host_name() {
    let edit = |t: &str| {
        let start = t.find("listen = ").unwrap();
        let end = start + t[start..].find('\n').unwrap();
        format!("{}listen = \"localhost:8000\"{}", &t[..start], &t[end..])
    };
    let (code, all) = check_config(edit, &[], None);
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains(":8000"), "{all}");
}

#[test]
fn health_and_ready_answer_over_http() {
    let d = plain();
    d.start();
    let get = |path: &str| http(d.web_port, "GET", path).0;
    assert_eq!(get("/health"), "200");
    assert_eq!(get("/ready"), "200");
    assert_eq!(get("/nope"), "404");
    // A wrong method gets the API's JSON error shape, not an empty body.
    let (status, body) = http(d.web_port, "POST", "/health");
    assert_eq!(status, "405");
    assert!(
        body.contains(r#""error":"#),
        "405 without a JSON error: {body:?}"
    );
    // Without a token or accounts those parts say why they are off.
    let status = d.ctl_json(&["status"]);
    let disabled = |name: &str| {
        status["services"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .map(|s| s["state"].to_string())
            .unwrap_or_default()
    };
    assert!(
        disabled("bot").contains("no Telegram bot token"),
        "{status}"
    );
    assert!(
        disabled("superset").contains("no SuperSet accounts"),
        "{status}"
    );
    assert!(d.stop().status.success());
}

#[test]
fn the_detached_log_file_has_no_colour_codes() {
    let d = plain();
    d.start();
    assert!(d.ctl(&["status"]).status.success());
    assert!(d.stop().status.success());
    let log = std::fs::read(d.log_file()).unwrap();
    assert!(!log.is_empty(), "the daemon wrote nothing to its log file");
    assert!(
        !log.contains(&0x1b),
        "escape codes in the log file:\n{}",
        String::from_utf8_lossy(&log)
    );
}

#[test]
fn start_creates_a_private_state_dir_and_log_file() {
    let d = plain();
    let state = d.state_dir().join("new").join("state");
    let text = std::fs::read_to_string(&d.config).unwrap();
    let old = format!("state_dir = {:?}", d.state_dir().display().to_string());
    let new = format!("state_dir = {:?}", state.display().to_string());
    std::fs::write(&d.config, text.replace(&old, &new)).unwrap();
    let started = d.supersetd(&["start"]).output().unwrap();
    let modes = [mode(&state), mode(&state.join("supersetd.log"))];
    let stopped = d.stop();
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(stopped.status.success());
    // The test's umask may take more away (0700, 0600), never add.
    assert_eq!(
        [modes[0] & !0o750, modes[1] & !0o640],
        [0, 0],
        "state dir and log file modes: {:o}, {:o}",
        modes[0],
        modes[1]
    );
}

#[test]
fn sighup_reopens_the_log_file_and_keeps_running() {
    let mut d = plain();
    let pid = d.start();
    let log = d.log_file();
    let rotated = d.state_dir().join("supersetd.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    d.kill(Signal::SIGHUP);
    d.wait_until("a fresh log file says so", Duration::from_secs(10), |_| {
        read(&log).contains("log file reopened")
    });
    assert!(alive(pid as i32), "SIGHUP killed the daemon");
    let status = d.ctl_json(&["status"]);
    assert_eq!(status["pid"].as_u64(), Some(u64::from(pid)));
    d.wait_until(
        "new lines reach the new file",
        Duration::from_secs(5),
        |_| read(&log).contains("control client connected"),
    );
    assert!(!read(&rotated).contains("log file reopened"));
    assert!(d.stop().status.success());
    assert!(read(&log).contains("stopped"));
}

#[test]
fn sighup_in_the_foreground_reopens_the_extra_log_file() {
    let mut d = plain();
    let extra = d.state_dir().join("extra.log");
    let text = std::fs::read_to_string(&d.config).unwrap();
    let with_file = format!("[log]\nfile = {:?}\n", extra.display().to_string());
    std::fs::write(&d.config, text.replace("[log]\n", &with_file)).unwrap();
    d.run_foreground();
    std::fs::rename(&extra, d.state_dir().join("extra.log.1")).unwrap();
    d.kill(Signal::SIGHUP);
    d.wait_until(
        "a fresh extra file says so",
        Duration::from_secs(10),
        |_| read(&extra).contains("log file reopened"),
    );
    assert!(d.ctl(&["status"]).status.success());
    d.kill(Signal::SIGTERM);
    let status = d.wait_exited(Duration::from_secs(25));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", d.log());
}

#[test]
fn supersetctl_over_the_connection_cap_says_the_daemon_is_busy() {
    let d = plain();
    d.start();
    // Silent connections hold a slot each until their hello deadline (10 s).
    let held: Vec<_> = (0..64)
        .map(|_| std::os::unix::net::UnixStream::connect(&d.socket).unwrap())
        .collect();
    let out = d.ctl(&["status"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("too many control connections (64)"), "{err}");
    drop(held);
    d.wait_until("a slot is free again", Duration::from_secs(5), |d| {
        d.ctl(&["status"]).status.success()
    });
    assert!(d.stop().status.success());
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0o7777, |m| m.permissions().mode() & 0o7777)
}

/// How many live processes have `needle` among their arguments.
fn processes_mentioning(needle: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmd| cmd.split(|b| *b == 0).any(|arg| arg == needle.as_bytes()))
        .count()
}

/// The status code and body of a plain HTTP/1.0 request on loopback.
fn http(port: u16, method: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return ("refused".into(), String::new());
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
    );
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    let status = reply.split_whitespace().nth(1).unwrap_or("none").to_owned();
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
