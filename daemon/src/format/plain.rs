//! The plain-text fallback: what to send (without `parse_mode`) when Telegram still rejects a
//! message's HTML. Tags go, entities are decoded and links keep their target as "text (url)".

use super::lex::{Atom, attribute, lex};

/// The visible text of Telegram HTML, for the plain-text fallback.
pub fn html_to_plain(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    // Open links: the href and where the link text starts in `out`.
    let mut links: Vec<(Option<String>, usize)> = Vec::new();
    for atom in lex(html) {
        match atom {
            Atom::Char { ch, .. } => out.push(ch),
            Atom::Open { name, raw } if name == "a" => {
                links.push((attribute(raw, "href"), out.len()));
            }
            Atom::Close { name } if name == "a" => {
                if let Some((Some(href), start)) = links.pop() {
                    let text = out[start..].trim();
                    if text.is_empty() {
                        out.push_str(&href);
                    } else if text != href && !href.is_empty() {
                        out.push_str(" (");
                        out.push_str(&href);
                        out.push(')');
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_decodes() {
        assert_eq!(
            html_to_plain("<b>CGPA &lt; 7 &amp; backlog</b>\n<i>&quot;ok&quot;</i> &#128512;"),
            "CGPA < 7 & backlog\n\"ok\" 😀"
        );
    }

    #[test]
    fn links_show_their_target() {
        assert_eq!(
            html_to_plain("see <a href=\"https://e.com/?a=1&amp;b=2\">the form</a>."),
            "see the form (https://e.com/?a=1&b=2)."
        );
        assert_eq!(html_to_plain("<a href=\"https://e.com\">https://e.com</a>"), "https://e.com");
        assert_eq!(html_to_plain("<a href=\"https://e.com\"></a>"), "https://e.com");
    }
}
