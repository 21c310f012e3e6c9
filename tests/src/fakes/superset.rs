//! A fake SuperSet portal (reference 12.2), strict where the real one is.
//!
//! It serves under `/tnpsuite-core` like the portal, checks the tenant headers on every call
//! (400 when wrong), decrypts the RSA-encrypted password with the private half of a test key
//! pair (401 on wrong credentials), issues session keys and answers 401 to unknown or expired
//! ones, and 403 when a session asks for another student's uuid. Data is per account (notices,
//! job listing) or global (job details). Tests script failures: expired sessions, malformed
//! bodies, a portal that hangs. Every request is recorded with the account it authenticated as.
//! The same knobs are reachable over HTTP under `/__control/` (see `control`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use rsa::pkcs8::{EncodePublicKey as _, LineEnding};
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use serde_json::{Value, json};
use supersetd::secret::Secret;
use supersetd::sources::superset::{Account, SupersetSettings};
use tokio::task::JoinHandle;

/// The tenant the fake expects in `x-superset-tenant-id`.
pub const TENANT_ID: &str = "jaypee_in_in_it_16";
const PREFIX: &str = "/tnpsuite-core";

/// One key pair for the whole test process: RSA generation is the slow part of starting a fake.
fn test_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaPrivateKey::new(&mut rand::thread_rng(), 1024).expect("rsa test key generation")
    })
}

/// What the fake saw. `path` includes the query string.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// A valid session key was presented.
    pub authorized: bool,
    /// The e-mail of the account the session (or login) belongs to.
    pub account: Option<String>,
    pub status: u16,
}

struct PortalAccount {
    email: String,
    password: String,
    uuid: String,
    notices: Vec<Value>,
    jobs: Vec<Value>,
}

#[derive(Default)]
struct Portal {
    accounts: Vec<PortalAccount>,
    details: HashMap<String, Value>,
    /// session key → account index
    sessions: HashMap<String, usize>,
    next_session: u64,
    malformed: HashMap<String, String>,
    hang: bool,
    reject_sessions: bool,
    requests: Vec<RecordedRequest>,
    logins: usize,
}

type Shared = Arc<Mutex<Portal>>;

fn lock(shared: &Shared) -> MutexGuard<'_, Portal> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

pub struct FakePortal {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl Drop for FakePortal {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakePortal {
    /// Start a portal knowing these `(email, password)` accounts, with no notices or jobs.
    pub async fn start(accounts: &[(&str, &str)]) -> FakePortal {
        let portal = Portal {
            accounts: accounts
                .iter()
                .enumerate()
                .map(|(i, (email, password))| PortalAccount {
                    email: (*email).to_owned(),
                    password: (*password).to_owned(),
                    uuid: format!("u-{:04}-{}", i + 1, 7000 + i),
                    notices: Vec::new(),
                    jobs: Vec::new(),
                })
                .collect(),
            ..Portal::default()
        };
        let _ = test_key();
        let shared: Shared = Arc::new(Mutex::new(portal));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake portal");
        let addr = listener.local_addr().expect("fake portal address");
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePortal { addr, shared, task }
    }

    /// Base URL to configure, with the portal's path prefix.
    pub fn base_url(&self) -> String {
        format!("http://{}{PREFIX}", self.addr)
    }

    /// PEM (SubjectPublicKeyInfo) of the key whose private half the fake decrypts with.
    pub fn public_key_pem(&self) -> String {
        test_key()
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("encode test public key")
    }

    /// Settings for `SupersetSource` pointing at this fake, with the given credentials.
    pub fn settings(&self, accounts: &[(&str, &str)], timeout: Duration) -> SupersetSettings {
        SupersetSettings {
            base_url: self.base_url(),
            tenant_id: TENANT_ID.to_owned(),
            rsa_public_key_pem: self.public_key_pem(),
            accounts: accounts
                .iter()
                .map(|(email, password)| Account {
                    email: (*email).to_owned(),
                    password: Secret::new(*password),
                })
                .collect(),
            timeout,
        }
    }

    fn with_account(&self, email: &str, f: impl FnOnce(&mut PortalAccount)) {
        let mut portal = lock(&self.shared);
        let account = portal.accounts.iter_mut().find(|a| a.email == email);
        f(account.unwrap_or_else(|| panic!("fake portal has no account {email}")));
    }

    pub fn set_notices(&self, email: &str, notices: Vec<Value>) {
        self.with_account(email, |a| a.notices = notices);
    }

    /// Add a notice at the front, as the portal lists the newest first.
    pub fn add_notice(&self, email: &str, notice: Value) {
        self.with_account(email, |a| a.notices.insert(0, notice));
    }

