//! The portal's JSON, read field by field.
//!
//! Notices and job listings are parsed from `serde_json::Value` by hand rather than derived,
//! so a bad entry is reported with its index and the field that is wrong ("entry 3: publishedAt
//! is a string, expected integer ms"), which serde's derived errors do not say. The rules:
//! the list must be an array; a notice needs a string `identifier` and an integer
//! `publishedAt` (the feed is unusable otherwise, so the whole fetch fails); every other field
//! is optional and unknown fields are ignored. Job details are read leniently in `convert`.

use serde_json::Value;

use super::SourceError;

/// One notice as listed by the portal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WireNotice {
    pub identifier: String,
    pub title: Option<String>,
    pub content: Option<String>,
    pub last_modified_by: Option<String>,
    pub last_modified_on: Option<i64>,
    pub published_at: i64,
}

impl WireNotice {
    /// Last modification, falling back to publication (a `null` `lastModifiedOn` is common).
    pub fn updated_at(&self) -> i64 {
        self.last_modified_on.unwrap_or(self.published_at)
    }
}

/// One entry of the job-profile listing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WireJob {
    pub id: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub category_level: Option<i64>,
    pub category_name: Option<String>,
    pub content: Option<String>,
    pub created_at: Option<i64>,
    pub deadline: Option<i64>,
}

pub(crate) const NOTICES: &str = "notices";
pub(crate) const JOB_PROFILES: &str = "job_profiles";

fn as_array<'a>(endpoint: &'static str, body: &'a Value) -> Result<&'a Vec<Value>, SourceError> {
    body.as_array().ok_or_else(|| SourceError::Malformed {
        endpoint,
        reason: format!("expected a JSON array, got {}", kind(body)),
    })
}

/// The JSON type of a value, for error messages that must not quote the value.
pub(crate) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An optional string field: absent or `null` is `None`; another type is ignored too, since
/// these fields only decorate a notice.
pub(crate) fn opt_str(entry: &Value, field: &str) -> Option<String> {
    entry.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// An optional integer (ms) field: absent, `null` or not an integer is `None`.
pub(crate) fn opt_i64(entry: &Value, field: &str) -> Option<i64> {
    entry.get(field).and_then(Value::as_i64)
}

/// Parse the notices list. Any bad entry fails the whole list, naming index and field.
pub(crate) fn parse_notices(body: &Value) -> Result<Vec<WireNotice>, SourceError> {
    let bad = |reason: String| SourceError::Malformed {
        endpoint: NOTICES,
        reason,
    };
    as_array(NOTICES, body)?
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            if !entry.is_object() {
                return Err(bad(format!(
                    "entry {i}: expected an object, got {}",
                    kind(entry)
                )));
            }
            let identifier = match entry.get("identifier") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                None | Some(Value::Null) => {
                    return Err(bad(format!("entry {i}: missing field identifier")));
                }
                Some(other) => {
                    return Err(bad(format!(
                        "entry {i}: identifier is {}, expected a non-empty string",
                        kind(other)
                    )));
                }
            };
            let published_at = match entry.get("publishedAt") {
                None | Some(Value::Null) => {
                    return Err(bad(format!("entry {i}: missing field publishedAt")));
                }
                Some(v) => v.as_i64().ok_or_else(|| {
                    bad(format!(
                        "entry {i}: publishedAt is {}, expected integer ms",
                        kind(v)
                    ))
                })?,
            };
            Ok(WireNotice {
                identifier,
                title: opt_str(entry, "title"),
                content: opt_str(entry, "content"),
                last_modified_by: opt_str(entry, "lastModifiedByUserName"),
                last_modified_on: opt_i64(entry, "lastModifiedOn"),
                published_at,
            })
        })
        .collect()
}

/// Parse the job listing. The list must be an array; entries without a string
/// `jobProfileIdentifier` are dropped (as the original did), everything else is optional.
/// Returns the jobs and how many entries were dropped.
pub(crate) fn parse_jobs(body: &Value) -> Result<(Vec<WireJob>, usize), SourceError> {
    let entries = as_array(JOB_PROFILES, body)?;
    let jobs: Vec<WireJob> = entries
        .iter()
        .filter_map(|entry| {
            let id = entry
                .get("jobProfileIdentifier")?
                .as_str()
                .filter(|s| !s.is_empty())?;
            Some(WireJob {
                id: id.to_owned(),
                title: opt_str(entry, "jobProfileTitle"),
                company: opt_str(entry, "companyName"),
                category_level: opt_i64(entry, "placementCategoryLevel"),
                category_name: opt_str(entry, "placementCategoryName"),
                content: opt_str(entry, "content"),
                created_at: opt_i64(entry, "createdAt"),
                deadline: opt_i64(entry, "jobProfileApplicationDeadline"),
            })
        })
        .collect();
    let dropped = entries.len() - jobs.len();
    Ok((jobs, dropped))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reason(err: SourceError) -> String {
        match err {
            SourceError::Malformed { reason, .. } => reason,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn notices_need_identifier_and_integer_published_at() {
        let ok = json!([{"identifier": "n1", "publishedAt": 5, "lastModifiedOn": null, "x": [1]}]);
        let parsed = parse_notices(&ok).unwrap();
        assert_eq!(parsed[0].updated_at(), 5);
        assert_eq!(parsed[0].title, None);

        let missing = json!([{"identifier": "n1", "publishedAt": 1}, {"publishedAt": 2}]);
        let r = reason(parse_notices(&missing).unwrap_err());
        assert!(r.contains("entry 1") && r.contains("identifier"), "{r}");

        let wrong = json!([{"identifier": "n1", "publishedAt": "yesterday"}]);
        let r = reason(parse_notices(&wrong).unwrap_err());
        assert!(r.contains("entry 0") && r.contains("publishedAt"), "{r}");
        assert!(!r.contains("yesterday"), "values are not quoted: {r}");

        let float = json!([{"identifier": "n1", "publishedAt": 1.5}]);
        assert!(reason(parse_notices(&float).unwrap_err()).contains("publishedAt"));
    }

    #[test]
    fn a_non_array_is_malformed() {
        let r = reason(parse_notices(&json!({"error": "x"})).unwrap_err());
        assert!(r.contains("array"), "{r}");
        assert!(matches!(
            parse_jobs(&json!("nope")),
            Err(SourceError::Malformed {
                endpoint: "job_profiles",
                ..
            })
        ));
    }

    #[test]
    fn jobs_without_identifier_are_dropped() {
        let body = json!([
            {"jobProfileIdentifier": "j1", "createdAt": 3, "placementCategoryLevel": 2},
            {"jobProfileTitle": "no id"},
        ]);
        let (jobs, dropped) = parse_jobs(&body).unwrap();
        assert_eq!((jobs.len(), dropped), (1, 1));
        assert_eq!(jobs[0].category_level, Some(2));
    }
}
