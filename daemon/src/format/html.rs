//! Portal HTML (whatever the SuperSet editor produced) → Telegram HTML.
//!
//! The portal's HTML is tokenised with html5gum (which decodes entities), and the tokens drive
//! a [`Writer`] that owns the output rules: text is collapsed and re-escaped, structure
//! (paragraphs, lists, tables, headings) becomes newlines, bullets and " | " cells, and only the
//! tags Telegram knows survive. Formatting tags are kept on a stack and written lazily, so an
//! unclosed or misnested portal tag can never produce unbalanced output.

use html5gum::{DefaultEmitter, Token, Tokenizer};

use super::escape;

/// Convert portal HTML to balanced Telegram HTML.
pub fn portal_to_telegram(html: &str) -> String {
    let mut emitter = DefaultEmitter::default();
    // Raw-text elements (script, style, textarea…) must be tokenised as text, not markup.
    emitter.naively_switch_states(true);
    let mut w = Writer::default();
    for token in Tokenizer::new_with_emitter(html, emitter).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).to_ascii_lowercase();
                let href = tag
                    .attributes
                    .get(b"href".as_slice())
                    .map(|v| String::from_utf8_lossy(v).into_owned());
                let class = tag
                    .attributes
                    .get(b"class".as_slice())
                    .map(|v| String::from_utf8_lossy(v).into_owned());
                w.start(&name, href.as_deref(), class.as_deref(), tag.self_closing);
            }
            Token::EndTag(tag) => w.end(&String::from_utf8_lossy(&tag.name).to_ascii_lowercase()),
            Token::String(text) => w.text(&String::from_utf8_lossy(&text)),
            _ => {}
        }
    }
    w.finish()
}

/// An open Telegram formatting tag: its name, the start tag to write, whether it is written.
#[derive(Debug, Clone)]
struct Open {
    name: &'static str,
    start: String,
    written: bool,
}

#[derive(Debug, Clone)]
enum List {
    Bullets,
    Numbered(u32),
}

#[derive(Debug, Default)]
struct Writer {
    out: String,
    stack: Vec<Open>,
    lists: Vec<List>,
    /// Newlines owed before the next text (at most 2: runs of blank lines collapse).
    newlines: usize,
    space: bool,
    /// Inside script/style: drop text.
    skip: usize,
    pre: usize,
    /// Cells written in the current table row.
    cells: usize,
}

