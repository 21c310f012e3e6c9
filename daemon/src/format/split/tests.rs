use super::*;

/// Tags of `html` balanced and properly nested.
fn balanced(html: &str) -> bool {
    let mut stack = Vec::new();
    for atom in lex(html) {
        match atom {
            Atom::Open { name, .. } => stack.push(name),
            Atom::Close { name } => {
                if stack.pop() != Some(name) {
                    return false;
                }
            }
            Atom::Char { .. } => {}
        }
    }
    stack.is_empty()
}

/// The visible characters of `html` that are not whitespace.
fn non_ws(html: &str) -> String {
    lex(html)
        .into_iter()
        .filter_map(|a| match a {
            Atom::Char { ch, .. } if !ch.is_whitespace() => Some(ch),
            _ => None,
        })
        .collect()
}

/// Split and check every invariant; returns the chunks.
fn check(html: &str, limit: usize) -> Vec<String> {
    let chunks = split_message(html, limit);
    assert!(!chunks.is_empty() || non_ws(html).is_empty());
    for chunk in &chunks {
        assert!(balanced(chunk), "unbalanced chunk: {chunk}");
        assert!(visible_utf16_len(chunk) <= limit, "chunk over {limit}: {chunk}");
        assert!(!non_ws(chunk).is_empty() || chunks.len() == 1, "empty chunk");
    }
    let joined: String = chunks.iter().map(|c| non_ws(c)).collect();
    assert_eq!(joined, non_ws(html), "text lost or duplicated");
    chunks
}

#[test]
fn within_limit_is_unchanged() {
    let html = "<b>hi</b> &amp; bye";
    assert_eq!(split_message(html, 8), vec![html.to_owned()]);
    let exact = "a".repeat(4096);
    assert_eq!(split_message(&exact, 4096), vec![exact.clone()]);
    assert_eq!(split_message("", 4096), vec![String::new()]);
}

#[test]
fn one_over_the_limit() {
    let text = format!("{} {}", "a".repeat(4000), "b".repeat(96));
    assert_eq!(visible_utf16_len(&text), 4097);
    let chunks = check(&text, 4096);
    assert_eq!(chunks, vec!["a".repeat(4000), "b".repeat(96)]);
}

#[test]
fn entities_count_once() {
    let html = "&amp;".repeat(4096);
    assert_eq!(split_message(&html, 4096).len(), 1);
    let html = "&lt;".repeat(4097);
    let chunks = check(&html, 4096);
    assert_eq!(chunks, vec!["&lt;".repeat(4096), "&lt;".to_owned()]);
}

#[test]
fn entity_at_the_cut_is_not_split() {
    let html = format!("{}&amp;&quot;{}", "x".repeat(9), "y".repeat(5));
    let chunks = check(&html, 10);
    assert_eq!(chunks, vec![format!("{}&amp;", "x".repeat(9)), format!("&quot;{}", "y".repeat(5))]);
}

#[test]
fn emoji_at_the_boundary_is_not_split() {
    // 4095 units then a two-unit emoji: it cannot straddle the limit.
    let html = format!("{}😀b", "a".repeat(4095));
    let chunks = check(&html, 4096);
    assert_eq!(chunks, vec!["a".repeat(4095), "😀b".to_owned()]);
    // Numeric entity of an emoji counts 2 as well.
    let html = format!("{}&#128512;", "a".repeat(4095));
    assert_eq!(check(&html, 4096).len(), 2);
}

#[test]
fn tag_spanning_the_cut_is_closed_and_reopened() {
    let html = format!("<b>{}</b> tail", "word ".repeat(40).trim_end());
    let chunks = check(&html, 50);
    assert!(chunks.len() > 2);
    for chunk in chunks.iter().filter(|c| c.contains("word")) {
        assert!(chunk.starts_with("<b>") && chunk.contains("</b>"), "{chunk}");
    }
    assert!(chunks.last().unwrap().ends_with("tail"));
}

#[test]
fn attributes_are_reopened_verbatim() {
    let link = "<a href=\"https://e.com/?a=1&amp;b=2\">";
    let html = format!("<i>{link}{}</a></i>", "click here ".repeat(20));
    for chunk in check(&html, 30) {
        assert!(chunk.starts_with(&format!("<i>{link}")), "{chunk}");
        assert!(chunk.ends_with("</a></i>"), "{chunk}");
    }
}

#[test]
fn pre_with_language_survives() {
    let html = format!("<pre><code class=\"language-rust\">{}</code></pre>", "let x = 1;\n".repeat(30));
    for chunk in check(&html, 100) {
        assert!(chunk.starts_with("<pre><code class=\"language-rust\">"), "{chunk}");
        assert!(chunk.ends_with("</code></pre>"), "{chunk}");
    }
}

