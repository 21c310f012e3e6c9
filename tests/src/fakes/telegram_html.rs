//! Telegram's HTML parse mode, as the Bot API applies it.
//!
//! PLACEHOLDER: the format branch replaces this with a faithful parser.

/// The message as Telegram sees it after entity parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedMessage {
    /// The visible text.
    pub text: String,
    /// Its length in UTF-16 code units (what the 4096 limit counts).
    pub utf16_len: usize,
}

/// Parse `html` as Telegram would; `Err` carries Telegram's description, e.g.
/// `Bad Request: can't parse entities: ...`.
pub fn parse_telegram_html(html: &str) -> Result<ParsedMessage, String> {
    Ok(ParsedMessage {
        text: html.to_owned(),
        utf16_len: html.encode_utf16().count(),
    })
}
