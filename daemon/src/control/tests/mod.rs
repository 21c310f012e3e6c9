use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};
use supersetd_proto::*;
use tokio::io::AsyncWriteExt;
use tokio::task::JoinHandle;

use super::testkit::RecordingJobs;
use super::*;
use crate::services::ServiceRegistry;
use crate::store::SubscriberProfile;
use crate::store::embedded::EmbeddedStore;

mod ops;

use ops::foreign_peer;

struct Daemon {
    socket: PathBuf,
    jobs: Arc<RecordingJobs>,
    handles: Handles,
    cancel: CancellationToken,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start() -> Daemon {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("run").join("control.sock");
    let store = EmbeddedStore::open(&dir.path().join("state.db")).unwrap();
    let jobs = Arc::new(RecordingJobs::default());
    let services = ServiceRegistry::new();
    services.set_state("scheduler", ServiceState::Running, None);
    let handles = Handles {
        jobs: jobs.clone(),
        services,
        logs: crate::logs::LogRing::new(100),
        store: Arc::new(store),
        shutdown: CancellationToken::new(),
        started_at: Utc::now(),
    };
    let listener = bind(&socket).await.unwrap();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(serve(listener, handles.clone(), cancel.clone()));
    Daemon {
        socket,
        jobs,
        handles,
        cancel,
        task,
        _dir: dir,
    }
}

async fn client(socket: &Path) -> ControlClient {
    supersetd_proto::connect(socket, "test", Duration::from_secs(5))
        .await
        .unwrap()
        .client
}

fn ctx() -> tarpc::context::Context {
    supersetd_proto::connect::context_with_timeout(Duration::from_secs(5))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn bind_makes_a_private_directory_and_socket() {
    let d = start().await;
    assert_eq!(mode(d.socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&d.socket), 0o600);
    d.cancel.cancel();
    d.task.await.unwrap();
    assert!(
        !d.socket.exists(),
        "serve must remove the socket when it ends"
    );
}

fn dir_with_mode(parent: &Path, mode: u32) -> PathBuf {
    let dir = parent.join(format!("d{mode:o}"));
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

fn full_mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[tokio::test]
async fn bind_creates_missing_directories_0700() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("a").join("b").join("control.sock");
    let listener = bind(&socket).await.unwrap();
    assert_eq!(full_mode(socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&socket), 0o600);
    drop(listener);
}

#[tokio::test]
async fn bind_leaves_an_existing_directory_mode_alone() {
    let dir = tempfile::tempdir().unwrap();
    for m in [0o1777, 0o755, 0o750] {
        let shared = dir_with_mode(dir.path(), m);
        let listener = bind(&shared.join("control.sock")).await.unwrap();
        assert_eq!(full_mode(&shared), m, "bind changed a {m:o} directory");
        assert_eq!(mode(&shared.join("control.sock")), 0o600);
        drop(listener);
    }
}

#[tokio::test]
async fn bind_refuses_a_directory_others_can_write_without_the_sticky_bit() {
    let dir = tempfile::tempdir().unwrap();
    for m in [0o777, 0o770] {
        let open = dir_with_mode(dir.path(), m);
        match bind(&open.join("control.sock")).await {
            Err(e @ ControlBindError::UnsafeDirectory { .. }) => {
                assert!(e.to_string().contains(&open.display().to_string()), "{e}");
            }
            other => panic!("expected UnsafeDirectory for {m:o}, got {other:?}"),
        }
        assert_eq!(full_mode(&open), m);
        assert!(!open.join("control.sock").exists());
    }
}

#[tokio::test]
async fn bind_reclaims_a_stale_socket() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    // A std listener leaves its file behind when dropped, as a killed daemon does.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(socket.exists());
    let listener = bind(&socket).await.unwrap();
    assert_eq!(listener.path(), socket);
}

#[tokio::test]
async fn bind_refuses_a_live_socket() {
    let d = start().await;
    match bind(&d.socket).await {
        Err(ControlBindError::AlreadyRunning { socket }) => assert_eq!(socket, d.socket),
        other => panic!("expected AlreadyRunning, got {other:?}"),
    }
    // The live daemon still answers.
    let c = client(&d.socket).await;
    assert!(c.list_jobs(ctx()).await.unwrap().is_ok());
}

#[tokio::test]
async fn hello_with_another_protocol_is_refused() {
    let d = start().await;
    let name = d.socket.as_path().to_fs_name::<GenericFilePath>().unwrap();
    let stream = Stream::connect(name).await.unwrap();
    let c = ControlClient::new(
        tarpc::client::Config::default(),
        supersetd_proto::connect::transport(stream),
    )
    .spawn();
    let hello = ClientHello {
        proto_version: PROTO_VERSION + 1,
        client_version: "9".into(),
        client_name: "old".into(),
    };
    let reply = c.hello(ctx(), hello).await.unwrap();
    assert_eq!(
        reply,
        Err(ControlError::IncompatibleVersion {
            daemon: PROTO_VERSION,
            client: PROTO_VERSION + 1
        })
    );
}

#[tokio::test]
async fn every_method_round_trips() {
    let d = start().await;
    let now = Utc::now();
    let profile = SubscriberProfile {
        user_id: 7,
        chat_id: 70,
        username: Some("ann".into()),
        first_name: None,
        last_name: None,
    };
    d.handles
        .store
        .upsert_subscriber(profile, now)
        .await
        .unwrap();
    let stored = d
        .handles
        .store
        .create_run(&JobName::from("update"), Trigger::Schedule, now)
        .await
        .unwrap();
    let conn = supersetd_proto::connect(&d.socket, "test", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(conn.hello.pid, std::process::id());
    assert_eq!(conn.hello.access, Access::Operator);
    let c = conn.client;

    let status = c.get_status(ctx()).await.unwrap().unwrap();
    assert_eq!(status.pid, std::process::id());
    assert_eq!(status.store.backend, "embedded");
    assert!(status.store.healthy);
    assert!(status.rss_bytes > 0);
    assert_eq!(status.services[0].name, "scheduler");

    let jobs = c.list_jobs(ctx()).await.unwrap().unwrap();
    assert_eq!(jobs.len(), 2);
    let run = c
        .run_job(ctx(), JobName::from("update"))
        .await
        .unwrap()
        .unwrap();
    let done = c
        .wait_run(ctx(), run, 1000)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(done.outcome, Outcome::Succeeded);
    assert!(
        c.pause_job(ctx(), JobName::from("update"))
            .await
            .unwrap()
            .unwrap()
            .is_paused
    );
    assert!(
        !c.resume_job(ctx(), JobName::from("update"), false)
            .await
            .unwrap()
            .unwrap()
            .is_paused
    );
    assert_eq!(
        c.cancel(ctx(), CancelTarget::Run(run)).await.unwrap(),
        Ok(run)
    );
    let missing = c.pause_job(ctx(), JobName::from("nope")).await.unwrap();
    assert!(matches!(missing, Err(ControlError::NotFound { .. })));

    let runs = c
        .list_runs(
            ctx(),
            RunQuery {
                job: None,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [stored]);

    d.handles
        .logs
        .push(Utc::now(), LogLevel::Warn, "t", "hello ring".into(), None);
    let batch = c
        .tail_logs(
            ctx(),
            LogQuery {
                max: 10,
                ..LogQuery::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(batch.entries.iter().any(|e| e.text == "hello ring"));

    let subs = c
        .list_subscribers(ctx(), SubscriberQuery { active_only: true })
        .await
        .unwrap()
        .unwrap();
    assert_eq!((subs[0].user_id, subs[0].chat_id), (7, 70));

    c.shutdown(ctx()).await.unwrap().unwrap();
    assert!(d.handles.shutdown.is_cancelled());
    assert_eq!(
        d.jobs.calls(),
        [
            "list_jobs",
            "run_job update",
            &format!("wait_run {run}"),
            "pause_job update",
            "resume_job update",
            &format!("cancel run {run}"),
            "pause_job nope"
        ]
    );
}

#[tokio::test]
async fn a_log_follow_honours_the_call_deadline() {
    let d = start().await;
    let c = client(&d.socket).await;
    let started = Instant::now();
    let query = LogQuery {
        max: 10,
        wait_ms: 30_000,
        ..LogQuery::default()
    };
    let reply = c
        .tail_logs(
            supersetd_proto::connect::context_with_timeout(Duration::from_secs(1)),
            query,
        )
        .await;
    // The server cut its wait short of the deadline, so an (empty) answer arrives in time.
    assert!(reply.unwrap().unwrap().entries.is_empty());
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn garbage_and_abrupt_clients_do_not_hurt_the_server() {
    let d = start().await;
    let name = || d.socket.as_path().to_fs_name::<GenericFilePath>().unwrap();
    // A huge length prefix, then junk: the codec refuses the frame and the connection ends.
    let mut junk = Stream::connect(name()).await.unwrap();
    junk.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5])
        .await
        .unwrap();
    // A call whose client vanishes before the answer (a long log wait).
    let quitter = client(&d.socket).await;
    let pending = tokio::spawn(async move {
        let q = LogQuery {
            max: 10,
            wait_ms: 20_000,
            ..LogQuery::default()
        };
        quitter
            .tail_logs(
                supersetd_proto::connect::context_with_timeout(Duration::from_secs(25)),
                q,
            )
            .await
    });
    tokio::task::yield_now().await;
    pending.abort();
    // Half a frame, then a hang-up.
    let mut half = Stream::connect(name()).await.unwrap();
    half.write_all(&[0, 0, 0, 50, 1]).await.unwrap();
    drop(half);
    drop(junk);

    let c = client(&d.socket).await;
    let status = c.get_status(ctx()).await.unwrap().unwrap();
    assert_eq!(status.pid, std::process::id());
}

#[tokio::test]
async fn a_foreign_peer_is_refused_and_dropped() {
    let d = start().await;
    let server = server::test_server(&d.handles, None, foreign_peer(4242));
    let drop_conn = server.drop_conn.clone();
    let hello = ClientHello {
        proto_version: PROTO_VERSION,
        client_version: "1".into(),
        client_name: "x".into(),
    };
    let reply = Control::hello(server.clone(), ctx(), hello).await;
    match reply {
        Err(ControlError::PermissionDenied { reason }) => {
            assert!(reason.contains("uid 4242"), "{reason}")
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    assert!(drop_conn.is_cancelled());
    let status = Control::get_status(server, ctx()).await;
    assert!(matches!(status, Err(ControlError::PermissionDenied { .. })));
    assert!(d.jobs.calls().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_hurts_only_itself() {
    use futures::SinkExt;
    let d = start().await;
    let name = d.socket.as_path().to_fs_name::<GenericFilePath>().unwrap();
    let stream = Stream::connect(name).await.unwrap();
    let mut raw = supersetd_proto::connect::transport::<
        tarpc::Response<ControlResponse>,
        tarpc::ClientMessage<ControlRequest>,
    >(stream);
    // Thousands of requests whose replies are never read: the replies fill the socket buffer
    // and this connection's channel stalls. The sender may block too, so it runs apart.
    let flood = tokio::spawn(async move {
        for id in 0..5_000u64 {
            let request = tarpc::Request {
                context: ctx(),
                id,
                message: ControlRequest::GetStatus {},
            };
            if raw
                .send(tarpc::ClientMessage::Request(request))
                .await
                .is_err()
            {
                break;
            }
        }
        raw
    });
    let c = client(&d.socket).await;
    for _ in 0..20 {
        let status = c.get_status(ctx()).await.unwrap().unwrap();
        assert_eq!(status.pid, std::process::id());
    }
    flood.abort();
}

#[tokio::test]
async fn a_client_hanging_up_is_no_warning_but_bad_data_is() {
    use futures::SinkExt;
    use tarpc::{ClientMessage, Request};
    // The daemon's own filter, feeding a ring; tasks of this current-thread runtime log to it.
    let ring = crate::logs::LogRing::new(1000);
    let subscriber = crate::lifecycle::logging::subscriber("debug", &ring, None).unwrap();
    let _guard = tracing::subscriber::set_default(subscriber);
    let d = start().await;
    let name = || d.socket.as_path().to_fs_name::<GenericFilePath>().unwrap();
    for id in 0..20 {
        // A call whose client is gone before the reply is written.
        let stream = Stream::connect(name()).await.unwrap();
        let mut raw = supersetd_proto::connect::transport::<
            tarpc::Response<ControlResponse>,
            ClientMessage<ControlRequest>,
        >(stream);
        let request = Request {
            context: ctx(),
            id,
            message: ControlRequest::GetStatus {},
        };
        raw.send(ClientMessage::Request(request)).await.unwrap();
        drop(raw);
    }
    let c = client(&d.socket).await;
    assert!(c.get_status(ctx()).await.unwrap().is_ok());
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let warnings = |ring: &crate::logs::LogRing| {
        let q = LogQuery {
            max: 100,
            min_level: Some(LogLevel::Warn),
            ..LogQuery::default()
        };
        let ring = ring.clone();
        async move { ring.tail(&q).await.entries }
    };
    let hang_ups = warnings(&ring).await;
    assert!(
        hang_ups.is_empty(),
        "hang-ups logged as warnings: {hang_ups:?}"
    );

    // An oversized frame is the client's fault and worth a warning.
    let mut junk = Stream::connect(name()).await.unwrap();
    junk.write_all(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bad = warnings(&ring).await;
    assert!(
        bad.iter().any(|e| e.text.contains("transport error")),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_the_cap_is_told_the_daemon_is_busy() {
    let d = start().await;
    let mut held = Vec::new();
    for _ in 0..MAX_CONNECTIONS {
        held.push(client(&d.socket).await);
    }
    match supersetd_proto::connect(&d.socket, "test", Duration::from_secs(5)).await {
        Err(ConnectError::Refused(ControlError::Unavailable { reason, .. })) => {
            assert!(
                reason.contains(&format!("too many control connections ({MAX_CONNECTIONS})")),
                "{reason}"
            );
        }
        Err(other) => panic!("expected a busy refusal, got {other}"),
        Ok(_) => panic!("connection {} was served", MAX_CONNECTIONS + 1),
    }
    // A freed slot is served again.
    drop(held.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    while supersetd_proto::connect(&d.socket, "test", Duration::from_secs(1))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the freed slot was never reused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_daemon_hanging_up_at_hello_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("control.sock");
    let name = socket.as_path().to_fs_name::<GenericFilePath>().unwrap();
    let listener = interprocess::local_socket::ListenerOptions::new()
        .name(name)
        .create_tokio()
        .unwrap();
    let hang_up = tokio::spawn(async move {
        let stream = listener.accept().await.unwrap();
        drop(stream);
    });
    let err = supersetd_proto::connect(&socket, "test", Duration::from_secs(5))
        .await
        .err()
        .expect("a daemon that hangs up cannot be connected to");
    assert!(
        matches!(err, ConnectError::Transport { .. })
            && err.to_string().contains("too many clients"),
        "{err}"
    );
    hang_up.await.unwrap();
}
