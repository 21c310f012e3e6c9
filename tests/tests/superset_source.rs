//! `SupersetSource` against the fake portal over real HTTP.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use supersetd::sources::superset::{
    DEFAULT_RSA_PUBLIC_KEY, PortalFetch, SourceError, SupersetSource,
};
use supersetd_tests::fakes::superset::FakePortal;
use supersetd_tests::fakes::superset_fixtures::{
    numbered_notice, realistic_jobs, realistic_notices,
};

const A: (&str, &str) = ("student1@example.edu", "Pa55-word-one!");
const B: (&str, &str) = ("student2@example.edu", "second#Secret");
const TIMEOUT: Duration = Duration::from_secs(5);

fn none() -> HashSet<String> {
    HashSet::new()
}

fn set(ids: &[&str]) -> HashSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

fn source(fake: &FakePortal, accounts: &[(&str, &str)], timeout: Duration) -> SupersetSource {
    SupersetSource::new(fake.settings(accounts, timeout)).unwrap()
}

async fn portal_with_fixtures(accounts: &[(&str, &str)]) -> FakePortal {
    let fake = FakePortal::start(accounts).await;
    let (listing, details) = realistic_jobs();
    fake.set_notices(accounts[0].0, realistic_notices());
    fake.set_jobs(accounts[0].0, listing);
    for (id, d) in details {
        fake.set_job_details(&id, d);
    }
    fake
}

fn ids(fetch: &PortalFetch) -> Vec<&str> {
    fetch.new_notices.iter().map(|n| n.id.as_str()).collect()
}

/// Collects every log line written while the guard lives (current-thread runtime only).
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn assert_no_secrets(text: &str) {
    for secret in [A.0, A.1, B.0, B.1, "wrong-password", "sess-"] {
        assert!(!text.contains(secret), "{secret:?} leaked into: {text}");
    }
}

#[tokio::test]
async fn logs_in_with_rsa_and_maps_the_realistic_portal() {
    let fake = portal_with_fixtures(&[A]).await;
    let fetch = source(&fake, &[A], TIMEOUT)
        .fetch(&none(), &none())
        .await
        .unwrap();

    // The fake decrypts the password with its private key; a wrong ciphertext would be 400/401.
    assert_eq!(fake.login_count(), 1);
    let reqs = fake.requests();
    assert_eq!(
        (
            reqs[0].method.as_str(),
            reqs[0].path.as_str(),
            reqs[0].status
        ),
        ("POST", "/tnpsuite-core/login", 200)
    );
    let uuid = fake.uuid_of(A.0).unwrap();
    assert!(reqs.iter().any(|r| r.path
        == format!("/tnpsuite-core/students/{uuid}/notices?page=0&size=10000&_loader_=false")
        && r.authorized
        && r.account.as_deref() == Some(A.0)));

    assert_eq!((fetch.accounts_ok, fetch.accounts_failed), (1, 0));
    assert_eq!(
        ids(&fetch),
        [
            "notice-zeta-posting",
            "notice-zeta-shortlist",
            "notice-nimbus-webinar",
            "notice-acme-oa",
            "notice-orbit-internship",
            "notice-resume-reminder"
        ]
    );
    let posting = &fetch.new_notices[0];
    assert!(posting.content.contains("<table") && posting.content.contains("CGPA < 7 & backlog"));
    assert_eq!(posting.author, "Training & Placement Cell");
    assert_eq!(posting.source, "Superset");
    assert!(!posting.sent_to_telegram && posting.formatted_message.is_empty());
    assert!(fetch.new_notices[1].content.chars().count() > 4096);

    assert_eq!(fetch.listed_jobs.len(), 4);
    assert!(fetch.listed_jobs.iter().all(|j| !j.has_details));
    let job = |id: &str| fetch.new_jobs.iter().find(|j| j.id == id).unwrap();
    let zeta = job("job-zeta-sde");
    assert!(zeta.has_details);
    assert_eq!(zeta.package, Some(1_800_000.0));
    assert_eq!(
        zeta.hiring_flow,
        [
            "Online Assessment",
            "Technical Interview 1",
            "Technical Interview 2",
            "HR Interview"
        ]
    );
    assert!(zeta.package_info.contains("<table"));
    assert_eq!(
        zeta.eligibility_courses[0],
        "B.Tech - Computer Science and Engineering"
    );
    assert!(zeta.documents.iter().all(|d| {
        d.url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://files.superset.test/"))
    }));
    assert_eq!(
        job("job-acme-da").package,
        None,
        "package 0 and no ctc range is no package"
    );
    assert_eq!(job("job-nimbus-csa").location, "Hyderabad");
    assert_eq!(
        job("job-nimbus-csa").placement_category,
        "Offer is more than 4.6 lacs"
    );
    let orbit = job("job-orbit-intern");
    assert_eq!(
        (orbit.package, orbit.annum_months.as_deref()),
        (Some(40_000.0), Some("MONTHLY"))
    );
    assert_eq!(orbit.placement_category, "Internship");
}

