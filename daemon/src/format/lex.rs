//! A lexer for Telegram HTML as this module writes it: tags, entities and characters, each
//! kept with its raw source so a splitter can cut between atoms and copy them verbatim.
//!
//! It is lenient on purpose (a `<` without `>` or an unknown `&name;` is just a character):
//! the splitter and the plain-text fallback must never fail, whatever they are given.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Atom<'a> {
    /// `<b>`, `<a href="…">`: the lower-case name and the raw tag.
    Open { name: String, raw: &'a str },
    /// `</b>`.
    Close { name: String },
    /// One visible character, written raw as itself or as an entity.
    Char { ch: char, raw: &'a str },
}

impl Atom<'_> {
    /// UTF-16 code units this atom adds to the visible text.
    pub(crate) fn units(&self) -> usize {
        match self {
            Atom::Char { ch, .. } => ch.len_utf16(),
            _ => 0,
        }
    }
}

pub(crate) fn lex(html: &str) -> Vec<Atom<'_>> {
    let mut atoms = Vec::with_capacity(html.len());
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        let (atom, len) = match rest.as_bytes()[0] {
            b'<' => tag(rest).unwrap_or_else(|| char_atom(rest)),
            b'&' => entity(rest).unwrap_or_else(|| char_atom(rest)),
            _ => char_atom(rest),
        };
        atoms.push(atom);
        i += len;
    }
    atoms
}

fn char_atom(rest: &str) -> (Atom<'_>, usize) {
    // `rest` is never empty here: the caller loops while bytes remain.
    let ch = rest.chars().next().unwrap_or('\u{FFFD}');
    let len = ch.len_utf8();
    (Atom::Char { ch, raw: &rest[..len] }, len)
}

fn tag(rest: &str) -> Option<(Atom<'_>, usize)> {
    let end = rest.find('>')?;
    let raw = &rest[..=end];
    let inner = &raw[1..raw.len() - 1];
    if let Some(name) = inner.strip_prefix('/') {
        let name = name.trim().to_ascii_lowercase();
        return Some((Atom::Close { name }, raw.len()));
    }
    let name: String = inner
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '/')
        .collect::<String>()
        .to_ascii_lowercase();
    if name.is_empty() {
        return None;
    }
    Some((Atom::Open { name, raw }, raw.len()))
}

fn entity(rest: &str) -> Option<(Atom<'_>, usize)> {
    // Byte search: a 12-byte window may end inside a multi-byte character.
    let semi = rest.bytes().take(12).position(|b| b == b';')?;
    let raw = &rest[..=semi];
    let ch = decode_entity(&raw[1..semi])?;
    Some((Atom::Char { ch, raw }, raw.len()))
}

/// The character of `&name;` (without `&` and `;`): the four named entities Telegram knows
/// and numeric ones.
pub(crate) fn decode_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

/// The decoded value of attribute `name` in a raw start tag, if present.
pub(crate) fn attribute(raw_tag: &str, name: &str) -> Option<String> {
    let inner = raw_tag.trim_start_matches('<').trim_end_matches('>');
    let mut rest = inner.split_once(char::is_whitespace)?.1;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return None;
        }
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (v, tail) = match after.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let body = &after[1..];
                    let close = body.find(q).unwrap_or(body.len());
                    (&body[..close], body.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after.find(char::is_whitespace).unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            value = decode_text(v);
            rest = tail;
        }
        if key.eq_ignore_ascii_case(name) {
            return Some(value);
        }
    }
}

/// Decode the entities of a text run (lenient).
pub(crate) fn decode_text(text: &str) -> String {
    lex(text)
        .into_iter()
        .filter_map(|a| match a {
            Atom::Char { ch, .. } => Some(ch),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_tags_entities_and_chars() {
        let atoms = lex("<a href=\"x?a=1&amp;b=2\">A&amp;😀</a>&bogus; <");
        assert!(matches!(&atoms[0], Atom::Open { name, .. } if name == "a"));
        assert_eq!(atoms[1], Atom::Char { ch: 'A', raw: "A" });
        assert_eq!(atoms[2], Atom::Char { ch: '&', raw: "&amp;" });
        assert_eq!(atoms[3].units(), 2);
        assert_eq!(atoms[4], Atom::Close { name: "a".into() });
        assert_eq!(atoms[5], Atom::Char { ch: '&', raw: "&" });
        assert_eq!(atoms.last(), Some(&Atom::Char { ch: '<', raw: "<" }));
    }

    #[test]
    fn reads_attributes() {
        let tag = "<a class='x' href=\"https://e.com/?a=1&amp;b=2\">";
        assert_eq!(attribute(tag, "href").as_deref(), Some("https://e.com/?a=1&b=2"));
        assert_eq!(attribute(tag, "class").as_deref(), Some("x"));
        assert_eq!(attribute(tag, "id"), None);
    }

    #[test]
    fn numeric_entities() {
        assert_eq!(decode_text("&#65;&#x1F600;&#0;"), "A😀&#0;");
    }
}
