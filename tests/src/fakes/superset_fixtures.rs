//! Realistic portal data for the fake SuperSet portal.
//!
//! Shaped after what the portal serves (reference 12.2) and chosen to exercise what breaks
//! formatters and parsers: HTML tables, entities next to raw `<` and `&`, emoji, Devanagari,
//! a notice longer than Telegram's 4096-character limit, a `null` `lastModifiedOn`, a job
//! without any package, a package breakdown table, stage numbers with a gap and as strings.
//! Notice titles name the companies of the job listing so notice-to-job matching has work.

use serde_json::{Value, json};

/// 2025-12-01 10:00 IST in ms; fixtures count from here.
pub const BASE_MS: i64 = 1_764_563_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The package-breakdown table the portal puts in job postings.
const PACKAGE_TABLE: &str = "<table border=\"1\"><tbody>\
<tr><td><strong>Component</strong></td><td><strong>Amount (INR)</strong></td></tr>\
<tr><td>Base salary</td><td>15,00,000</td></tr>\
<tr><td>Joining bonus</td><td>1,00,000</td></tr>\
<tr><td>ESOPs &amp; retention (4 years)</td><td>2,00,000</td></tr>\
<tr><td><strong>Total CTC</strong></td><td><strong>18,00,000</strong></td></tr>\
</tbody></table>";

fn notice(
    id: &str,
    title: &str,
    content: String,
    author: &str,
    published: i64,
    modified: Option<i64>,
) -> Value {
    json!({
        "identifier": id,
        "title": title,
        "content": content,
        "lastModifiedByUserName": author,
        "lastModifiedOn": modified,
        "publishedAt": published,
        "noticeType": "GENERAL",
        "attachments": [],
        "readStatus": false
    })
}

/// A shortlist table of `n` students (about 60 characters of HTML per row).
pub fn shortlist_table(n: usize) -> String {
    let mut html = String::from(
        "<table><thead><tr><th>S.No.</th><th>Enrollment No.</th><th>Name</th><th>Branch</th></tr></thead><tbody>",
    );
    for i in 1..=n {
        let branch = ["CSE", "ECE", "IT", "BT"][i % 4];
        html.push_str(&format!(
            "<tr><td>{i}</td><td>99210{i:05}</td><td>Student Name {i}</td><td>{branch}</td></tr>"
        ));
    }
    html.push_str("</tbody></table>");
    html
}