#[tokio::test]
async fn null_last_modified_falls_back_to_published() {
    let fake = portal_with_fixtures(&[A]).await;
    let fetch = source(&fake, &[A], TIMEOUT)
        .fetch(&none(), &none())
        .await
        .unwrap();
    let webinar = fetch
        .new_notices
        .iter()
        .find(|n| n.id == "notice-nimbus-webinar")
        .unwrap();
    assert_eq!(webinar.updated_at_ms, webinar.created_at_ms);
    assert!(webinar.content.contains("सभी छात्रों"));
}

#[tokio::test]
async fn accounts_merge_first_wholesale_and_dedupe() {
    let fake = FakePortal::start(&[A, B]).await;
    fake.set_notices(A.0, (1..=3).map(numbered_notice).collect());
    let mut changed = numbered_notice(2);
    changed["title"] = json!("B's copy of notice 2");
    fake.set_notices(B.0, vec![numbered_notice(5), changed, numbered_notice(4)]);
    fake.set_jobs(
        A.0,
        vec![json!({"jobProfileIdentifier": "j1", "companyName": "A Co", "createdAt": 10})],
    );
    fake.set_jobs(
        B.0,
        vec![
            json!({"jobProfileIdentifier": "j1", "companyName": "B's view", "createdAt": 10}),
            json!({"jobProfileIdentifier": "j2", "companyName": "B Co", "createdAt": 20}),
        ],
    );
    let fetch = source(&fake, &[A, B], TIMEOUT)
        .fetch(&set(&["n-000001"]), &set(&["j1", "j2"]))
        .await
        .unwrap();
    assert_eq!(
        ids(&fetch),
        ["n-000005", "n-000004", "n-000003", "n-000002"]
    );
    assert_eq!(
        fetch.new_notices[3].title, "Notice 2",
        "the first account's copy wins"
    );
    let jobs: Vec<_> = fetch
        .listed_jobs
        .iter()
        .map(|j| (j.id.as_str(), j.company.as_str()))
        .collect();
    assert_eq!(jobs, [("j2", "B Co"), ("j1", "A Co")]);
    assert!(fetch.new_jobs.is_empty());
    assert_eq!((fetch.accounts_ok, fetch.accounts_failed), (2, 0));
}

#[tokio::test]
async fn details_are_fetched_only_for_new_jobs() {
    let fake = portal_with_fixtures(&[A]).await;
    let known = set(&["job-zeta-sde", "job-acme-da"]);
    let fetch = source(&fake, &[A], TIMEOUT)
        .fetch(&none(), &known)
        .await
        .unwrap();
    let mut fetched: Vec<String> = fake
        .requests()
        .iter()
        .filter_map(|r| {
            let path = r.path.split('?').next()?;
            let (_, id) = path.split_once("/job_profiles/")?;
            (!id.contains('/')).then(|| id.to_owned())
        })
        .collect();
    fetched.sort();
    assert_eq!(fetched, ["job-nimbus-csa", "job-orbit-intern"]);
    let mut new: Vec<_> = fetch.new_jobs.iter().map(|j| j.id.as_str()).collect();
    new.sort();
    assert_eq!(new, ["job-nimbus-csa", "job-orbit-intern"]);
    assert!(fetch.new_jobs.iter().all(|j| j.has_details));
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.path.contains("job-zeta-sde/documents"))
    );
}

#[tokio::test]
async fn a_job_whose_details_fail_is_left_out() {
    let fake = FakePortal::start(&[A]).await;
    let (listing, details) = realistic_jobs();
    fake.set_jobs(A.0, listing);
    for (id, d) in details.into_iter().filter(|(id, _)| id != "job-acme-da") {
        fake.set_job_details(&id, d);
    }
    let fetch = source(&fake, &[A], TIMEOUT)
        .fetch(&none(), &none())
        .await
        .unwrap();
    assert_eq!(fetch.new_jobs.len(), 3);
    assert!(fetch.new_jobs.iter().all(|j| j.id != "job-acme-da"));
    assert_eq!(fetch.listed_jobs.len(), 4);
}

