//! A string that must never be printed: tokens, passwords, connection strings.
//!
//! `Debug` and `Display` both print a mask, so a secret that ends up in a log line, an error
//! or an RPC reply by accident shows as `***` instead of leaking. The only way to the value is
//! [`Secret::expose`], which is easy to grep for.

use std::fmt;

use serde::de::{self, Unexpected, Visitor};
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
        // `any`, not `string`: formats reject a non-string for `deserialize_string` themselves,
        // quoting it, before the visitor can. Secrets come only from TOML and JSON, which are
        // self-describing; a format without `any` (bincode) could not read one.
        d.deserialize_any(SecretVisitor)
    }
}

/// Accepts only a string. The default serde errors quote what they got ("invalid type:
/// integer `98765`"), which for a secret is the secret itself, so every other kind of value
/// is refused by its kind alone.
struct SecretVisitor;

impl SecretVisitor {
    fn refuse<E: de::Error>(&self, kind: &'static str) -> Result<Secret, E> {
        Err(E::invalid_type(Unexpected::Other(kind), self))
    }
}

impl<'de> Visitor<'de> for SecretVisitor {
    type Value = Secret;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quoted string (the value is not shown: it is secret)")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Secret, E> {
        Ok(Secret(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Secret, E> {
        Ok(Secret(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Secret, E> {
        self.refuse("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Secret, E> {
        self.refuse("an integer")
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Secret, E> {
        self.refuse("an integer")
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Secret, E> {
        self.refuse("an integer")
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Secret, E> {
        self.refuse("an integer")
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Secret, E> {
        self.refuse("a number")
    }

    fn visit_char<E: de::Error>(self, _: char) -> Result<Secret, E> {
        self.refuse("a character")
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Secret, E> {
        self.refuse("bytes")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        self.refuse("a list")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Secret, A::Error> {
        self.refuse("a table or date")
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
    fn a_value_of_the_wrong_type_is_not_quoted_in_the_error() {
        let err = serde_json::from_str::<Secret>("98765")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("98765"), "{err}");
        assert!(err.contains("an integer"), "{err}");
        let err = serde_json::from_str::<Secret>("[\"SECRETABC\"]")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("SECRETABC"), "{err}");
        let ok: Secret = serde_json::from_str("\"123:ABC\"").unwrap();
        assert_eq!(ok.expose(), "123:ABC");
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
