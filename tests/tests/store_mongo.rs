//! The store contract suite against the MongoDB backend, on a real wire-protocol server
//! (nx-27017) over TCP; plus what only a shared database has: documents the Python system
//! wrote, duplicates left by its races, and the leadership lease.

use std::sync::Once;
use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};
use supersetd::secret::Secret;
use supersetd::store::contract::{at, job, notice, profile};
use supersetd::store::mongo::{MongoSettings, MongoStore};
use supersetd::store::{LeaseState, Store, StoreError};
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

/// The raw database, as the Python system and the website see it.
async fn raw(server: &MongoServer) -> mongodb::Database {
    mongodb::Client::with_uri_str(server.uri())
        .await
        .unwrap()
        .database("SupersetPlacement")
}

fn ms_date(ms: i64) -> Bson {
    Bson::DateTime(mongodb::bson::DateTime::from_millis(ms))
}

/// Documents exactly as the Python system writes them: ids as int32 when they fit, int64
/// otherwise; `null` or missing optional fields; no `planned`; `createdAt` in int64 ms.
async fn seed_python_documents(db: &mongodb::Database) {
    let users = db.collection::<Document>("Users");
    users
        .insert_many([
            doc! { "user_id": 11_i32, "chat_id": 11_i32, "username": "asha", "first_name": "Asha",
                   "last_name": Bson::Null, "is_active": true, "created_at": ms_date(1_700_000_000_000),
                   "updated_at": ms_date(1_700_000_000_000) },
            doc! { "user_id": 6_000_000_000_i64, "chat_id": 6_000_000_000_i64, "first_name": "Ravi",
                   "is_active": true, "created_at": ms_date(1_700_000_100_000) },
            doc! { "user_id": 12_i32, "chat_id": 12_i32, "username": Bson::Null, "first_name": "Gone",
                   "is_active": false, "created_at": ms_date(1_700_000_200_000),
                   "updated_at": ms_date(1_700_000_300_000) },
        ])
        .await
        .unwrap();
    let notices = db.collection::<Document>("Notices");
    notices
        .insert_many([
            doc! { "id": "old-sent", "title": "Old", "content": "<p>x</p>", "author": "TnP",
            "createdAt": 1_700_000_000_000_i64, "updatedAt": 1_700_000_000_000_i64,
            "formatted_message": "*Old*", "sent_to_telegram": true, "source": "Superset",
            "category": "job posting", "matched_job_id": Bson::Null,
            "saved_at": ms_date(1_700_000_000_500), "sent_at": ms_date(1_700_000_001_000) },
            doc! { "id": "new-unsent", "title": "New", "content": "<p>y</p>", "author": "TnP",
            "createdAt": 1_700_000_500_000_i64, "updatedAt": 1_700_000_500_000_i64,
            "formatted_message": "*New*", "sent_to_telegram": false, "source": "Superset",
            "saved_at": ms_date(1_700_000_500_500) },
            doc! { "id": "notice_Email_1700000600", "title": "Webinar", "content": "Join",
            "author": "EmailNoticeBot", "createdAt": 1_700_000_600_000_i64,
            "formatted_message": "Join", "sent_to_telegram": false,
            "source": "Email Notice Service", "type": "webinar", "links": Bson::Null,
            "saved_at": ms_date(1_700_000_600_500) },
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn documents_of_the_python_system_are_read_as_they_are() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    seed_python_documents(&raw(&server).await).await;
    let store = open(&server).await;
    let all = store.list_subscribers(false).await.unwrap();
    let ids: Vec<i64> = all.iter().map(|s| s.user_id).collect();
    assert_eq!(
        ids,
        vec![11, 12, 6_000_000_000],
        "int32 and int64 ids, numeric order"
    );
    let ravi = store.get_subscriber(6_000_000_000).await.unwrap().unwrap();
    assert_eq!(
        (ravi.chat_id, ravi.username, ravi.last_name),
        (6_000_000_000, None, None)
    );
    assert_eq!(
        ravi.updated_at, ravi.created_at,
        "a missing updated_at is the creation time"
    );
    let active: Vec<i64> = store
        .list_subscribers(true)
        .await
        .unwrap()
        .iter()
        .map(|s| s.user_id)
        .collect();
    assert_eq!(active, vec![11, 6_000_000_000]);
    let unplanned: Vec<String> = store
        .unplanned_notices()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.id)
        .collect();
    assert_eq!(unplanned, vec!["new-unsent", "notice_Email_1700000600"]);
    let email = store
        .get_notice("notice_Email_1700000600")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(email.updated_at_ms, email.created_at_ms);
    assert_eq!(email.category, None);
    let old = store.get_notice("old-sent").await.unwrap().unwrap();
    assert!(old.sent_to_telegram && old.sent_at.is_some());
    assert_eq!(store.mark_all_sent(chrono::Utc::now()).await.unwrap(), 2);
    assert!(store.unplanned_notices().await.unwrap().is_empty());
    assert!(store.list_notices(true, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_website_reads_our_documents_in_the_original_types() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    let store = open(&server).await;
    let now = chrono::Utc::now();
    store
        .upsert_subscriber(profile(6_000_000_001, 6_000_000_001, "k"), now)
        .await
        .unwrap();
    store
        .save_fetch(
            vec![notice("web-1", 1_767_225_600_123)],
            vec![job("j1", "Acme")],
        )
        .await
        .unwrap();
    let db = raw(&server).await;
    let user = db
        .collection::<Document>("Users")
        .find_one(doc! { "user_id": 6_000_000_001_i64 })
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(user.get("user_id"), Some(Bson::Int64(_))),
        "{user}"
    );
    assert!(
        matches!(user.get("created_at"), Some(Bson::DateTime(_))),
        "{user}"
    );
    assert_eq!(user.get("is_active"), Some(&Bson::Boolean(true)), "{user}");
    let n = db
        .collection::<Document>("Notices")
        .find_one(doc! { "id": "web-1" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        n.get("createdAt"),
        Some(&Bson::Int64(1_767_225_600_123)),
        "{n}"
    );
    assert_eq!(
        n.get("sent_to_telegram"),
        Some(&Bson::Boolean(false)),
        "{n}"
    );
    assert!(matches!(n.get("saved_at"), Some(Bson::DateTime(_))), "{n}");
    let j = db
        .collection::<Document>("Jobs")
        .find_one(doc! { "id": "j1" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.get_str("company").unwrap(), "Acme");
    assert!(matches!(j.get("saved_at"), Some(Bson::DateTime(_))), "{j}");
}

/// The original's racy inserts left duplicates: the unique indexes cannot be built, which is
/// reported, and the store still works, listing each key once.
#[tokio::test]
async fn duplicates_left_by_the_original_do_not_stop_the_store() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    let db = raw(&server).await;
    let twice = doc! { "user_id": 21_i32, "chat_id": 21_i32, "is_active": true };
    db.collection::<Document>("Users")
        .insert_many([twice.clone(), twice])
        .await
        .unwrap();
    let store = open(&server).await;
    store.health().await.unwrap();
    let ids: Vec<i64> = store
        .list_subscribers(false)
        .await
        .unwrap()
        .iter()
        .map(|s| s.user_id)
        .collect();
    assert_eq!(ids, vec![21]);
    assert!(
        store
            .deactivate_subscriber(21, chrono::Utc::now())
            .await
            .unwrap()
    );
    assert!(
        store.list_subscribers(true).await.unwrap().is_empty(),
        "every copy deactivated"
    );
}

#[tokio::test]
async fn one_lease_holder_at_a_time_and_takeover_after_expiry() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    let store = open(&server).await;
    let ttl = chrono::Duration::seconds(10);
    let t0 = at(0);
    let a = store.acquire_lease("leader", "a:1", ttl, t0).await.unwrap();
    assert_eq!(a, LeaseState::Held { until: t0 + ttl });
    let b = store
        .acquire_lease("leader", "b:2", ttl, at(1))
        .await
        .unwrap();
    assert!(
        matches!(&b, LeaseState::HeldBy { holder, .. } if holder == "a:1"),
        "{b:?}"
    );
    let renewed = store
        .acquire_lease("leader", "a:1", ttl, at(5))
        .await
        .unwrap();
    assert_eq!(renewed, LeaseState::Held { until: at(5) + ttl });
    let still = store
        .acquire_lease("leader", "b:2", ttl, at(14))
        .await
        .unwrap();
    assert!(
        matches!(still, LeaseState::HeldBy { .. }),
        "renewed until 15 s"
    );
    let taken = store
        .acquire_lease("leader", "b:2", ttl, at(16))
        .await
        .unwrap();
    assert_eq!(
        taken,
        LeaseState::Held {
            until: at(16) + ttl
        }
    );
    let lost = store
        .acquire_lease("leader", "a:1", ttl, at(17))
        .await
        .unwrap();
    assert!(matches!(lost, LeaseState::HeldBy { .. }), "{lost:?}");
    store.release_lease("leader", "b:2").await.unwrap();
    let back = store
        .acquire_lease("leader", "a:1", ttl, at(18))
        .await
        .unwrap();
    assert_eq!(
        back,
        LeaseState::Held {
            until: at(18) + ttl
        },
        "released: taken at once"
    );
}

/// Racing daemons: of many concurrent first attempts, exactly one wins.
#[tokio::test]
async fn concurrent_first_attempts_elect_exactly_one() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    let store = std::sync::Arc::new(open(&server).await);
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .acquire_lease(
                    "leader",
                    &format!("h:{i}"),
                    chrono::Duration::seconds(30),
                    at(0),
                )
                .await
                .unwrap()
        })
    });
    let results = futures::future::join_all(attempts).await;
    let held = results
        .into_iter()
        .filter(|r| matches!(r, Ok(LeaseState::Held { .. })))
        .count();
    assert_eq!(held, 1);
}