#[tokio::test]
async fn an_expired_session_is_renewed_once() {
    let fake = portal_with_fixtures(&[A]).await;
    let source = source(&fake, &[A], TIMEOUT);
    source.fetch(&none(), &none()).await.unwrap();
    assert_eq!(fake.login_count(), 1);
    fake.expire_sessions();
    let before = fake.requests().len();
    let fetch = source
        .fetch(
            &none(),
            &set(&[
                "job-zeta-sde",
                "job-acme-da",
                "job-nimbus-csa",
                "job-orbit-intern",
            ]),
        )
        .await
        .unwrap();
    assert_eq!(fetch.new_notices.len(), 6);
    assert_eq!(fake.login_count(), 2, "exactly one re-login");
    let statuses: Vec<_> = fake.requests()[before..]
        .iter()
        .map(|r| (r.method.clone(), r.status))
        .collect();
    assert_eq!(
        statuses[..3],
        [
            ("GET".to_owned(), 401),
            ("POST".to_owned(), 200),
            ("GET".to_owned(), 200)
        ]
    );
}

#[tokio::test]
async fn a_session_refused_after_relogin_is_session_expired() {
    let fake = portal_with_fixtures(&[A]).await;
    fake.set_reject_sessions(true);
    let err = source(&fake, &[A], TIMEOUT)
        .fetch(&none(), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::SessionExpired {
                endpoint: "notices"
            }
        ),
        "{err:?}"
    );
    assert_eq!(fake.login_count(), 2);
    assert_no_secrets(&err.to_string());
}

#[tokio::test]
async fn malformed_notices_fail_the_fetch_naming_the_field() {
    let fake = portal_with_fixtures(&[A]).await;
    let source = source(&fake, &[A], TIMEOUT);
    let cases = [
        (
            r#"[{"identifier":"n1","publishedAt":1},{"identifier":"n2","publishedAt":"today"}]"#,
            "entry 1: publishedAt",
        ),
        (
            r#"[{"title":"no id","publishedAt":1}]"#,
            "entry 0: missing field identifier",
        ),
        (r#"{"content":[]}"#, "expected a JSON array"),
        ("<html>502 Bad Gateway</html>", "not JSON"),
    ];
    for (body, want) in cases {
        fake.set_malformed("notices", Some(body.to_owned()));
        match source.fetch(&none(), &none()).await {
            Err(SourceError::Malformed {
                endpoint: "notices",
                reason,
            }) => {
                assert!(reason.contains(want), "{reason:?} should contain {want:?}");
                assert!(
                    !reason.contains("today") && !reason.contains("Gateway"),
                    "no body in {reason:?}"
                );
            }
            other => panic!("expected Malformed for {body}, got {other:?}"),
        }
    }
    fake.set_malformed("notices", None);
    fake.set_malformed("job_profiles", Some("null".to_owned()));
    let err = source.fetch(&none(), &none()).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Malformed {
                endpoint: "job_profiles",
                ..
            }
        ),
        "{err:?}"
    );
    fake.set_malformed("job_profiles", None);
    assert_eq!(
        source
            .fetch(&none(), &none())
            .await
            .unwrap()
            .new_notices
            .len(),
        6
    );
}

#[tokio::test]
async fn a_hung_portal_fails_within_the_timeout() {
    let fake = portal_with_fixtures(&[A]).await;
    fake.set_hang(true);
    let started = Instant::now();
    let err = source(&fake, &[A], Duration::from_secs(1))
        .fetch(&none(), &none())
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&err, SourceError::Transient { endpoint: "notices", reason } if reason == "timed out"),
        "{err:?}"
    );
    assert_no_secrets(&err.to_string());
}

#[tokio::test]
async fn a_wrong_password_skips_only_that_account_without_leaking() {
    let logs = LogCapture::default();
    let _guard = logs.install();
    let fake = FakePortal::start(&[A, B]).await;
    fake.set_notices(B.0, vec![numbered_notice(1)]);
    let fetch = source(&fake, &[A, (B.0, "wrong-password")], TIMEOUT)
        .fetch(&none(), &none())
        .await;
    // A's password is right, B's is not; the order makes the failing account the second.
    let fetch = fetch.unwrap();
    assert_eq!((fetch.accounts_ok, fetch.accounts_failed), (1, 1));
    assert!(
        fetch.new_notices.is_empty(),
        "only A's (empty) list was read"
    );
    let text = logs.text();
    assert!(
        text.contains("2 of 2"),
        "the warning names the account by position: {text}"
    );
    assert_no_secrets(&text);

    let err = source(
        &fake,
        &[(A.0, "wrong-password"), (B.0, "wrong-password")],
        TIMEOUT,
    )
    .fetch(&none(), &none())
    .await
    .unwrap_err();
    assert!(
        matches!(err, SourceError::AllLoginsFailed { accounts: 2, .. }),
        "{err:?}"
    );
    assert_no_secrets(&err.to_string());
    assert_no_secrets(&format!("{err:?}"));
    assert_no_secrets(&logs.text());
}

