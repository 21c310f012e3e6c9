use super::*;

fn conv(html: &str) -> String {
    portal_to_telegram(html)
}

#[test]
fn keeps_telegram_formatting() {
    assert_eq!(
        conv("<strong>Bold</strong> <em>it</em> <ins>u</ins> <del>s</del> <code>c</code>"),
        "<b>Bold</b> <i>it</i> <u>u</u> <s>s</s> <code>c</code>"
    );
    assert_eq!(conv("<span class=\"tg-spoiler\">x</span>"), "<tg-spoiler>x</tg-spoiler>");
}

#[test]
fn escapes_decoded_text() {
    assert_eq!(conv("<p>CGPA &lt; 7 &amp; backlog</p>"), "CGPA &lt; 7 &amp; backlog");
    assert_eq!(conv("CGPA < 7 & no backlog > 0"), "CGPA &lt; 7 &amp; no backlog &gt; 0");
    assert_eq!(conv("&nbsp;A&nbsp;&nbsp;B &copy; &#8377;5"), "A B © ₹5");
}

#[test]
fn links_by_scheme_with_escaped_attribute() {
    assert_eq!(
        conv("<a href=\"https://e.com/?a=1&amp;b=\"q\"\">form</a>"),
        "<a href=\"https://e.com/?a=1&amp;b=\">form</a>"
    );
    assert_eq!(conv("<a href='mailto:tnp@jiit.ac.in'>mail</a>"), "<a href=\"mailto:tnp@jiit.ac.in\">mail</a>");
    assert_eq!(conv("<a href=\"javascript:alert(1)\">x</a>"), "x");
    assert_eq!(conv("<a href=\"/relative\">x</a>"), "x");
    assert_eq!(conv("<a>x</a>"), "x");
    assert_eq!(
        conv("<a href=\"https://e.com/?q=&quot;x&quot;&lt;\">y</a>"),
        "<a href=\"https://e.com/?q=&quot;x&quot;&lt;\">y</a>"
    );
}

#[test]
fn structure_becomes_text() {
    let html = "<h2>Drive</h2><p>First  para\n line</p><p>Second</p><div>div</div>a<br>b<br><br><br>c";
    assert_eq!(conv(html), "<b>Drive</b>\n\nFirst para line\n\nSecond\n\ndiv\na\nb\n\nc");
}

#[test]
fn lists_bullets_and_numbers() {
    let html = "<ul><li>One</li><li>Two <b>bold</b></li></ul><ol><li>First</li><li>Second</li></ol>";
    assert_eq!(conv(html), "• One\n• Two <b>bold</b>\n1. First\n2. Second");
}

#[test]
fn tables_as_rows_of_cells() {
    let html = "<table><tr><th>Component</th><th>Amount</th></tr>\
                <tr><td>Fixed</td><td>₹7,00,000</td></tr></table>after";
    assert_eq!(conv(html), "Component | Amount\nFixed | ₹7,00,000\n\nafter");
}

#[test]
fn drops_unknown_tags_script_and_style() {
    let html = "<html><head><style>p{color:red}</style><title>T</title></head>\
                <body><script>if (a < b) alert('x')</script><font color=red>Hello</font>\
                <img src=x><!-- comment --> world</body></html>";
    assert_eq!(conv(html), "Hello world");
}

#[test]
fn unclosed_and_misnested_tags_are_balanced() {
    assert_eq!(conv("<b>never closed"), "<b>never closed</b>");
    assert_eq!(conv("<b>a<i>b</b>c</i>"), "<b>a<i>b</i></b><i>c</i>");
    assert_eq!(conv("x</b></i>y"), "xy");
    assert_eq!(conv("<b><i></i></b>"), "");
    assert_eq!(conv("<code>a<b>b</b></code>"), "<code>ab</code>");
    assert_eq!(conv("<a href=\"https://a\">x<a href=\"https://b\">y</a>z</a>"), "<a href=\"https://a\">xy</a>z");
}

#[test]
fn pre_keeps_whitespace() {
    assert_eq!(conv("<p>Run:</p><pre>a  b\n  c</pre>done"), "Run:\n\n<pre>a  b\n  c</pre>\ndone");
}

#[test]
fn formatting_across_blocks_keeps_separators_outside_tags() {
    assert_eq!(conv("<b><p>one</p><p>two</p></b>"), "<b>one\n\ntwo</b>");
    assert_eq!(conv("<p>x <b>y </b></p><p>z</p>"), "x <b>y</b>\n\nz");
}

#[test]
fn empty_input() {
    assert_eq!(conv(""), "");
    assert_eq!(conv("<p> &nbsp; </p>"), "");
}
