//! Reading documents leniently, writing them in the original system's types.
//!
//! The collections are shared with the Python system and the website, so a document may come
//! from either. Python stores an int as int32 when it fits and int64 otherwise (Telegram ids
//! are either), writes `null` or leaves a field out, and some wire-compatible servers hand a
//! boolean set with `$set` back as `1` and a date set with `$set` as text. [`Fields`] accepts
//! every one of these forms; a value of
//! a kind that cannot mean the field (a string where a number belongs) is `Corrupt`, naming
//! the collection and field.

use chrono::{DateTime, Utc};
use mongodb::bson::{self, Bson, Document};

use crate::store::{StoreError, StoreResult};

/// A document being read, with the collection it came from for error messages.
pub(super) struct Fields<'a> {
    pub(super) doc: &'a Document,
    pub(super) coll: &'static str,
}

impl<'a> Fields<'a> {
    pub(super) fn new(coll: &'static str, doc: &'a Document) -> Fields<'a> {
        Fields { doc, coll }
    }

    fn corrupt(&self, key: &str, what: &str, got: &Bson) -> StoreError {
        let id = self
            .doc
            .get("_id")
            .map(ToString::to_string)
            .unwrap_or_default();
        StoreError::Corrupt {
            reason: format!(
                "{}.{key} of document {id}: expected {what}, found {:?}",
                self.coll,
                got.element_type()
            ),
        }
    }

    /// Missing and `null` are both "not set".
    fn present(&self, key: &str) -> Option<&'a Bson> {
        self.doc.get(key).filter(|v| !matches!(v, Bson::Null))
    }

    pub(super) fn opt_str(&self, key: &str) -> StoreResult<Option<String>> {
        match self.present(key) {
            None => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.corrupt(key, "a string", other)),
        }
    }

    pub(super) fn str_or_empty(&self, key: &str) -> StoreResult<String> {
        Ok(self.opt_str(key)?.unwrap_or_default())
    }

    pub(super) fn str(&self, key: &str) -> StoreResult<String> {
        self.opt_str(key)?.ok_or_else(|| StoreError::Corrupt {
            reason: format!("{}: a document has no {key}", self.coll),
        })
    }

    /// int32, int64, or a double holding a whole number.
    pub(super) fn opt_i64(&self, key: &str) -> StoreResult<Option<i64>> {
        match self.present(key) {
            None => Ok(None),
            Some(Bson::Int32(v)) => Ok(Some(i64::from(*v))),
            Some(Bson::Int64(v)) => Ok(Some(*v)),
            Some(Bson::Double(v)) if v.fract() == 0.0 && v.abs() < 9.0e15 => Ok(Some(*v as i64)),
            Some(other) => Err(self.corrupt(key, "an integer", other)),
        }
    }

    pub(super) fn i64(&self, key: &str) -> StoreResult<i64> {
        self.opt_i64(key)?.ok_or_else(|| StoreError::Corrupt {
            reason: format!("{}: a document has no {key}", self.coll),
        })
    }

    pub(super) fn opt_f64(&self, key: &str) -> StoreResult<Option<f64>> {
        match self.present(key) {
            None => Ok(None),
            Some(Bson::Double(v)) => Ok(Some(*v)),
            Some(Bson::Int32(v)) => Ok(Some(f64::from(*v))),
            Some(Bson::Int64(v)) => Ok(Some(*v as f64)),
            Some(other) => Err(self.corrupt(key, "a number", other)),
        }
    }

    pub(super) fn bool_or(&self, key: &str, default: bool) -> StoreResult<bool> {
        match self.present(key) {
            None => Ok(default),
            Some(Bson::Boolean(b)) => Ok(*b),
            Some(Bson::Int32(v)) => Ok(*v != 0),
            Some(Bson::Int64(v)) => Ok(*v != 0),
            Some(other) => Err(self.corrupt(key, "a boolean", other)),
        }
    }

    /// A BSON date, integer milliseconds, or a date as text (nx-27017 stores a date written
    /// with `$set` as `2026-01-01 00:00:00.123000`, UTC).
    pub(super) fn opt_date(&self, key: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let ms = match self.present(key) {
            None => return Ok(None),
            Some(Bson::DateTime(d)) => d.timestamp_millis(),
            Some(Bson::Int64(v)) => *v,
            // Small int64 values come back as int32 from some servers.
            Some(Bson::Int32(v)) => i64::from(*v),
            Some(Bson::String(s)) => match parse_date_text(s) {
                Some(t) => return Ok(Some(t)),
                None => return Err(self.corrupt(key, "a date", &Bson::String(s.clone()))),
            },
            Some(other) => return Err(self.corrupt(key, "a date", other)),
        };
        DateTime::from_timestamp_millis(ms)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                reason: format!("{}.{key}: time {ms} ms is out of range", self.coll),
            })
    }

    /// Documents of the original system may lack a time the port always writes; the epoch
    /// stands in rather than refusing the whole document.
    pub(super) fn date_or_epoch(&self, key: &str) -> StoreResult<DateTime<Utc>> {
        Ok(self.opt_date(key)?.unwrap_or(DateTime::UNIX_EPOCH))
    }

    pub(super) fn strings(&self, key: &str) -> StoreResult<Vec<String>> {
        self.array(key)?
            .iter()
            .map(|v| match v {
                Bson::String(s) => Ok(s.clone()),
                other => Err(self.corrupt(key, "a list of strings", other)),
            })
            .collect()
    }

    pub(super) fn array(&self, key: &str) -> StoreResult<&'a [Bson]> {
        match self.present(key) {
            None => Ok(&[]),
            Some(Bson::Array(a)) => Ok(a),
            Some(other) => Err(self.corrupt(key, "a list", other)),
        }
    }

    pub(super) fn documents(&self, key: &str) -> StoreResult<Vec<&'a Document>> {
        self.array(key)?
            .iter()
            .map(|v| match v {
                Bson::Document(d) => Ok(d),
                other => Err(self.corrupt(key, "a list of documents", other)),
            })
            .collect()
    }

    /// A field holding a serde value written by [`to_bson`].
    pub(super) fn serde<T: serde::de::DeserializeOwned>(&self, key: &str) -> StoreResult<T> {
        let value = self.doc.get(key).cloned().unwrap_or(Bson::Null);
        bson::from_bson(value).map_err(|e| StoreError::Corrupt {
            reason: format!("{}.{key}: {e}", self.coll),
        })
    }
}

