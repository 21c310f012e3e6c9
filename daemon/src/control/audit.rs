//! The audit trail of the control socket: every mutating call, allowed or refused, becomes an
//! [`AuditRecord`] in the store.
//!
//! Recording wraps the call ([`ControlServer::audited`]) rather than living in each handler,
//! so a new mutating method cannot forget it: it has no other way to pass the operator check.
//! A store that cannot take the record does not block the action (an operator fixing a broken
//! daemon must still be able to act); the failure is logged at `error`, which the operator
//! sees.

use std::future::Future;

use chrono::Utc;
use supersetd_proto::{AuditEntry, AuditQuery, ControlError};

use super::handlers::{ControlServer, store_error};
use crate::store::AuditRecord;

/// The most records one `list_audit` returns.
const MAX_AUDIT: u32 = 1000;

impl ControlServer {
    /// Check that the peer may act, run `call`, and record who asked for what and how it ended.
    pub(super) async fn audited<T>(
        &self,
        action: &str,
        target: Option<String>,
        call: impl Future<Output = Result<T, ControlError>>,
    ) -> Result<T, ControlError> {
        let result = match self.operator() {
            Ok(()) => call.await,
            Err(denied) => Err(denied),
        };
        self.record(action, target, result.as_ref().err()).await;
        result
    }

    pub(super) async fn record(
        &self,
        action: &str,
        target: Option<String>,
        error: Option<&ControlError>,
    ) {
        let record = AuditRecord {
            id: 0,
            at: Utc::now(),
            uid: self.peer.uid.unwrap_or(u32::MAX),
            user: self.peer.user.clone(),
            pid: self.peer.pid,
            client: self.client.get().cloned().unwrap_or_default(),
            action: action.to_owned(),
            target,
            error: error.map(ToString::to_string),
        };
        if let Err(error) = self.handles.store.append_audit(&record).await {
            tracing::error!(%error, action, "cannot write the audit record; the action was not blocked");
        }
    }

    pub(super) async fn audit_entries(
        &self,
        query: AuditQuery,
    ) -> Result<Vec<AuditEntry>, ControlError> {
        let limit = query.limit.clamp(1, MAX_AUDIT);
        let records = self
            .handles
            .store
            .list_audit(limit)
            .await
            .map_err(store_error)?;
        Ok(records.into_iter().map(entry).collect())
    }
}

fn entry(r: AuditRecord) -> AuditEntry {
    AuditEntry {
        id: r.id,
        at: r.at,
        uid: r.uid,
        user: r.user,
        pid: r.pid,
        client: r.client,
        action: r.action,
        target: r.target,
        error: r.error,
    }
}
