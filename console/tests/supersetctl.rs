//! The built `supersetctl` against the real control server, started in this process on a
//! temporary socket with a recording job controller and a real embedded store.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use supersetd::control::testkit::RecordingJobs;
use supersetd::control::{Handles, bind, serve};
use supersetd::logs::LogRing;
use supersetd::services::ServiceRegistry;
use supersetd::store::SubscriberProfile;
use supersetd::store::embedded::EmbeddedStore;
use supersetd_proto::{JobName, LogLevel, Outcome, ServiceState, Trigger};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

struct Daemon {
    socket: PathBuf,
    jobs: Arc<RecordingJobs>,
    handles: Handles,
    cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Daemon {
    /// Stop serving and hand back the directory, for a restart on the same socket.
    async fn stop(mut self, task: tokio::task::JoinHandle<()>) -> tempfile::TempDir {
        self.cancel.cancel();
        task.await.unwrap();
        std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn start() -> Daemon {
    start_in(tempfile::tempdir().unwrap()).await.0
}

async fn start_in(dir: tempfile::TempDir) -> (Daemon, tokio::task::JoinHandle<()>) {
    let socket = dir.path().join("run").join("control.sock");
    let store = EmbeddedStore::open(&dir.path().join("state.db")).unwrap();
    let jobs = Arc::new(RecordingJobs::default());
    let services = ServiceRegistry::new();
    services.set_state("scheduler", ServiceState::Running, None);
    services.set_state("bot", ServiceState::Disabled("no bot token".into()), None);
    let handles = Handles {
        jobs: jobs.clone(),
        services,
        logs: LogRing::new(100),
        store: Arc::new(store),
        shutdown: CancellationToken::new(),
        started_at: Utc::now(),
    };
    let listener = bind(&socket).await.unwrap();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(serve(listener, handles.clone(), cancel.clone()));
    let daemon = Daemon {
        socket,
        jobs,
        handles,
        cancel,
        _dir: dir,
    };
    (daemon, task)
}

fn command(args: &[&str]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_supersetctl"));
    cmd.args(args)
        .env_remove("SUPERSETD_SOCKET")
        .env_remove("SUPERSETD_CONFIG")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    cmd
}

async fn ctl(args: &[&str]) -> Output {
    command(args).output().await.unwrap()
}

fn sock(d: &Daemon) -> &str {
    d.socket.to_str().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_table_and_json() {
    let d = start().await;
    let out = ctl(&["--socket", sock(&d), "status"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
    assert!(text.contains("store embedded"), "{text}");
    assert!(text.contains("disabled: no bot token"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("SERVICE") && l.contains("RESTARTS")),
        "{text}"
    );

    let out = ctl(&["status", "--json", "--socket", sock(&d)]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["pid"], std::process::id());
    assert_eq!(json["store"]["healthy"], true);
    assert!(json["uptime_ms"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_with_options_before_and_after_the_subcommand() {
    let d = start().await;
    let before = ctl(&["--json", "--socket", sock(&d), "jobs"]).await;
    let after = ctl(&["jobs", "--socket", sock(&d), "--json"]).await;
    for out in [&before, &after] {
        assert_eq!(code(out), 0, "{}", stderr(out));
        let json: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap();
        assert_eq!(json[0]["name"], "update");
        assert_eq!(json[1]["schedule"], "0 12 * * *");
    }
    let table = ctl(&["jobs", "--socket", sock(&d)]).await;
    let text = stdout(&table);
    assert!(text.starts_with("JOB"), "{text}");
    assert!(
        text.contains("0 0,8-23 * * *") && text.contains("Asia/Kolkata") && text.contains("in "),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_table_and_json() {
    let d = start().await;
    let store = &d.handles.store;
    let first = store
        .create_run(&JobName::from("update"), Trigger::Schedule, Utc::now())
        .await
        .unwrap();
    let second = store
        .create_run(&JobName::from("official"), Trigger::Operator, Utc::now())
        .await
        .unwrap();
    let out = ctl(&["--socket", sock(&d), "runs"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.contains("official") && text.contains("operator"),
        "{text}"
    );

    let out = ctl(&[
        "--socket",
        sock(&d),
        "--json",
        "runs",
        "update",
        "--limit",
        "5",
    ])
    .await;
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let ids: Vec<u64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [first.0]);
    assert_ne!(first, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_and_pause_resume_cancel() {
    let d = start().await;
    let profile = SubscriberProfile {
        user_id: 9,
        chat_id: 90,
        username: Some("bea".into()),
        first_name: Some("Bea".into()),
        last_name: None,
    };
    d.handles
        .store
        .upsert_subscriber(profile, Utc::now())
        .await
        .unwrap();
    let out = ctl(&["--socket", sock(&d), "subscribers", "--all"]).await;
    assert!(stdout(&out).contains("@bea"), "{}", stdout(&out));

    assert_eq!(
        code(&ctl(&["--socket", sock(&d), "pause", "update"]).await),
        0
    );
    assert_eq!(
        code(&ctl(&["--socket", sock(&d), "resume", "update"]).await),
        0
    );
    let run = ctl(&["--socket", sock(&d), "run", "update"]).await;
    let id = stdout(&run).trim().to_owned();
    let out = ctl(&["--socket", sock(&d), "cancel", &id]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = ctl(&["--socket", sock(&d), "cancel", "update"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let calls = d.jobs.calls();
    assert!(
        calls.contains(&"pause_job update".to_owned())
            && calls.contains(&format!("cancel run {id}")),
        "{calls:?}"
    );
    assert!(calls.contains(&"cancel job update".to_owned()), "{calls:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_exits_4_with_a_hint() {
    let d = start().await;
    for args in [
        vec!["pause", "nope"],
        vec!["run", "nope"],
        vec!["runs", "nope"],
        vec!["logs", "--run", "99999"],
    ] {
        let out = ctl(&[&["--socket", sock(&d)][..], &args].concat()).await;
        assert_eq!(code(&out), 4, "{}", stderr(&out));
        assert!(
            stderr(&out).starts_with("supersetctl: "),
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    for args in [
        vec!["bogus"],
        vec!["runs", "--limit", "0"],
        vec!["--timeout", "abc", "status"],
        vec!["run"],
        vec![],
    ] {
        let out = ctl(&args).await;
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
    assert_eq!(code(&ctl(&["--help"]).await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_socket_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nobody.sock");
    let out = ctl(&["--socket", missing.to_str().unwrap(), "status"]).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach supersetd"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: start it"), "{}", stderr(&out));

    // With --json the failure is also the one document on stdout.
    let out = ctl(&["--socket", missing.to_str().unwrap(), "status", "--json"]).await;
    assert_eq!(code(&out), 3);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["error"]["exit_code"], 3, "{doc}");
    assert!(
        doc["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot reach supersetd"))
    );
}

/// A daemon that accepts but never answers (as one stopped with SIGSTOP does, since the kernel
/// completes the connection) must give exit 3 within the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_daemon_exits_3_within_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silent.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let started = Instant::now();
    let out = ctl(&["--socket", path.to_str().unwrap(), "--timeout", "1", "jobs"]).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(stderr(&out).contains("did not answer"), "{}", stderr(&out));
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_wait_exits_with_the_outcome() {
    let d = start().await;
    d.jobs.set_pending_polls(2);
    let out = ctl(&["--socket", sock(&d), "run", "update", "--wait"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("succeeded") && text.contains("notices_new=2"),
        "{text}"
    );
    let waits = d
        .jobs
        .calls()
        .iter()
        .filter(|c| c.starts_with("wait_run"))
        .count();
    assert_eq!(waits, 3);

    let out = ctl(&["--socket", sock(&d), "--json", "run", "official", "--wait"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        json["outcome"],
        serde_json::to_value(Outcome::Failed).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_lines_prints_the_last_matching_lines() {
    let d = start().await;
    for (i, level) in [
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Warn,
    ]
    .into_iter()
    .enumerate()
    {
        d.handles.logs.push(
            Utc::now(),
            level,
            "supersetd::test",
            format!("line {i}"),
            None,
        );
    }
    let out = ctl(&["--socket", sock(&d), "logs", "--lines", "2"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("line 2") && text.contains("line 3"), "{text}");
    let out = ctl(&["--socket", sock(&d), "logs", "--level", "warn", "--json"]).await;
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["entries"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_receives_a_line_logged_after_start() {
    let d = start().await;
    d.handles
        .logs
        .push(Utc::now(), LogLevel::Info, "t", "before start".into(), None);
    let mut child = command(&["--socket", sock(&d), "logs", "--follow", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Once the backlog is printed the follower is in its wait loop.
    let first: String = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains("before start"), "{first}");
    d.handles
        .logs
        .push(Utc::now(), LogLevel::Warn, "t", "after start".into(), None);
    let next: String = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&next).unwrap();
    assert_eq!(json["text"], "after start");
    assert_eq!(json["level"], "warn");
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_follow_survives_a_daemon_restart() {
    let (d, task) = start_in(tempfile::tempdir().unwrap()).await;
    d.handles
        .logs
        .push(Utc::now(), LogLevel::Info, "t", "first life".into(), None);
    d.handles
        .logs
        .push(Utc::now(), LogLevel::Info, "t", "still first".into(), None);
    let socket = sock(&d).to_owned();
    let mut child = command(&["--socket", &socket, "logs", "-f"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let next = async |lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>| {
        tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };
    assert!(next(&mut lines).await.contains("first life"));
    assert!(next(&mut lines).await.contains("still first"));

    let dir = d.stop(task).await;
    let (again, _task) = start_in(dir).await;
    assert_eq!(sock(&again), socket);
    again
        .handles
        .logs
        .push(Utc::now(), LogLevel::Info, "t", "second life".into(), None);
    assert!(next(&mut lines).await.contains("second life"));
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_commands_map_refusals_to_exit_codes() {
    let d = start().await;
    let out = ctl(&["--socket", sock(&d), "service", "start", "bot"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("disabled (no bot token)"),
        "{}",
        stderr(&out)
    );
    let out = ctl(&["--socket", sock(&d), "service", "restart", "web"]).await;
    assert_eq!(
        code(&out),
        4,
        "web is not registered here: {}",
        stderr(&out)
    );
    let out = ctl(&["--socket", sock(&d), "service", "stop", "mail"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = ctl(&[
        "--socket",
        sock(&d),
        "--json",
        "service",
        "stop",
        "scheduler",
    ])
    .await;
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["error"]["exit_code"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_notices_deliveries_mark_sent_and_audit() {
    let d = start().await;
    let out = ctl(&[
        "--socket",
        sock(&d),
        "--json",
        "broadcast",
        "Placement talk at 5 🎤",
    ])
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let receipt: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let id = receipt["notice_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("broadcast-"), "{id}");

    let out = ctl(&["--socket", sock(&d), "notices", "--unsent", "--json"]).await;
    let notices: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(notices[0]["id"], id.as_str());
    assert_eq!(notices[0]["source"], "Broadcast");
    assert_eq!(notices[0]["is_sent"], false);
    let out = ctl(&["--socket", sock(&d), "notices"]).await;
    assert!(
        stdout(&out).contains("Placement talk at 5 🎤"),
        "{}",
        stdout(&out)
    );

    let out = ctl(&["--socket", sock(&d), "deliveries", &id, "--json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "[]");
    let out = ctl(&["--socket", sock(&d), "deliveries", "no-such-notice"]).await;
    assert_eq!(code(&out), 4, "{}", stderr(&out));

    let out = ctl(&["--socket", sock(&d), "mark-sent"]).await;
    assert_eq!(code(&out), 2, "mark-sent needs --all");
    let out = ctl(&["--socket", sock(&d), "mark-sent", "--all", "--json"]).await;
    assert_eq!(stdout(&out).trim(), r#"{"marked":1}"#);
    let out = ctl(&["--socket", sock(&d), "notices", "--unsent", "--json"]).await;
    assert_eq!(stdout(&out).trim(), "[]");

    let out = ctl(&["--socket", sock(&d), "audit", "--json"]).await;
    let audit: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["mark_all_sent", "broadcast"]);
    assert_eq!(audit[1]["client"], "supersetctl");
    assert_eq!(audit[1]["uid"], nix::unistd::geteuid().as_raw());
    assert!(audit[1]["error"].is_null());
    let out = ctl(&["--socket", sock(&d), "audit"]).await;
    let text = stdout(&out);
    assert!(
        text.lines().next().is_some_and(|l| l.starts_with("WHEN")),
        "{text}"
    );
    assert!(
        text.contains("mark_all_sent") && text.contains("ok"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_jobs_watch_print_one_json_object_per_refresh() {
    let d = start().await;
    for what in ["status", "jobs"] {
        let mut child = command(&[
            "--socket",
            sock(&d),
            what,
            "--watch",
            "--interval",
            "0.2",
            "--json",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..3 {
            let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
                .await
                .expect("a refresh within 5 s")
                .unwrap()
                .expect("a line");
            let value: serde_json::Value = serde_json::from_str(&line).unwrap();
            match what {
                "status" => assert_eq!(value["pid"], std::process::id()),
                _ => assert_eq!(value[0]["name"], "update"),
            }
        }
        child.kill().await.unwrap();
    }
    let out = ctl(&["--socket", sock(&d), "status", "--watch", "--interval", "0"]).await;
    assert_eq!(code(&out), 2, "an interval under 0.1 s is refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = ctl(&["completions", shell]).await;
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for word in ["mark-sent", "deliveries", "--watch", "scheduler"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert_eq!(code(&ctl(&["completions", "tcsh"]).await), 2);
}
