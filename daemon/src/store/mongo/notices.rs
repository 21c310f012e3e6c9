//! `Notices` and `Jobs`: what the sources found, in the original system's documents.
//!
//! Besides the original's fields, a notice carries `planned` (the ledger's mark that its
//! delivery rows exist) and a job `has_details`; both are absent from the Python system's
//! documents and read as "not planned" and "has details".

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use super::errors::is_duplicate;
use super::fields::{Fields, date, is_not_set, opt_date, opt_str, to_bson};
use super::{Db, coll};
use crate::store::{EligibilityMark, JobDocument, JobProfile, Notice, StoreError, StoreResult};

/// Jobs first, so a notice never points at a job that is not stored; then every absent
/// notice in one unordered insert. Each document is written atomically; a retry after a crash
/// part way skips what is there and writes the rest.
pub(super) async fn save_fetch(
    db: &Db,
    notices: &[Notice],
    jobs: &[JobProfile],
) -> StoreResult<Vec<String>> {
    let now = Utc::now();
    for job in jobs {
        save_job(db, job, now).await?;
    }
    insert_absent(db, notices).await
}

async fn save_job(db: &Db, job: &JobProfile, now: DateTime<Utc>) -> StoreResult<()> {
    let jobs = db.coll(coll::JOBS);
    let mut set = job_doc(job)?;
    set.insert("updated_at", date(now));
    for _ in 0..2 {
        let updated = jobs
            .update_one(doc! { "id": &job.id }, doc! { "$set": set.clone() })
            .await
            .map_err(|e| db.err(e))?;
        if updated.matched_count > 0 {
            return Ok(());
        }
        let mut new = job_doc(job)?;
        new.insert("saved_at", date(now));
        match jobs.insert_one(new).await {
            Ok(_) => return Ok(()),
            Err(e) if is_duplicate(&e) => continue,
            Err(e) => return Err(db.err(e)),
        }
    }
    Err(StoreError::Other {
        reason: format!("job {} changed concurrently; try again", job.id),
    })
}

/// Returns the ids actually inserted. A duplicate-key refusal (a concurrent fetch stored the
/// notice first) counts as "already there".
async fn insert_absent(db: &Db, notices: &[Notice]) -> StoreResult<Vec<String>> {
    let mut seen = HashSet::new();
    let mut fresh: Vec<&Notice> = notices.iter().filter(|n| seen.insert(&n.id)).collect();
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = fresh.iter().map(|n| n.id.as_str()).collect();
    let existing = distinct_ids(db, coll::NOTICES, doc! { "id": { "$in": ids } }).await?;
    fresh.retain(|n| !existing.contains(&n.id));
    if fresh.is_empty() {
        return Ok(Vec::new());
    }
    let docs = fresh
        .iter()
        .map(|n| notice_doc(n))
        .collect::<StoreResult<Vec<_>>>()?;
    let refused: HashSet<usize> = match db
        .coll(coll::NOTICES)
        .insert_many(docs)
        .ordered(false)
        .await
    {
        Ok(_) => HashSet::new(),
        Err(e) => refused_as_duplicates(db, e)?,
    };
    Ok(fresh
        .iter()
        .enumerate()
        .filter(|(i, _)| !refused.contains(i))
        .map(|(_, n)| n.id.clone())
        .collect())
}

/// The positions an unordered insert refused as duplicates; any other failure is an error.
fn refused_as_duplicates(db: &Db, e: mongodb::error::Error) -> StoreResult<HashSet<usize>> {
    if let mongodb::error::ErrorKind::InsertMany(failure) = &*e.kind
        && failure.write_concern_error.is_none()
        && let Some(errs) = &failure.write_errors
        && errs.iter().all(|w| w.code == 11000)
    {
        return Ok(errs.iter().map(|w| w.index).collect());
    }
    Err(db.err(e))
}

pub(super) async fn count(db: &Db) -> StoreResult<u64> {
    db.coll(coll::NOTICES)
        .count_documents(doc! {})
        .await
        .map_err(|e| db.err(e))
}

pub(super) async fn ids(db: &Db, collection: &str) -> StoreResult<HashSet<String>> {
    distinct_ids(db, collection, doc! {}).await
}