fn parse_date_text(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// A BSON date: what the original system and the website use for store times.
pub(super) fn date(t: DateTime<Utc>) -> Bson {
    Bson::DateTime(bson::DateTime::from_millis(t.timestamp_millis()))
}

pub(super) fn opt_date(t: Option<DateTime<Utc>>) -> Bson {
    t.map_or(Bson::Null, date)
}

/// Integer milliseconds: for times the server must compare (`not_before`, lease expiry).
/// Compatible servers store a date set with `$set` as text, which no longer compares as a
/// date; an int64 compares the same everywhere.
pub(super) fn ms(t: DateTime<Utc>) -> Bson {
    Bson::Int64(t.timestamp_millis())
}

pub(super) fn opt_str(s: &Option<String>) -> Bson {
    s.as_ref().map_or(Bson::Null, |s| Bson::String(s.clone()))
}

pub(super) fn to_bson<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<Bson> {
    bson::to_bson(value).map_err(|e| StoreError::Other {
        reason: format!("cannot encode a record for MongoDB: {e}"),
    })
}

/// Unsigned counters are stored as int64, the type every MongoDB reader understands.
pub(super) fn to_i64(what: &str, value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Other {
        reason: format!("{what} {value} is too large to store"),
    })
}

pub(super) fn to_u64(coll: &str, key: &str, value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        reason: format!("{coll}.{key}: negative value {value}"),
    })
}

pub(super) fn to_u32(coll: &str, key: &str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        reason: format!("{coll}.{key}: value {value} out of range"),
    })
}

/// Matches a flag stored as `true` or `1` (see the module docs), for filters.
pub(super) fn is_set() -> Bson {
    Bson::Document(bson::doc! { "$in": [true, 1] })
}

/// Matches a flag that is `false`, `0`, `null` or absent.
pub(super) fn is_not_set() -> Bson {
    Bson::Document(bson::doc! { "$nin": [true, 1] })
}
