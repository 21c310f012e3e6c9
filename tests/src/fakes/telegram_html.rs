//! Telegram's HTML parse mode, as the Bot API applies it.
//!
//! An independent re-implementation (it shares no code with the daemon's formatter, so a bug
//! cannot hide in both) following the Bot API's "HTML style" rules and the structure and error
//! wording of TDLib's `parse_html`:
//! - tags: `b`, `strong`, `i`, `em`, `u`, `ins`, `s`, `strike`, `del`, `span class="tg-spoiler"`,
//!   `tg-spoiler`, `a href`, `code` (`class="language-x"` inside `pre`), `pre`, `blockquote`
//!   (`expandable` too) and `tg-emoji emoji-id`; anything else is `Unsupported start tag`;
//! - tags must be closed and properly nested (`Unmatched end tag`, `Unexpected end tag`,
//!   `Can't find end tag corresponding to start tag`);
//! - entities: `&lt;` `&gt;` `&amp;` `&quot;` and numeric `&#NNN;` / `&#xHH;`.
//!
//! Deliberately stricter than TDLib where the Bot API docs say "must": a `&` that does not
//! start one of those entities (with its `;`) is rejected (`Character entity expected`), where
//! TDLib would keep it as text. Anything this parser accepts, Telegram accepts.
//!
//! The text is not trimmed; `utf16_len` counts UTF-16 code units of the whole visible text,
//! which is what the 4096 limit of `sendMessage` counts.

/// A formatting entity as Telegram reports it in `Message.entities` (offsets in UTF-16 units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// `bold`, `italic`, `underline`, `strikethrough`, `spoiler`, `text_link`, `code`, `pre`,
    /// `blockquote`, `expandable_blockquote`, `custom_emoji`.
    pub kind: &'static str,
    pub offset: usize,
    pub length: usize,
    /// The link of `text_link`, the language of `pre`, the id of `custom_emoji`.
    pub argument: Option<String>,
}

/// The message as Telegram sees it after entity parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The visible text.
    pub text: String,
    /// Its length in UTF-16 code units (what the 4096 limit counts).
    pub utf16_len: usize,
    /// Entities with a non-empty range, ordered by offset.
    pub entities: Vec<Entity>,
}

const SUPPORTED: &[&str] = &[
    "a",
    "b",
    "strong",
    "i",
    "em",
    "s",
    "strike",
    "del",
    "u",
    "ins",
    "tg-spoiler",
    "tg-emoji",
    "span",
    "pre",
    "code",
    "blockquote",
];

struct OpenTag {
    name: String,
    argument: String,
    utf16_offset: usize,
}

fn error(detail: impl std::fmt::Display) -> String {
    format!("Bad Request: can't parse entities: {detail}")
}

/// TDLib's `is_space` (NUL included: the C string's terminator ends every token).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'\0' | 0x0b)
}

/// Parse `html` as Telegram would; `Err` carries Telegram's description, e.g.
/// `Bad Request: can't parse entities: ...`.
pub fn parse_telegram_html(html: &str) -> Result<ParsedMessage, String> {
    let bytes = html.as_bytes();
    // C-string semantics: reading past the end yields NUL.
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut text = String::with_capacity(html.len());
    let mut utf16 = 0usize;
    let mut open: Vec<OpenTag> = Vec::new();
    let mut entities = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'&' => {
                let (ch, len) = decode_entity(&bytes[i..])
                    .ok_or_else(|| error(format!("Character entity expected at byte offset {i}")))?;
                text.push(ch);
                utf16 += ch.len_utf16();
                i += len;
            }
            b'<' if at(i + 1) == b'/' => {
                let begin = i;
                if open.is_empty() {
                    return Err(error(format!("Unexpected end tag at byte offset {begin}")));
                }
                i += 2;
                let name_start = i;
                while !is_space(at(i)) && at(i) != b'>' {
                    i += 1;
                }
                let end_name = &html[name_start..i];
                while is_space(at(i)) && at(i) != 0 {
                    i += 1;
                }
                if at(i) != b'>' {
                    return Err(error(format!("Unclosed end tag at byte offset {begin}")));
                }
                i += 1;
                let tag = open.pop().ok_or_else(|| error("internal: empty tag stack"))?;
                if !end_name.is_empty() && end_name != tag.name {
                    return Err(error(format!(
                        "Unmatched end tag at byte offset {begin}, expected \"</{}>\", found \"</{end_name}>\"",
                        tag.name
                    )));
                }
                close_entity(tag, utf16, &mut open, &mut entities)?;
            }
            b'<' => {
                let (tag, next) = start_tag(html, i)?;
                open.push(OpenTag { utf16_offset: utf16, ..tag });
                i = next;
            }
            _ => {
                // Copy one whole UTF-8 character.
                let ch = html[i..].chars().next().ok_or_else(|| error("internal: bad offset"))?;
                text.push(ch);
                utf16 += ch.len_utf16();
                i += ch.len_utf8();
            }
        }
    }
    if let Some(tag) = open.last() {
        return Err(error(format!(
            "Can't find end tag corresponding to start tag \"{}\"",
            tag.name
        )));
    }
    entities.sort_by(|a: &Entity, b: &Entity| {
        a.offset.cmp(&b.offset).then(b.length.cmp(&a.length))
    });
    Ok(ParsedMessage { text, utf16_len: utf16, entities })
}

