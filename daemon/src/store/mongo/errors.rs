//! From driver errors to [`StoreError`], with the connection string's password taken out.
//!
//! The classification is what the callers act on: `Unavailable` (the server is down, slow or
//! unreachable: retry later, say "temporarily unavailable") versus everything else. A
//! duplicate-key error is not an error for most callers: [`is_duplicate`] lets them treat it
//! as "a concurrent writer got there first".

use mongodb::error::{Error, ErrorKind, WriteFailure};

use crate::secret::{Secret, redact};
use crate::store::StoreError;

/// MongoDB's duplicate-key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Turns driver errors into store errors. Holds the password to redact from their text.
#[derive(Clone)]
pub(super) struct ErrorMapper {
    password: Option<Secret>,
}

impl ErrorMapper {
    pub(super) fn new(password: Option<Secret>) -> ErrorMapper {
        ErrorMapper { password }
    }

    pub(super) fn clean(&self, text: &str) -> String {
        match &self.password {
            Some(p) => redact(text, p),
            None => text.to_owned(),
        }
    }

    pub(super) fn map(&self, err: &Error) -> StoreError {
        let reason = self.clean(&err.to_string());
        match &*err.kind {
            ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
            | ErrorKind::Authentication { .. } => StoreError::Unavailable {
                reason: format!("MongoDB is unreachable: {reason}"),
            },
            ErrorKind::BsonDeserialization(_) | ErrorKind::InvalidResponse { .. } => {
                StoreError::Corrupt { reason }
            }
            _ => StoreError::Other { reason },
        }
    }
}

/// A unique index (or `_id`) refused the write: someone else stored that key first.
pub(super) fn is_duplicate(err: &Error) -> bool {
    match &*err.kind {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == DUPLICATE_KEY,
        ErrorKind::Command(e) => e.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .is_some_and(|errs| !errs.is_empty() && errs.iter().all(|w| w.code == DUPLICATE_KEY)),
        _ => false,
    }
}

/// How many writes of an unordered `insert_many` were refused as duplicates, when every
/// failure was one; `None` when some other error happened.
pub(super) fn duplicates_only(err: &Error) -> Option<u64> {
    match &*err.kind {
        ErrorKind::InsertMany(e) if e.write_concern_error.is_none() => {
            let errs = e.write_errors.as_ref()?;
            errs.iter()
                .all(|w| w.code == DUPLICATE_KEY)
                .then_some(errs.len() as u64)
        }
        _ if is_duplicate(err) => Some(1),
        _ => None,
    }
}

/// The user and password part of a connection string, masked for `status` and logs:
/// `mongodb://app:***@db1:27017/?authSource=admin`.
pub(super) fn mask_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return "***".to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, hosts)) => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{hosts}{tail}")
        }
        None => uri.to_owned(),
    }
}

/// The password of a connection string, percent-encoded as written, to redact from texts.
pub(super) fn password_of(uri: &str) -> Option<Secret> {
    let rest = uri.split_once("://")?.1;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let (user_info, _) = authority.rsplit_once('@')?;
    let (_, password) = user_info.split_once(':')?;
    (!password.is_empty()).then(|| Secret::new(password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_password_only() {
        assert_eq!(
            mask_uri("mongodb://app:s3cr%40t@db1:27017,db2/?authSource=admin"),
            "mongodb://app:***@db1:27017,db2/?authSource=admin"
        );
        assert_eq!(
            mask_uri("mongodb+srv://app:pw@cluster0.x.net"),
            "mongodb+srv://app:***@cluster0.x.net"
        );
        assert_eq!(
            mask_uri("mongodb://127.0.0.1:27017/?directConnection=true"),
            "mongodb://127.0.0.1:27017/?directConnection=true"
        );
        assert_eq!(mask_uri("garbage"), "***");
    }

    #[test]
    fn finds_the_password_to_redact() {
        let p = password_of("mongodb://app:s3cr%40t@db1/x").unwrap();
        assert_eq!(p.expose(), "s3cr%40t");
        assert!(password_of("mongodb://db1/x").is_none());
        assert!(password_of("mongodb://app@db1/x").is_none());
        let m = ErrorMapper::new(Some(p));
        assert_eq!(m.clean("auth failed for s3cr%40t"), "auth failed for ***");
    }
}
