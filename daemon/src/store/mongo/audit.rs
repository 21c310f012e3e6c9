//! `AuditLog`: one document per operator action on the control socket, `_id` from the
//! `Counters` sequence so "newest first" is "highest id first", as in the embedded store.

use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::fields::{Fields, date, opt_str, to_u32, to_u64};
use super::runs::next_id;
use super::{Db, coll};
use crate::store::{AuditRecord, StoreResult};

pub(super) async fn append(db: &Db, r: &AuditRecord) -> StoreResult<u64> {
    let id = next_id(db, coll::AUDIT_LOG).await?;
    let record = doc! {
        "_id": id,
        "at": date(r.at),
        "uid": i64::from(r.uid),
        "user": opt_str(&r.user),
        "pid": r.pid.map_or(Bson::Null, |p| Bson::Int64(i64::from(p))),
        "client": &r.client,
        "action": &r.action,
        "target": opt_str(&r.target),
        "error": opt_str(&r.error),
    };
    db.coll(coll::AUDIT_LOG)
        .insert_one(record)
        .await
        .map_err(|e| db.err(e))?;
    to_u64(coll::AUDIT_LOG, "_id", id)
}

pub(super) async fn list(db: &Db, limit: u32) -> StoreResult<Vec<AuditRecord>> {
    let docs: Vec<Document> = db
        .coll(coll::AUDIT_LOG)
        .find(doc! {})
        .sort(doc! { "_id": -1 })
        .limit(i64::from(limit))
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    docs.iter().map(from_doc).collect()
}

fn from_doc(doc: &Document) -> StoreResult<AuditRecord> {
    let f = Fields::new(coll::AUDIT_LOG, doc);
    let c = coll::AUDIT_LOG;
    Ok(AuditRecord {
        id: to_u64(c, "_id", f.i64("_id")?)?,
        at: f.date_or_epoch("at")?,
        uid: to_u32(c, "uid", f.i64("uid")?)?,
        user: f.opt_str("user")?,
        pid: f.opt_i64("pid")?.map(|p| to_u32(c, "pid", p)).transpose()?,
        client: f.str_or_empty("client")?,
        action: f.str_or_empty("action")?,
        target: f.opt_str("target")?,
        error: f.opt_str("error")?,
    })
}