/// A server that goes away makes operations fail soon with `Unavailable`, and the store
/// recovers by itself when the server returns.
#[tokio::test]
async fn an_outage_is_unavailable_then_recovers() {
    let Some(mut server) = MongoServer::start() else {
        return;
    };
    let store = MongoStore::open(&settings(server.uri(), 1, 3))
        .await
        .unwrap();
    store.health().await.unwrap();
    server.stop();
    let started = std::time::Instant::now();
    let err = store.list_subscribers(false).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed within the timeouts"
    );
    server.restart();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while let Err(e) = store.health().await {
        assert!(std::time::Instant::now() < deadline, "did not recover: {e}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    store.list_subscribers(false).await.unwrap();
}

/// The password of the connection string is in neither `describe` nor any error.
#[tokio::test]
async fn the_password_never_shows() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let uri = format!("mongodb://app:Sup3rSecretPw@127.0.0.1:{closed}/?directConnection=true");
    let store = MongoStore::open(&settings(uri, 1, 3)).await.unwrap();
    let location = store.describe().location;
    assert!(
        !location.contains("Sup3rSecretPw") && location.contains("app:***@"),
        "{location}"
    );
    let err = store.health().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    assert!(
        !format!("{err} {err:?}").contains("Sup3rSecretPw"),
        "{err:?}"
    );
    let bad = MongoStore::open(&settings("mongodb://app:Sup3rSecretPw@".to_owned(), 1, 1)).await;
    let text = format!("{:?}", bad.err());
    assert!(!text.contains("Sup3rSecretPw"), "{text}");
}

