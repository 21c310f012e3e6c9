//! Everything the formatter writes must be accepted by Telegram's HTML parse mode (checked by
//! the independent fake parser), and every chunk of a split message too, within 4096 UTF-16
//! units, with no visible text lost or repeated.

use chrono::Utc;
use supersetd::format::{
    TELEGRAM_TEXT_LIMIT, escape, format_notice, html_to_plain, portal_to_telegram, split_message,
};
use supersetd::store::{EligibilityMark, JobProfile, Notice};
use supersetd_tests::fakes::telegram_html::parse_telegram_html;

const POSTED_MS: i64 = 1_771_562_700_000;

fn notice(title: &str, content: &str, author: &str) -> Notice {
    Notice {
        id: "n".into(),
        title: title.into(),
        content: content.into(),
        author: author.into(),
        created_at_ms: POSTED_MS,
        updated_at_ms: POSTED_MS,
        source: "Superset".into(),
        category: None,
        matched_job_id: None,
        job_company: None,
        job_role: None,
        job_location: None,
        package: None,
        package_breakdown: None,
        formatted_message: String::new(),
        sent_to_telegram: false,
        saved_at: Utc::now(),
        sent_at: None,
    }
}

fn jobs() -> Vec<JobProfile> {
    let base = JobProfile {
        id: "job-nimbus".into(),
        job_profile: "Graduate Engineer Trainee".into(),
        company: "Nimbus Cloud Systems Pvt Ltd".into(),
        placement_category_code: 1,
        placement_category: "High".into(),
        created_at_ms: Some(POSTED_MS),
        deadline_ms: Some(1_772_735_340_000),
        eligibility_marks: vec![EligibilityMark { level: "UG".into(), criteria: 7.0 }],
        eligibility_courses: vec!["B.Tech - CSE".into(), "M.Tech - ECE <Hons> & more".into()],
        location: "Noida, Bengaluru".into(),
        package: Some(850_000.0),
        annum_months: Some("annum".into()),
        package_info: "<table><tr><th>Component</th><th>Amount</th></tr>\
            <tr><td>Fixed</td><td>&#8377;7,00,000</td></tr>\
            <tr><td>Bonus &amp; ESOPs</td><td><b>₹1,50,000</td></tr></table>"
            .into(),
        hiring_flow: vec!["Online Assessment".into(), "Interview <Tech & HR>".into()],
        has_details: true,
        ..JobProfile::default()
    };
    vec![
        base.clone(),
        JobProfile {
            id: "job-acme".into(),
            company: "Acme & Sons (India) Private Limited".into(),
            job_profile: "R&D Intern 😀".into(),
            package: None,
            package_info: String::new(),
            annum_months: None,
            deadline_ms: None,
            ..base.clone()
        },
        JobProfile {
            id: "job-hindi".into(),
            company: "भारत Tech".into(),
            job_profile: "विश्लेषक".into(),
            package: Some(45_000.0),
            annum_months: Some("Monthly".into()),
            ..base
        },
    ]
}

/// Check `html` is accepted whole and split; returns the parsed visible text.
fn assert_telegram_accepts(html: &str, limit: usize) -> String {
    let whole = parse_telegram_html(html).unwrap_or_else(|e| panic!("{e}\n--- html:\n{html}"));
    let chunks = split_message(html, limit);
    assert!(!chunks.is_empty(), "no chunks for:\n{html}");
    if whole.utf16_len <= limit {
        assert_eq!(chunks, vec![html.to_owned()], "a message within the limit must stay whole");
    }
    let mut joined = String::new();
    for chunk in &chunks {
        let parsed =
            parse_telegram_html(chunk).unwrap_or_else(|e| panic!("{e}\n--- chunk:\n{chunk}"));
        assert!(parsed.utf16_len <= limit, "chunk of {} > {limit}", parsed.utf16_len);
        assert!(!parsed.text.trim().is_empty(), "empty chunk");
        joined.push_str(&parsed.text);
    }
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(strip(&joined), strip(&whole.text), "text lost or duplicated");
    whole.text
}

