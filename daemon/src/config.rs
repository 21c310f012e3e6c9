//! Configuration: built-in defaults, then the TOML file, then the environment.
//!
//! Where the file comes from: `--config FILE`, else `$SUPERSETD_CONFIG`, else `./supersetd.toml`
//! if present, else defaults only. A `.env` file in the working directory is loaded into the
//! environment first (never overriding what is already set), and the original system's
//! variable names (`TELEGRAM_BOT_TOKEN`, `SUPERSET_CREDENTIALS`, …) override the file, so a
//! deployment of the Python system keeps working unchanged.
//!
//! Everything is validated here, once, before anything starts: a bad value is a
//! [`ConfigError`] naming the key, never a surprise an hour later when a job first runs.
//! Secrets are held as [`Secret`] so the effective configuration can be printed safely.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::scheduler::MisfirePolicy;
use crate::scheduler::cron::CronExpr;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path} is not valid: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error("invalid {key}: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The effective configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub control: ControlConfig,
    pub store: StoreConfig,
    pub telegram: TelegramConfig,
    pub superset: SupersetConfig,
    pub web: WebConfig,
    pub delivery: DeliveryConfig,
    pub scheduler: SchedulerConfig,
    pub log: LogConfig,
    pub email: EmailConfig,
    pub official: OfficialConfig,
    pub llm: LlmConfig,
    pub webpush: WebpushConfig,
    /// How long SIGTERM waits for running work to finish or checkpoint.
    pub drain_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlConfig {
    pub socket: PathBuf,
    /// Members may read and act over the control socket (socket mode 0660 for this group).
    pub operator_group: Option<GroupRef>,
    /// Members may read but not act.
    pub viewer_group: Option<GroupRef>,
}

/// A system group named in the configuration, resolved to its id when the configuration is
/// read, so a typo fails at start instead of locking everyone out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRef {
    pub name: String,
    #[serde(skip)]
    pub gid: u32,
}

