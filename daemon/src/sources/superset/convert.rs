//! From the portal's shapes to our records: notices, listed jobs and job details.
//!
//! Also owns merging across accounts, because the merge order is part of the mapping: the first
//! account's list is taken whole and later accounts only add identifiers not seen yet. Job
//! details are read leniently (reference 8.1): a missing or oddly typed field falls back to a
//! default instead of losing the job, stages may skip sequence numbers or give them as strings.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::wire::{WireJob, WireNotice, opt_str};
use crate::store::{EligibilityMark, JobDocument, JobProfile, Notice};

/// Merge per-account notice lists: first list wholesale, then unseen identifiers, newest
/// modification first (null `lastModifiedOn` falls back to `publishedAt`).
pub(crate) fn merge_notices(lists: Vec<Vec<WireNotice>>) -> Vec<WireNotice> {
    let mut seen = HashSet::new();
    let mut merged: Vec<WireNotice> = Vec::new();
    for notice in lists.into_iter().flatten() {
        if seen.insert(notice.identifier.clone()) {
            merged.push(notice);
        }
    }
    // Stable sort: equal times keep the portal's order.
    merged.sort_by_key(|n| std::cmp::Reverse(n.updated_at()));
    merged
}

/// Merge per-account job listings by identifier, newest `createdAt` first (unknown last).
pub(crate) fn merge_jobs(lists: Vec<Vec<WireJob>>) -> Vec<WireJob> {
    let mut seen = HashSet::new();
    let mut merged: Vec<WireJob> = Vec::new();
    for job in lists.into_iter().flatten() {
        if seen.insert(job.id.clone()) {
            merged.push(job);
        }
    }
    merged.sort_by_key(|j| std::cmp::Reverse(j.created_at.unwrap_or(i64::MIN)));
    merged
}

pub(crate) fn notice_record(n: WireNotice, saved_at: DateTime<Utc>) -> Notice {
    let updated_at_ms = n.updated_at();
    Notice {
        id: n.identifier,
        title: n.title.unwrap_or_else(|| "Notice".to_owned()),
        content: n.content.unwrap_or_default(),
        author: n.last_modified_by.unwrap_or_default(),
        created_at_ms: n.published_at,
        updated_at_ms,
        source: "Superset".to_owned(),
        category: None,
        matched_job_id: None,
        job_company: None,
        job_role: None,
        job_location: None,
        package: None,
        package_breakdown: None,
        formatted_message: String::new(),
        sent_to_telegram: false,
        saved_at,
        sent_at: None,
    }
}

fn category_name(level: i64) -> &'static str {
    match level {
        1 => "High",
        2 => "Middle",
        3 => "Offer is more than 4.6 lacs",
        4 => "Internship",
        _ => "Unknown",
    }
}

/// A listing entry as a job record without details.
pub(crate) fn listed_job(j: &WireJob) -> JobProfile {
    let level = j.category_level.unwrap_or(0);
    let category = j
        .category_name
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| category_name(level).to_owned());
    JobProfile {
        id: j.id.clone(),
        job_profile: j.title.clone().unwrap_or_else(|| "Unknown".to_owned()),
        company: j.company.clone().unwrap_or_else(|| "??".to_owned()),
        placement_category_code: level,
        placement_category: category,
        content: j.content.clone().unwrap_or_default(),
        created_at_ms: j.created_at,
        deadline_ms: j.deadline,
        location: "Unknown".to_owned(),
        ..JobProfile::default()
    }
}

/// A number given as a JSON number or a numeric string.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn array(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten()
}

/// Fill `job` (a listing record) from the details object. Document urls are left `None`; the
/// caller fetches them.
pub(crate) fn apply_details(job: &mut JobProfile, details: &Value) {
    let eligibility = details.get("eligibilityCheckResult");
    let profile = details.get("jobProfile").unwrap_or(&Value::Null);

    job.eligibility_marks = array(eligibility.and_then(|e| e.get("academicResults")))
        .map(|r| {
            let level = opt_str(r, "level").unwrap_or_else(|| "UG".to_owned());
            let default = if level == "UG" { 5.0 } else { 50.0 };
            let criteria = number(r.get("required")).unwrap_or(default);
            EligibilityMark { level, criteria }
        })
        .collect();
    let courses = eligibility
        .and_then(|e| e.get("courseCheckResult"))
        .and_then(|c| c.get("openedForCourses"));
    job.eligibility_courses = array(courses)
        .filter_map(|c| {
            let name = opt_str(c, "name").filter(|n| !n.is_empty())?;
            let short = c.get("program").and_then(|p| opt_str(p, "shortName"));
            Some(format!(
                "{} - {name}",
                short.as_deref().unwrap_or("Unknown")
            ))
        })
        .collect();
    job.allowed_genders = [
        ("allowGenderFemale", "Female"),
        ("allowGenderMale", "Male"),
        ("allowGenderOther", "Other"),
    ]
    .into_iter()
    .filter(|(field, _)| profile.get(field).and_then(Value::as_bool).unwrap_or(false))
    .map(|(_, name)| name.to_owned())
    .collect();
    job.job_description = [
        opt_str(profile, "jobDescription"),
        opt_str(profile, "invitationCustomText"),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect::<Vec<_>>()
    .join("\n");
    job.location = location(profile.get("location"))
        .or_else(|| location(details.get("jobProfileLocation")))
        .unwrap_or_else(|| "Unknown".to_owned());
    job.package = package(profile);
    job.annum_months = opt_str(profile, "ctcInterval").filter(|s| !s.is_empty());
    job.package_info = opt_str(profile, "ctcAdditionalInfo").unwrap_or_default();
    job.required_skills = array(profile.get("requiredSkills"))
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    job.hiring_flow = hiring_flow(profile.get("stages"));
    job.placement_type = opt_str(details, "positionType").filter(|s| !s.is_empty());
    job.documents = array(profile.get("documents"))
        .filter_map(|d| {
            let identifier = opt_str(d, "identifier").filter(|s| !s.is_empty())?;
            let name = opt_str(d, "name").unwrap_or_else(|| "Document".to_owned());
            Some(JobDocument {
                name,
                identifier,
                url: None,
            })
        })
        .collect();
    job.has_details = true;
}

/// A location given as a string or a list of strings; blank is absent.
fn location(v: Option<&Value>) -> Option<String> {
    let text = match v? {
        Value::String(s) => s.trim().to_owned(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// `package`, else `ctcMin`, else `ctcMax`; the first positive one. `None` when none is.
fn package(profile: &Value) -> Option<f64> {
    ["package", "ctcMin", "ctcMax"]
        .into_iter()
        .filter_map(|field| number(profile.get(field)))
        .find(|p| *p > 0.0)
}

/// Stage names ordered by `sequence` (integer or numeric string; gaps are fine). Stages
/// without a usable sequence keep their listed order after the numbered ones.
fn hiring_flow(stages: Option<&Value>) -> Vec<String> {
    let mut named: Vec<(f64, String)> = array(stages)
        .filter_map(|s| {
            let name = opt_str(s, "name").filter(|n| !n.trim().is_empty())?;
            Some((number(s.get("sequence")).unwrap_or(f64::INFINITY), name))
        })
        .collect();
    named.sort_by(|a, b| a.0.total_cmp(&b.0));
    named.into_iter().map(|(_, name)| name).collect()
}

/// The signed URL in a document-url answer.
pub(crate) fn document_url(body: &Value) -> Option<String> {
    opt_str(body, "url").filter(|u| !u.is_empty())
}

#[cfg(test)]
mod tests;
