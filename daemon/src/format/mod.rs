//! Turning a portal notice into the Telegram message students read.
//!
//! PLACEHOLDER SIGNATURES: the format branch replaces this file. Other branches may call these.

use crate::store::{JobProfile, Notice};

/// Telegram's limit on a message's text after entity parsing, in UTF-16 code units.
pub const TELEGRAM_TEXT_LIMIT: usize = 4096;

/// Fill `notice`'s category, job match, package and `formatted_message` (Telegram HTML).
pub fn format_notice(notice: &mut Notice, jobs: &[JobProfile]) {
    let _ = jobs;
    notice.formatted_message = format!(
        "<b>{}</b>\n\n{}",
        escape(&notice.title),
        escape(&notice.content)
    );
}

/// Escape `<`, `>`, `&` (and `"`) for Telegram HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Split Telegram HTML into chunks of at most `limit` UTF-16 units of visible text each.
pub fn split_message(html: &str, limit: usize) -> Vec<String> {
    let _ = limit;
    vec![html.to_owned()]
}

/// The visible text of Telegram HTML, for the plain-text fallback.
pub fn html_to_plain(html: &str) -> String {
    html.to_owned()
}