#[test]
fn single_word_longer_than_the_limit_loses_nothing() {
    let word = "x".repeat(10_000);
    let chunks = check(&word, 4096);
    let lens: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
    assert_eq!(lens, vec![4096, 4096, 1808]);
}

#[test]
fn prefers_blank_line_then_newline_then_space() {
    let html = format!("{}\n\n{}\n{} {}", "a".repeat(60), "b".repeat(20), "c".repeat(5), "d".repeat(5));
    let chunks = check(&html, 90);
    assert_eq!(chunks[0], "a".repeat(60));
    let html = format!("{}\n{} {}", "a".repeat(60), "b".repeat(20), "c".repeat(20));
    assert_eq!(check(&html, 90)[0], "a".repeat(60));
    let html = format!("{} {} {}", "a".repeat(60), "b".repeat(20), "c".repeat(20));
    assert_eq!(check(&html, 90)[0], format!("{} {}", "a".repeat(60), "b".repeat(20)));
}

#[test]
fn early_blank_line_does_not_make_a_tiny_chunk() {
    let html = format!("ab\n\n{} {}", "c".repeat(60), "d".repeat(60));
    let chunks = check(&html, 100);
    assert_eq!(chunks[0], format!("ab\n\n{}", "c".repeat(60)));
}

#[test]
fn devanagari_hard_cut_keeps_marks_with_their_letter() {
    // "क्षि" = क ् ष ि: two combining marks; a word with no spaces at all.
    let word = "क्षि".repeat(50);
    for limit in [7, 10, 11, 13] {
        let chunks = check(&word, limit);
        for chunk in &chunks {
            let first = chunk.chars().next().unwrap();
            assert!(!is_combining(first), "chunk starts with a mark: {chunk:?} (limit {limit})");
        }
    }
    let text = "नमस्ते दुनिया, यह एक परीक्षण है। ".repeat(200);
    check(&text, 4096);
}

#[test]
fn whitespace_and_empty_tags_at_the_cut_do_not_make_empty_chunks() {
    let html = format!("{}<b> </b>\n\n   <i></i>{}", "a".repeat(50), "b".repeat(50));
    let chunks = check(&html, 60);
    assert_eq!(chunks.len(), 2);
}

#[test]
fn a_char_wider_than_the_limit_still_progresses() {
    let chunks = split_message("😀😀", 1);
    assert_eq!(chunks, vec!["😀".to_owned(), "😀".to_owned()]);
}

#[test]
fn misnested_input_still_gives_balanced_chunks() {
    // Not what the formatter writes, but the splitter must not loop or panic.
    let html = format!("<b>{} <i>{}</b> {}", "a".repeat(30), "b".repeat(30), "c".repeat(30));
    let chunks = split_message(&html, 40);
    assert!(chunks.len() >= 2);
}

/// Deterministic pseudo-random inputs: xorshift, no extra dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

#[test]
fn random_inputs_keep_the_invariants() {
    let pieces = [
        "word", " ", "\n", "\n\n", "&amp;", "&lt;", "😀", "ह", "ि", "नमस्ते", "x", "longerwordhere",
        "&#128512;", "é", "  ",
    ];
    let tags = ["b", "i", "u", "s", "code", "tg-spoiler"];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..300 {
        let mut html = String::new();
        let mut open: Vec<&str> = Vec::new();
        for _ in 0..(rng.next() % 200) {
            match rng.next() % 10 {
                0 if open.len() < 3 => {
                    let tag = rng.pick(&tags);
                    html.push_str(&format!("<{tag}>"));
                    open.push(tag);
                }
                1 if !open.is_empty() => {
                    html.push_str(&format!("</{}>", open.pop().unwrap()));
                }
                2 => html.push_str("<a href=\"https://e.com/?q=1&amp;r=2\">link</a>"),
                _ => html.push_str(rng.pick(&pieces)),
            }
        }
        while let Some(tag) = open.pop() {
            html.push_str(&format!("</{tag}>"));
        }
        let limit = 2 + (rng.next() % 60) as usize;
        let chunks = check(&html, limit);
        if visible_utf16_len(&html) <= limit {
            assert_eq!(chunks, vec![html.clone()], "round {round}");
        }
    }
}

#[test]
fn leading_whitespace_over_the_limit_is_dropped() {
    let html = format!("\n\n  <b>{}</b>", "a ".repeat(30));
    let chunks = check(&html, 20);
    assert!(chunks[0].starts_with("<b>a"), "{}", chunks[0]);
    assert!(split_message(&" ".repeat(50), 10).is_empty());
}
