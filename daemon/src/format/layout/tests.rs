use super::*;
use crate::format::format_notice;
use crate::format::tests::{nimbus_job, notice};

const FOOTER: &str = "<i>Posted by</i>: Kavya Rao\n<i>On:</i> February 20, 2026 at 10:15 AM IST";

fn formatted(title: &str, content: &str, jobs: &[JobProfile]) -> String {
    let mut n = notice(title, content);
    format_notice(&mut n, jobs);
    n.formatted_message
}

#[test]
fn job_posting_with_matched_job_matches_the_reference_example() {
    let expected = "\
<b>Open for applications - Nimbus Cloud Systems Pvt Ltd's Job Profile - Graduate Engineer Trainee</b>

<b>📢 Job Posting</b>
<b>Company:</b> Nimbus Cloud Systems Pvt Ltd
<b>Role:</b> Graduate Engineer Trainee
<b>Location:</b> Noida, Bengaluru
<b>CTC:</b> ₹8.5 LPA (
Fixed | ₹7,00,000
Joining Bonus | ₹1,50,000
)

<b>Eligibility Criteria:</b>
- <b>Courses:</b>
B.Tech - Computer Science and Engineering
B.Tech - Information Technology
- <b>UG Marks:</b> 7.0 CGPA or equivalent
- <b>CLASS_X Marks:</b> 60.0 CGPA or equivalent

<b>Hiring Flow:</b>
1. Online Assessment
2. Technical Interview
3. HR Interview

⚠️ <b>Deadline:</b> March 05, 2026, 11:59 PM IST

🔗 Detailed JD: http://jiit-placement-updates.tashif.codes/jobs/3f9c2a10-1111-4e2b-9d5e-000000000001
";
    let got = formatted("Nimbus Cloud Systems Pvt. Ltd. is hiring", "<p>Apply by the deadline.</p>", &[nimbus_job()]);
    assert_eq!(got, format!("{expected}{FOOTER}"));
}

#[test]
fn job_posting_without_match_uses_the_body() {
    let got = formatted("Open for applications: Orbit Labs", "<p>Apply <b>today</b></p>", &[nimbus_job()]);
    assert_eq!(
        got,
        format!(
            "<b>Open for applications: Orbit Labs</b>\n\n<b>📢 Job Posting</b>\n\nApply <b>today</b>\n\n{FOOTER}"
        )
    );
}

#[test]
fn announcement_is_a_passthrough() {
    let got = formatted("Library closed", "<p>On <b>Friday</b>.</p><p></p><p>Thanks</p>", &[]);
    assert_eq!(got, format!("Library closed\nOn <b>Friday</b>.\n\nThanks\n\n{FOOTER}"));
}

#[test]
fn shortlisting_with_job_lists_process_and_ctc() {
    let got = formatted(
        "Shortlisted students - Nimbus Cloud Systems",
        "<ol><li>Asha (9921103001)</li><li>Ravi (9921103002)</li></ol>",
        &[nimbus_job()],
    );
    let expected = "\
<b>Shortlisted students - Nimbus Cloud Systems</b>

<b>🎉 Shortlisting Update</b>
<b>Company:</b> Nimbus Cloud Systems Pvt Ltd
<b>Role:</b> Graduate Engineer Trainee
<b>Location:</b> Noida, Bengaluru

1. Asha (9921103001)
2. Ravi (9921103002)

<b>Hiring Process:</b>
1. Online Assessment
2. Technical Interview
3. HR Interview

<b>CTC:</b> ₹8.5 LPA (
Fixed | ₹7,00,000
Joining Bonus | ₹1,50,000
)

";
    assert_eq!(got, format!("{expected}{FOOTER}"));
}

#[test]
fn shortlisting_without_job_says_na() {
    let got = formatted("Shortlist for the next round", "<p>Names below</p>", &[]);
    assert_eq!(
        got,
        format!(
            "<b>Shortlist for the next round</b>\n\n<b>🎉 Shortlisting Update</b>\n\
             <b>Company:</b> N/A\n<b>Role:</b> N/A\n\nNames below\n\n{FOOTER}"
        )
    );
}

#[test]
fn webinar_and_hackathon() {
    let got = formatted("Webinar: Cracking interviews", "<p>Zoom, 5 PM</p>", &[]);
    assert_eq!(
        got,
        format!(
            "<b>Webinar: Cracking interviews</b>\n\n<b>🎓 Webinar Details</b>\n\
             <b>Event:</b> Webinar: Cracking interviews\n\nZoom, 5 PM\n\n{FOOTER}"
        )
    );
    let got = formatted("Smart India Hackathon", "", &[]);
    assert_eq!(
        got,
        format!(
            "<b>Smart India Hackathon</b>\n\n<b>🏁 Hackathon</b>\n\
             <b>Event:</b> Smart India Hackathon\n\n{FOOTER}"
        )
    );
}

#[test]
fn generic_layout_for_other_labels() {
    let n = notice("Drive postponed", "");
    let got = render(&n, "update", "Moved to <b>Monday</b>", None);
    assert_eq!(
        got,
        format!("<b>Drive postponed</b>\n\n<b>🔔 Update</b>\n\nMoved to <b>Monday</b>\n\n{FOOTER}")
    );
}

#[test]
fn null_ish_author_and_missing_time() {
    let mut n = notice("Library closed", "");
    n.author = " null ".into();
    n.updated_at_ms = 0;
    format_notice(&mut n, &[]);
    assert!(
        n.formatted_message.ends_with("<i>Posted by</i>: Unknown\n<i>On:</i> Not specified"),
        "{}",
        n.formatted_message
    );
}

#[test]
fn empty_title_becomes_notice() {
    let got = formatted("  ", "<p>Apply</p>", &[]);
    assert!(got.starts_with("<b>Notice</b>\n\n<b>📢 Job Posting</b>"), "{got}");
}

#[test]
fn monthly_package_and_fractional_marks() {
    let job = JobProfile {
        package: Some(45_000.0),
        annum_months: Some("monthly".into()),
        package_info: String::new(),
        eligibility_marks: vec![crate::store::EligibilityMark { level: "UG".into(), criteria: 6.5 }],
        ..nimbus_job()
    };
    let got = formatted("Nimbus Cloud Systems internship: apply", "", &[job]);
    assert!(got.contains("<b>CTC:</b> ₹45,000\n"), "{got}");
    assert!(got.contains("- <b>UG Marks:</b> 6.5 CGPA or equivalent"), "{got}");
}
