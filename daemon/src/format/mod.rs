//! Turning a portal notice into the Telegram message students read.
//!
//! Everything here produces Telegram HTML directly: text only ever enters a message through
//! [`escape`] (or the [`builder::Html`] that calls it), and portal HTML only through
//! [`html::portal_to_telegram`], which re-escapes every piece of text and keeps tags balanced.
//! The original went through a Markdown-ish intermediate stage and escaped nothing, so a
//! "CGPA < 7" in a notice made Telegram reject the message (reference 11, bug 5).
//!
//! Pieces: `classify` (category and job match, rule based), `layout` (the reference 10.3
//! layouts), `money` and `dates` (package and IST formatting), `split` (cutting a message at
//! Telegram's 4096 UTF-16 unit limit without breaking tags) and `plain` (the plain-text fallback).

mod builder;
mod classify;
mod dates;
mod html;
mod lex;
mod layout;
mod money;
mod plain;
mod split;

use crate::store::{JobProfile, Notice};

pub use classify::{Category, classify, match_job, normalise_company};
pub use dates::{format_deadline_ist, format_post_date_ist};
pub use html::portal_to_telegram;
pub use money::{format_package, package_breakdown};
pub use plain::html_to_plain;
pub use split::{split_message, visible_utf16_len};

/// Telegram's limit on a message's text after entity parsing, in UTF-16 code units.
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;

/// Fill `notice`'s category, job match, package and `formatted_message` (Telegram HTML).
///
/// Rule based (no LLM): see [`classify`] for the category rules and [`match_job`] for how a
/// job is picked. The message is not split; [`split_message`] does that at send time.
pub fn format_notice(notice: &mut Notice, jobs: &[JobProfile]) {
    let body_html = portal_to_telegram(&notice.content);
    let body_plain = html_to_plain(&body_html);
    let category = classify(&notice.title, &body_plain);
    let job = match_job(&notice.title, &body_plain, jobs);

    notice.category = Some(category.label().to_owned());
    notice.matched_job_id = job.map(|j| j.id.clone());
    notice.job_company = job.map(|j| j.company.clone()).filter(|s| !s.trim().is_empty());
    notice.job_role = job.map(|j| j.job_profile.clone()).filter(|s| !s.trim().is_empty());
    notice.job_location = job.and_then(|j| known(&j.location));
    notice.package = job
        .and_then(|j| j.package.map(|p| format_package(Some(p), j.annum_months.as_deref())));
    notice.package_breakdown = job.and_then(|j| package_breakdown(&j.package_info));
    notice.formatted_message = layout::render(notice, category.label(), &body_html, job);
}

/// A location worth printing: not empty and not the client's "Unknown" placeholder.
fn known(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty() && !value.eq_ignore_ascii_case("unknown")).then(|| value.to_owned())
}

/// Escape `<`, `>`, `&` (and `"`) for Telegram HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
