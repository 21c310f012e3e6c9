use super::*;

fn err(html: &str) -> String {
    parse_telegram_html(html).unwrap_err()
}

fn prefix(detail: &str) -> String {
    format!("Bad Request: can't parse entities: {detail}")
}

#[test]
fn plain_text_and_entities() {
    let m = parse_telegram_html("CGPA &lt; 7 &amp;&amp; &quot;x&quot; &gt; &#65;&#x42; ok >").unwrap();
    assert_eq!(m.text, "CGPA < 7 && \"x\" > AB ok >");
    assert_eq!(m.utf16_len, m.text.encode_utf16().count());
    assert!(m.entities.is_empty());
}

#[test]
fn counts_utf16_units() {
    let m = parse_telegram_html("😀&#128512;ह").unwrap();
    assert_eq!(m.text, "😀😀ह");
    assert_eq!(m.utf16_len, 5);
}

#[test]
fn entities_with_utf16_offsets() {
    let m = parse_telegram_html(
        "😀<b>bold <i>both</i></b> <a href=\"https://e.com/?a=1&amp;b=2\">link</a>",
    )
    .unwrap();
    assert_eq!(m.text, "😀bold both link");
    let kinds: Vec<_> = m.entities.iter().map(|e| (e.kind, e.offset, e.length)).collect();
    assert_eq!(kinds, vec![("bold", 2, 9), ("italic", 7, 4), ("text_link", 12, 4)]);
    assert_eq!(m.entities[2].argument.as_deref(), Some("https://e.com/?a=1&b=2"));
}

#[test]
fn every_supported_tag() {
    let html = "<b>a</b><strong>a</strong><i>a</i><em>a</em><u>a</u><ins>a</ins><s>a</s>\
                <strike>a</strike><del>a</del><tg-spoiler>a</tg-spoiler>\
                <span class=\"tg-spoiler\">a</span><code>a</code><pre>a</pre>\
                <pre><code class=\"language-rust\">fn</code></pre><blockquote>a</blockquote>\
                <blockquote expandable>a</blockquote><tg-emoji emoji-id=\"5368324170671202286\">👍</tg-emoji>";
    let m = parse_telegram_html(html).unwrap();
    let kinds: Vec<_> = m.entities.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        vec![
            "bold", "bold", "italic", "italic", "underline", "underline", "strikethrough",
            "strikethrough", "strikethrough", "spoiler", "spoiler", "code", "pre", "pre",
            "blockquote", "expandable_blockquote", "custom_emoji"
        ]
    );
    let pre = m.entities.iter().filter(|e| e.kind == "pre").nth(1).unwrap();
    assert_eq!(pre.argument.as_deref(), Some("rust"));
}

#[test]
fn empty_tags_make_no_entity() {
    let m = parse_telegram_html("<b></b>x").unwrap();
    assert_eq!(m.text, "x");
    assert!(m.entities.is_empty());
}

#[test]
fn unsupported_tags() {
    assert_eq!(err("hello <foo>x</foo>"), prefix("Unsupported start tag \"foo\" at byte offset 6"));
    assert_eq!(err("<p>x</p>"), prefix("Unsupported start tag \"p\" at byte offset 0"));
    assert_eq!(err("a<br/>b"), prefix("Unsupported start tag \"br/\" at byte offset 1"));
}

#[test]
fn stray_angle_bracket() {
    assert_eq!(err("CGPA < 7"), prefix("Unsupported start tag \"\" at byte offset 5"));
    assert_eq!(err("x <"), prefix("Unclosed start tag at byte offset 2"));
    assert_eq!(err("x <b"), prefix("Unclosed start tag at byte offset 2"));
}

#[test]
fn stray_ampersand() {
    assert_eq!(err("A & B"), prefix("Character entity expected at byte offset 2"));
    assert_eq!(err("&nbsp;"), prefix("Character entity expected at byte offset 0"));
    assert_eq!(err("x &amp"), prefix("Character entity expected at byte offset 2"));
    assert_eq!(err("&#0;"), prefix("Character entity expected at byte offset 0"));
    assert_eq!(err("&#xD800;"), prefix("Character entity expected at byte offset 0"));
    assert_eq!(err("&#x;"), prefix("Character entity expected at byte offset 0"));
}

#[test]
fn nesting_errors() {
    assert_eq!(err("<b>bold"), prefix("Can't find end tag corresponding to start tag \"b\""));
    assert_eq!(err("x</b>"), prefix("Unexpected end tag at byte offset 1"));
    assert_eq!(
        err("<b><i>x</b></i>"),
        prefix("Unmatched end tag at byte offset 7, expected \"</i>\", found \"</b>\"")
    );
    assert_eq!(err("<b>x</b"), prefix("Unclosed end tag at byte offset 4"));
}

#[test]
fn attribute_errors() {
    assert_eq!(
        err("<a href>x</a>"),
        prefix("Expected equal sign in declaration of an attribute of the tag \"a\" at byte offset 0")
    );
    assert_eq!(
        err("<span class=\"x\">y</span>"),
        prefix("Tag \"span\" must have class \"tg-spoiler\" at byte offset 0")
    );
    assert_eq!(err("<a href=x/y>z</a>"), prefix("Unexpected end of name token at byte offset 8"));
    assert_eq!(err("<a href=\"x"), prefix("Unclosed start tag at byte offset 0"));
}

#[test]
fn unquoted_and_single_quoted_attributes() {
    let m = parse_telegram_html("<a href='https://e.com/x'>x</a><a href=e.com>y</a>").unwrap();
    assert_eq!(m.entities[0].argument.as_deref(), Some("https://e.com/x"));
    assert_eq!(m.entities[1].argument.as_deref(), Some("e.com"));
}

#[test]
fn tag_names_are_case_insensitive_on_open_only() {
    assert!(parse_telegram_html("<B>x</b>").is_ok());
    assert_eq!(
        err("<b>x</B>"),
        prefix("Unmatched end tag at byte offset 4, expected \"</b>\", found \"</B>\"")
    );
}