    pub fn set_jobs(&self, email: &str, listing: Vec<Value>) {
        self.with_account(email, |a| a.jobs = listing);
    }

    /// Details served for `GET …/job_profiles/{job_id}` to any account.
    pub fn set_job_details(&self, job_id: &str, details: Value) {
        lock(&self.shared)
            .details
            .insert(job_id.to_owned(), details);
    }

    /// Every session key issued so far becomes invalid (401 until the client logs in again).
    pub fn expire_sessions(&self) {
        lock(&self.shared).sessions.clear();
    }

    /// Serve this raw body (200, application/json) for `"notices"` or `"job_profiles"`
    /// instead of the real list; `None` restores the list.
    pub fn set_malformed(&self, endpoint: &str, body: Option<String>) {
        let mut portal = lock(&self.shared);
        match body {
            Some(b) => portal.malformed.insert(endpoint.to_owned(), b),
            None => portal.malformed.remove(endpoint),
        };
    }

    /// While on, logins still succeed but every session key is refused with 401, as a portal
    /// whose session store is broken would (the client cannot recover by logging in again).
    pub fn set_reject_sessions(&self, on: bool) {
        lock(&self.shared).reject_sessions = on;
    }

    /// While on, authenticated calls are accepted but never answered.
    pub fn set_hang(&self, on: bool) {
        lock(&self.shared).hang = on;
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared).requests.clone()
    }

    /// Login attempts received (successful or not).
    pub fn login_count(&self) -> usize {
        lock(&self.shared).logins
    }

