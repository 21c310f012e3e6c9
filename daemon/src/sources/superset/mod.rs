//! The SuperSet placement portal: login, notices, job profiles.
//!
//! [`SupersetSource::fetch`] is one complete read of the portal (reference 7.1 steps 2–6): log
//! every account in, list notices and jobs for each, merge them, and fetch details only for
//! jobs the caller does not know yet. It returns everything or an error, never a partial
//! list, so a portal failure cannot be mistaken for "nothing new". It does not store, format
//! or decide anything; the pipeline does.
//!
//! Layout: `client` (HTTP, headers, re-login), `login` (RSA, login answer), `wire` (notice and
//! listing JSON with precise errors), `convert` (wire to records, merging), `error`.

mod client;
mod convert;
mod error;
mod login;
mod wire;

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use tracing::{info, instrument, warn};

use self::client::{PortalClient, Session};
pub use self::error::SourceError;
use crate::secret::Secret;
use crate::store::{JobProfile, Notice};

/// The portal's public key, used to encrypt passwords at login (contract.md).
pub const DEFAULT_RSA_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCgFGVfrY4jQSoZQWWygZ83roKXWD4YeT2x2p41dGkPixe73rT2IW04glagN2vgoZoHuOPqa5and6kAmK2ujmCHu6D1auJhE2tXP+yLkpSiYMQucDKmCsWMnW9XlC5K7OSL77TXXcfvTvyZcjObEz6LIBRzs6+FqpFbUO9SJEfh6wIDAQAB
-----END PUBLIC KEY-----";

/// Everything the source needs; built by `config`.
#[derive(Debug, Clone)]
pub struct SupersetSettings {
    /// e.g. `https://app.joinsuperset.com/tnpsuite-core`
    pub base_url: String,
    /// e.g. `jaypee_in_in_it_16`
    pub tenant_id: String,
    pub rsa_public_key_pem: String,
    pub accounts: Vec<Account>,
    /// Connect timeout and whole-request timeout of every portal call.
    pub timeout: Duration,
}

/// One student account. `Debug` shows only the e-mail's domain and masks the password, so a
/// logged settings struct names no student.
#[derive(Clone)]
pub struct Account {
    pub email: String,
    pub password: Secret,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let domain = self.email.rsplit_once('@').map_or("", |(_, d)| d);
        f.debug_struct("Account")
            .field("email", &format_args!("***@{domain}"))
            .field("password", &self.password)
            .finish()
    }
}

/// One complete read of the portal.
#[derive(Debug, Clone, Default)]
pub struct PortalFetch {
    /// Notices not in `known_notices`, newest modification first, unformatted and unsent.
    pub new_notices: Vec<Notice>,
    /// Jobs not in `known_jobs`, with details and document urls (`has_details` true). A job
    /// whose details could not be fetched is left out and comes back next run.
    pub new_jobs: Vec<JobProfile>,
    /// Every listed job, listing fields only (`has_details` false), newest first.
    pub listed_jobs: Vec<JobProfile>,
    pub accounts_ok: u32,
    pub accounts_failed: u32,
}

pub struct SupersetSource {
    client: PortalClient,
    accounts: Vec<Account>,
    /// One slot per account: its session from an earlier fetch, reused until the portal
    /// refuses it (then one fresh login). The async mutex is held for a whole fetch on purpose:
    /// two overlapping fetches would otherwise log the same accounts in twice.
    sessions: tokio::sync::Mutex<Vec<Option<Session>>>,
}

const NOTICES_QUERY: &str = "page=0&size=10000&_loader_=false";
const LOADER_QUERY: &str = "_loader_=false";

impl SupersetSource {
    /// Parse the key and build the HTTP client. Errors: `BadKey`, `Setup`. An empty account
    /// list is accepted here and reported by `fetch` as `NoAccounts`.
    pub fn new(settings: SupersetSettings) -> Result<Self, SourceError> {
        let key = login::parse_public_key(&settings.rsa_public_key_pem)?;
        let client = PortalClient::new(
            &settings.base_url,
            &settings.tenant_id,
            key,
            settings.timeout,
        )?;
        let sessions = tokio::sync::Mutex::new(settings.accounts.iter().map(|_| None).collect());
        Ok(SupersetSource {
            client,
            accounts: settings.accounts,
            sessions,
        })
    }

