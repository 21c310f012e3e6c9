//! The accept loop and the per-connection tarpc channel.
//!
//! One task per connection, tracked, each bounded: a cap on connections, a cap on requests in
//! flight per connection, a frame limit in the codec, and a deadline for the first `hello`. A
//! client that sends garbage, disconnects mid-call or never reads can only end its own
//! connection. Requests run inside their connection's task (not spawned), so a connection
//! that goes away takes its unfinished calls with it.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Sink, SinkExt, StreamExt};
use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use supersetd_proto::{Access, Control, ControlError, ControlRequest, ControlResponse};
use tarpc::server::{BaseChannel, Channel};
use tarpc::{ClientMessage, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::Handles;
use super::access::Peer;
use super::handlers::ControlServer;
use super::listener::ControlListener;

/// Connections served at once. Each operator runs a CLI or a console or two; 64 leaves ample
/// room while bounding what a runaway script looping on `connect` can hold open. Connections
/// beyond it are answered "busy" at `hello` and closed, so their clients fail fast and say why.
pub const MAX_CONNECTIONS: usize = 64;
/// Over-cap connections being told "busy" at once; past these they are closed unanswered
/// (the client then reports a hang-up), so a flood costs no more than this.
const MAX_REFUSING: usize = 8;
/// How long an over-cap connection gets to say `hello` and hear "busy".
const BUSY_HELLO_TIMEOUT: Duration = Duration::from_secs(1);
/// Requests in flight per connection. The console pipelines a handful (status, jobs, a log
/// follow); more than this from one client is a bug or abuse and gets an error reply.
pub const MAX_IN_FLIGHT: usize = 16;
/// A connection must say `hello` within this time or it is closed: it frees the slot held by
/// a client that connects and stalls (or sends half a frame).
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a refused peer's connection stays open so the refusal reaches it.
const REFUSAL_FLUSH: Duration = Duration::from_millis(200);
/// Accept errors (EMFILE and the like) back off up to this, instead of spinning.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Serve the control API on `listener` until `cancel` fires, then close every connection and
/// remove the socket file.
pub async fn serve(listener: ControlListener, handles: Handles, cancel: CancellationToken) {
    let ControlListener {
        listener,
        path,
        policy,
    } = listener;
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let refusing = Arc::new(Semaphore::new(MAX_REFUSING));
    let refusals: RefusalLog = Arc::default();
    let tracker = TaskTracker::new();
    let own_uid = nix::unistd::geteuid().as_raw();
    let mut backoff = Duration::from_millis(10);
    tracing::info!(socket = %path.display(), "control socket listening");
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%error, "control socket accept failed");
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(10);
        let creds = stream.peer_creds().ok();
        let (uid, gid, pid) = creds.as_ref().map_or((None, None, None), |c| {
            let pid = c.pid().and_then(|p| u32::try_from(p).ok());
            (c.euid(), c.egid(), pid)
        });
        let span = tracing::info_span!("rpc", peer_uid = ?uid, peer_pid = ?pid);
        let conn = match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                let conns = Connections {
                    permits: permits.clone(),
                    refusals: refusals.clone(),
                };
                let handles = handles.clone();
                let cancel = cancel.clone();
                let task = async move {
                    let peer = identify(uid, gid, pid).await;
                    let access = policy.decide(&peer, own_uid);
                    let server = connection_server(&handles, access, peer, conns, None);
                    serve_connection(stream, server, HELLO_TIMEOUT, cancel, permit).await;
                };
                tracker.spawn(task.instrument(span));
                continue;
            }
            Err(_) => {
                tracing::warn!(
                    max = MAX_CONNECTIONS,
                    "control connection refused: too many connections"
                );
                let Ok(permit) = refusing.clone().try_acquire_owned() else {
                    continue;
                };
                let peer = Peer {
                    uid,
                    gid,
                    pid,
                    ..Peer::default()
                };
                let conns = Connections {
                    permits: permits.clone(),
                    refusals: refusals.clone(),
                };
                let server = connection_server(&handles, None, peer, conns, Some(busy()));
                serve_connection(stream, server, BUSY_HELLO_TIMEOUT, cancel.clone(), permit)
            }
        };
        tracker.spawn(conn.instrument(span));
    }
    tracker.close();
    tracker.wait().await;
    // Dropping the listener unlinks the socket file (interprocess reclaims the name).
    drop(listener);
    tracing::info!(socket = %path.display(), "control socket closed");
}

/// Name and groups of the peer, looked up on the blocking pool (NSS may read files or ask a
/// directory service).
async fn identify(uid: Option<u32>, gid: Option<u32>, pid: Option<u32>) -> Peer {
    tokio::task::spawn_blocking(move || Peer::identify(uid, gid, pid))
        .await
        .unwrap_or(Peer {
            uid,
            gid,
            pid,
            ..Peer::default()
        })
}

/// How many connections are open, for `status`: the permits taken from the cap.
#[derive(Clone)]
pub(crate) struct Connections {
    permits: Arc<Semaphore>,
    /// When each refused uid was last written to the audit log.
    refusals: RefusalLog,
}

type RefusalLog = Arc<std::sync::Mutex<HashMap<Option<u32>, Instant>>>;

