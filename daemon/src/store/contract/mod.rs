//! The behaviour every [`Store`] backend must have, as reusable checks.
//!
//! Each check is a `pub async fn` taking `&dyn Store` that must be **fresh and empty**; it
//! panics with a message naming the broken rule. The checks only use the trait, never a
//! backend's internals, so the embedded and MongoDB backends run the very same suite (the
//! MongoDB one from the `tests` crate, which can start a server):
//! [`store_contract_tests!`](crate::store_contract_tests) expands to one `#[tokio::test]` per
//! check for a backend's factory.
//!
//! Times used here have millisecond precision, the precision every backend must round-trip.

mod audit;
mod ledger;
mod notices;
mod runs;
mod subscribers;

use chrono::{DateTime, Utc};

pub use audit::*;
pub use ledger::*;
pub use notices::*;
pub use runs::*;
pub use subscribers::*;

use super::{JobProfile, Notice, SubscriberProfile};

/// Expands to one `#[tokio::test]` per contract check. `$fresh` names an `async fn()` that
/// returns `(store, guard)`: a fresh, empty store of a concrete type implementing `Store`,
/// and whatever must live as long as it (a temporary directory, a database server to stop).
///
/// With `skippable`, `$fresh` returns an `Option` of that pair, and `None` (a database server
/// that cannot run here, which `$fresh` reports loudly) skips the check.
#[macro_export]
macro_rules! store_contract_tests {
    ($fresh:path) => {
        $crate::store_contract_tests!(@list required $fresh);
    };
    (skippable $fresh:path) => {
        $crate::store_contract_tests!(@list skippable $fresh);
    };
    (@list $mode:ident $fresh:path) => {
        $crate::store_contract_tests!(@each $mode $fresh;
            health_and_describe, unknown_ids_are_none,
            subscribers_upsert_and_reactivate, subscribers_list_ordered_and_filtered, subscribers_migrate_chat,
            save_fetch_is_idempotent, save_fetch_keeps_first_of_duplicates, notices_round_trip_every_field,
            list_notices_newest_first, mark_all_sent_marks_everything,
            ledger_plan_and_complete, ledger_plan_without_recipients_completes, ledger_plan_is_idempotent,
            plan_unknown_notice_is_not_found, due_deliveries_are_ordered, deferred_rows_are_not_due,
            save_delivery_round_trips,
            runs_newest_first, runs_save_and_running, runs_record_finished, runs_prune_by_count_and_age,
            job_state_upsert, audit_appends_and_lists_newest_first);
    };
    (@each required $fresh:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let (store, _guard) = $fresh().await;
                $crate::store::contract::$check(&store).await;
            }
        )+
    };
    (@each skippable $fresh:path; $($check:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $check() {
                let Some((store, _guard)) = $fresh().await else {
                    return;
                };
                $crate::store::contract::$check(&store).await;
            }
        )+
    };
}

/// A fixed instant plus `secs`, with a non-zero millisecond part so truncation would show.
pub fn at(secs: i64) -> DateTime<Utc> {
    let base_ms = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z
    DateTime::from_timestamp_millis(base_ms + secs * 1000).unwrap_or_default()
}

/// A minimal unsent notice published at `created_at_ms`.
pub fn notice(id: &str, created_at_ms: i64) -> Notice {
    Notice {
        id: id.to_owned(),
        title: format!("title of {id}"),
        content: "<p>content</p>".to_owned(),
        author: "Placement Office".to_owned(),
        created_at_ms,
        updated_at_ms: created_at_ms,
        source: "Superset".to_owned(),
        category: None,
        matched_job_id: None,
        job_company: None,
        job_role: None,
        job_location: None,
        package: None,
        package_breakdown: None,
        formatted_message: format!("<b>{id}</b>"),
        sent_to_telegram: false,
        saved_at: at(0),
        sent_at: None,
    }
}

pub fn job(id: &str, company: &str) -> JobProfile {
    JobProfile {
        id: id.to_owned(),
        job_profile: "Software Engineer".to_owned(),
        company: company.to_owned(),
        placement_category_code: 1,
        placement_category: "High".to_owned(),
        has_details: true,
        ..JobProfile::default()
    }
}

pub fn profile(user_id: i64, chat_id: i64, username: &str) -> SubscriberProfile {
    SubscriberProfile {
        user_id,
        chat_id,
        username: Some(username.to_owned()),
        first_name: Some("Asha".to_owned()),
        last_name: None,
    }
}
