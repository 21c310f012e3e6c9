//! A string that must never be printed: tokens, passwords, connection strings.
//!
//! `Debug` and `Display` both print a mask, so a secret that ends up in a log line, an error
//! or an RPC reply by accident shows as `***` instead of leaking. The only way to the value is
//! [`Secret::expose`], which is easy to grep for.

use std::fmt;

use serde::{Deserialize, Deserializer};

#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where it is sent to the system that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "\"***\"" })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "" } else { "***" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Replace every occurrence of `secret` in `text` with `***`. For error texts from libraries
/// that echo what they were given (a URL with a bot token in its path, say).
pub fn redact(text: &str, secret: &Secret) -> String {
    if secret.0.len() < 4 {
        return text.to_owned();
    }
    text.replace(&secret.0, "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("123:ABC");
        assert_eq!(format!("{s} {s:?}"), "*** \"***\"");
        assert_eq!(s.expose(), "123:ABC");
    }

    #[test]
    fn redacts_inside_text() {
        let s = Secret::new("123:ABC");
        assert_eq!(
            redact("POST /bot123:ABC/sendMessage", &s),
            "POST /bot***/sendMessage"
        );
    }
}