fn realistic_notices() -> Vec<Notice> {
    let students: String = (1..=400)
        .map(|i| format!("<tr><td>{i}</td><td>छात्र Student {i} 🎉</td><td>99211030{i:02}</td></tr>"))
        .collect();
    vec![
        notice(
            "Nimbus Cloud Systems - Open for applications",
            "<p>Eligibility: <b>CGPA &lt; 7 &amp; backlog</b> not allowed</p><ul><li>Apply <a href=\"https://forms.example.com/?a=1&amp;b=2\">here</a></li></ul>",
            "Kavya Rao",
        ),
        notice("Raw specials: CGPA < 7 & backlog > 0", "CGPA < 7 & backlog > 0 <unknown>tag</unknown>", "T&P <Cell>"),
        notice("Shortlisted students - Nimbus Cloud Systems", &format!("<table>{students}</table>"), "Kavya Rao"),
        notice("Acme & Sons hiring 😀", "<div><i>open for applications</i><p>नमस्ते, आवेदन करें।</p></div>", ""),
        notice("भारत Tech registration", "<p>हिंदी पाठ &amp; English 🙏🏽</p>", "null"),
        notice("Webinar on resumes", "<p>Zoom<br>5 PM<br><br><br>Link: <a href=\"javascript:alert(1)\">bad</a> <a href=\"tg://resolve?domain=x\">tg</a></p>", "None"),
        notice("Smart India Hackathon", "<b>unclosed <i>misnested</b> tags</i><script>alert('<b>')</script><style>b{}</style>", "Kavya"),
        notice("Holiday", "", "   "),
        notice("Long word", &format!("<p>{}</p>", "https://example.com/".repeat(300)), "A"),
        notice("Pre block", "<pre>fn main() {\n    if a < b && c > d {}\n}</pre><code>x &lt; y</code>", "B"),
        notice("Entities", "&nbsp;&copy;&eacute;&#x1F600;&#128512;&amp;amp;&lt;b&gt;", "C"),
        notice("<b>Title with tags</b> & stuff", "<p>   </p>", "D"),
    ]
}

#[test]
fn every_formatted_notice_is_accepted_and_splits_cleanly() {
    let jobs = jobs();
    let mut long_seen = false;
    for mut n in realistic_notices() {
        format_notice(&mut n, &jobs);
        let text = assert_telegram_accepts(&n.formatted_message, TELEGRAM_TEXT_LIMIT);
        long_seen |= text.encode_utf16().count() > TELEGRAM_TEXT_LIMIT;
        assert!(n.category.is_some());
        // The plain fallback shows the same text (links add their target).
        if !n.formatted_message.contains("<a ") {
            assert_eq!(html_to_plain(&n.formatted_message), text);
        }
    }
    assert!(long_seen, "the set must include a notice over the limit");
}

#[test]
fn specific_inputs_render_as_expected() {
    let jobs = jobs();
    let mut n = notice("Raw specials: CGPA < 7 & backlog > 0", "CGPA < 7 & backlog", "T&P <Cell>");
    format_notice(&mut n, &jobs);
    let parsed = parse_telegram_html(&n.formatted_message).unwrap();
    assert!(parsed.text.contains("CGPA < 7 & backlog"), "{}", parsed.text);
    assert!(parsed.text.contains("Posted by: T&P <Cell>"), "{}", parsed.text);

    let mut n = notice("Acme & Sons hiring 😀", "<p>open for applications</p>", "");
    format_notice(&mut n, &jobs);
    assert_eq!(n.matched_job_id.as_deref(), Some("job-acme"));
    let parsed = parse_telegram_html(&n.formatted_message).unwrap();
    assert!(parsed.text.contains("CTC: Not specified"), "{}", parsed.text);
    assert!(parsed.text.contains("Posted by: Unknown"), "{}", parsed.text);

    let mut n = notice("Shortlisted students - Nimbus Cloud Systems", "", "K");
    format_notice(&mut n, &jobs);
    let parsed = parse_telegram_html(&n.formatted_message).unwrap();
    assert!(parsed.text.contains("Fixed | ₹7,00,000"), "{}", parsed.text);
    assert!(parsed.entities.iter().any(|e| e.kind == "bold"));
}

#[test]
fn long_notice_splits_into_several_valid_chunks() {
    let mut n = realistic_notices().swap_remove(2);
    format_notice(&mut n, &jobs());
    let chunks = split_message(&n.formatted_message, TELEGRAM_TEXT_LIMIT);
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    for chunk in &chunks {
        let parsed = parse_telegram_html(chunk).unwrap();
        assert!(parsed.utf16_len <= TELEGRAM_TEXT_LIMIT);
    }
}

