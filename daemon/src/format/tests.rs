//! Tests of `format_notice` as a whole, and the fixtures the layout tests share.

use super::*;
use crate::store::{EligibilityMark, JobProfile, Notice};
use chrono::Utc;

/// 2026-02-20 10:15 IST.
pub(super) const POSTED_MS: i64 = 1_771_562_700_000;
/// 2026-03-05 23:59 IST.
pub(super) const DEADLINE_MS: i64 = 1_772_735_340_000;

pub(super) fn notice(title: &str, content: &str) -> Notice {
    Notice {
        id: "n1".into(),
        title: title.into(),
        content: content.into(),
        author: "Kavya Rao".into(),
        created_at_ms: POSTED_MS,
        updated_at_ms: POSTED_MS,
        source: "Superset".into(),
        category: None,
        matched_job_id: None,
        job_company: None,
        job_role: None,
        job_location: None,
        package: None,
        package_breakdown: None,
        formatted_message: String::new(),
        sent_to_telegram: false,
        saved_at: Utc::now(),
        sent_at: None,
    }
}

pub(super) fn nimbus_job() -> JobProfile {
    JobProfile {
        id: "3f9c2a10-1111-4e2b-9d5e-000000000001".into(),
        job_profile: "Graduate Engineer Trainee".into(),
        company: "Nimbus Cloud Systems Pvt Ltd".into(),
        created_at_ms: Some(POSTED_MS),
        deadline_ms: Some(DEADLINE_MS),
        eligibility_marks: vec![
            EligibilityMark { level: "UG".into(), criteria: 7.0 },
            EligibilityMark { level: "CLASS_X".into(), criteria: 60.0 },
        ],
        eligibility_courses: vec![
            "B.Tech - Computer Science and Engineering".into(),
            "B.Tech - Information Technology".into(),
        ],
        location: "Noida, Bengaluru".into(),
        package: Some(850_000.0),
        annum_months: Some("annum".into()),
        package_info: "<table><tr><td>Fixed</td><td>₹7,00,000</td></tr>\
                       <tr><td>Joining Bonus</td><td>₹1,50,000</td></tr></table>"
            .into(),
        hiring_flow: vec![
            "Online Assessment".into(),
            "Technical Interview".into(),
            "HR Interview".into(),
        ],
        has_details: true,
        ..JobProfile::default()
    }
}

#[test]
fn fills_the_record_for_a_matched_job() {
    let mut n = notice("Nimbus Cloud Systems - open for applications", "<p>Apply now</p>");
    format_notice(&mut n, &[nimbus_job()]);
    assert_eq!(n.category.as_deref(), Some("job posting"));
    assert_eq!(n.matched_job_id.as_deref(), Some("3f9c2a10-1111-4e2b-9d5e-000000000001"));
    assert_eq!(n.job_company.as_deref(), Some("Nimbus Cloud Systems Pvt Ltd"));
    assert_eq!(n.job_role.as_deref(), Some("Graduate Engineer Trainee"));
    assert_eq!(n.job_location.as_deref(), Some("Noida, Bengaluru"));
    assert_eq!(n.package.as_deref(), Some("₹8.5 LPA"));
    assert_eq!(
        n.package_breakdown.as_deref(),
        Some("(\nFixed | ₹7,00,000\nJoining Bonus | ₹1,50,000\n)")
    );
    assert!(n.formatted_message.starts_with("<b>Open for applications - Nimbus"));
}

#[test]
fn unmatched_notice_leaves_job_fields_empty() {
    let mut n = notice("Library closed on Friday", "<p>Due to maintenance.</p>");
    format_notice(&mut n, &[nimbus_job()]);
    assert_eq!(n.category.as_deref(), Some("announcement"));
    assert_eq!(n.matched_job_id, None);
    assert_eq!(n.job_company, None);
    assert_eq!(n.package, None);
    assert_eq!(n.package_breakdown, None);
}

#[test]
fn job_without_package() {
    let job = JobProfile { package: None, package_info: String::new(), ..nimbus_job() };
    let mut n = notice("Nimbus Cloud Systems hiring", "");
    format_notice(&mut n, &[job]);
    assert_eq!(n.package, None);
    assert!(n.formatted_message.contains("<b>CTC:</b> Not specified\n"), "{}", n.formatted_message);
}

#[test]
fn escapes_names_and_content() {
    let job = JobProfile {
        company: "AT&T <Labs>".into(),
        job_profile: "R&D \"Intern\"".into(),
        ..nimbus_job()
    };
    let mut n = notice("AT&T Labs hiring: CGPA < 7 & no backlog", "<p>Eligibility: CGPA &lt; 7 &amp; backlog</p>");
    n.author = "<script>&".into();
    format_notice(&mut n, &[job]);
    let m = &n.formatted_message;
    assert!(m.contains("AT&amp;T &lt;Labs&gt;'s Job Profile - R&amp;D &quot;Intern&quot;"), "{m}");
    assert!(m.contains("<i>Posted by</i>: &lt;script&gt;&amp;"), "{m}");
    assert!(!m.contains("<script>"));
    assert!(!m.contains("& "));
}

#[test]
fn escape_covers_the_special_characters() {
    assert_eq!(escape("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;'");
    assert_eq!(escape("नमस्ते 😀"), "नमस्ते 😀");
}