async fn distinct_ids(db: &Db, collection: &str, filter: Document) -> StoreResult<HashSet<String>> {
    let values = db
        .coll(collection)
        .distinct("id", filter)
        .await
        .map_err(|e| db.err(e))?;
    Ok(values
        .into_iter()
        .filter_map(|v| match v {
            Bson::String(s) => Some(s),
            _ => None,
        })
        .collect())
}

pub(super) async fn list_jobs(db: &Db) -> StoreResult<Vec<JobProfile>> {
    let docs = find_all(db, coll::JOBS, doc! {}).await?;
    let mut jobs = docs
        .iter()
        .map(job_from_doc)
        .collect::<StoreResult<Vec<_>>>()?;
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    jobs.dedup_by(|a, b| a.id == b.id);
    Ok(jobs)
}

pub(super) async fn get(db: &Db, id: &str) -> StoreResult<Option<Notice>> {
    let found = db
        .coll(coll::NOTICES)
        .find_one(doc! { "id": id })
        .await
        .map_err(|e| db.err(e))?;
    found.as_ref().map(from_doc).transpose()
}

pub(super) async fn list(db: &Db, unsent_only: bool, limit: u32) -> StoreResult<Vec<Notice>> {
    let filter = if unsent_only {
        doc! { "sent_to_telegram": is_not_set() }
    } else {
        doc! {}
    };
    let docs: Vec<Document> = db
        .coll(coll::NOTICES)
        .find(filter)
        .sort(doc! { "createdAt": -1, "id": -1 })
        .limit(i64::from(limit))
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))?;
    docs.iter().map(from_doc).collect()
}

/// Bootstrap: record everything as delivered, and planned, so the ledger never picks these
/// up. One `update_many`: each document changes atomically, and a retry finishes the rest.
pub(super) async fn mark_all_sent(db: &Db, now: DateTime<Utc>) -> StoreResult<u64> {
    let changed = db
        .coll(coll::NOTICES)
        .update_many(
            doc! { "sent_to_telegram": is_not_set() },
            doc! { "$set": { "sent_to_telegram": true, "planned": true, "sent_at": date(now) } },
        )
        .await
        .map_err(|e| db.err(e))?;
    Ok(changed.modified_count)
}

pub(super) async fn find_all(
    db: &Db,
    collection: &str,
    filter: Document,
) -> StoreResult<Vec<Document>> {
    db.coll(collection)
        .find(filter)
        .await
        .map_err(|e| db.err(e))?
        .try_collect()
        .await
        .map_err(|e| db.err(e))
}

/// The original's field names and types: times of the source as int64 ms (`createdAt`),
/// times of the store as dates (`saved_at`).
fn notice_doc(n: &Notice) -> StoreResult<Document> {
    Ok(doc! {
        "id": &n.id,
        "title": &n.title,
        "content": &n.content,
        "author": &n.author,
        "createdAt": n.created_at_ms,
        "updatedAt": n.updated_at_ms,
        "source": &n.source,
        "category": opt_str(&n.category),
        "matched_job_id": opt_str(&n.matched_job_id),
        "job_company": opt_str(&n.job_company),
        "job_role": opt_str(&n.job_role),
        "job_location": opt_str(&n.job_location),
        "package": opt_str(&n.package),
        "package_breakdown": opt_str(&n.package_breakdown),
        "formatted_message": &n.formatted_message,
        "sent_to_telegram": n.sent_to_telegram,
        "saved_at": date(n.saved_at),
        "sent_at": opt_date(n.sent_at),
        "planned": n.sent_to_telegram,
    })
}

