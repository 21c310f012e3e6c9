//! The audit log: appended records read back whole, newest first, ids increasing.

use crate::store::{AuditRecord, Store};

use super::at;

fn record(secs: i64, action: &str, error: Option<&str>) -> AuditRecord {
    AuditRecord {
        id: 0,
        at: at(secs),
        uid: 1000,
        user: Some("ops".to_owned()),
        pid: Some(4242),
        client: "supersetctl".to_owned(),
        action: action.to_owned(),
        target: Some("update".to_owned()),
        error: error.map(str::to_owned),
    }
}

pub async fn audit_appends_and_lists_newest_first(store: &dyn Store) {
    assert!(
        store.list_audit(10).await.unwrap().is_empty(),
        "a fresh store has no audit records"
    );
    let first = store
        .append_audit(&record(1, "pause_job", None))
        .await
        .unwrap();
    let mut refused = record(2, "run_job", Some("permission denied: uid 1001"));
    refused.user = None;
    refused.pid = None;
    refused.target = None;
    let second = store.append_audit(&refused).await.unwrap();
    assert!(second > first, "audit ids increase: {first} then {second}");
    let listed = store.list_audit(10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        listed[0],
        AuditRecord {
            id: second,
            ..refused
        },
        "the newest record comes first and round-trips every field, absent ones included"
    );
    assert_eq!(
        listed[1],
        AuditRecord {
            id: first,
            ..record(1, "pause_job", None)
        }
    );
    assert_eq!(
        store.list_audit(1).await.unwrap().len(),
        1,
        "limit is honoured"
    );
}
