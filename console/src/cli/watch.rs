//! `--watch` for `status` and `jobs`: the same rendering, again every interval.
//!
//! On a terminal each snapshot replaces the last (cursor home, clear), like `watch(1)`; into a
//! pipe snapshots follow each other, separated by a blank line; with `--json` each is one line.
//! A daemon that goes away is waited for, with one line on stderr, rather than ending the
//! watch: an operator watching through a restart wants to see it come back. Only the first
//! connection must succeed (exit 3 otherwise), so a typo in `--socket` still fails at once.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use serde::Serialize;

use super::Env;
use super::exit::{CliError, Exit};
use super::output;
use crate::client::{Client, ClientError};

/// Refresh `what` every `interval` until interrupted: `fetch` gets a fresh reply, `render`
/// draws its table form.
pub async fn watch<T, F, Fut, R>(
    env: &Env,
    what: &str,
    interval: Duration,
    fetch: F,
    render: R,
) -> Result<Exit, CliError>
where
    T: Serialize,
    F: Fn(Client) -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
    R: Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
{
    let clear = !env.style.json && std::io::stdout().is_terminal();
    let mut client = Some(env.connect().await?);
    let mut away = false;
    loop {
        if client.is_none() {
            client = env.connect().await.ok();
        }
        if let Some(c) = client.clone() {
            match fetch(c).await {
                Ok(value) => {
                    if away {
                        eprintln!("supersetctl: {what}: connected again");
                        away = false;
                    }
                    snapshot(env, clear, &value, &render)?;
                }
                Err(e) if e.is_unreachable() => {
                    if !away {
                        eprintln!("supersetctl: {what}: lost supersetd ({e}); waiting for it");
                        away = true;
                    }
                    client = None;
                }
                Err(e) => return Err(CliError::client(what, e)),
            }
        }
        tokio::time::sleep(interval).await;
    }
}

fn snapshot<T: Serialize>(
    env: &Env,
    clear: bool,
    value: &T,
    render: &impl Fn(&mut Vec<u8>, &T) -> std::io::Result<()>,
) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, value)?;
    } else {
        let mut buf = Vec::new();
        render(&mut buf, value)?;
        if clear {
            out.write_all(b"\x1b[H\x1b[2J")?;
        } else {
            buf.push(b'\n');
        }
        out.write_all(&buf)?;
    }
    out.flush()?;
    Ok(())
}
