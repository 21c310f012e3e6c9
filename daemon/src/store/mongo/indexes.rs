//! Indexes, created at the first operation that reaches the server.
//!
//! The original system created none and deduplicated by check-then-insert, which raced, so a
//! database it wrote may hold duplicates (two `Users` documents for one `user_id`). A unique
//! index cannot be built over them; refusing to start would leave the deployment without alerts
//! over data the operator may not even know is there. So a unique index that fails on
//! duplicates is reported in the log (with the duplicated keys and what to do), and a plain
//! index takes its place so queries stay fast. The code that reads keeps the first document of
//! a duplicated key.

use futures::TryStreamExt;
use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;

use super::{Db, coll, errors};
use crate::store::{StoreError, StoreResult};

struct Spec {
    coll: &'static str,
    keys: Document,
    unique: bool,
}

fn specs() -> Vec<Spec> {
    let unique = |coll, keys| Spec {
        coll,
        keys,
        unique: true,
    };
    let plain = |coll, keys| Spec {
        coll,
        keys,
        unique: false,
    };
    vec![
        unique(coll::USERS, doc! { "user_id": 1 }),
        plain(coll::USERS, doc! { "chat_id": 1 }),
        unique(coll::NOTICES, doc! { "id": 1 }),
        plain(
            coll::NOTICES,
            doc! { "sent_to_telegram": 1, "createdAt": 1 },
        ),
        unique(coll::JOBS, doc! { "id": 1 }),
        unique("Policies", doc! { "year": 1 }),
        unique(coll::DELIVERIES, doc! { "notice_id": 1, "recipient": 1 }),
        plain(coll::DELIVERIES, doc! { "status": 1, "not_before": 1 }),
        // Not `{job, _id}`: nx-27017 cannot index `_id` in a compound key.
        plain(coll::JOB_RUNS, doc! { "job": 1 }),
        plain(coll::JOB_RUNS, doc! { "outcome": 1 }),
    ]
}

/// Create every index. Fails only when the server cannot be reached, so that the next
/// operation tries again; any other problem is logged and start-up goes on.
pub(super) async fn ensure(db: &Db) -> StoreResult<()> {
    for spec in specs() {
        match create(db, &spec.keys, spec.coll, spec.unique).await {
            Ok(()) => {}
            Err(e) if spec.unique && looks_like_duplicates(&e) => {
                report_duplicates(db, &spec).await?;
                if let Err(e) = create(db, &spec.keys, spec.coll, false).await {
                    warn_failed(db, &spec, &e)?;
                }
            }
            Err(e) => warn_failed(db, &spec, &e)?,
        }
    }
    tracing::debug!("MongoDB indexes are in place");
    Ok(())
}

async fn create(
    db: &Db,
    keys: &Document,
    coll: &str,
    unique: bool,
) -> Result<(), mongodb::error::Error> {
    let options = IndexOptions::builder()
        .unique(unique.then_some(true))
        .build();
    let model = IndexModel::builder()
        .keys(keys.clone())
        .options(options)
        .build();
    db.coll(coll).create_index(model).await.map(|_| ())
}

/// MongoDB says 11000; other servers only say so in words.
fn looks_like_duplicates(e: &mongodb::error::Error) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    errors::is_duplicate(e) || text.contains("duplicate") || text.contains("unique constraint")
}

fn warn_failed(db: &Db, spec: &Spec, e: &mongodb::error::Error) -> StoreResult<()> {
    match db.err(e.clone()) {
        unavailable @ StoreError::Unavailable { .. } => Err(unavailable),
        other => {
            tracing::warn!(collection = spec.coll, keys = %spec.keys, error = %other, "cannot create an index; queries on it will be slower");
            Ok(())
        }
    }
}

/// Log which keys are duplicated, so the operator can clean them up.
async fn report_duplicates(db: &Db, spec: &Spec) -> StoreResult<()> {
    let group: Document = spec
        .keys
        .keys()
        .map(|k| (k.clone(), Bson::String(format!("${k}"))))
        .collect();
    let pipeline = vec![
        doc! { "$group": { "_id": group, "n": { "$sum": 1 } } },
        doc! { "$match": { "n": { "$gt": 1 } } },
        doc! { "$limit": 20 },
    ];
    let found: Vec<Document> = match db.coll(spec.coll).aggregate(pipeline).await {
        Ok(cursor) => cursor.try_collect().await.map_err(|e| db.err(e))?,
        Err(e) => return warn_failed(db, spec, &e),
    };
    let keys: Vec<String> = found
        .iter()
        .filter_map(|d| d.get("_id").map(ToString::to_string))
        .collect();
    tracing::warn!(
        collection = spec.coll,
        index = %spec.keys,
        duplicated = %keys.join(", "),
        "the collection holds duplicate keys (written by an older system), so its unique index \
         cannot be built; the first document of each key is used. Remove the extra documents, \
         then restart supersetd to get the unique index"
    );
    Ok(())
}