/// Six notices, newest first by modification time.
pub fn realistic_notices() -> Vec<Value> {
    let long = format!(
        "<p>Dear Students,</p><p>The following <strong>300 students</strong> are shortlisted for the \
         interviews of <strong>Zeta Systems</strong> on 05 Dec 2025 (Software Engineer &amp; SDET roles).</p>{}\
         <p>Report at LT-1 by 9:00 AM with your ID card &amp; two copies of your resume.</p>",
        shortlist_table(300)
    );
    vec![
        notice(
            "notice-zeta-posting",
            "Job Posting: Zeta Systems - Software Engineer (FTE) | Batch 2026",
            format!(
                "<p>Zeta Systems is hiring <strong>Software Engineers</strong> 🚀 for its Noida &amp; \
                 Bengaluru offices.</p><p><strong>Package breakdown:</strong></p>{PACKAGE_TABLE}\
                 <p>Eligibility: B.Tech CSE/IT/ECE, CGPA &gt;= 7.0. Students with CGPA < 7 & backlog \
                 are not eligible.</p><p>Apply before <em>04 Dec 2025, 11:59 PM</em> &lt;strictly&gt;.</p>"
            ),
            "Training & Placement Cell",
            BASE_MS + 5 * HOUR_MS,
            Some(BASE_MS + 6 * HOUR_MS),
        ),
        notice(
            "notice-zeta-shortlist",
            "Shortlisting for Interviews - Zeta Systems",
            long,
            "Placement Coordinator",
            BASE_MS + 4 * HOUR_MS,
            Some(BASE_MS + 4 * HOUR_MS + 30 * 60_000),
        ),
        notice(
            "notice-nimbus-webinar",
            "Pre-Placement Talk (Webinar) by Nimbus Cloud 📢",
            "<p>Nimbus Cloud will hold a pre-placement talk on Zoom at 3:00 PM today.</p>\
             <p>सभी छात्रों से अनुरोध है कि समय पर उपस्थित हों। 🙏</p>\
             <p>Link: <a href=\"https://zoom.example/j/123?pwd=a&amp;b\">Join here</a></p>"
                .to_owned(),
            "T&P Office",
            BASE_MS + 3 * HOUR_MS,
            None,
        ),
        notice(
            "notice-acme-oa",
            "Shortlisting for Online Assessment - Acme Analytics (Data Analyst)",
            "<p>Shortlisted students for the Acme Analytics OA:</p><ol><li>Aarav Sharma (CSE)</li>\
             <li>Diya Gupta (IT)</li><li>Kabir Singh (ECE)</li></ol><p>OA window: 2:00 PM &ndash; 3:30 PM.</p>"
                .to_owned(),
            "Placement Coordinator",
            BASE_MS + 2 * HOUR_MS,
            Some(BASE_MS + 2 * HOUR_MS),
        ),
        notice(
            "notice-orbit-internship",
            "Internship Opportunity: Orbit Fintech - Summer Intern 2026",
            "<p>Orbit Fintech offers a 2-month summer internship. Stipend: ₹40,000/month.</p>\
             <p>Open to 3rd-year students only.</p>"
                .to_owned(),
            "Training & Placement Cell",
            BASE_MS + HOUR_MS,
            Some(BASE_MS + HOUR_MS + 5 * 60_000),
        ),
        notice(
            "notice-resume-reminder",
            "Reminder: Update your resume on the portal",
            "<p>Please upload your latest resume (PDF, &lt; 2 MB) before Friday.</p>".to_owned(),
            "",
            BASE_MS,
            Some(BASE_MS),
        ),
    ]
}

fn listing(
    id: &str,
    title: &str,
    company: &str,
    level: i64,
    category: Option<&str>,
    created: i64,
) -> Value {
    json!({
        "jobProfileIdentifier": id,
        "jobProfileTitle": title,
        "companyName": company,
        "placementCategoryLevel": level,
        "placementCategoryName": category,
        "content": format!("<p>{title} at {company}</p>"),
        "createdAt": created,
        "jobProfileApplicationDeadline": created + 72 * HOUR_MS,
        "companyLogoId": null,
        "applicationStatus": "NOT_APPLIED"
    })
}

fn eligibility(ug: Value, courses: &[(&str, &str)]) -> Value {
    let opened: Vec<Value> = courses
        .iter()
        .map(|(short, name)| json!({"name": name, "program": {"shortName": short}}))
        .collect();
    json!({
        "isEligible": true,
        "academicResults": [{"level": "UG", "required": ug}, {"level": "CLASS_X", "required": 60},
                            {"level": "CLASS_XII", "required": 60}],
        "courseCheckResult": {"openedForCourses": opened}
    })
}