impl ControlConfig {
    /// The access rules these groups make.
    pub fn access_policy(&self) -> crate::control::AccessPolicy {
        crate::control::AccessPolicy {
            operator_gid: self.operator_group.as_ref().map(|g| g.gid),
            viewer_gid: self.viewer_group.as_ref().map(|g| g.gid),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    Embedded,
    Mongodb,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// The embedded database file.
    pub path: PathBuf,
    pub mongodb_uri: Option<Secret>,
    pub database: String,
    /// How long a MongoDB operation waits for a reachable server before failing.
    pub server_selection_timeout_secs: u64,
    /// The longest one store operation may take against MongoDB, round trips included.
    pub operation_timeout_secs: u64,
    /// Daemons sharing a MongoDB database elect a leader through a lease of this length; when
    /// the leader dies, another takes over within it.
    pub lease_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TelegramConfig {
    pub token: Option<Secret>,
    pub api_url: String,
    pub channel_chat_id: Option<String>,
    pub admin_chat_ids: Vec<i64>,
    pub request_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SupersetConfig {
    pub base_url: String,
    pub tenant_id: String,
    pub rsa_public_key: Option<String>,
    pub accounts: Vec<AccountConfig>,
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub email: String,
    pub password: Secret,
}

#[derive(Debug, Clone, Serialize)]
pub struct WebConfig {
    pub listen: SocketAddr,
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeliveryConfig {
    pub backfill: bool,
    pub rate_per_sec: f64,
    pub concurrency: usize,
    pub max_inline_wait_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SchedulerConfig {
    #[serde(serialize_with = "zone_name")]
    pub timezone: Tz,
    /// Run records kept per job (the newest); older ones are deleted.
    pub history_keep_runs: u32,
    /// Run records older than this many days are deleted.
    pub history_keep_days: u32,
    pub jobs: Vec<JobConfig>,
}

/// One job, every setting resolved.
#[derive(Debug, Clone, Serialize)]
pub struct JobConfig {
    pub name: String,
    pub schedule: String,
    /// The zone the schedule is read in; default the scheduler's.
    #[serde(serialize_with = "zone_name")]
    pub timezone: Tz,
    /// What to do with ticks that passed while the daemon was down or asleep.
    pub misfire: MisfirePolicy,
    /// A tick this late or less still runs as a normal scheduled run.
    pub grace_secs: u64,
    /// With `misfire = "catch-up"`: at most this many missed ticks are run.
    pub catch_up_limit: u32,
    /// A run is cancelled and recorded as timed out after this long.
    pub timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogConfig {
    /// Normalised: lowercase tracing level names, valid `EnvFilter` directives.
    pub level: String,
    /// Set explicitly: `run` appends here as well as to stderr.
    pub file: Option<PathBuf>,
}

/// The placement mailbox. Not used by the daemon yet (the email source is a later issue): it
/// is validated and shown now so a complete file is checked today.
#[derive(Debug, Clone, Serialize)]
pub struct EmailConfig {
    pub imap_host: String,
    pub imap_port: u16,
    pub tls: bool,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub mailbox: String,
}

/// The college's notice page. Not used by the daemon yet (a later issue); validated now.
#[derive(Debug, Clone, Serialize)]
pub struct OfficialConfig {
    pub url: String,
}

/// The extraction model. Not used by the daemon yet (a later issue); validated now.
#[derive(Debug, Clone, Serialize)]
pub struct LlmConfig {
    pub api_url: String,
    pub api_key: Option<Secret>,
}

/// Web Push keys. Not used by the daemon yet (a later issue); validated now.
#[derive(Debug, Clone, Serialize)]
pub struct WebpushConfig {
    pub vapid_private_key: Option<Secret>,
    pub vapid_public_key: Option<String>,
    pub contact: Option<String>,
}

/// Jobs the daemon knows how to run.
pub const KNOWN_JOBS: &[&str] = &["update", "official"];

/// The original schedules: 00:00 and hourly 08:00–23:00 IST; official at noon.
fn default_jobs() -> Vec<raw::RawJob> {
    let job = |name: &str, schedule: &str| raw::RawJob {
        name: name.into(),
        schedule: schedule.into(),
        ..raw::RawJob::default()
    };
    vec![
        job("update", "0 0,8-23 * * *"),
        job("official", "0 12 * * *"),
    ]
}

/// How the configuration file was chosen, for `--config`.
pub fn locate(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("SUPERSETD_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let local = PathBuf::from("supersetd.toml");
    local.exists().then_some(local)
}

/// Load `.env`, the file and the environment into a validated [`Config`].
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    dotenv::load(Path::new(".env"))?;
    let path = locate(explicit);
    let raw = match &path {
        Some(p) => file::read(p)?,
        None => raw::RawConfig::default(),
    };
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    resolve(raw, path, &env)
}

mod dotenv;
mod file;
mod level;
mod raw;
mod resolve;

pub use resolve::resolve;

impl Config {
    pub fn telegram_timeout(&self) -> Duration {
        Duration::from_secs(self.telegram.request_timeout_secs)
    }

    /// Where `start` sends the daemon's output.
    pub fn daemon_log_file(&self) -> PathBuf {
        self.log
            .file
            .clone()
            .unwrap_or_else(|| self.state_dir.join("supersetd.log"))
    }

    pub fn pid_file(&self) -> PathBuf {
        self.state_dir.join("supersetd.pid")
    }

    /// The effective configuration as TOML, secrets masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self)
            .unwrap_or_else(|e| format!("# cannot render configuration: {e}\n"))
    }
}

impl Serialize for Secret {
    /// Serialising is only ever for display (`check-config`), so the value is masked.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.is_empty() { "" } else { "***" })
    }
}

fn zone_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

/// Parse and check a job schedule, naming the job on error.
pub fn parse_schedule(job: &str, expr: &str) -> Result<CronExpr, ConfigError> {
    CronExpr::parse(expr)
        .map_err(|e| invalid(&format!("scheduler.jobs.{job}.schedule"), e.to_string()))
}