/// Lenient: the Python system's notices lack fields ours always have.
pub(super) fn from_doc(doc: &Document) -> StoreResult<Notice> {
    let f = Fields::new(coll::NOTICES, doc);
    let created_at_ms = f.opt_i64("createdAt")?.unwrap_or(0);
    let saved_at = match f.opt_date("saved_at")? {
        Some(t) => t,
        None => DateTime::from_timestamp_millis(created_at_ms).unwrap_or_default(),
    };
    Ok(Notice {
        id: f.str("id")?,
        title: f.str_or_empty("title")?,
        content: f.str_or_empty("content")?,
        author: f.str_or_empty("author")?,
        created_at_ms,
        updated_at_ms: f.opt_i64("updatedAt")?.unwrap_or(created_at_ms),
        source: f.str_or_empty("source")?,
        category: f.opt_str("category")?,
        matched_job_id: f.opt_str("matched_job_id")?,
        job_company: f.opt_str("job_company")?,
        job_role: f.opt_str("job_role")?,
        job_location: f.opt_str("job_location")?,
        package: f.opt_str("package")?,
        package_breakdown: f.opt_str("package_breakdown")?,
        formatted_message: f.str_or_empty("formatted_message")?,
        sent_to_telegram: f.bool_or("sent_to_telegram", false)?,
        saved_at,
        sent_at: f.opt_date("sent_at")?,
    })
}

fn job_doc(j: &JobProfile) -> StoreResult<Document> {
    let marks: Vec<Document> = j
        .eligibility_marks
        .iter()
        .map(|m| doc! { "level": &m.level, "criteria": m.criteria })
        .collect();
    let documents: Vec<Document> = j
        .documents
        .iter()
        .map(|d| doc! { "name": &d.name, "identifier": &d.identifier, "url": opt_str(&d.url) })
        .collect();
    Ok(doc! {
        "id": &j.id,
        "job_profile": &j.job_profile,
        "company": &j.company,
        "placement_category_code": j.placement_category_code,
        "placement_category": &j.placement_category,
        "content": &j.content,
        "createdAt": j.created_at_ms.map_or(Bson::Null, Bson::Int64),
        "deadline": j.deadline_ms.map_or(Bson::Null, Bson::Int64),
        "eligibility_marks": marks,
        "eligibility_courses": to_bson(&j.eligibility_courses)?,
        "allowed_genders": to_bson(&j.allowed_genders)?,
        "job_description": &j.job_description,
        "location": &j.location,
        "package": j.package.map_or(Bson::Null, Bson::Double),
        "annum_months": opt_str(&j.annum_months),
        "package_info": &j.package_info,
        "required_skills": to_bson(&j.required_skills)?,
        "hiring_flow": to_bson(&j.hiring_flow)?,
        "placement_type": opt_str(&j.placement_type),
        "documents": documents,
        "has_details": j.has_details,
    })
}

fn job_from_doc(doc: &Document) -> StoreResult<JobProfile> {
    let f = Fields::new(coll::JOBS, doc);
    let eligibility_marks = f
        .documents("eligibility_marks")?
        .into_iter()
        .map(|m| {
            let m = Fields::new(coll::JOBS, m);
            Ok(EligibilityMark {
                level: m.str_or_empty("level")?,
                criteria: m.opt_f64("criteria")?.unwrap_or(0.0),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let documents = f
        .documents("documents")?
        .into_iter()
        .map(|d| {
            let d = Fields::new(coll::JOBS, d);
            Ok(JobDocument {
                name: d.str_or_empty("name")?,
                identifier: d.str_or_empty("identifier")?,
                url: d.opt_str("url")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(JobProfile {
        id: f.str("id")?,
        job_profile: f.str_or_empty("job_profile")?,
        company: f.str_or_empty("company")?,
        placement_category_code: f.opt_i64("placement_category_code")?.unwrap_or(0),
        placement_category: f.str_or_empty("placement_category")?,
        content: f.str_or_empty("content")?,
        created_at_ms: f.opt_i64("createdAt")?,
        deadline_ms: f.opt_i64("deadline")?,
        eligibility_marks,
        eligibility_courses: f.strings("eligibility_courses")?,
        allowed_genders: f.strings("allowed_genders")?,
        job_description: f.str_or_empty("job_description")?,
        location: f.str_or_empty("location")?,
        package: f.opt_f64("package")?,
        annum_months: f.opt_str("annum_months")?,
        package_info: f.str_or_empty("package_info")?,
        required_skills: f.strings("required_skills")?,
        hiring_flow: f.strings("hiring_flow")?,
        placement_type: f.opt_str("placement_type")?,
        documents,
        has_details: f.bool_or("has_details", true)?,
    })
}
