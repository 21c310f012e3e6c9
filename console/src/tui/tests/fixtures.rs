//! Daemon replies as the connection task would report them, with names and errors in several
//! scripts (emoji, CJK, Devanagari) so width handling is exercised.

use std::collections::BTreeMap;

use chrono::Duration;
use supersetd_proto::{
    Access, AuditEntry, DaemonStatus, DeliveryInfo, DeliveryState, JobInfo, JobName, LogBatch,
    LogEntry, LogLevel, NoticeInfo, Outcome, RunId, RunInfo, ServerHello, ServiceInfo,
    ServiceState, StepInfo, StoreStatus, SubscriberInfo, Trigger,
};

use super::now;
use crate::tui::msg::{ConnEvent, LogFilter, Msg};

pub fn hello(access: Access) -> Msg {
    Msg::Conn(ConnEvent::Connected(ServerHello {
        proto_version: supersetd_proto::PROTO_VERSION,
        daemon_version: "0.1.0".into(),
        pid: 4242,
        access,
    }))
}

pub fn status() -> Msg {
    let service = |name: &str, state, restarts, last_error: Option<&str>| ServiceInfo {
        name: name.into(),
        state,
        since: now() - Duration::minutes(12),
        restarts,
        last_error: last_error.map(str::to_owned),
    };
    Msg::Conn(ConnEvent::Status(DaemonStatus {
        pid: 4242,
        version: "0.1.0".into(),
        started_at: now() - Duration::hours(3),
        uptime_ms: 3 * 3_600_000 + 12 * 60_000,
        rss_bytes: 13 * 1024 * 1024,
        store: StoreStatus {
            backend: "embedded".into(),
            location: "/var/lib/supersetd/store.db".into(),
            healthy: true,
            error: None,
        },
        services: vec![
            service("bot", ServiceState::Running, 0, None),
            service(
                "web",
                ServiceState::Backoff,
                3,
                Some("त्रुटि: पोर्ट 8080 व्यस्त है 🚫"),
            ),
            service(
                "scheduler",
                ServiceState::Disabled("no jobs".into()),
                0,
                None,
            ),
        ],
        connections: 2,
    }))
}

fn run(id: u64, job: &str, outcome: Outcome, error: Option<&str>) -> RunInfo {
    RunInfo {
        id: RunId(id),
        job: JobName::from(job),
        trigger: Trigger::Schedule,
        started_at: now() - Duration::minutes(40),
        ended_at: Some(now() - Duration::minutes(39)),
        duration_ms: Some(12_345),
        outcome,
        steps: vec![StepInfo {
            name: "superset".into(),
            started_at: now() - Duration::minutes(40),
            ended_at: Some(now() - Duration::minutes(39)),
            outcome,
            counts: BTreeMap::from([("notices_new".to_owned(), 3)]),
            error: None,
        }],
        error: error.map(str::to_owned),
    }
}

/// Two jobs: `update` (idle, last run failed with a CJK error) and `官方通知🎓` (running).
pub fn jobs() -> Msg {
    Msg::Conn(ConnEvent::Jobs(vec![
        JobInfo {
            name: JobName::from("update"),
            schedule: "0 0 * * * *".into(),
            timezone: "Asia/Kolkata".into(),
            is_paused: false,
            next_run: Some(now() + Duration::minutes(20)),
            last_run: Some(run(
                6,
                "update",
                Outcome::Failed,
                Some("门户返回错误 503 😱"),
            )),
            active_run: None,
        },
        JobInfo {
            name: JobName::from("官方通知🎓"),
            schedule: "0 30 * * * *".into(),
            timezone: "Asia/Kolkata".into(),
            is_paused: true,
            next_run: None,
            last_run: Some(run(5, "官方通知🎓", Outcome::Succeeded, None)),
            active_run: Some(RunId(7)),
        },
    ]))
}

pub fn log_entry(seq: u64, level: LogLevel, text: &str) -> LogEntry {
    LogEntry {
        seq,
        time: now(),
        level,
        target: "supersetd::pipeline".into(),
        text: text.into(),
        run: None,
    }
}

pub fn logs(min_level: Option<LogLevel>, entries: Vec<LogEntry>, dropped: u64) -> Msg {
    let next_cursor = entries.last().map(|e| e.seq + 1).unwrap_or(0);
    Msg::Conn(ConnEvent::Logs {
        filter: LogFilter {
            min_level,
            run: None,
        },
        batch: LogBatch {
            entries,
            next_cursor,
            dropped,
        },
    })
}

