//! Conversions between SQLite values and the store's records, and from SQLite errors to
//! [`StoreError`].
//!
//! Every value read back goes through a checked conversion: a row written by something else (a
//! hand edit, a later version, a bit flip) becomes `StoreError::Corrupt` naming the column,
//! never a panic and never a silently wrong record.

use chrono::{DateTime, Utc};
use rusqlite::ErrorCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{StoreError, StoreResult};

/// Classify a SQLite error by what the caller can do about it: wait (busy), give up on the
/// data (corrupt), or report it.
pub(super) fn sql_error(err: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match &err {
        E::SqliteFailure(e, _) => match e.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Unavailable {
                reason: format!("database is busy: {err}"),
            },
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => StoreError::Corrupt {
                reason: err.to_string(),
            },
            ErrorCode::CannotOpen
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::ReadOnly => StoreError::Unavailable {
                reason: err.to_string(),
            },
            _ => StoreError::Other {
                reason: err.to_string(),
            },
        },
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..)
        | E::Utf8Error(..) => StoreError::Corrupt {
            reason: err.to_string(),
        },
        _ => StoreError::Other {
            reason: err.to_string(),
        },
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        sql_error(err)
    }
}

pub(super) fn corrupt(column: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        reason: format!("column {column}: {detail}"),
    }
}

/// Times are stored as integer milliseconds since the epoch: they sort and compare in SQL,
/// and they round-trip exactly at the precision every record uses.
pub(super) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn opt_to_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(to_ms)
}

pub(super) fn from_ms(column: &str, ms: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| corrupt(column, format!("time {ms} ms is out of range")))
}

pub(super) fn opt_from_ms(column: &str, ms: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
    ms.map(|ms| from_ms(column, ms)).transpose()
}

/// A closed-set enum (trigger, outcome) as its serde name, e.g. `catch_up`.
pub(super) fn enum_to_text<T: Serialize>(value: &T) -> StoreResult<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Other {
            reason: format!("enum did not serialise to a name: {other}"),
        }),
        Err(e) => Err(StoreError::Other {
            reason: format!("cannot serialise enum: {e}"),
        }),
    }
}

pub(super) fn enum_from_text<T: DeserializeOwned>(column: &str, text: String) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(text.clone()))
        .map_err(|_| corrupt(column, format!("unknown value {text:?}")))
}

pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Other {
        reason: format!("cannot serialise to json: {e}"),
    })
}

pub(super) fn from_json<T: DeserializeOwned>(column: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| corrupt(column, format!("bad json: {e}")))
}

/// Unsigned counters are stored as SQLite's signed integers.
pub(super) fn to_i64(column: &str, value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Other {
        reason: format!("{column} {value} is too large to store"),
    })
}

pub(super) fn to_u64(column: &str, value: i64) -> StoreResult<u64> {
    u64::try_from(value).map_err(|_| corrupt(column, format!("negative value {value}")))
}

pub(super) fn to_u32(column: &str, value: i64) -> StoreResult<u32> {
    u32::try_from(value).map_err(|_| corrupt(column, format!("value {value} out of range")))
}

/// Read every row of a query through a checked conversion.
pub(super) fn collect<T>(
    mut rows: rusqlite::Rows<'_>,
    convert: impl Fn(&rusqlite::Row<'_>) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(convert(row)?);
    }
    Ok(out)
}