fn settings(uri: String, selection_secs: u64, operation_secs: u64) -> MongoSettings {
    MongoSettings {
        uri: Secret::new(uri),
        database: "SupersetPlacement".to_owned(),
        server_selection_timeout: Duration::from_secs(selection_secs),
        operation_timeout: Duration::from_secs(operation_secs),
    }
}

/// Two daemons doing the same write at once: the unique keys make one of them "already
/// there", never a second document and never an error.
#[tokio::test]
async fn concurrent_writers_converge_on_one_document() {
    let Some(server) = MongoServer::start() else {
        return;
    };
    let store = std::sync::Arc::new(open(&server).await);
    let now = at(0);
    let subscribe = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.upsert_subscriber(profile(77, 77, "x"), now).await })
    });
    let outcomes: Vec<_> = futures::future::join_all(subscribe)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let created = outcomes
        .iter()
        .filter(|o| **o == supersetd::store::SubscribeOutcome::Created)
        .count();
    assert_eq!(created, 1, "{outcomes:?}");
    let users = raw(&server)
        .await
        .collection::<Document>("Users")
        .count_documents(doc! { "user_id": 77_i64 })
        .await
        .unwrap();
    assert_eq!(users, 1);

    store
        .save_fetch(vec![notice("c1", 1)], vec![])
        .await
        .unwrap();
    let recipients: Vec<supersetd::store::Recipient> = (0..50)
        .map(|user_id| supersetd::store::Recipient::Subscriber { user_id })
        .collect();
    let plans = (0..4).map(|_| {
        let (store, recipients) = (store.clone(), recipients.clone());
        tokio::spawn(async move { store.plan_deliveries("c1", &recipients, now).await })
    });
    let added: u64 = futures::future::join_all(plans)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .sum();
    assert_eq!(added, 50, "each row added once across the planners");
    assert_eq!(store.deliveries_for_notice("c1").await.unwrap().len(), 50);
}