/// `&lt;` `&gt;` `&amp;` `&quot;` `&#NNN;` `&#xHH;` at the start of `rest`: the character and
/// the entity's length in bytes.
fn decode_entity(rest: &[u8]) -> Option<(char, usize)> {
    let semi = rest.iter().take(16).position(|&b| b == b';')?;
    let name = std::str::from_utf8(&rest[1..semi]).ok()?;
    let ch = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        _ => {
            let num = name.strip_prefix('#')?;
            let (digits, radix) = match num.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            let code = u32::from_str_radix(digits, radix).ok()?;
            if code == 0 || code >= 0x10ffff {
                return None;
            }
            char::from_u32(code)? // surrogates are not characters
        }
    };
    Some((ch, semi + 1))
}

/// Parse a start tag at `begin` (which holds `<`); returns the tag and the index after `>`.
fn start_tag(html: &str, begin: usize) -> Result<(OpenTag, usize), String> {
    let bytes = html.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut i = begin + 1;
    while !is_space(at(i)) && at(i) != b'>' {
        i += 1;
    }
    if at(i) == 0 {
        return Err(error(format!("Unclosed start tag at byte offset {begin}")));
    }
    let name = html[begin + 1..i].to_lowercase();
    if !SUPPORTED.contains(&name.as_str()) {
        return Err(error(format!("Unsupported start tag \"{name}\" at byte offset {begin}")));
    }
    let mut argument = String::new();
    while at(i) != b'>' {
        while at(i) != 0 && is_space(at(i)) {
            i += 1;
        }
        if at(i) == b'>' {
            break;
        }
        let attr_start = i;
        while !is_space(at(i)) && at(i) != b'=' && at(i) != b'>' {
            i += 1;
        }
        let attr = &html[attr_start..i];
        if attr.is_empty() {
            return Err(error(format!(
                "Empty attribute name in the tag \"{name}\" at byte offset {begin}"
            )));
        }
        while at(i) != 0 && is_space(at(i)) {
            i += 1;
        }
        if at(i) != b'=' {
            if name == "blockquote" && attr == "expandable" {
                argument = "1".to_owned();
                continue;
            }
            return Err(error(format!(
                "Expected equal sign in declaration of an attribute of the tag \"{name}\" at byte offset {begin}"
            )));
        }
        i += 1;
        while at(i) != 0 && is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Err(error(format!("Unclosed start tag \"{name}\" at byte offset {begin}")));
        }
        let value = if at(i) != b'\'' && at(i) != b'"' {
            let token_start = i;
            while at(i).is_ascii_alphanumeric() || at(i) == b'.' || at(i) == b'-' {
                i += 1;
            }
            if !is_space(at(i)) && at(i) != b'>' {
                return Err(error(format!(
                    "Unexpected end of name token at byte offset {token_start}"
                )));
            }
            html[token_start..i].to_lowercase()
        } else {
            let quote = at(i);
            i += 1;
            let mut value = String::new();
            while at(i) != quote && at(i) != 0 {
                if at(i) == b'&' {
                    if let Some((ch, len)) = decode_entity(&bytes[i..]) {
                        value.push(ch);
                        i += len;
                        continue;
                    }
                }
                let ch = html[i..].chars().next().ok_or_else(|| error("internal: bad offset"))?;
                value.push(ch);
                i += ch.len_utf8();
            }
            if at(i) == quote {
                i += 1;
            }
            value
        };
        if at(i) == 0 {
            return Err(error(format!("Unclosed start tag at byte offset {begin}")));
        }
        match (name.as_str(), attr) {
            ("a", "href") | ("tg-emoji", "emoji-id") => argument = value,
            ("code", "class") if value.starts_with("language-") => {
                argument = value["language-".len()..].to_owned()
            }
            ("span", "class") if value.starts_with("tg-") => argument = value[3..].to_owned(),
            _ => {}
        }
    }
    if name == "span" && argument != "spoiler" {
        return Err(error(format!(
            "Tag \"span\" must have class \"tg-spoiler\" at byte offset {begin}"
        )));
    }
    if name == "tg-emoji" && argument.parse::<i64>().map_or(true, |id| id == 0) {
        return Err(error("Invalid custom emoji identifier specified"));
    }
    Ok((OpenTag { name, argument, utf16_offset: 0 }, i + 1))
}

/// Turn a closed tag into an entity (none for an empty range).
fn close_entity(
    tag: OpenTag,
    utf16: usize,
    open: &mut [OpenTag],
    entities: &mut Vec<Entity>,
) -> Result<(), String> {
    let length = utf16 - tag.utf16_offset;
    if length == 0 {
        return Ok(());
    }
    let argument = (!tag.argument.is_empty()).then(|| tag.argument.clone());
    let (kind, argument) = match tag.name.as_str() {
        "b" | "strong" => ("bold", None),
        "i" | "em" => ("italic", None),
        "u" | "ins" => ("underline", None),
        "s" | "strike" | "del" => ("strikethrough", None),
        "tg-spoiler" | "span" => ("spoiler", None),
        "a" => ("text_link", argument),
        "tg-emoji" => ("custom_emoji", argument),
        "blockquote" if argument.is_some() => ("expandable_blockquote", None),
        "blockquote" => ("blockquote", None),
        "pre" => ("pre", argument),
        "code" => {
            // `<pre><code class="language-x">` is one pre entity with a language.
            if let Some(parent) = open.last_mut().filter(|p| p.name == "pre") {
                if parent.utf16_offset == tag.utf16_offset && argument.is_some() {
                    parent.argument = tag.argument;
                    return Ok(());
                }
            }
            ("code", None)
        }
        other => return Err(error(format!("internal: unknown tag {other}"))),
    };
    entities.push(Entity { kind, offset: tag.utf16_offset, length, argument });
    Ok(())
}

#[cfg(test)]
mod tests;