impl Writer {
    fn start(&mut self, name: &str, href: Option<&str>, class: Option<&str>, self_closing: bool) {
        match name {
            "script" | "style" | "head" | "title" | "noscript" | "template" => {
                if !self_closing {
                    self.skip += 1;
                }
            }
            "br" => self.newlines = (self.newlines + 1).min(2),
            "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" => self.block(2),
            "div" | "section" | "article" | "header" | "footer" | "hr" | "dl" | "dt" | "dd" => {
                self.block(1)
            }
            "ul" => {
                self.block(1);
                self.lists.push(List::Bullets);
            }
            "ol" => {
                self.block(1);
                self.lists.push(List::Numbered(0));
            }
            "li" => self.list_item(),
            "tr" => {
                self.block(1);
                self.cells = 0;
            }
            "td" | "th" => {
                if self.cells > 0 {
                    self.literal(" | ");
                }
                self.cells += 1;
            }
            _ => {}
        }
        if matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
            self.open("b", "<b>".to_owned());
        }
        if name == "blockquote" {
            self.block(1);
        }
        if name == "pre" {
            self.block(1);
            self.pre += 1;
        }
        if let Some((tag, start)) = telegram_tag(name, href, class) {
            if !self_closing {
                self.open(tag, start);
            }
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "script" | "style" | "head" | "title" | "noscript" | "template" => {
                self.skip = self.skip.saturating_sub(1)
            }
            "p" | "table" => self.block(2),
            "div" | "section" | "article" | "header" | "footer" | "tr" | "li" | "dl" | "dt"
            | "dd" | "blockquote" => self.block(1),
            "ul" | "ol" => {
                self.lists.pop();
                self.block(1);
            }
            "pre" => {
                self.pre = self.pre.saturating_sub(1);
                self.block(1);
            }
            _ => {}
        }
        if matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
            self.close("b");
            self.block(2);
        }
        if let Some((tag, _)) = telegram_tag(name, Some("https://x"), Some("tg-spoiler")) {
            self.close(tag);
        }
        if name == "blockquote" || name == "pre" {
            self.block(1);
        }
    }

    fn list_item(&mut self) {
        self.block(1);
        let marker = match self.lists.last_mut() {
            Some(List::Numbered(n)) => {
                *n += 1;
                format!("{n}.")
            }
            _ => "•".to_owned(),
        };
        self.literal(&marker);
        self.space = true;
    }

    /// Owe at least `n` newlines before the next text.
    fn block(&mut self, n: usize) {
        self.newlines = self.newlines.max(n);
        self.space = false;
    }

    fn text(&mut self, text: &str) {
        if self.skip > 0 {
            return;
        }
        if self.pre > 0 {
            for line in text.split_inclusive('\n') {
                let (body, nl) = match line.strip_suffix('\n') {
                    Some(body) => (body, true),
                    None => (line, false),
                };
                if !body.is_empty() {
                    self.literal(body);
                }
                if nl {
                    self.newlines = (self.newlines + 1).min(2);
                }
            }
            return;
        }
        let mut word = String::new();
        for c in text.chars() {
            if c.is_whitespace() {
                if !word.is_empty() {
                    self.literal(&word);
                    word.clear();
                }
                self.space = true;
            } else {
                word.push(c);
            }
        }
        if !word.is_empty() {
            self.literal(&word);
        }
    }

    /// Write visible text (escaped), paying owed separators and lazily opened tags first.
    fn literal(&mut self, text: &str) {
        if !self.out.is_empty() {
            if self.newlines > 0 {
                while self.out.ends_with(' ') {
                    self.out.pop();
                }
                for _ in 0..self.newlines {
                    self.out.push('\n');
                }
            } else if self.space {
                self.out.push(' ');
            }
        }
        self.newlines = 0;
        self.space = false;
        for open in self.stack.iter_mut().filter(|o| !o.written) {
            self.out.push_str(&open.start);
            open.written = true;
        }
        self.out.push_str(&escape(text));
    }

    fn open(&mut self, name: &'static str, start: String) {
        // Telegram rejects or drops entities nested where they cannot be: nothing inside
        // code/pre, no link in a link, no quote in a quote. Keep the text, drop the tag.
        let inside = |n: &str| self.stack.iter().any(|o| o.name == n);
        if inside("code") || inside("pre") || (name == "a" && inside("a")) || inside(name) {
            return;
        }
        self.stack.push(Open { name, start, written: false });
    }

    fn close(&mut self, name: &str) {
        let Some(at) = self.stack.iter().rposition(|o| o.name == name) else {
            return; // an end tag with no start: ignore
        };
        // Misnested (`<b><i></b>`): close the inner ones too and reopen them after.
        let above: Vec<Open> = self.stack.drain(at..).collect();
        for open in above.iter().rev() {
            if open.written {
                self.out.push_str("</");
                self.out.push_str(open.name);
                self.out.push('>');
            }
        }
        for open in above.into_iter().skip(1) {
            self.stack.push(Open { written: false, ..open });
        }
    }

    fn finish(mut self) -> String {
        while let Some(open) = self.stack.pop() {
            if open.written {
                self.out.push_str("</");
                self.out.push_str(open.name);
                self.out.push('>');
            }
        }
        let trimmed = self.out.trim_end().len();
        self.out.truncate(trimmed);
        self.out
    }
}

/// The Telegram tag a portal tag maps to, with the start tag to write.
fn telegram_tag(
    name: &str,
    href: Option<&str>,
    class: Option<&str>,
) -> Option<(&'static str, String)> {
    let simple = |t: &'static str| Some((t, format!("<{t}>")));
    match name {
        "b" | "strong" => simple("b"),
        "i" | "em" => simple("i"),
        "u" | "ins" => simple("u"),
        "s" | "strike" | "del" => simple("s"),
        "code" | "tt" | "kbd" | "samp" => simple("code"),
        "pre" => simple("pre"),
        "blockquote" => simple("blockquote"),
        "tg-spoiler" => simple("tg-spoiler"),
        "span" if class.is_some_and(|c| c.split_whitespace().any(|c| c == "tg-spoiler")) => {
            simple("tg-spoiler")
        }
        "a" => {
            let href = href?.trim();
            let scheme = href.split_once(':')?.0.to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto" | "tg")
                .then(|| ("a", format!("<a href=\"{}\">", escape(href))))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;
