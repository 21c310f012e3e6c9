//! Contract checks: notices and portal jobs.

use std::collections::HashSet;

use super::{at, job, notice};
use crate::store::{EligibilityMark, JobDocument, JobProfile, Notice, Store};

fn ids(list: &[Notice]) -> Vec<&str> {
    list.iter().map(|n| n.id.as_str()).collect()
}

fn set(items: &[&str]) -> HashSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub async fn save_fetch_is_idempotent(store: &dyn Store) {
    let (a, b) = (notice("a", 1_000), notice("b", 2_000));
    let inserted = store
        .save_fetch(vec![a.clone(), b.clone()], vec![job("j1", "Acme")])
        .await
        .unwrap();
    assert_eq!(
        inserted,
        vec!["a", "b"],
        "save_fetch returns the ids it inserted, in input order"
    );
    assert_eq!(
        store.known_notice_ids().await.unwrap(),
        set(&["a", "b"]),
        "known_notice_ids after first fetch"
    );
    assert_eq!(
        store.known_job_ids().await.unwrap(),
        set(&["j1"]),
        "known_job_ids after first fetch"
    );

    let mut changed_a = a.clone();
    changed_a.title = "edited title".to_owned();
    let renamed = job("j1", "Acme Corp");
    let inserted = store
        .save_fetch(vec![changed_a, notice("c", 3_000)], vec![renamed.clone()])
        .await
        .unwrap();
    assert_eq!(
        inserted,
        vec!["c"],
        "a second fetch inserts only the new notice"
    );
    assert_eq!(
        store.get_notice("a").await.unwrap(),
        Some(a),
        "an existing notice is never overwritten"
    );
    assert_eq!(
        store.list_jobs().await.unwrap(),
        vec![renamed],
        "an existing job is replaced by the new record"
    );
    assert_eq!(
        store.count_notices().await.unwrap(),
        3,
        "three distinct notices stored"
    );

    let inserted = store.save_fetch(vec![b], vec![]).await.unwrap();
    assert!(
        inserted.is_empty(),
        "re-saving a known notice inserts nothing"
    );
}

pub async fn save_fetch_keeps_first_of_duplicates(store: &dyn Store) {
    let first = notice("dup", 1_000);
    let mut second = notice("dup", 1_000);
    second.title = "second".to_owned();
    let inserted = store
        .save_fetch(vec![first.clone(), second], vec![])
        .await
        .unwrap();
    assert_eq!(
        inserted,
        vec!["dup"],
        "a duplicate id in one batch is inserted once"
    );
    assert_eq!(
        store.get_notice("dup").await.unwrap(),
        Some(first),
        "the first of duplicates wins"
    );
}

pub async fn notices_round_trip_every_field(store: &dyn Store) {
    let full = Notice {
        category: Some("Job Posting".to_owned()),
        matched_job_id: Some("j9".to_owned()),
        job_company: Some("Zeta & Sons <Ltd>".to_owned()),
        job_role: Some("Analyst".to_owned()),
        job_location: Some("Noida".to_owned()),
        package: Some("₹8.5 LPA".to_owned()),
        package_breakdown: Some("<table><tr><td>CTC</td></tr></table>".to_owned()),
        sent_to_telegram: true,
        sent_at: Some(at(7)),
        updated_at_ms: 9_999,
        ..notice("full", 1_234)
    };
    let bare = notice("bare", 1_235);
    store
        .save_fetch(vec![full.clone(), bare.clone()], vec![full_job()])
        .await
        .unwrap();
    assert_eq!(
        store.get_notice("full").await.unwrap(),
        Some(full),
        "every Notice field must round-trip"
    );
    assert_eq!(
        store.get_notice("bare").await.unwrap(),
        Some(bare),
        "None fields must round-trip"
    );
    assert_eq!(
        store.list_jobs().await.unwrap(),
        vec![full_job()],
        "every JobProfile field must round-trip"
    );
}

fn full_job() -> JobProfile {
    JobProfile {
        content: "<p>about</p>".to_owned(),
        created_at_ms: Some(1_700_000_000_000),
        deadline_ms: Some(1_700_100_000_000),
        eligibility_marks: vec![EligibilityMark {
            level: "UG".to_owned(),
            criteria: 7.5,
        }],
        eligibility_courses: vec!["B.Tech CSE".to_owned()],
        allowed_genders: vec!["Male".to_owned(), "Female".to_owned()],
        job_description: "build things".to_owned(),
        location: "Pune".to_owned(),
        package: Some(850_000.0),
        annum_months: Some("annum".to_owned()),
        package_info: "<b>8.5</b>".to_owned(),
        required_skills: vec!["Rust".to_owned()],
        hiring_flow: vec!["OA".to_owned(), "Interview".to_owned()],
        placement_type: Some("Full Time".to_owned()),
        documents: vec![JobDocument {
            name: "jd.pdf".to_owned(),
            identifier: "d1".to_owned(),
            url: None,
        }],
        ..job("jfull", "Acme")
    }
}

pub async fn list_notices_newest_first(store: &dyn Store) {
    let mut sent = notice("n2", 2_000);
    sent.sent_to_telegram = true;
    let batch = vec![
        notice("n1", 1_000),
        notice("n4", 4_000),
        sent,
        notice("n3", 3_000),
    ];
    store.save_fetch(batch, vec![]).await.unwrap();
    let all = store.list_notices(false, 10).await.unwrap();
    assert_eq!(
        ids(&all),
        vec!["n4", "n3", "n2", "n1"],
        "list_notices is newest first"
    );
    let two = store.list_notices(false, 2).await.unwrap();
    assert_eq!(
        ids(&two),
        vec!["n4", "n3"],
        "list_notices honours the limit"
    );
    let unsent = store.list_notices(true, 10).await.unwrap();
    assert_eq!(
        ids(&unsent),
        vec!["n4", "n3", "n1"],
        "unsent_only skips sent notices"
    );
}

pub async fn mark_all_sent_marks_everything(store: &dyn Store) {
    let mut already = notice("old", 500);
    already.sent_to_telegram = true;
    already.sent_at = Some(at(1));
    store
        .save_fetch(
            vec![already.clone(), notice("a", 1_000), notice("b", 2_000)],
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        store.mark_all_sent(at(9)).await.unwrap(),
        2,
        "mark_all_sent counts the notices it changed"
    );
    assert!(
        store.list_notices(true, 10).await.unwrap().is_empty(),
        "nothing is unsent afterwards"
    );
    assert!(
        store.unplanned_notices().await.unwrap().is_empty(),
        "nothing is left to plan afterwards"
    );
    let a = store.get_notice("a").await.unwrap().unwrap();
    assert!(
        a.sent_to_telegram && a.sent_at == Some(at(9)),
        "a marked notice gets sent_at = now"
    );
    assert_eq!(
        store.get_notice("old").await.unwrap(),
        Some(already),
        "an already sent notice is untouched"
    );
    assert_eq!(
        store.mark_all_sent(at(10)).await.unwrap(),
        0,
        "a second mark_all_sent changes nothing"
    );
    assert!(
        store.complete_notices(at(11)).await.unwrap().is_empty(),
        "marked notices are not completed again"
    );
}
