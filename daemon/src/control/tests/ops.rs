//! The operator calls of protocol 3 against the real server: access levels, the audit trail,
//! notices, deliveries, broadcast and services.

use super::*;

pub(super) fn foreign_peer(uid: u32) -> access::Peer {
    access::Peer {
        uid: Some(uid),
        gid: Some(uid),
        pid: Some(777),
        user: Some("mallory".into()),
        groups: vec![uid],
    }
}

fn hello_as(name: &str) -> ClientHello {
    ClientHello {
        proto_version: PROTO_VERSION,
        client_version: "1".into(),
        client_name: name.into(),
    }
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_act_and_its_attempts_are_audited() {
    let d = start().await;
    let viewer = server::test_server(&d.handles, Some(Access::Viewer), foreign_peer(5151));
    let hello = Control::hello(viewer.clone(), ctx(), hello_as("superset-console")).await;
    assert_eq!(hello.map(|h| h.access), Ok(Access::Viewer));
    assert!(Control::list_jobs(viewer.clone(), ctx()).await.is_ok());
    assert!(Control::get_status(viewer.clone(), ctx()).await.is_ok());
    let paused = Control::pause_job(viewer.clone(), ctx(), JobName::from("update")).await;
    match paused {
        Err(ControlError::PermissionDenied { reason }) => {
            assert!(
                reason.contains("uid 5151 (mallory) may only read"),
                "{reason}"
            )
        }
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
    let broadcast = Control::broadcast(viewer.clone(), ctx(), "hi".into()).await;
    assert!(matches!(
        broadcast,
        Err(ControlError::PermissionDenied { .. })
    ));
    assert!(
        !d.jobs.calls().iter().any(|c| c.starts_with("pause")),
        "the refused call never reached the scheduler: {:?}",
        d.jobs.calls()
    );
    let audit = d.handles.store.list_audit(10).await.unwrap();
    let actions: Vec<_> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["broadcast", "pause_job"]);
    let pause = &audit[1];
    assert_eq!((pause.uid, pause.pid), (5151, Some(777)));
    assert_eq!(pause.user.as_deref(), Some("mallory"));
    assert_eq!(pause.client, "superset-console");
    assert_eq!(pause.target.as_deref(), Some("update"));
    assert!(
        pause
            .error
            .as_deref()
            .is_some_and(|e| e.contains("may only read"))
    );
}

#[tokio::test]
async fn every_mutation_is_audited_with_its_outcome() {
    let d = start().await;
    let c = client(&d.socket).await;
    c.pause_job(ctx(), JobName::from("update"))
        .await
        .unwrap()
        .unwrap();
    let missing = c
        .resume_job(ctx(), JobName::from("nope"), false)
        .await
        .unwrap();
    assert!(matches!(missing, Err(ControlError::NotFound { .. })));
    c.run_job(ctx(), JobName::from("official"))
        .await
        .unwrap()
        .unwrap();
    c.cancel(ctx(), CancelTarget::Run(RunId(999)))
        .await
        .unwrap()
        .ok();
    c.mark_all_sent(ctx()).await.unwrap().unwrap();
    let entries = c
        .list_audit(ctx(), AuditQuery { limit: 50 })
        .await
        .unwrap()
        .unwrap();
    let seen: Vec<_> = entries
        .iter()
        .rev()
        .map(|e| (e.action.as_str(), e.target.as_deref(), e.error.is_none()))
        .collect();
    assert_eq!(
        seen,
        [
            ("pause_job", Some("update"), true),
            ("resume_job", Some("nope"), false),
            ("run_job", Some("official"), true),
            ("cancel", Some("run 999"), false),
            ("mark_all_sent", None, true),
        ]
    );
    let me = nix::unistd::geteuid().as_raw();
    assert!(entries.iter().all(|e| e.uid == me && e.client == "test"));
    assert!(entries.iter().all(|e| e.pid == Some(std::process::id())));
}

#[tokio::test]
async fn notices_deliveries_and_broadcast() {
    let d = start().await;
    let c = client(&d.socket).await;
    let empty = c.broadcast(ctx(), "   ".into()).await.unwrap();
    assert!(matches!(empty, Err(ControlError::Invalid { .. })));
    let receipt = c
        .broadcast(ctx(), "Drive at 10 <b>sharp</b> 🎉".into())
        .await
        .unwrap()
        .unwrap();
    assert!(
        d.jobs.calls().iter().any(|c| c == "run_job update"),
        "a broadcast asks for a delivering run: {:?}",
        d.jobs.calls()
    );
    let stored = d
        .handles
        .store
        .get_notice(&receipt.notice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.source, "Broadcast");
    assert_eq!(
        stored.formatted_message,
        "Drive at 10 &lt;b&gt;sharp&lt;/b&gt; 🎉"
    );
    let unsent = c
        .list_notices(
            ctx(),
            NoticeQuery {
                unsent_only: true,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unsent.len(), 1);
    assert_eq!(unsent[0].id, receipt.notice_id);
    assert!(!unsent[0].is_sent);
    let rows = c
        .list_deliveries(ctx(), receipt.notice_id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(rows.is_empty(), "nothing planned yet: {rows:?}");
    let missing = c.list_deliveries(ctx(), "nope".into()).await.unwrap();
    assert!(matches!(missing, Err(ControlError::NotFound { .. })));
    assert_eq!(c.mark_all_sent(ctx()).await.unwrap(), Ok(1));
    let unsent = c
        .list_notices(
            ctx(),
            NoticeQuery {
                unsent_only: true,
                limit: 10,
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(unsent.is_empty());
}

#[tokio::test]
async fn services_switch_one_at_a_time_and_status_counts_connections() {
    let d = start().await;
    let registry = d.handles.services.clone();
    let cancel = CancellationToken::new();
    let bot = tokio::spawn(crate::services::supervise(
        registry.clone(),
        "bot",
        cancel.clone(),
        |token| async move {
            token.cancelled().await;
            Ok(())
        },
    ));
    let c = client(&d.socket).await;
    let _second = client(&d.socket).await;
    let status = c.get_status(ctx()).await.unwrap().unwrap();
    assert_eq!(status.connections, 2);
    let stopped = c
        .control_service(ctx(), ServiceName::Bot, ServiceAction::Stop)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stopped.state, ServiceState::Stopped);
    assert_eq!(
        registry.get("scheduler").map(|s| s.state),
        Some(ServiceState::Running)
    );
    let started = c
        .control_service(ctx(), ServiceName::Bot, ServiceAction::Restart)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(started.state, ServiceState::Running);
    let web = c
        .control_service(ctx(), ServiceName::Web, ServiceAction::Stop)
        .await
        .unwrap();
    assert!(matches!(web, Err(ControlError::NotFound { .. })), "{web:?}");
    cancel.cancel();
    bot.await.unwrap();
}