/// Deterministic xorshift; no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PORTAL_PIECES: &[&str] = &[
    "word ", "CGPA < 7 & backlog ", "&amp;", "&lt;", "&gt;", "&nbsp;", "&copy;", "&#128512;", "😀",
    "🙏🏽", "नमस्ते ", "क्षि", "\n", "  ", "<p>", "</p>", "<br>", "<b>", "</b>", "<i>", "</i>",
    "<strong>", "</strong>", "<em>", "<u>", "</u>", "<div>", "</div>", "<ul><li>item</li>",
    "<li>", "</li>", "</ul>", "<ol>", "</ol>", "<table><tr><td>a</td><td>b & c</td></tr>",
    "</table>", "<td>", "<h3>Heading</h3>", "<a href=\"https://e.com/?a=1&b=2\">", "</a>",
    "<a href=\"javascript:x\">", "<span class=\"tg-spoiler\">", "</span>", "<code>", "</code>",
    "<pre>", "</pre>", "<script>if (a<b) {}</script>", "<font>", "</font>", "<", ">", "&",
    "&bogus;", "<!-- c -->", "<blockquote>", "</blockquote>", "Nimbus Cloud Systems ",
    "Acme & Sons ", "shortlisted ", "webinar ", "hackathon ", "apply ",
    "averyveryverylongwordwithoutanyspaces",
];

fn random_portal_html(rng: &mut Rng) -> String {
    let mut html = String::new();
    for _ in 0..rng.below(400) {
        html.push_str(rng.pick(PORTAL_PIECES));
    }
    html
}

#[test]
fn random_portal_html_always_gives_valid_messages_and_chunks() {
    let jobs = jobs();
    let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
    for round in 0..250 {
        let content = random_portal_html(&mut rng);
        let title: String = (0..rng.below(6)).map(|_| rng.pick(PORTAL_PIECES)).collect();
        let author = rng.pick(&["", "null", "Kavya <Rao>", "T&P", "राहुल"]);
        let mut n = notice(&title, &content, author);
        format_notice(&mut n, &jobs);
        let limit = if round % 5 == 0 { TELEGRAM_TEXT_LIMIT } else { 20 + rng.below(400) };
        assert_telegram_accepts(&n.formatted_message, limit);
        let body = portal_to_telegram(&content);
        if !body.trim().is_empty() {
            assert_telegram_accepts(&body, limit);
        }
    }
}

#[test]
fn random_escaped_text_in_tags_splits_cleanly() {
    let texts = ["a", " ", "\n", "\n\n", "<", ">", "&", "\"", "😀", "ह", "ि", "word", "é", "🇮🇳"];
    let tags = ["b", "i", "u", "s", "tg-spoiler", "code", "blockquote"];
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..300 {
        let mut html = String::from("x");
        let mut open: Vec<&str> = Vec::new();
        for _ in 0..rng.below(300) {
            match rng.below(8) {
                0 if open.len() < 2 => {
                    let tag = rng.pick(&tags);
                    if !open.contains(&tag) {
                        html.push_str(&format!("<{tag}>"));
                        open.push(tag);
                    }
                }
                1 => {
                    if let Some(tag) = open.pop() {
                        html.push_str(&format!("</{tag}>"));
                    }
                }
                2 => html.push_str("<a href=\"https://e.com/?q=&quot;1&quot;&amp;r\">link text</a>"),
                _ => html.push_str(&escape(rng.pick(&texts))),
            }
        }
        while let Some(tag) = open.pop() {
            html.push_str(&format!("</{tag}>"));
        }
        let limit = 2 + rng.below(120);
        assert_telegram_accepts(&html, limit);
    }
}

#[test]
fn boundaries_at_exactly_the_limit() {
    let exact = format!("<b>{}</b>", "a".repeat(TELEGRAM_TEXT_LIMIT));
    assert_eq!(split_message(&exact, TELEGRAM_TEXT_LIMIT), vec![exact.clone()]);
    let over = format!("<b>{}</b>&amp;", "a".repeat(TELEGRAM_TEXT_LIMIT));
    let chunks = split_message(&over, TELEGRAM_TEXT_LIMIT);
    assert_eq!(chunks.len(), 2);
    assert_telegram_accepts(&over, TELEGRAM_TEXT_LIMIT);
    let emoji = format!("{}😀", "a".repeat(TELEGRAM_TEXT_LIMIT - 1));
    assert_eq!(assert_telegram_accepts(&emoji, TELEGRAM_TEXT_LIMIT).chars().count(), 4096);
}
