use chrono::Utc;
use serde_json::json;

use super::*;

fn wire(id: &str, published: i64, modified: Option<i64>) -> WireNotice {
    WireNotice {
        identifier: id.to_owned(),
        title: None,
        content: None,
        last_modified_by: None,
        last_modified_on: modified,
        published_at: published,
    }
}

#[test]
fn notices_merge_first_account_wholesale_and_sort_with_null_fallback() {
    let first = vec![wire("a", 10, Some(50)), wire("b", 40, None)];
    let mut dup = wire("a", 10, Some(99));
    dup.title = Some("second account's copy".to_owned());
    let second = vec![dup, wire("c", 30, Some(45))];
    let merged = merge_notices(vec![first, second]);
    let ids: Vec<_> = merged.iter().map(|n| n.identifier.as_str()).collect();
    assert_eq!(ids, ["a", "c", "b"]);
    assert_eq!(merged[0].title, None, "the first account's copy wins");
}

#[test]
fn notice_record_defaults() {
    let n = notice_record(wire("x", 7, None), Utc::now());
    assert_eq!(
        (n.title.as_str(), n.content.as_str(), n.author.as_str()),
        ("Notice", "", "")
    );
    assert_eq!((n.created_at_ms, n.updated_at_ms), (7, 7));
    assert_eq!(n.source, "Superset");
    assert!(!n.sent_to_telegram && n.formatted_message.is_empty());
}

#[test]
fn listing_defaults_and_category_names() {
    let j = WireJob {
        id: "j".to_owned(),
        title: None,
        company: None,
        category_level: Some(3),
        category_name: Some(" ".to_owned()),
        content: None,
        created_at: None,
        deadline: None,
    };
    let rec = listed_job(&j);
    assert_eq!(rec.job_profile, "Unknown");
    assert_eq!(rec.company, "??");
    assert_eq!(rec.placement_category, "Offer is more than 4.6 lacs");
    assert_eq!(rec.location, "Unknown");
    assert!(!rec.has_details && rec.package.is_none());
}

#[test]
fn jobs_sort_newest_first_unknown_last() {
    let mk = |id: &str, c: Option<i64>| WireJob {
        id: id.to_owned(),
        title: None,
        company: None,
        category_level: None,
        category_name: None,
        content: None,
        created_at: c,
        deadline: None,
    };
    let merged = merge_jobs(vec![
        vec![mk("a", Some(1)), mk("b", None)],
        vec![mk("c", Some(5)), mk("a", Some(9))],
    ]);
    let ids: Vec<_> = merged.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, ["c", "a", "b"]);
}

#[test]
fn details_map_per_reference() {
    let details = json!({
        "eligibilityCheckResult": {
            "academicResults": [{"level": "UG", "required": 7.0}, {"level": "CLASS_X"}, {"required": "6.5"}],
            "courseCheckResult": {"openedForCourses": [
                {"name": "Computer Science and Engineering", "program": {"shortName": "B.Tech"}},
                {"name": "Physics"}, {"program": {"shortName": "M.Tech"}}
            ]}
        },
        "jobProfile": {
            "allowGenderFemale": true, "allowGenderMale": true, "allowGenderOther": false,
            "jobDescription": "<p>Build</p>", "invitationCustomText": "<p>Bring ID</p>",
            "location": "", "package": 0, "ctcMin": "800000", "ctcMax": 900000,
            "ctcAdditionalInfo": "<table></table>", "ctcInterval": "MONTHLY",
            "requiredSkills": ["Java", 3],
            "stages": [{"sequence": "4", "name": "HR"}, {"sequence": 1, "name": "OA"},
                       {"name": "Unnumbered"}, {"sequence": 2, "name": "Tech"}],
            "documents": [{"name": "JD.pdf", "identifier": "d1"}, {"name": "no id"}]
        },
        "jobProfileLocation": "Noida",
        "positionType": "FULL_TIME"
    });
    let mut job = JobProfile {
        id: "j".to_owned(),
        ..JobProfile::default()
    };
    apply_details(&mut job, &details);
    assert!(job.has_details);
    let marks: Vec<_> = job
        .eligibility_marks
        .iter()
        .map(|m| (m.level.as_str(), m.criteria))
        .collect();
    assert_eq!(marks, [("UG", 7.0), ("CLASS_X", 50.0), ("UG", 6.5)]);
    assert_eq!(
        job.eligibility_courses,
        [
            "B.Tech - Computer Science and Engineering",
            "Unknown - Physics"
        ]
    );
    assert_eq!(job.allowed_genders, ["Female", "Male"]);
    assert_eq!(job.job_description, "<p>Build</p>\n<p>Bring ID</p>");
    assert_eq!(job.location, "Noida");
    assert_eq!(job.package, Some(800000.0));
    assert_eq!(job.annum_months.as_deref(), Some("MONTHLY"));
    assert_eq!(job.required_skills, ["Java"]);
    assert_eq!(job.hiring_flow, ["OA", "Tech", "HR", "Unnumbered"]);
    assert_eq!(job.placement_type.as_deref(), Some("FULL_TIME"));
    assert_eq!(job.documents.len(), 1);
}

#[test]
fn package_is_none_when_nothing_is_positive() {
    let mut job = JobProfile::default();
    apply_details(
        &mut job,
        &json!({"jobProfile": {"package": 0, "ctcMin": null}}),
    );
    assert_eq!(job.package, None);
    assert_eq!(job.location, "Unknown");
    apply_details(
        &mut job,
        &json!({"jobProfile": {"ctcMax": 1200000, "location": ["Pune", "Noida"]}}),
    );
    assert_eq!(job.package, Some(1_200_000.0));
    assert_eq!(job.location, "Pune, Noida");
    apply_details(&mut job, &json!("not an object"));
    assert!(job.hiring_flow.is_empty() && job.package.is_none());
}
