//! The SuperSet notice layouts of reference 10.3, written as Telegram HTML.
//!
//! The original filled its layouts from LLM-extracted fields; without an LLM, the facts come
//! from the matched job (company, role, location, package, eligibility, hiring flow, deadline)
//! and the notice's own body (converted portal HTML) stands in for the extracted details
//! (the shortlisted names, the webinar's speaker and venue, …).

use super::builder::Html;
use super::dates::{format_deadline_ist, format_post_date_ist};
use super::money::format_package;
use crate::store::{JobProfile, Notice};

/// Where the website shows a job's full description.
pub(crate) const JD_BASE_URL: &str = "http://jiit-placement-updates.tashif.codes/jobs/";

/// Render the layout for `category` (a stored label; unknown labels get the generic layout).
pub(crate) fn render(
    notice: &Notice,
    category: &str,
    body: &str,
    job: Option<&JobProfile>,
) -> String {
    let mut h = Html::new();
    match (category, job) {
        ("announcement", _) => announcement(&mut h, notice, body),
        ("shortlisting", _) => shortlisting(&mut h, notice, body, job),
        ("webinar", _) => event(&mut h, notice, body, "🎓 Webinar Details"),
        ("hackathon", _) => event(&mut h, notice, body, "🏁 Hackathon"),
        ("job posting", Some(job)) => job_posting(&mut h, notice, job),
        ("job posting", None) => generic(&mut h, notice, body, "📢 Job Posting"),
        (other, _) => generic(&mut h, notice, body, &format!("🔔 {}", capitalise(other))),
    }
    h.finish()
}

fn title(notice: &Notice) -> &str {
    let title = notice.title.trim();
    if title.is_empty() { "Notice" } else { title }
}

fn title_line(h: &mut Html, title: &str) {
    h.bold(title).newline().newline();
}

/// `<i>Posted by</i>: author` / `<i>On:</i> date`.
fn footer(h: &mut Html, notice: &Notice) {
    let author = notice.author.trim();
    let author = match author.to_ascii_lowercase().as_str() {
        "" | "null" | "none" | "undefined" => "Unknown",
        _ => author,
    };
    h.italic("Posted by").text(": ").text(author).newline();
    h.italic("On:").text(" ").text(&format_post_date_ist(notice.updated_at_ms));
}

fn body_section(h: &mut Html, body: &str) {
    if !body.trim().is_empty() {
        h.blank_line().fragment(body).blank_line();
    }
}

/// Passthrough: the title as plain text, the body, the footer.
fn announcement(h: &mut Html, notice: &Notice, body: &str) {
    h.text(title(notice)).newline();
    if !body.trim().is_empty() {
        h.fragment(body);
    }
    h.blank_line();
    footer(h, notice);
}

fn company_role_location(h: &mut Html, job: Option<&JobProfile>) {
    let or_na = |v: Option<&str>| {
        v.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("N/A").to_owned()
    };
    h.field("Company:", &or_na(job.map(|j| j.company.as_str())));
    h.field("Role:", &or_na(job.map(|j| j.job_profile.as_str())));
    if let Some(location) = job.and_then(|j| super::known(&j.location)) {
        h.field("Location:", &location);
    }
}

fn ctc(h: &mut Html, job: &JobProfile) {
    h.bold("CTC:").text(" ").text(&format_package(job.package, job.annum_months.as_deref()));
    if let Some(breakdown) = super::money::package_breakdown(&job.package_info) {
        h.text(" ").text(&breakdown);
    }
    h.newline();
}

fn numbered(h: &mut Html, label: &str, steps: &[String]) {
    h.bold(label).newline();
    for (n, step) in steps.iter().enumerate() {
        h.text(&format!("{}. {}", n + 1, step.trim())).newline();
    }
}

fn shortlisting(h: &mut Html, notice: &Notice, body: &str, job: Option<&JobProfile>) {
    title_line(h, title(notice));
    h.bold("🎉 Shortlisting Update").newline();
    company_role_location(h, job);
    body_section(h, body);
    if let Some(job) = job {
        if !job.hiring_flow.is_empty() {
            h.blank_line();
            numbered(h, "Hiring Process:", &job.hiring_flow);
        }
        if job.package.is_some() {
            h.blank_line();
            ctc(h, job);
        }
    }
    h.blank_line();
    footer(h, notice);
}

/// Webinars and hackathons: the event is the title; details are in the body.
fn event(h: &mut Html, notice: &Notice, body: &str, header: &str) {
    title_line(h, title(notice));
    h.bold(header).newline();
    h.field("Event:", title(notice));
    body_section(h, body);
    h.blank_line();
    footer(h, notice);
}

fn job_posting(h: &mut Html, notice: &Notice, job: &JobProfile) {
    let company = job.company.trim();
    let role = job.job_profile.trim();
    let headline = if role.is_empty() {
        format!("Open for applications - {company}")
    } else {
        format!("Open for applications - {company}'s Job Profile - {role}")
    };
    title_line(h, &headline);
    h.bold("📢 Job Posting").newline();
    company_role_location(h, Some(job));
    ctc(h, job);
    if !job.eligibility_courses.is_empty() || !job.eligibility_marks.is_empty() {
        h.blank_line().bold("Eligibility Criteria:").newline();
        if !job.eligibility_courses.is_empty() {
            h.text("- ").bold("Courses:").newline();
            for course in &job.eligibility_courses {
                h.text(course.trim()).newline();
            }
        }
        for mark in &job.eligibility_marks {
            let label = format!("{} Marks:", mark.level.trim());
            h.text("- ").bold(&label);
            h.text(&format!(" {} CGPA or equivalent", number(mark.criteria))).newline();
        }
    }
    if !job.hiring_flow.is_empty() {
        h.blank_line();
        numbered(h, "Hiring Flow:", &job.hiring_flow);
    }
    if let Some(deadline) = job.deadline_ms {
        h.blank_line().text("⚠️ ").bold("Deadline:");
        h.text(" ").text(&format_deadline_ist(deadline)).newline();
    }
    h.blank_line().text("🔗 Detailed JD: ").text(&format!("{JD_BASE_URL}{}", job.id)).newline();
    footer(h, notice);
}

fn generic(h: &mut Html, notice: &Notice, body: &str, header: &str) {
    title_line(h, title(notice));
    h.bold(header).newline();
    body_section(h, body);
    h.blank_line();
    footer(h, notice);
}

/// 7 → "7.0", 7.25 → "7.25" (as the original's Python floats printed).
fn number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.1}") } else { value.to_string() }
}

fn capitalise(label: &str) -> String {
    let mut chars = label.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests;