    /// The uuid the fake gives `email`'s student.
    pub fn uuid_of(&self, email: &str) -> Option<String> {
        lock(&self.shared)
            .accounts
            .iter()
            .find(|a| a.email == email)
            .map(|a| a.uuid.clone())
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        json!({ "message": message, "status": status.as_u16() }),
    )
}

fn header_is(headers: &HeaderMap, name: &str, want: &str) -> bool {
    headers.get(name).and_then(|v| v.to_str().ok()) == Some(want)
}

async fn handle(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(action) = uri.path().strip_prefix("/__control/") {
        return control(&shared, &method, action, &body);
    }
    let full_path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let record = |status: StatusCode, authorized: bool, account: Option<String>| {
        lock(&shared).requests.push(RecordedRequest {
            method: method.to_string(),
            path: full_path.clone(),
            authorized,
            account,
            status: status.as_u16(),
        });
    };
    let tenant_ok = header_is(&headers, "x-superset-tenant-id", TENANT_ID)
        && header_is(&headers, "x-superset-tenant-type", "STUDENT")
        && header_is(&headers, "x-requester-client", "webapp");
    if !tenant_ok {
        record(StatusCode::BAD_REQUEST, false, None);
        return error(StatusCode::BAD_REQUEST, "Invalid tenant");
    }
    let Some(path) = uri.path().strip_prefix(PREFIX) else {
        record(StatusCode::NOT_FOUND, false, None);
        return error(StatusCode::NOT_FOUND, "Not found");
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if method == Method::POST && segments == ["login"] {
        let (response, account) = login(&shared, &body);
        record(response.status(), false, account);
        return response;
    }
    if method != Method::GET || segments.len() < 3 || segments[0] != "students" {
        record(StatusCode::NOT_FOUND, false, None);
        return error(StatusCode::NOT_FOUND, "Not found");
    }
    let session = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Custom "))
        .and_then(|key| {
            let portal = lock(&shared);
            if portal.reject_sessions {
                None
            } else {
                portal.sessions.get(key).copied()
            }
        });
    let Some(index) = session else {
        record(StatusCode::UNAUTHORIZED, false, None);
        return error(
            StatusCode::UNAUTHORIZED,
            "Session expired, please login again",
        );
    };
    let (email, uuid, hang) = {
        let portal = lock(&shared);
        let a = &portal.accounts[index];
        (a.email.clone(), a.uuid.clone(), portal.hang)
    };
    if segments[1] != uuid {
        record(StatusCode::FORBIDDEN, true, Some(email));
        return error(StatusCode::FORBIDDEN, "Access denied");
    }
    if hang {
        record(StatusCode::REQUEST_TIMEOUT, true, Some(email));
        return std::future::pending().await;
    }
    let response = student_route(&shared, index, &segments[2..]);
    record(response.status(), true, Some(email));
    response
}

/// The HTTP control surface, for tests that drive the fake from another process:
/// `GET requests`, `POST expire_sessions`, `POST hang` (body `true`/`false`),
/// `POST reject_sessions` (same), `POST malformed/{notices|job_profiles}` (body served raw;
/// empty body clears).
fn control(shared: &Shared, method: &Method, action: &str, body: &[u8]) -> Response {
    let flag = body.trim_ascii() == b"true";
    let mut portal = lock(shared);
    match (method.as_str(), action) {
        ("GET", "requests") => return json_response(StatusCode::OK, json!(portal.requests)),
        ("POST", "expire_sessions") => portal.sessions.clear(),
        ("POST", "hang") => portal.hang = flag,
        ("POST", "reject_sessions") => portal.reject_sessions = flag,
        ("POST", endpoint) if endpoint.starts_with("malformed/") => {
            let endpoint = endpoint.trim_start_matches("malformed/").to_owned();
            if body.is_empty() {
                portal.malformed.remove(&endpoint);
            } else {
                portal
                    .malformed
                    .insert(endpoint, String::from_utf8_lossy(body).into_owned());
            }
        }
        _ => return error(StatusCode::NOT_FOUND, "unknown control action"),
    }
    json_response(StatusCode::OK, json!({ "ok": true }))
}

/// `/students/{uuid}/…` once the session is known to belong to account `index`.
fn student_route(shared: &Shared, index: usize, rest: &[&str]) -> Response {
    let portal = lock(shared);
    let raw = |endpoint: &str| {
        portal.malformed.get(endpoint).map(|body| {
            ([(header::CONTENT_TYPE, "application/json")], body.clone()).into_response()
        })
    };
    match rest {
        ["notices"] => raw("notices").unwrap_or_else(|| {
            json_response(
                StatusCode::OK,
                Value::Array(portal.accounts[index].notices.clone()),
            )
        }),
        ["job_profiles"] => raw("job_profiles").unwrap_or_else(|| {
            json_response(
                StatusCode::OK,
                Value::Array(portal.accounts[index].jobs.clone()),
            )
        }),
        ["job_profiles", job] => match portal.details.get(*job) {
            Some(d) => json_response(StatusCode::OK, d.clone()),
            None => error(StatusCode::NOT_FOUND, "Job profile not found"),
        },
        ["job_profiles", job, "documents", doc, "url"] => {
            let known = portal
                .details
                .get(*job)
                .and_then(|d| d.pointer("/jobProfile/documents"))
                .and_then(Value::as_array)
                .is_some_and(|docs| {
                    docs.iter()
                        .any(|d| d.get("identifier").and_then(Value::as_str) == Some(*doc))
                });
            if known {
                let url = format!("https://files.superset.test/{job}/{doc}?X-Amz-Signature=f4k3");
                json_response(StatusCode::OK, json!({ "url": url }))
            } else {
                error(StatusCode::NOT_FOUND, "Document not found")
            }
        }
        _ => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// Returns the response and the e-mail it was for (when the body named one).
fn login(shared: &Shared, body: &[u8]) -> (Response, Option<String>) {
    let mut portal = lock(shared);
    portal.logins += 1;
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return (error(StatusCode::BAD_REQUEST, "Invalid request body"), None);
    };
    let (Some(username), Some(encrypted)) = (
        request.get("username").and_then(Value::as_str),
        request.get("password").and_then(Value::as_str),
    ) else {
        return (
            error(
                StatusCode::BAD_REQUEST,
                "username and password are required",
            ),
            None,
        );
    };
    let username = username.to_owned();
    let password = base64::engine::general_purpose::STANDARD
        .decode(encrypted)
        .ok()
        .and_then(|cipher| test_key().decrypt(Pkcs1v15Encrypt, &cipher).ok())
        .and_then(|plain| String::from_utf8(plain).ok());
    let Some(password) = password else {
        return (
            error(StatusCode::BAD_REQUEST, "Password could not be decrypted"),
            Some(username),
        );
    };
    let Some(index) = portal
        .accounts
        .iter()
        .position(|a| a.email == username && a.password == password)
    else {
        return (
            error(StatusCode::UNAUTHORIZED, "Invalid username or password"),
            Some(username),
        );
    };
    portal.next_session += 1;
    let session_key = format!("sess-{}-{:08x}", portal.next_session, rand::random::<u32>());
    portal.sessions.insert(session_key.clone(), index);
    let account = &portal.accounts[index];
    let photo = if index == 0 {
        Value::Null
    } else {
        json!(format!("photo-{index}"))
    };
    let answer = json!({
        "userId": 101 + index,
        "username": account.email,
        "name": format!("Test Student {}", index + 1),
        "emailHash": format!("e3b0c44{index}"),
        "sessionKey": session_key,
        "uuid": account.uuid,
        "refreshToken": format!("rt-{}", portal.next_session),
        "userProfilePhotoId": photo,
        "userModes": ["STUDENT"],
        "permissions": [],
        "emailVerified": true,
        "message": null,
        "enableMfa": false
    });
    (json_response(StatusCode::OK, answer), Some(username))
}
