//! Classic 16-colour escapes on the way to the terminal.
//!
//! The theme only uses the 16 ANSI colours, but crossterm writes even those in the 256-colour
//! form (`ESC[38;5;3m` for yellow). A terminal that only knows 16 colours (a serial console,
//! an old `xterm-16color`, some SSH clients) may show garbage for that. [`Ansi16`] rewrites
//! `38;5;N`/`48;5;N` with N < 16 into the classic `3N`/`9N`/`4N`/`10N` codes, which every
//! terminal understands, 256-colour ones included, so no detection is needed. Everything else
//! passes through untouched.

use std::io::{self, Write};

/// Longest escape sequence held back while waiting for its end; anything longer is not SGR
/// from crossterm and is passed on as is.
const MAX_PENDING: usize = 64;

/// A `Write` adapter that rewrites 16-colour SGR sequences (see the module docs).
pub struct Ansi16<W: Write> {
    inner: W,
    /// An escape sequence split across writes, kept until its final byte arrives.
    pending: Vec<u8>,
}

impl<W: Write> Ansi16<W> {
    pub fn new(inner: W) -> Self {
        Ansi16 {
            inner,
            pending: Vec::new(),
        }
    }
}

impl<W: Write> Write for Ansi16<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + self.pending.len());
        for &b in buf {
            if self.pending.is_empty() {
                if b == 0x1b {
                    self.pending.push(b);
                } else {
                    out.push(b);
                }
                continue;
            }
            self.pending.push(b);
            if let Some(done) = finish(&self.pending) {
                out.extend_from_slice(&done);
                self.pending.clear();
            } else if self.pending.len() > MAX_PENDING {
                out.append(&mut self.pending);
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes to send for `seq` (starting with ESC) once it is complete; `None` while not.
fn finish(seq: &[u8]) -> Option<Vec<u8>> {
    match seq {
        [0x1b] => None,
        [0x1b, b'[', rest @ ..] => match rest.last() {
            Some(&f) if (0x40..=0x7e).contains(&f) => Some(if f == b'm' {
                rewrite_sgr(&rest[..rest.len() - 1])
            } else {
                seq.to_vec()
            }),
            _ => None,
        },
        // Not a CSI: nothing to rewrite.
        _ => Some(seq.to_vec()),
    }
}

fn rewrite_sgr(params: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(params);
    let parts: Vec<&str> = text.split(';').collect();
    let mut out: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let indexed = |n: &str| n.parse::<u8>().ok().filter(|n| *n < 16);
        match (
            parts[i],
            parts.get(i + 1),
            parts.get(i + 2).and_then(|n| indexed(n)),
        ) {
            ("38", Some(&"5"), Some(n)) => {
                out.push(if n < 8 {
                    format!("3{n}")
                } else {
                    format!("9{}", n - 8)
                });
                i += 3;
            }
            ("48", Some(&"5"), Some(n)) => {
                out.push(if n < 8 {
                    format!("4{n}")
                } else {
                    format!("10{}", n - 8)
                });
                i += 3;
            }
            // A true-colour or 256-colour value: keep it whole so its numbers are not read
            // as separate attributes.
            ("38" | "48", Some(&"2"), _) => {
                let end = (i + 5).min(parts.len());
                out.extend(parts[i..end].iter().map(|s| (*s).to_owned()));
                i = end;
            }
            ("38" | "48", Some(&"5"), None) => {
                let end = (i + 3).min(parts.len());
                out.extend(parts[i..end].iter().map(|s| (*s).to_owned()));
                i = end;
            }
            (p, _, _) => {
                out.push(p.to_owned());
                i += 1;
            }
        }
    }
    format!("\x1b[{}m", out.join(";")).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(chunks: &[&[u8]]) -> String {
        let mut w = Ansi16::new(Vec::new());
        for c in chunks {
            w.write_all(c).unwrap();
        }
        String::from_utf8(w.inner).unwrap()
    }

    #[test]
    fn indexed_16_colours_become_classic_codes() {
        assert_eq!(through(&[b"\x1b[38;5;3;49mhi"]), "\x1b[33;49mhi");
        assert_eq!(
            through(&[b"\x1b[38;5;10m\x1b[48;5;1m\x1b[48;5;12m"]),
            "\x1b[92m\x1b[41m\x1b[104m"
        );
        assert_eq!(through(&[b"\x1b[1;38;5;6m"]), "\x1b[1;36m");
    }

    #[test]
    fn other_sequences_pass_through() {
        for s in [
            "\x1b[38;5;200m",
            "\x1b[38;2;1;2;3m",
            "\x1b[?25l",
            "\x1b[10;26H",
            "\x1b[0m",
            "plain ✓ 日本",
        ] {
            assert_eq!(through(&[s.as_bytes()]), s);
        }
    }

    #[test]
    fn sequences_split_across_writes_are_rewritten() {
        assert_eq!(through(&[b"a\x1b[38;", b"5;", b"4mb"]), "a\x1b[34mb");
        assert_eq!(through(&[b"\x1b", b"[0m"]), "\x1b[0m");
    }
}