    /// Read the portal once. Fails (returning nothing) when no account logs in or any listing
    /// call fails; per-job detail failures only leave that job out of `new_jobs`.
    #[instrument(name = "superset_fetch", skip_all, fields(accounts = self.accounts.len()))]
    pub async fn fetch(
        &self,
        known_notices: &HashSet<String>,
        known_jobs: &HashSet<String>,
    ) -> Result<PortalFetch, SourceError> {
        let mut cache = self.sessions.lock().await;
        let live = self.login_all(&mut cache).await?;
        let accounts_ok = live.len() as u32;
        let accounts_failed = (self.accounts.len() - live.len()) as u32;

        let mut notice_lists = Vec::with_capacity(live.len());
        let mut job_lists = Vec::with_capacity(live.len());
        for &i in &live {
            let listed = self.list_account(&mut cache[i], &self.accounts[i]).await;
            let (notices, jobs) = listed?;
            notice_lists.push(notices);
            job_lists.push(jobs);
        }
        let saved_at = Utc::now();
        let notices = convert::merge_notices(notice_lists);
        let listed_count = notices.len();
        let new_notices: Vec<Notice> = notices
            .into_iter()
            .filter(|n| !known_notices.contains(&n.identifier))
            .map(|n| convert::notice_record(n, saved_at))
            .collect();
        let listed_jobs: Vec<JobProfile> = convert::merge_jobs(job_lists)
            .iter()
            .map(convert::listed_job)
            .collect();
        let unknown: Vec<&JobProfile> = listed_jobs
            .iter()
            .filter(|j| !known_jobs.contains(&j.id))
            .collect();
        // Details come from the first logged-in account only: one account sees every job
        // it is eligible for, and asking each would multiply the calls.
        let first = live
            .first()
            .and_then(|&i| Some((cache[i].as_mut()?, &self.accounts[i])));
        let new_jobs = match first {
            Some((session, account)) => self.enrich(session, account, &unknown).await,
            None => Vec::new(),
        };
        info!(
            notices = listed_count,
            new_notices = new_notices.len(),
            jobs = listed_jobs.len(),
            new_jobs = new_jobs.len(),
            accounts_ok,
            accounts_failed,
            "superset fetched"
        );
        Ok(PortalFetch {
            new_notices,
            new_jobs,
            listed_jobs,
            accounts_ok,
            accounts_failed,
        })
    }

    /// Make sure every account has a session, logging in those without one. Accounts that fail
    /// are skipped with a warning naming only their position. Returns the indices of accounts
    /// with a session, in configuration order; `AllLoginsFailed` when none has one, or the
    /// `Transient` error itself when every failure was the portal being unreachable.
    async fn login_all(&self, cache: &mut [Option<Session>]) -> Result<Vec<usize>, SourceError> {
        let total = self.accounts.len();
        if total == 0 {
            return Err(SourceError::NoAccounts);
        }
        let mut live = Vec::with_capacity(total);
        let mut last_error = None;
        let mut all_transient = true;
        for (i, account) in self.accounts.iter().enumerate() {
            if cache[i].is_none() {
                match self.client.login(account, i + 1, total).await {
                    Ok(session) => cache[i] = Some(session),
                    Err(error) => {
                        warn!(account = %format!("{} of {total}", i + 1), error = %error, "superset account skipped");
                        all_transient &= matches!(error, SourceError::Transient { .. });
                        last_error = Some(error);
                        continue;
                    }
                }
            }
            live.push(i);
        }
        if live.is_empty() {
            // A portal that is down is not a credentials problem: say so, so the caller
            // reports "retry later" rather than "check the accounts".
            if all_transient && let Some(error) = last_error {
                return Err(error);
            }
            let last_reason = last_error.map(|e| e.to_string()).unwrap_or_default();
            return Err(SourceError::AllLoginsFailed {
                accounts: total,
                last_reason,
            });
        }
        Ok(live)
    }

