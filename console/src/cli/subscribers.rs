//! `subscribers`: who receives notices.

use std::time::Duration;

use chrono::Utc;
use supersetd_proto::SubscriberQuery;

use super::Env;
use super::exit::{CliError, Exit};
use super::output;

pub async fn list(env: &Env, all: bool) -> Result<Exit, CliError> {
    let client = env.connect().await?;
    let query = SubscriberQuery { active_only: !all };
    let subs = client
        .call(Duration::ZERO, |c, ctx| async move {
            c.list_subscribers(ctx, query).await
        })
        .await
        .map_err(|e| CliError::client("subscribers", e))?;
    let mut out = std::io::stdout().lock();
    if env.style.json {
        output::json(&mut out, &subs)?;
        return Ok(Exit::Ok);
    }
    let now = Utc::now();
    let rows: Vec<Vec<String>> = subs
        .iter()
        .map(|s| {
            let name = [s.first_name.as_deref(), s.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            vec![
                s.user_id.to_string(),
                s.chat_id.to_string(),
                output::or_dash(s.username.as_ref().map(|u| format!("@{u}"))),
                if name.is_empty() {
                    "-".to_owned()
                } else {
                    name
                },
                (if s.is_active { "yes" } else { "no" }).to_owned(),
                output::time(s.created_at, now),
            ]
        })
        .collect();
    output::table(
        &mut out,
        &["USER", "CHAT", "USERNAME", "NAME", "ACTIVE", "SINCE"],
        &rows,
    )?;
    Ok(Exit::Ok)
}
