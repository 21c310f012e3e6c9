//! `Leases`: which daemon leads, when several share one database.
//!
//! One document per lease (`_id` = its name) with the holder (`host:pid`) and an expiry. Taking
//! it is a single conditional update (held by me, or expired), or, when there is no document
//! yet, an insert that the `_id` makes unique: of two daemons racing, exactly one wins. Expiry
//! is compared with each daemon's own clock, so hosts must keep their clocks in sync (NTP);
//! a skew shorter than the lease time cannot make two leaders at once.

use chrono::{DateTime, Duration, Utc};
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;

use super::errors::is_duplicate;
use super::fields::{Fields, ms};
use super::{Db, coll};
use crate::store::{LeaseState, StoreResult};

pub(super) async fn acquire(
    db: &Db,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> StoreResult<LeaseState> {
    let leases = db.coll(coll::LEASES);
    let until = now + ttl;
    let taken = leases
        .find_one_and_update(
            doc! { "_id": name, "$or": [ { "holder": holder }, { "expires_at": { "$lt": ms(now) } } ] },
            doc! { "$set": { "holder": holder, "expires_at": ms(until), "renewed_at": ms(now) } },
        )
        .return_document(ReturnDocument::After)
        .await
        .map_err(|e| db.err(e))?;
    if taken.is_some() {
        return Ok(LeaseState::Held { until });
    }
    let first =
        doc! { "_id": name, "holder": holder, "expires_at": ms(until), "renewed_at": ms(now) };
    match leases.insert_one(first).await {
        Ok(_) => Ok(LeaseState::Held { until }),
        Err(e) if is_duplicate(&e) => current(db, name).await,
        Err(e) => Err(db.err(e)),
    }
}

/// Who holds it, after losing the race for it.
async fn current(db: &Db, name: &str) -> StoreResult<LeaseState> {
    let found = db
        .coll(coll::LEASES)
        .find_one(doc! { "_id": name })
        .await
        .map_err(|e| db.err(e))?;
    let Some(doc) = found else {
        // Released between our two steps: the next attempt takes it.
        return Ok(LeaseState::HeldBy {
            holder: "nobody (just released)".to_owned(),
            until: None,
        });
    };
    let f = Fields::new(coll::LEASES, &doc);
    Ok(LeaseState::HeldBy {
        holder: f.str_or_empty("holder")?,
        until: f.opt_date("expires_at")?,
    })
}

/// Give the lease up at a clean stop, so another daemon takes over at once.
pub(super) async fn release(db: &Db, name: &str, holder: &str) -> StoreResult<()> {
    db.coll(coll::LEASES)
        .delete_one(doc! { "_id": name, "holder": holder })
        .await
        .map_err(|e| db.err(e))?;
    Ok(())
}
