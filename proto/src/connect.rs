//! Opening a connection to the daemon: the socket, the tarpc client and the version handshake.
//!
//! Both clients use this, so "the daemon is not there", "the daemon did not answer in time" and
//! "the daemon speaks another protocol" are told apart in one place. Retrying is the caller's
//! business: the console reconnects with backoff, `supersetctl` gives up with exit code 3.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use interprocess::local_socket::tokio::Stream;
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ToFsName};
use tarpc::tokio_serde::formats::Bincode;
use tarpc::tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::{
    ClientHello, ControlClient, ControlError, MAX_FRAME_BYTES, PROTO_VERSION, ServerHello,
};

/// A handshaken connection.
pub struct Connection {
    pub client: ControlClient,
    pub hello: ServerHello,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot reach supersetd at {path}: {source}")]
    Unreachable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("supersetd at {path} did not answer within {timeout_ms} ms")]
    Timeout { path: PathBuf, timeout_ms: u64 },
    #[error("supersetd at {path} closed the connection: {reason}")]
    Transport { path: PathBuf, reason: String },
    #[error(
        "incompatible daemon version: supersetd {daemon_version} speaks protocol {daemon}, this client speaks {client}; upgrade the older side"
    )]
    Incompatible {
        daemon: u32,
        client: u32,
        daemon_version: String,
    },
    #[error("supersetd refused the connection: {0}")]
    Refused(ControlError),
}

/// Build a tarpc transport over an accepted or connected local socket stream. The daemon uses
/// this for each accepted connection so both sides frame identically.
pub fn transport<Req, Resp>(
    conn: Stream,
) -> tarpc::serde_transport::Transport<Stream, Req, Resp, Bincode<Req, Resp>>
where
    Req: for<'de> serde::Deserialize<'de>,
    Resp: serde::Serialize,
{
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME_BYTES)
        .new_codec();
    tarpc::serde_transport::new(Framed::new(conn, codec), Bincode::default())
}

/// A tarpc context whose deadline is `timeout` from now.
pub fn context_with_timeout(timeout: Duration) -> tarpc::context::Context {
    let mut ctx = tarpc::context::current();
    ctx.deadline = Instant::now() + timeout;
    ctx
}

/// Connect to the daemon at `path` and exchange versions, all within `timeout`.
pub async fn connect(
    path: &Path,
    client_name: &str,
    timeout: Duration,
) -> Result<Connection, ConnectError> {
    let fut = connect_inner(path, client_name, timeout);
    match tokio::time::timeout(timeout, fut).await {
        Ok(result) => result,
        Err(_) => Err(ConnectError::Timeout {
            path: path.to_path_buf(),
            timeout_ms: timeout.as_millis() as u64,
        }),
    }
}

async fn connect_inner(
    path: &Path,
    client_name: &str,
    timeout: Duration,
) -> Result<Connection, ConnectError> {
    let unreachable = |source| ConnectError::Unreachable {
        path: path.to_path_buf(),
        source,
    };
    let name = path.to_fs_name::<GenericFilePath>().map_err(unreachable)?;
    let stream = Stream::connect(name).await.map_err(unreachable)?;
    let client = ControlClient::new(tarpc::client::Config::default(), transport(stream)).spawn();
    let hello = ClientHello {
        proto_version: PROTO_VERSION,
        client_version: env!("CARGO_PKG_VERSION").to_owned(),
        client_name: client_name.to_owned(),
    };
    let reply = client
        .hello(context_with_timeout(timeout), hello)
        .await
        .map_err(|e| hello_error(path, timeout, e))?;
    match reply {
        Ok(hello) => Ok(Connection { client, hello }),
        Err(ControlError::IncompatibleVersion { daemon, client }) => {
            Err(ConnectError::Incompatible {
                daemon,
                client,
                daemon_version: "unknown".into(),
            })
        }
        Err(other) => Err(ConnectError::Refused(other)),
    }
}

/// A daemon that closes the connection before answering `hello` is most likely over its
/// connection cap and too busy even to say so; tarpc's own words ("the channel was
/// disconnected due to a critical error") tell the user nothing.
fn hello_error(path: &Path, timeout: Duration, err: tarpc::client::RpcError) -> ConnectError {
    match rpc_error(path, timeout, err) {
        ConnectError::Transport { path, .. } => ConnectError::Transport {
            path,
            reason: "it hung up before answering hello (too many clients connected?)".into(),
        },
        other => other,
    }
}

/// Map a tarpc transport error to a [`ConnectError`], keeping "no answer in time" apart.
pub fn rpc_error(path: &Path, timeout: Duration, err: tarpc::client::RpcError) -> ConnectError {
    match err {
        tarpc::client::RpcError::DeadlineExceeded => ConnectError::Timeout {
            path: path.to_path_buf(),
            timeout_ms: timeout.as_millis() as u64,
        },
        other => ConnectError::Transport {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}
