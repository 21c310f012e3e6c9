//! Cutting a Telegram HTML message into chunks Telegram accepts.
//!
//! Telegram's limit counts UTF-16 code units of the visible text after entity parsing, so the
//! message is lexed into atoms (tag, entity-or-character) and only characters are counted.
//! Cuts fall between atoms, never inside a tag, an entity or a character. Tags open at a cut
//! are closed at the end of the chunk and reopened verbatim at the start of the next, so every
//! chunk is balanced on its own. The whitespace at a cut is dropped (it would be trimmed by
//! Telegram anyway); nothing else is lost or repeated, unlike the original splitter which
//! truncated long words and could emit over-long chunks (reference 10.2, 11 bug 4).

use super::lex::{Atom, lex};

/// Visible length of Telegram HTML in UTF-16 code units (what the 4096 limit counts).
pub fn visible_utf16_len(html: &str) -> usize {
    lex(html).iter().map(Atom::units).sum()
}

/// Split Telegram HTML into chunks of at most `limit` UTF-16 units of visible text each.
///
/// A message within the limit is returned unchanged as one chunk. Cuts prefer a blank line,
/// then a line break, then a space (the first two only when they keep at least half of the
/// chunk), else a hard cut between characters that avoids separating a combining mark from
/// its base. A single character wider than `limit` still gets a chunk of its own. Leading
/// whitespace of a message over the limit is dropped; a message over the limit that is
/// nothing but whitespace gives no chunks.
pub fn split_message(html: &str, limit: usize) -> Vec<String> {
    let atoms = lex(html);
    let total: usize = atoms.iter().map(Atom::units).sum();
    if total <= limit {
        return vec![html.to_owned()];
    }
    // Indices of the visible characters among the atoms, and the characters themselves.
    let vis: Vec<usize> = (0..atoms.len()).filter(|&i| atoms[i].units() > 0).collect();
    let chars: Vec<char> = vis
        .iter()
        .map(|&i| match atoms[i] {
            Atom::Char { ch, .. } => ch,
            _ => ' ',
        })
        .collect();

    let mut chunks = Vec::new();
    let mut stack: Vec<usize> = Vec::new(); // open-tag atom indices at `pos`
    let mut pos = 0; // atoms before `pos` have been applied to `stack`
    // Leading whitespace is dropped like the whitespace at every cut (Telegram trims it).
    let Some(mut s) = chars.iter().position(|c| !c.is_whitespace()) else {
        return chunks; // nothing but whitespace, and too much of it: nothing to send
    };
    advance(&atoms, &mut stack, &mut pos, vis[s]);
    let mut start_atom = vis[s];
    loop {
        let prefix = stack.clone();
        let mut used = 0;
        let mut e = s;
        while e < vis.len() && used + atoms[vis[e]].units() <= limit {
            used += atoms[vis[e]].units();
            e += 1;
        }
        if e == vis.len() {
            advance(&atoms, &mut stack, &mut pos, atoms.len());
            chunks.push(render(&atoms, &prefix, start_atom, atoms.len(), &stack));
            break;
        }
        let c = choose_cut(&chars, s, e);
        let mut end_atom = vis[c - 1] + 1;
        while matches!(atoms.get(end_atom), Some(Atom::Close { .. })) {
            end_atom += 1;
        }
        advance(&atoms, &mut stack, &mut pos, end_atom);
        chunks.push(render(&atoms, &prefix, start_atom, end_atom, &stack));
        let Some(q) = (c..vis.len()).find(|&k| !chars[k].is_whitespace()) else {
            break; // only whitespace (and tags around it) remains
        };
        advance(&atoms, &mut stack, &mut pos, vis[q]);
        start_atom = vis[q];
        s = q;
    }
    chunks
}

/// Apply atoms `pos..to` to the open-tag stack.
fn advance(atoms: &[Atom<'_>], stack: &mut Vec<usize>, pos: &mut usize, to: usize) {
    while *pos < to {
        match &atoms[*pos] {
            Atom::Open { .. } => stack.push(*pos),
            Atom::Close { name } => {
                let found = stack.iter().rposition(|&i| {
                    matches!(&atoms[i], Atom::Open { name: open, .. } if open == name)
                });
                if let Some(at) = found {
                    stack.truncate(at);
                }
            }
            Atom::Char { .. } => {}
        }
        *pos += 1;
    }
}

/// Reopen `prefix`, copy atoms `from..to`, close what is still open in `stack`.
fn render(atoms: &[Atom<'_>], prefix: &[usize], from: usize, to: usize, stack: &[usize]) -> String {
    let mut out = String::new();
    for &i in prefix {
        if let Atom::Open { raw, .. } = &atoms[i] {
            out.push_str(raw);
        }
    }
    for atom in &atoms[from..to] {
        match atom {
            Atom::Open { raw, .. } | Atom::Char { raw, .. } => out.push_str(raw),
            Atom::Close { name } => {
                out.push_str("</");
                out.push_str(name);
                out.push('>');
            }
        }
    }
    for &i in stack.iter().rev() {
        if let Atom::Open { name, .. } = &atoms[i] {
            out.push_str("</");
            out.push_str(name);
            out.push('>');
        }
    }
    out
}

/// Where to cut a window `s..e` (exclusive; `chars[e]` did not fit). Returns `c` in `s+1..=e`:
/// the chunk is `s..c`; when `chars[c]` is whitespace it is the dropped separator.
fn choose_cut(chars: &[char], s: usize, e: usize) -> usize {
    let has_text = |c: usize| chars[s..c].iter().any(|ch| !ch.is_whitespace());
    let blank = |c: usize| chars[c] == '\n' && chars.get(c + 1) == Some(&'\n');
    let newline = |c: usize| chars[c] == '\n';
    let space = |c: usize| chars[c].is_whitespace();
    let half = s + (e - s) / 2;
    let preferences: [(&dyn Fn(usize) -> bool, usize); 5] =
        [(&blank, half), (&newline, half), (&space, s + 1), (&blank, s + 1), (&newline, s + 1)];
    for (accept, min) in preferences {
        if let Some(c) = (min.max(s + 1)..=e).rev().find(|&c| accept(c) && has_text(c)) {
            return c;
        }
    }
    // Hard cut: step back over combining marks so a base keeps its marks when possible.
    let mut c = e;
    while c > s + 1 && is_combining(chars[c]) {
        c -= 1;
    }
    if c == s + 1 && is_combining(chars[c]) { e.max(s + 1) } else { c.max(s + 1) }
}

/// Characters that belong to the preceding one: combining diacritics, Devanagari signs,
/// zero-width joiners, variation selectors and emoji skin-tone modifiers.
fn is_combining(c: char) -> bool {
    matches!(c as u32,
        0x0300..=0x036F
        | 0x0900..=0x0903
        | 0x093A..=0x093C
        | 0x093E..=0x094F
        | 0x0951..=0x0957
        | 0x0962..=0x0963
        | 0x200C..=0x200D
        | 0xFE00..=0xFE0F
        | 0x1F3FB..=0x1F3FF
    )
}

#[cfg(test)]
mod tests;
