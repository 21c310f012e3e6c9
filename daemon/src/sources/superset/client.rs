//! HTTP to the portal: the browser-like headers, login, and authenticated GETs that survive
//! one session expiry.
//!
//! One reqwest client (rustls, connect and whole-request timeouts) serves every account. An
//! authenticated call answered 401/403 logs the same account in again once and retries; a
//! second refusal is [`SourceError::SessionExpired`], so an expired session can never look like
//! an empty notice list. Nothing here logs or returns an e-mail, password, session key or body.

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use rsa::RsaPublicKey;
use serde_json::Value;
use tracing::{debug, info};

use super::login::{encrypt_password, parse_login};
use super::{Account, SourceError};
use crate::secret::Secret;

/// What Firefox on Linux sends; the portal serves browsers.
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:136.0) Gecko/20100101 Firefox/136.0";
const LOGIN: &str = "login";
/// Largest answer we read. A notices list of several years is a few MB; anything far larger
/// is not the portal we know, and reading it whole would only cost memory.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Above this, JSON is parsed on the blocking pool so a big list does not stall the runtime.
const BLOCKING_PARSE_BYTES: usize = 256 * 1024;

/// A logged-in account. The uuid names the student in every path.
pub(crate) struct Session {
    /// 1-based, for messages ("account 2 of 3").
    pub account_index: usize,
    pub accounts: usize,
    key: Secret,
    uuid: String,
}

pub(crate) struct PortalClient {
    http: reqwest::Client,
    base: Url,
    /// `scheme://host[:port]` of the base, for `Origin` and `Referer`.
    origin: String,
    key: RsaPublicKey,
}

fn fixed_headers(tenant_id: &str) -> Result<HeaderMap, SourceError> {
    let tenant = HeaderValue::from_str(tenant_id).map_err(|_| SourceError::Setup {
        reason: "tenant_id is not a valid header value".to_owned(),
    })?;
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/plain, */*"),
    );
    h.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_static("en-US,en;q=0.5"),
    );
    h.insert(
        HeaderName::from_static("x-requester-client"),
        HeaderValue::from_static("webapp"),
    );
    h.insert(HeaderName::from_static("x-superset-tenant-id"), tenant);
    h.insert(
        HeaderName::from_static("x-superset-tenant-type"),
        HeaderValue::from_static("STUDENT"),
    );
    h.insert(header::DNT, HeaderValue::from_static("1"));
    h.insert(
        HeaderName::from_static("sec-gpc"),
        HeaderValue::from_static("1"),
    );
    Ok(h)
}

impl PortalClient {
    pub fn new(
        base_url: &str,
        tenant_id: &str,
        key: RsaPublicKey,
        timeout: Duration,
    ) -> Result<Self, SourceError> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let base = Url::parse(trimmed)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| SourceError::Setup {
                reason: "base_url must be an http(s) URL".to_owned(),
            })?;
        let origin = base.origin().ascii_serialization();
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .default_headers(fixed_headers(tenant_id)?)
            .connect_timeout(timeout)
            .timeout(timeout)
            .build()
            .map_err(|e| SourceError::Setup {
                reason: format!("http client: {}", e.without_url()),
            })?;
        Ok(PortalClient {
            http,
            base,
            origin,
            key,
        })
    }

    /// `base/seg1/seg2…`, each segment percent-encoded (ids come from the portal).
    fn url(&self, segments: &[&str], query: Option<&str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.set_query(query);
        url
    }

    /// Log one account in. Rejected credentials are [`SourceError::LoginFailed`].
    pub async fn login(
        &self,
        account: &Account,
        account_index: usize,
        accounts: usize,
    ) -> Result<Session, SourceError> {
        let failed = |reason: String| SourceError::LoginFailed {
            account_index,
            accounts,
            reason,
        };
        let password = encrypt_password(&self.key, &account.password).map_err(failed)?;
        let body = serde_json::json!({ "username": account.email, "password": password });
        let response = self
            .http
            .post(self.url(&["login"], None))
            .header(header::ORIGIN, &self.origin)
            .header(header::REFERER, format!("{}/students/login", self.origin))
            .json(&body)
            .send()
            .await
            .map_err(|e| SourceError::from_reqwest(LOGIN, &e))?;
        let status = response.status();
        if matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(failed(format!(
                "the portal rejected the login (HTTP {})",
                status.as_u16()
            )));
        }
        if !status.is_success() {
            return Err(SourceError::Http {
                endpoint: LOGIN,
                status: status.as_u16(),
            });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SourceError::from_reqwest(LOGIN, &e))?;
        let grant = parse_login(&bytes).map_err(failed)?;
        debug!(account_index, "superset login ok");
        Ok(Session {
            account_index,
            accounts,
            key: grant.session_key,
            uuid: grant.uuid,
        })
    }

    /// GET `base/students/{uuid}/{segments}?{query}` as JSON. On 401/403, log in again once and
    /// retry; a second refusal is `SessionExpired`.
    pub async fn get_json(
        &self,
        session: &mut Session,
        account: &Account,
        endpoint: &'static str,
        segments: &[&str],
        query: Option<&str>,
    ) -> Result<Value, SourceError> {
        for attempt in 0..2 {
            let mut path = vec!["students", session.uuid.as_str()];
            path.extend_from_slice(segments);
            let response = self
                .http
                .get(self.url(&path, query))
                .header(
                    header::AUTHORIZATION,
                    format!("Custom {}", session.key.expose()),
                )
                .header(header::REFERER, format!("{}/students", self.origin))
                .send()
                .await
                .map_err(|e| SourceError::from_reqwest(endpoint, &e))?;
            let status = response.status();
            if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                if attempt == 1 {
                    break;
                }
                info!(
                    endpoint,
                    account_index = session.account_index,
                    "superset session refused, logging in again"
                );
                *session = self
                    .login(account, session.account_index, session.accounts)
                    .await
                    .map_err(|e| match e {
                        SourceError::LoginFailed { .. } => SourceError::SessionExpired { endpoint },
                        other => other,
                    })?;
                continue;
            }
            if !status.is_success() {
                return Err(SourceError::Http {
                    endpoint,
                    status: status.as_u16(),
                });
            }
            return read_json(endpoint, response).await;
        }
        Err(SourceError::SessionExpired { endpoint })
    }
}

/// Read a body (capped) and parse it as JSON. Errors name the endpoint, never the content.
async fn read_json(
    endpoint: &'static str,
    mut response: reqwest::Response,
) -> Result<Value, SourceError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| SourceError::from_reqwest(endpoint, &e))?
    {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(SourceError::Malformed {
                endpoint,
                reason: format!("response larger than {} MiB", MAX_BODY_BYTES >> 20),
            });
        }
        body.extend_from_slice(&chunk);
    }
    let large = body.len() > BLOCKING_PARSE_BYTES;
    let parse = move || {
        serde_json::from_slice::<Value>(&body).map_err(|e| SourceError::Malformed {
            endpoint,
            reason: format!("not JSON (line {}, column {})", e.line(), e.column()),
        })
    };
    if !large {
        return parse();
    }
    tokio::task::spawn_blocking(parse)
        .await
        .map_err(|_| SourceError::Malformed {
            endpoint,
            reason: "parsing was aborted".to_owned(),
        })?
}