    /// Notices and job listing of one account. On failure the session is dropped, so the next
    /// fetch starts that account with a fresh login.
    async fn list_account(
        &self,
        slot: &mut Option<Session>,
        account: &Account,
    ) -> Result<(Vec<wire::WireNotice>, Vec<wire::WireJob>), SourceError> {
        let Some(session) = slot.as_mut() else {
            return Err(SourceError::SessionExpired {
                endpoint: wire::NOTICES,
            });
        };
        let result = async {
            let body = self
                .client
                .get_json(
                    session,
                    account,
                    wire::NOTICES,
                    &["notices"],
                    Some(NOTICES_QUERY),
                )
                .await?;
            let notices = wire::parse_notices(&body)?;
            let body = self
                .client
                .get_json(
                    session,
                    account,
                    wire::JOB_PROFILES,
                    &["job_profiles"],
                    Some(LOADER_QUERY),
                )
                .await?;
            let (jobs, dropped) = wire::parse_jobs(&body)?;
            if dropped > 0 {
                warn!(
                    dropped,
                    account_index = session.account_index,
                    "superset job entries without identifier skipped"
                );
            }
            Ok((notices, jobs))
        }
        .await;
        if result.is_err() {
            *slot = None;
        }
        result
    }

    /// Details and document urls for each job, with one account. A job whose details fail is
    /// skipped; once the portal is unreachable or refuses the session the rest are skipped too
    /// (they would fail the same way, each after a full timeout).
    async fn enrich(
        &self,
        session: &mut Session,
        account: &Account,
        jobs: &[&JobProfile],
    ) -> Vec<JobProfile> {
        let mut enriched = Vec::with_capacity(jobs.len());
        for (done, job) in jobs.iter().enumerate() {
            let details = self
                .client
                .get_json(
                    session,
                    account,
                    "job_details",
                    &["job_profiles", &job.id],
                    Some(LOADER_QUERY),
                )
                .await;
            let details = match details {
                Ok(d) => d,
                Err(error) => {
                    warn!(job_id = %job.id, error = %error, "superset job details failed, retrying next run");
                    if matches!(
                        error,
                        SourceError::Transient { .. } | SourceError::SessionExpired { .. }
                    ) {
                        warn!(
                            skipped = jobs.len() - done - 1,
                            "superset job details stopped early"
                        );
                        break;
                    }
                    continue;
                }
            };
            let mut record = (*job).clone();
            convert::apply_details(&mut record, &details);
            for doc in &mut record.documents {
                let segments = [
                    "job_profiles",
                    job.id.as_str(),
                    "documents",
                    doc.identifier.as_str(),
                    "url",
                ];
                match self
                    .client
                    .get_json(session, account, "document_url", &segments, None)
                    .await
                {
                    Ok(body) => doc.url = convert::document_url(&body),
                    Err(error) => {
                        warn!(job_id = %job.id, error = %error, "superset document url failed")
                    }
                }
            }
            enriched.push(record);
        }
        enriched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_debug_names_no_student() {
        let settings = SupersetSettings {
            base_url: "https://portal.test".to_owned(),
            tenant_id: "t".to_owned(),
            rsa_public_key_pem: DEFAULT_RSA_PUBLIC_KEY.to_owned(),
            accounts: vec![Account {
                email: "jane.doe@uni.edu".to_owned(),
                password: Secret::new("pw-123456"),
            }],
            timeout: Duration::from_secs(1),
        };
        let text = format!("{settings:?}");
        assert!(
            !text.contains("jane.doe") && !text.contains("pw-123456"),
            "{text}"
        );
        assert!(text.contains("***@uni.edu"), "{text}");
    }

    #[test]
    fn a_bad_base_url_is_a_setup_error() {
        let settings = SupersetSettings {
            base_url: "portal.test/no-scheme".to_owned(),
            tenant_id: "t".to_owned(),
            rsa_public_key_pem: DEFAULT_RSA_PUBLIC_KEY.to_owned(),
            accounts: Vec::new(),
            timeout: Duration::from_secs(1),
        };
        assert!(matches!(
            SupersetSource::new(settings),
            Err(SourceError::Setup { .. })
        ));
    }
}
