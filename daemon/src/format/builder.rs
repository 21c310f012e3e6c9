//! A tiny Telegram HTML builder: every piece of text goes through [`escape`], so a layout
//! cannot forget to escape a company name or an author. Trusted fragments (the converted
//! portal body) enter only through [`Html::fragment`], whose callers guarantee balance.

use super::escape;

#[derive(Debug, Default)]
pub(crate) struct Html {
    out: String,
}

impl Html {
    pub(crate) fn new() -> Self {
        Html::default()
    }

    /// Escaped text.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.out.push_str(&escape(text));
        self
    }

    pub(crate) fn bold(&mut self, text: &str) -> &mut Self {
        self.wrap("b", text)
    }

    pub(crate) fn italic(&mut self, text: &str) -> &mut Self {
        self.wrap("i", text)
    }

    fn wrap(&mut self, tag: &str, text: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self.text(text);
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<b>label</b> value` on its own line.
    pub(crate) fn field(&mut self, label: &str, value: &str) -> &mut Self {
        self.bold(label).text(" ").text(value).newline()
    }

    pub(crate) fn newline(&mut self) -> &mut Self {
        self.out.push('\n');
        self
    }

    /// Ensure the output ends with a blank line (unless it is empty).
    pub(crate) fn blank_line(&mut self) -> &mut Self {
        if self.out.is_empty() {
            return self;
        }
        while !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
        self
    }

    /// Already valid, balanced Telegram HTML (from `portal_to_telegram`).
    pub(crate) fn fragment(&mut self, html: &str) -> &mut Self {
        self.out.push_str(html);
        self
    }

    pub(crate) fn finish(self) -> String {
        let trimmed = self.out.trim_end();
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_everywhere() {
        let mut h = Html::new();
        h.bold("A & B <x>").text(" \"q\"").italic("1 > 0");
        assert_eq!(h.finish(), "<b>A &amp; B &lt;x&gt;</b> &quot;q&quot;<i>1 &gt; 0</i>");
    }

    #[test]
    fn blank_line_is_idempotent() {
        let mut h = Html::new();
        h.blank_line().text("a").blank_line().blank_line().text("b");
        assert_eq!(h.finish(), "a\n\nb");
    }
}
