//! Operation rates of both store backends: the embedded store on a real file with the
//! production settings (WAL, `synchronous = FULL`, so every write includes an fsync), and the
//! MongoDB store over TCP, against `SUPERSETD_BENCH_MONGO_URI` when set (a real MongoDB), else
//! an nx-27017 started from `.venv-mongo/` (`scripts/mongo install`), else skipped with a note.
//!
//! A plain `main` timed with `Instant` rather than a bench framework: we want orders of
//! magnitude (can the ledger keep up with Telegram's ~30 messages/s?), not statistics.
//! Run with `cargo bench -j2 -p supersetd --bench store`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use supersetd::secret::Secret;
use supersetd::store::contract::{at, notice};
use supersetd::store::embedded::EmbeddedStore;
use supersetd::store::mongo::{MongoSettings, MongoStore};
use supersetd::store::{DeliveryStatus, Recipient, Store};

const INSERTS: usize = 1_000;
const DELIVERIES: i64 = 1_000;
const OPEN_ROWS: i64 = 1_000;
const LISTS: usize = 200;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!("== embedded (SQLite file, fsync per commit)");
    let store = EmbeddedStore::open(&dir.path().join("bench.db"))?;
    bench(&store, LISTS).await?;
    let (uri, _server) = match std::env::var("SUPERSETD_BENCH_MONGO_URI") {
        Ok(uri) => (uri, None),
        Err(_) => match start_nx() {
            Some((uri, child)) => (uri, Some(KillOnDrop(child))),
            None => {
                println!(
                    "== mongodb: skipped (no SUPERSETD_BENCH_MONGO_URI, no .venv-mongo; run scripts/mongo install)"
                );
                return Ok(());
            }
        },
    };
    let store = MongoStore::open(&MongoSettings {
        uri: Secret::new(uri),
        database: format!("bench_{}", std::process::id()),
        server_selection_timeout: Duration::from_secs(5),
        operation_timeout: Duration::from_secs(60),
    })
    .await?;
    println!("== mongodb ({})", store.server_version().await?);
    bench(&store, LISTS / 10).await
}

async fn bench(store: &dyn Store, lists: usize) -> anyhow::Result<()> {
    insert_notices(store).await?;
    plan_and_claim(store).await?;
    list_unsent(store, lists).await
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An in-memory nx-27017 on a free port, when `scripts/mongo install` has run.
fn start_nx() -> Option<(String, Child)> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-mongo/bin/nx-27017");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let dir = std::env::temp_dir();
    let child = Command::new(&bin)
        .args(["--db", "memory", "--port", &port.to_string()])
        .arg("--pid-file")
        .arg(dir.join(format!("nx-bench-{port}.pid")))
        .arg("--log-file")
        .arg(dir.join(format!("nx-bench-{port}.log")))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((
                format!("mongodb://127.0.0.1:{port}/?directConnection=true"),
                child,
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(KillOnDrop(child));
    None
}

fn report(what: &str, ops: usize, elapsed: Duration) {
    let rate = ops as f64 / elapsed.as_secs_f64();
    println!(
        "{what:<48} {ops:>6} ops in {:>8.1} ms = {rate:>10.0} ops/s",
        elapsed.as_secs_f64() * 1e3
    );
}

/// One `save_fetch` per notice: one transaction, one fsync each.
async fn insert_notices(store: &dyn Store) -> anyhow::Result<()> {
    let started = Instant::now();
    for i in 0..INSERTS {
        store
            .save_fetch(vec![notice(&format!("ins{i}"), i as i64)], vec![])
            .await?;
    }
    report(
        "insert notice (save_fetch, 1 notice)",
        INSERTS,
        started.elapsed(),
    );
    Ok(())
}

/// Plan one notice for many recipients, then claim and finish each row as the delivery
/// engine does: `Sending` before the send, `Sent` after it.
async fn plan_and_claim(store: &dyn Store) -> anyhow::Result<()> {
    store
        .save_fetch(vec![notice("broadcast", 0)], vec![])
        .await?;
    let recipients: Vec<Recipient> = (0..DELIVERIES)
        .map(|user_id| Recipient::Subscriber { user_id })
        .collect();
    let started = Instant::now();
    store
        .plan_deliveries("broadcast", &recipients, at(0))
        .await?;
    report(
        "plan deliveries (rows, one call)",
        recipients.len(),
        started.elapsed(),
    );

    let rows = store.deliveries_for_notice("broadcast").await?;
    let started = Instant::now();
    for mut row in rows {
        row.status = DeliveryStatus::Sending;
        row.attempts += 1;
        store.save_delivery(&row).await?;
        row.status = DeliveryStatus::Sent;
        row.chunks_sent = 1;
        row.message_ids.push(1);
        store.save_delivery(&row).await?;
    }
    report(
        "claim delivery (save_delivery Sending then Sent)",
        DELIVERIES as usize,
        started.elapsed(),
    );
    Ok(())
}

/// `due_deliveries` with `OPEN_ROWS` rows open and many finished ones around them.
async fn list_unsent(store: &dyn Store, lists: usize) -> anyhow::Result<()> {
    store.save_fetch(vec![notice("open", 1)], vec![]).await?;
    let recipients: Vec<Recipient> = (0..OPEN_ROWS)
        .map(|user_id| Recipient::Subscriber { user_id })
        .collect();
    store.plan_deliveries("open", &recipients, at(0)).await?;
    let started = Instant::now();
    for _ in 0..lists {
        let due = store.due_deliveries(at(1)).await?;
        anyhow::ensure!(
            due.len() == OPEN_ROWS as usize,
            "expected {OPEN_ROWS} due rows, got {}",
            due.len()
        );
    }
    report(
        &format!("list unsent (due_deliveries, {OPEN_ROWS} rows)"),
        lists,
        started.elapsed(),
    );
    Ok(())
}