#[tokio::test]
async fn no_accounts_is_an_error_not_an_empty_fetch() {
    let fake = FakePortal::start(&[A]).await;
    let err = source(&fake, &[], TIMEOUT)
        .fetch(&none(), &none())
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::NoAccounts));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_tenant_is_refused_by_the_portal() {
    let fake = FakePortal::start(&[A]).await;
    let mut settings = fake.settings(&[A], TIMEOUT);
    settings.tenant_id = "some_other_college".to_owned();
    let err = SupersetSource::new(settings)
        .unwrap()
        .fetch(&none(), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::AllLoginsFailed { .. }),
        "{err:?}"
    );
    assert_eq!(fake.requests()[0].status, 400);
}

#[tokio::test]
async fn a_key_the_portal_cannot_decrypt_fails_login() {
    let fake = FakePortal::start(&[A]).await;
    let mut settings = fake.settings(&[A], TIMEOUT);
    settings.rsa_public_key_pem = DEFAULT_RSA_PUBLIC_KEY.to_owned();
    let err = SupersetSource::new(settings)
        .unwrap()
        .fetch(&none(), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(err, SourceError::AllLoginsFailed { .. }),
        "{err:?}"
    );

    let mut settings = fake.settings(&[A], TIMEOUT);
    settings.rsa_public_key_pem =
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----".to_owned();
    assert!(matches!(
        SupersetSource::new(settings),
        Err(SourceError::BadKey { .. })
    ));
}

#[tokio::test]
async fn thousands_of_notices_filter_against_known_ids() {
    let fake = FakePortal::start(&[A]).await;
    fake.set_notices(A.0, (0..3000).map(numbered_notice).collect());
    let known: HashSet<String> = (0..2000).map(|i| format!("n-{i:06}")).collect();
    let fetch = source(&fake, &[A], TIMEOUT)
        .fetch(&known, &none())
        .await
        .unwrap();
    assert_eq!(fetch.new_notices.len(), 1000);
    assert_eq!(fetch.new_notices[0].id, "n-002999");
    assert_eq!(fetch.new_notices[999].id, "n-002000");
    fake.add_notice(A.0, numbered_notice(5000));
    let fetch = source(&fake, &[A], TIMEOUT)
        .fetch(&known, &none())
        .await
        .unwrap();
    assert_eq!(fetch.new_notices[0].id, "n-005000");
}

#[tokio::test]
async fn the_fake_can_be_driven_over_http() {
    let fake = portal_with_fixtures(&[A]).await;
    let source = source(&fake, &[A], TIMEOUT);
    source.fetch(&none(), &none()).await.unwrap();
    let http = reqwest::Client::new();
    let control = fake.base_url().replace("/tnpsuite-core", "/__control");
    let ok = http
        .post(format!("{control}/expire_sessions"))
        .send()
        .await
        .unwrap();
    assert!(ok.status().is_success());
    http.post(format!("{control}/malformed/notices"))
        .body("[1]")
        .send()
        .await
        .unwrap();
    let err = source.fetch(&none(), &none()).await.unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Malformed {
                endpoint: "notices",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        fake.login_count(),
        2,
        "the expired session was renewed first"
    );
    http.post(format!("{control}/malformed/notices"))
        .send()
        .await
        .unwrap();
    source.fetch(&none(), &none()).await.unwrap();
    let recorded: serde_json::Value = http
        .get(format!("{control}/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded.as_array().unwrap().len(), fake.requests().len());
}

#[tokio::test]
async fn an_unreachable_portal_is_transient_not_a_login_problem() {
    let fake = FakePortal::start(&[A]).await;
    let settings = fake.settings(&[A], Duration::from_secs(1));
    drop(fake);
    let err = SupersetSource::new(settings)
        .unwrap()
        .fetch(&none(), &none())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SourceError::Transient {
                endpoint: "login",
                ..
            }
        ),
        "{err:?}"
    );
}