/// The job listing (newest first) and the details of each job.
pub fn realistic_jobs() -> (Vec<Value>, Vec<(String, Value)>) {
    let jobs = vec![
        listing(
            "job-zeta-sde",
            "Software Engineer (FTE)",
            "Zeta Systems",
            1,
            Some("High"),
            BASE_MS + 5 * HOUR_MS,
        ),
        listing(
            "job-nimbus-csa",
            "Cloud Support Associate",
            "Nimbus Cloud",
            3,
            None,
            BASE_MS + 3 * HOUR_MS,
        ),
        listing(
            "job-acme-da",
            "Data Analyst",
            "Acme Analytics",
            2,
            Some("Middle"),
            BASE_MS + 2 * HOUR_MS,
        ),
        listing(
            "job-orbit-intern",
            "Summer Intern 2026",
            "Orbit Fintech",
            4,
            Some(""),
            BASE_MS + HOUR_MS,
        ),
    ];
    let cse = [
        ("B.Tech", "Computer Science and Engineering"),
        ("B.Tech", "Information Technology"),
    ];
    let details = vec![
        (
            "job-zeta-sde".to_owned(),
            json!({
                "eligibilityCheckResult": eligibility(json!(7.0), &cse),
                "jobProfile": {
                    "allowGenderFemale": true, "allowGenderMale": true, "allowGenderOther": true,
                    "jobDescription": "<p>Design &amp; build payment systems.</p>",
                    "invitationCustomText": "<p>Carry your ID card.</p>",
                    "location": "Noida, Bengaluru", "package": 1_800_000, "ctcMin": 1_500_000, "ctcMax": 1_800_000,
                    "ctcAdditionalInfo": PACKAGE_TABLE, "ctcInterval": "ANNUM",
                    "requiredSkills": ["Java", "Data Structures", "SQL"],
                    "stages": [{"sequence": 1, "name": "Online Assessment"}, {"sequence": 2, "name": "Technical Interview 1"},
                               {"sequence": 4, "name": "HR Interview"}, {"sequence": "3", "name": "Technical Interview 2"}],
                    "documents": [{"name": "JD_Zeta_SDE.pdf", "identifier": "doc-zeta-jd"},
                                  {"name": "Zeta_Benefits.pdf", "identifier": "doc-zeta-benefits"}]
                },
                "jobProfileLocation": "Noida", "positionType": "FULL_TIME"
            }),
        ),
        (
            "job-nimbus-csa".to_owned(),
            json!({
                "eligibilityCheckResult": eligibility(json!(6), &[("B.Tech", "Electronics and Communication Engineering")]),
                "jobProfile": {
                    "allowGenderFemale": true, "allowGenderMale": true, "allowGenderOther": false,
                    "jobDescription": "<p>Support enterprise customers.</p>", "invitationCustomText": null,
                    "package": 650_000, "ctcInterval": "ANNUM", "requiredSkills": ["Linux", "Networking"],
                    "stages": [{"sequence": "1", "name": "Aptitude Test"}, {"sequence": "3", "name": "Interview"}],
                    "documents": []
                },
                "jobProfileLocation": "Hyderabad", "positionType": "FULL_TIME"
            }),
        ),
        (
            "job-acme-da".to_owned(),
            json!({
                "eligibilityCheckResult": eligibility(json!(6.5), &cse),
                "jobProfile": {
                    "allowGenderFemale": true, "allowGenderMale": true, "allowGenderOther": false,
                    "jobDescription": "<p>Analyse customer data.</p>", "invitationCustomText": "",
                    "location": "Gurugram", "package": 0, "ctcAdditionalInfo": "",
                    "requiredSkills": ["Excel", "Python"],
                    "stages": [{"sequence": 1, "name": "Online Assessment"}, {"sequence": 2, "name": "Interview"}],
                    "documents": [{"name": "Acme_JD.pdf", "identifier": "doc-acme-jd"}]
                },
                "jobProfileLocation": null, "positionType": "FULL_TIME"
            }),
        ),
        (
            "job-orbit-intern".to_owned(),
            json!({
                "eligibilityCheckResult": eligibility(json!(7.5), &cse),
                "jobProfile": {
                    "allowGenderFemale": true, "allowGenderMale": true, "allowGenderOther": true,
                    "jobDescription": "<p>Summer internship in the payments team.</p>",
                    "location": "Mumbai", "ctcMin": 40_000, "ctcMax": 50_000, "ctcInterval": "MONTHLY",
                    "ctcAdditionalInfo": "<p>Stipend ₹40,000–₹50,000 per month</p>",
                    "requiredSkills": [], "stages": [{"sequence": 1, "name": "Interview"}], "documents": []
                },
                "jobProfileLocation": "Mumbai", "positionType": "INTERNSHIP"
            }),
        ),
    ];
    (jobs, details)
}

/// A simple distinct notice; higher `i` is newer.
pub fn numbered_notice(i: usize) -> Value {
    let t = BASE_MS + i as i64 * 60_000;
    json!({
        "identifier": format!("n-{i:06}"),
        "title": format!("Notice {i}"),
        "content": format!("<p>Body of notice {i}</p>"),
        "lastModifiedByUserName": "Placement Cell",
        "lastModifiedOn": t,
        "publishedAt": t
    })
}
