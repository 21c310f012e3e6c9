//! The operator's commands against the real daemon: one service stopped and started while the
//! rest keep running, and `shutdown` over the socket.

use std::time::Duration;

use supersetd_tests::daemon::{Daemon, Endpoints};

fn http_status(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut reply = String::new();
    let _ = s.read_to_string(&mut reply);
    reply.split_whitespace().nth(1).unwrap_or("none").to_owned()
}

fn service(d: &Daemon, name: &str) -> serde_json::Value {
    let status = d.ctl_json(&["status"]);
    status["services"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name).cloned())
        .unwrap_or_else(|| panic!("no service {name} in {status}"))
}

#[test]
fn web_stops_and_starts_alone_while_the_scheduler_keeps_running() {
    let mut d = Daemon::new(&Endpoints::default());
    d.run_foreground();
    assert_eq!(http_status(d.web_port, "/health"), "200");
    let scheduler_since = service(&d, "scheduler")["since"].clone();

    let stopped = d.ctl_json(&["service", "stop", "web"]);
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(
        http_status(d.web_port, "/health"),
        "refused",
        "the listener is closed"
    );
    assert_eq!(service(&d, "scheduler")["state"], "running");
    assert_eq!(service(&d, "scheduler")["since"], scheduler_since);
    assert!(
        d.ctl(&["jobs"]).status.success(),
        "the control socket still answers"
    );

    let started = d.ctl_json(&["service", "start", "web"]);
    assert_eq!(started["state"], "running");
    d.wait_until("web answers again", Duration::from_secs(10), |d| {
        http_status(d.web_port, "/health") == "200"
    });
    let restarted = d.ctl_json(&["service", "restart", "web"]);
    assert_eq!(
        (restarted["state"].as_str(), restarted["restarts"].as_u64()),
        (Some("running"), Some(1))
    );
    d.wait_until(
        "web answers after the restart",
        Duration::from_secs(10),
        |d| http_status(d.web_port, "/health") == "200",
    );

    let bot = d.ctl(&["service", "start", "bot"]);
    assert_eq!(
        bot.status.code(),
        Some(1),
        "a disabled bot cannot be started"
    );
    assert!(String::from_utf8_lossy(&bot.stderr).contains("disabled"));
    let audit = d.ctl_json(&["audit"]);
    let targets: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .filter_map(|e| e["target"].as_str())
        .collect();
    assert_eq!(
        targets,
        ["stop web", "start web", "restart web", "start bot"]
    );
}

#[test]
fn shutdown_over_the_socket_stops_the_daemon_cleanly() {
    let mut d = Daemon::new(&Endpoints::default());
    d.run_foreground();
    let out = d.ctl(&["shutdown"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = d.wait_exited(Duration::from_secs(20));
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{}", d.log());
    assert_eq!(d.ctl(&["status"]).status.code(), Some(3));
}

#[test]
fn the_scheduler_stops_and_starts_alone_and_operator_runs_still_work() {
    let mut d = Daemon::new(&Endpoints::default());
    d.run_foreground();
    let web_since = service(&d, "web")["since"].clone();
    let stopped = d.ctl_json(&["service", "stop", "scheduler"]);
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(service(&d, "web")["state"], "running");
    assert_eq!(service(&d, "web")["since"], web_since, "web untouched");
    // A run asked for by an operator still starts while the timers are held.
    let out = d.ctl(&["run", "official", "--wait"]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let runs = d.ctl_json(&["runs", "official"]);
    assert_eq!(runs[0]["trigger"], "operator");
    let restarted = d.ctl_json(&["service", "restart", "scheduler"]);
    assert_eq!(
        (restarted["state"].as_str(), restarted["restarts"].as_u64()),
        (Some("running"), Some(1))
    );
    assert_eq!(
        d.ctl_json(&["service", "start", "scheduler"])["state"],
        "running"
    );
    assert!(d.log().contains("scheduler hold changed"), "{}", d.log());
}
