//! The store contract suite against the MongoDB backend, on a real wire-protocol server
//! (nx-27017) over TCP; plus what only a shared database has: documents the Python system
//! wrote, duplicates left by its races, and the leadership lease.

use std::sync::Once;
use std::time::Duration;

use supersetd::secret::Secret;
use supersetd::store::mongo::{MongoSettings, MongoStore};
use supersetd_tests::mongo::MongoServer;

static BANNER: Once = Once::new();

async fn open(server: &MongoServer) -> MongoStore {
    let settings = MongoSettings {
        uri: Secret::new(server.uri()),
        database: "SupersetPlacement".to_owned(),
        server_selection_timeout: Duration::from_secs(3),
        operation_timeout: Duration::from_secs(10),
    };
    let store = MongoStore::open(&settings).await.unwrap();
    let version = store.server_version().await.unwrap();
    BANNER.call_once(|| eprintln!("MongoDB contract suite against: {version}"));
    store
}

async fn fresh() -> Option<(MongoStore, MongoServer)> {
    let server = MongoServer::start()?;
    let store = open(&server).await;
    Some((store, server))
}

supersetd::store_contract_tests!(skippable fresh);
