//! The configuration file as written: every key optional, unknown keys refused so a typo is
//! an error instead of a silently ignored setting.

use std::path::PathBuf;

use serde::Deserialize;

use super::AccountConfig;
use crate::secret::Secret;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub state_dir: Option<PathBuf>,
    pub drain_secs: Option<u64>,
    #[serde(default)]
    pub control: RawControl,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub telegram: RawTelegram,
    #[serde(default)]
    pub superset: RawSuperset,
    #[serde(default)]
    pub web: RawWeb,
    #[serde(default)]
    pub delivery: RawDelivery,
    #[serde(default)]
    pub scheduler: RawScheduler,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub email: RawEmail,
    #[serde(default)]
    pub official: RawOfficial,
    #[serde(default)]
    pub llm: RawLlm,
    #[serde(default)]
    pub webpush: RawWebpush,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawControl {
    pub socket: Option<PathBuf>,
    pub operator_group: Option<String>,
    pub viewer_group: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub backend: Option<String>,
    pub path: Option<PathBuf>,
    pub mongodb_uri: Option<Secret>,
    pub database: Option<String>,
    pub server_selection_timeout_secs: Option<u64>,
    pub operation_timeout_secs: Option<u64>,
    pub lease_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    pub token: Option<Secret>,
    pub api_url: Option<String>,
    pub channel_chat_id: Option<toml::Value>,
    pub admin_chat_ids: Option<Vec<i64>>,
    pub request_timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSuperset {
    pub base_url: Option<String>,
    pub tenant_id: Option<String>,
    pub rsa_public_key: Option<String>,
    pub accounts: Option<Vec<AccountConfig>>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    pub listen: Option<String>,
    pub token: Option<Secret>,
    pub cors_origins: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDelivery {
    pub backfill: Option<bool>,
    pub rate_per_sec: Option<f64>,
    pub concurrency: Option<usize>,
    pub max_inline_wait_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduler {
    pub timezone: Option<String>,
    pub history_keep_runs: Option<u32>,
    pub history_keep_days: Option<u32>,
    pub jobs: Option<Vec<RawJob>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub misfire: Option<String>,
    pub grace_secs: Option<u64>,
    pub catch_up_limit: Option<u32>,
    pub timeout_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    pub file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub imap_host: Option<String>,
    pub imap_port: Option<u16>,
    pub tls: Option<bool>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub mailbox: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOfficial {
    pub url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLlm {
    pub api_url: Option<String>,
    pub api_key: Option<Secret>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebpush {
    pub vapid_private_key: Option<Secret>,
    pub vapid_public_key: Option<String>,
    pub contact: Option<String>,
}