/// A refused peer is audited at most once per this interval, so a stranger looping on
/// `connect` cannot grow the audit log without bound.
const REFUSAL_AUDIT_EVERY: Duration = Duration::from_secs(60);
/// Distinct refused uids remembered; past it the memory is cleared (and each is audited again).
const MAX_REFUSED_PEERS: usize = 1024;

impl Connections {
    /// Whether a refusal of `uid` should be audited now (and remember that it was).
    pub(crate) fn audit_refusal(&self, uid: Option<u32>) -> bool {
        let mut seen = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if seen
            .get(&uid)
            .is_some_and(|at| now.duration_since(*at) < REFUSAL_AUDIT_EVERY)
        {
            return false;
        }
        if seen.len() >= MAX_REFUSED_PEERS {
            seen.clear();
        }
        seen.insert(uid, now);
        true
    }

    pub(crate) fn open(&self) -> u32 {
        let open = MAX_CONNECTIONS.saturating_sub(self.permits.available_permits());
        u32::try_from(open).unwrap_or(u32::MAX)
    }
}

/// What an over-cap client hears. `Unavailable` needs no protocol change, and clients already
/// show its reason.
fn busy() -> ControlError {
    ControlError::Unavailable {
        service: "control socket".into(),
        reason: format!(
            "daemon busy: too many control connections ({MAX_CONNECTIONS}); close idle consoles or scripts and retry"
        ),
    }
}

fn connection_server(
    handles: &Handles,
    access: Option<Access>,
    peer: Peer,
    connections: Connections,
    refusal: Option<ControlError>,
) -> ControlServer {
    ControlServer {
        handles: handles.clone(),
        access,
        peer: Arc::new(peer),
        client: Arc::default(),
        connections,
        drop_conn: CancellationToken::new(),
        greeted: CancellationToken::new(),
        refusal,
    }
}

async fn serve_connection(
    stream: Stream,
    server: ControlServer,
    hello_timeout: Duration,
    cancel: CancellationToken,
    _permit: OwnedSemaphorePermit,
) {
    let (drop_conn, greeted) = (server.drop_conn.clone(), server.greeted.clone());
    let channel =
        BaseChannel::with_defaults(logged_transport(stream)).max_concurrent_requests(MAX_IN_FLIGHT);
    let requests = channel
        .execute(server.serve())
        .for_each_concurrent(None, |call| call);
    tokio::pin!(requests);
    let refused = async {
        drop_conn.cancelled().await;
        tokio::time::sleep(REFUSAL_FLUSH).await;
    };
    let silent = async {
        if tokio::time::timeout(hello_timeout, greeted.cancelled())
            .await
            .is_ok()
        {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = &mut requests => tracing::debug!("control connection closed by the client"),
        // Replies already on their way (the `shutdown` that caused this, above all) get a
        // moment to reach their clients; long polls are cut off.
        () = cancel.cancelled() => {
            let _ = tokio::time::timeout(REFUSAL_FLUSH, &mut requests).await;
        }
        () = refused => {}
        () = silent => tracing::debug!("control connection closed: no hello in time"),
    }
}

/// The connection's transport, logging its errors by cause. tarpc itself logs them all as
/// warnings (and is held to error for it); a client that hangs up mid-reply is routine.
fn logged_transport(
    stream: Stream,
) -> impl futures::Stream<Item = io::Result<ClientMessage<ControlRequest>>>
+ Sink<Response<ControlResponse>, Error = io::Error> {
    supersetd_proto::connect::transport(stream)
        .map(|item| item.inspect_err(log_transport_error))
        .sink_map_err(|error| {
            log_transport_error(&error);
            error
        })
}

fn log_transport_error(error: &io::Error) {
    use io::ErrorKind::{BrokenPipe, ConnectionAborted, ConnectionReset, UnexpectedEof};
    if matches!(
        root_kind(error),
        BrokenPipe | ConnectionReset | ConnectionAborted | UnexpectedEof
    ) {
        tracing::debug!(%error, "control client hung up");
    } else {
        tracing::warn!(%error, "control connection dropped: transport error (a malformed or oversized request?)");
    }
}

/// tarpc wraps the socket's error in an `ErrorKind::Other`; the cause is underneath.
fn root_kind(error: &io::Error) -> io::ErrorKind {
    match error.get_ref().and_then(|e| e.downcast_ref::<io::Error>()) {
        Some(inner) => root_kind(inner),
        None => error.kind(),
    }
}

/// A served object outside the accept loop, for tests that call the handlers directly with a
/// chosen peer and access.
#[cfg(test)]
pub(crate) fn test_server(handles: &Handles, access: Option<Access>, peer: Peer) -> ControlServer {
    let conns = Connections {
        permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        refusals: Arc::default(),
    };
    connection_server(handles, access, peer, conns, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_peer_is_audited_once_a_minute() {
        let conns = Connections {
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
            refusals: Arc::default(),
        };
        assert!(conns.audit_refusal(Some(1001)));
        assert!(
            !conns.audit_refusal(Some(1001)),
            "a flood writes one record"
        );
        assert!(
            conns.audit_refusal(Some(1002)),
            "another uid is its own entry"
        );
        for uid in 0..MAX_REFUSED_PEERS as u32 {
            conns.audit_refusal(Some(10_000 + uid));
        }
        assert!(
            conns.audit_refusal(Some(1001)),
            "the memory is bounded, then starts over"
        );
    }
}
