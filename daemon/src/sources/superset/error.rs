//! What can go wrong talking to the portal, as the caller needs to tell it apart.
//!
//! Every variant carries only what is safe to log: an account is named by its position
//! ("account 2 of 3"), never by its e-mail; bodies of portal answers are never included, only
//! the endpoint and what was wrong with them. A fetch that fails returns no data at all, so the
//! caller leaves its store untouched instead of mistaking an error for "no new notices".

/// Why a portal fetch (or setting the source up) failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No account is configured: the source is disabled rather than broken.
    #[error("no superset accounts configured: add [superset] accounts or SUPERSET_CREDENTIALS")]
    NoAccounts,

    /// The configured RSA public key cannot be used.
    #[error("invalid superset rsa_public_key: {reason}")]
    BadKey { reason: String },

    /// The base URL or the HTTP client could not be set up.
    #[error("cannot set up the superset client: {reason}")]
    Setup { reason: String },

    /// One account could not log in. `account_index` is 1-based.
    #[error("superset login failed for account {account_index} of {accounts}: {reason}")]
    LoginFailed {
        account_index: usize,
        accounts: usize,
        reason: String,
    },

    /// Not one configured account could log in.
    #[error("no superset account could log in ({accounts} tried); last error: {last_reason}")]
    AllLoginsFailed {
        accounts: usize,
        last_reason: String,
    },

    /// The portal kept refusing the session after one fresh login.
    #[error("superset session rejected twice on {endpoint} (after a fresh login)")]
    SessionExpired { endpoint: &'static str },

    /// The portal answered, but not with the shape we rely on.
    #[error("malformed superset response from {endpoint}: {reason}")]
    Malformed {
        endpoint: &'static str,
        reason: String,
    },

    /// The portal answered with an unexpected HTTP status.
    #[error("superset {endpoint} answered HTTP {status}")]
    Http { endpoint: &'static str, status: u16 },

    /// The portal could not be reached or did not answer in time; retrying later may work.
    #[error("superset {endpoint} unreachable: {reason}")]
    Transient {
        endpoint: &'static str,
        reason: String,
    },
}

impl SourceError {
    /// Describe a reqwest failure without its URL (which holds the account's uuid) or body.
    pub(crate) fn from_reqwest(endpoint: &'static str, err: &reqwest::Error) -> SourceError {
        let reason = if err.is_timeout() {
            "timed out".to_owned()
        } else if err.is_connect() {
            "connection failed".to_owned()
        } else if err.is_body() || err.is_decode() {
            "reading the response failed".to_owned()
        } else {
            "request failed".to_owned()
        };
        SourceError::Transient { endpoint, reason }
    }
}