pub fn sample_logs() -> Msg {
    logs(
        None,
        vec![
            log_entry(10, LogLevel::Info, "fetched items=3 new=1"),
            log_entry(11, LogLevel::Warn, "telegram 429 retry_after=5 聊天 🚀"),
            log_entry(12, LogLevel::Error, "सूचना भेजने में विफल chat_id=42"),
        ],
        12,
    )
}

/// Three runs, the newest failed with a Devanagari error in its deliver step.
pub fn runs() -> Msg {
    let mut failed = run(9, "update", Outcome::Failed, Some("डिलीवरी विफल 🚫"));
    failed.steps[0].error = Some("门户返回错误 503 😱".into());
    Msg::Conn(ConnEvent::Runs(vec![
        failed,
        run(8, "官方通知🎓", Outcome::Succeeded, None),
        run(7, "update", Outcome::Cancelled, None),
    ]))
}

fn subscriber(
    user_id: i64,
    first: &str,
    username: Option<&str>,
    is_active: bool,
) -> SubscriberInfo {
    SubscriberInfo {
        user_id,
        chat_id: user_id,
        username: username.map(str::to_owned),
        first_name: Some(first.to_owned()),
        last_name: None,
        is_active,
        created_at: now() - Duration::days(3),
        updated_at: now() - Duration::days(1),
    }
}

/// Names in three scripts and an emoji; one has left.
pub fn subscribers() -> Msg {
    Msg::Conn(ConnEvent::Subscribers(vec![
        subscriber(1001, "आशा", Some("asha_k"), true),
        subscriber(1002, "王小明", None, true),
        subscriber(1003, "Ravi 🎓", Some("ravi"), false),
    ]))
}

fn notice(id: &str, title: &str, is_sent: bool) -> NoticeInfo {
    NoticeInfo {
        id: id.to_owned(),
        title: title.to_owned(),
        source: "Superset".into(),
        author: "Placement Office".into(),
        category: None,
        created_at: now() - Duration::hours(2),
        saved_at: now() - Duration::hours(2),
        is_sent,
        sent_at: None,
    }
}

pub fn notices() -> Msg {
    Msg::Conn(ConnEvent::Notices(vec![
        notice("n2", "भर्ती अभियान: Acme 🚀", false),
        notice("n1", "校园招聘 Globex", true),
    ]))
}

pub fn deliveries(notice_id: &str) -> Msg {
    let row = |recipient: &str, state, error: Option<&str>| DeliveryInfo {
        notice_id: notice_id.to_owned(),
        recipient: recipient.to_owned(),
        state,
        attempts: 2,
        chunks_sent: 1,
        message_ids: vec![5],
        last_error: error.map(str::to_owned),
        not_before: None,
        created_at: now() - Duration::hours(1),
        updated_at: now() - Duration::minutes(5),
    };
    Msg::Conn(ConnEvent::Deliveries {
        notice_id: notice_id.to_owned(),
        rows: vec![
            row("user:1001", DeliveryState::Sent, None),
            row(
                "user:1003",
                DeliveryState::Blocked,
                Some("Forbidden: bot was blocked by the user 🙅"),
            ),
        ],
    })
}

/// Every kind of data, connected.
pub fn everything() -> Vec<Msg> {
    vec![
        hello(Access::Operator),
        status(),
        jobs(),
        sample_logs(),
        runs(),
        subscribers(),
        notices(),
        deliveries("n2"),
        audit(),
    ]
}

pub fn audit() -> Msg {
    let entry = |id, user: &str, uid, action: &str, target: &str, error: Option<&str>| AuditEntry {
        id,
        at: now() - Duration::minutes(3),
        uid,
        user: Some(user.to_owned()),
        pid: Some(4000 + uid),
        client: "superset-console".into(),
        action: action.into(),
        target: Some(target.into()),
        error: error.map(str::to_owned),
    };
    Msg::Conn(ConnEvent::Audit(vec![
        entry(
            2,
            "विवेक",
            1002,
            "run_job",
            "update",
            Some("permission denied: uid 1002 (विवेक) may only read"),
        ),
        entry(1, "ops", 1000, "pause_job", "官方通知🎓", None),
    ]))
}
