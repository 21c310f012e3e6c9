//! From the file as written plus the environment to a validated [`Config`].
//!
//! Precedence per key: environment variable, then file, then default. The function takes the
//! environment as a lookup closure so tests can feed one without touching the process's.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;

use super::raw::RawConfig;
use super::*;

/// Default Bot API and portal addresses.
const TELEGRAM_API: &str = "https://api.telegram.org";
const SUPERSET_API: &str = "https://app.joinsuperset.com/tnpsuite-core";
const SUPERSET_TENANT: &str = "jaypee_in_in_it_16";
const OFFICIAL_URL: &str = "https://www.jiit.ac.in/";
const LLM_API: &str = "https://generativelanguage.googleapis.com";

pub fn resolve(
    raw: RawConfig,
    source: Option<PathBuf>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let base = source
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let state_dir =
        absolute(raw.state_dir, base.as_deref()).unwrap_or_else(supersetd_proto::default_state_dir);
    check_state_dir(&state_dir)?;
    let socket = absolute(raw.control.socket, base.as_deref());
    let runtime_dir = env("XDG_RUNTIME_DIR").map(PathBuf::from);
    let socket =
        supersetd_proto::resolve_socket_path(socket.as_deref(), runtime_dir.as_deref(), &state_dir)
            .map_err(|e| invalid("control.socket", e.to_string()))?;
    let log_file = absolute(raw.log.file, base.as_deref());
    let store_path = absolute(raw.store.path.clone(), base.as_deref())
        .unwrap_or_else(|| state_dir.join("supersetd.sqlite3"));
    Ok(Config {
        store: store_config(raw.store, store_path, env)?,
        telegram: telegram_config(raw.telegram, env)?,
        superset: superset_config(raw.superset, env)?,
        web: web_config(raw.web, env)?,
        delivery: delivery_config(raw.delivery)?,
        scheduler: scheduler_config(raw.scheduler)?,
        log: LogConfig {
            level: log_level(raw.log.level, env)?,
            file: log_file,
        },
        email: email_config(raw.email, env)?,
        official: official_config(raw.official)?,
        llm: llm_config(raw.llm, env)?,
        webpush: webpush_config(raw.webpush, env),
        drain_secs: raw.drain_secs.unwrap_or(20),
        control: ControlConfig {
            socket,
            operator_group: group(raw.control.operator_group, "control.operator_group")?,
            viewer_group: group(raw.control.viewer_group, "control.viewer_group")?,
        },
        state_dir,
        source,
    })
}

fn group(name: Option<String>, key: &str) -> Result<Option<GroupRef>, ConfigError> {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    match nix::unistd::Group::from_name(&name) {
        Ok(Some(g)) => Ok(Some(GroupRef {
            name,
            gid: g.gid.as_raw(),
        })),
        Ok(None) => Err(invalid(
            key,
            format!("no such group {name:?}; create it (groupadd) or fix the name"),
        )),
        Err(e) => Err(invalid(key, format!("cannot look up group {name:?}: {e}"))),
    }
}

fn log_level(
    file: Option<String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let (key, text) = match (env("LOG_LEVEL"), file) {
        (Some(v), _) => ("LOG_LEVEL", v),
        (None, Some(v)) => ("log.level", v),
        (None, None) => return Ok("info".into()),
    };
    super::level::normalise(&text).map_err(|reason| invalid(key, reason))
}

/// A missing directory is fine (`run` creates it); anything else in its place fails later
/// with an obscure "File exists", so it is refused here.
fn check_state_dir(dir: &Path) -> Result<(), ConfigError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(invalid(
            "state_dir",
            format!(
                "state_dir {} is not a directory; point state_dir at a directory (a missing one is created)",
                dir.display()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(invalid(
            "state_dir",
            format!("cannot use {}: {e}", dir.display()),
        )),
    }
}

/// Relative paths in the file are relative to the file; the daemon later changes directory.
fn absolute(path: Option<PathBuf>, base: Option<&Path>) -> Option<PathBuf> {
    let path = path?;
    if path.is_absolute() {
        return Some(path);
    }
    let base = base
        .map(Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok())?;
    Some(base.join(path))
}

/// MongoDB timeouts default to a few seconds: a database that is down must make a store call
/// fail soon (the bot answers "temporarily unavailable", a run fails with the reason) rather
/// than hang for the driver's 30 s.
const SERVER_SELECTION_TIMEOUT_SECS: u64 = 5;
const OPERATION_TIMEOUT_SECS: u64 = 10;
const LEASE_SECS: u64 = 15;

fn store_config(
    raw: raw::RawStore,
    path: PathBuf,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<StoreConfig, ConfigError> {
    let uri = env("MONGO_CONNECTION_STR")
        .map(Secret::new)
        .or(raw.mongodb_uri);
    let backend = match raw.backend.as_deref() {
        Some("embedded") => StoreBackend::Embedded,
        Some("mongodb") => StoreBackend::Mongodb,
        Some(other) => {
            return Err(invalid(
                "store.backend",
                format!("{other:?} is not one of \"embedded\", \"mongodb\""),
            ));
        }
        // The original system's deployments set only the connection string.
        None if uri.is_some() => StoreBackend::Mongodb,
        None => StoreBackend::Embedded,
    };
    if backend == StoreBackend::Mongodb {
        check_mongodb_uri(uri.as_ref())?;
    }
    Ok(StoreConfig {
        backend,
        path,
        mongodb_uri: uri,
        database: raw.database.unwrap_or_else(|| "SupersetPlacement".into()),
        server_selection_timeout_secs: positive(
            "store.server_selection_timeout_secs",
            raw.server_selection_timeout_secs
                .unwrap_or(SERVER_SELECTION_TIMEOUT_SECS),
        )?,
        operation_timeout_secs: positive(
            "store.operation_timeout_secs",
            raw.operation_timeout_secs.unwrap_or(OPERATION_TIMEOUT_SECS),
        )?,
        lease_secs: lease_secs(raw.lease_secs)?,
    })
}

/// Renewed every third of its time, so below 3 s it would be renewed more than once a second.
fn lease_secs(value: Option<u64>) -> Result<u64, ConfigError> {
    match value {
        None => Ok(LEASE_SECS),
        Some(v) if v >= 3 => Ok(v),
        Some(_) => Err(invalid("store.lease_secs", "must be at least 3 seconds")),
    }
}

/// Only the scheme is checked here (the driver parses the rest when the store opens); the
/// URI itself is never quoted, it may hold a password.
fn check_mongodb_uri(uri: Option<&Secret>) -> Result<(), ConfigError> {
    let Some(uri) = uri.filter(|u| !u.is_empty()) else {
        return Err(invalid(
            "store.mongodb_uri",
            "store.backend = \"mongodb\" needs a connection string: set store.mongodb_uri or MONGO_CONNECTION_STR",
        ));
    };
    let text = uri.expose();
    if !(text.starts_with("mongodb://") || text.starts_with("mongodb+srv://")) {
        return Err(invalid(
            "store.mongodb_uri",
            "the MongoDB connection string must start with mongodb:// or mongodb+srv:// (value not shown: it may hold a password)",
        ));
    }
    Ok(())
}

fn telegram_config(
    raw: raw::RawTelegram,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TelegramConfig, ConfigError> {
    let api_url = raw.api_url.unwrap_or_else(|| TELEGRAM_API.into());
    check_url("telegram.api_url", &api_url)?;
    let channel = match env("TELEGRAM_CHAT_ID") {
        Some(v) => Some(v),
        None => match raw.channel_chat_id {
            None => None,
            Some(toml::Value::String(s)) => Some(s),
            Some(toml::Value::Integer(i)) => Some(i.to_string()),
            Some(other) => {
                return Err(invalid(
                    "telegram.channel_chat_id",
                    format!("expected a chat id or @name, got {other}"),
                ));
            }
        },
    };
    if let Some(c) = &channel
        && crate::telegram::ChatTarget::parse(c).is_none()
    {
        return Err(invalid(
            "telegram.channel_chat_id",
            format!("{c:?} is neither a numeric chat id nor @channelname"),
        ));
    }
    let admin_chat_ids = match raw.admin_chat_ids {
        Some(ids) => ids,
        None => channel
            .as_deref()
            .and_then(|c| c.parse().ok())
            .into_iter()
            .collect(),
    };
    Ok(TelegramConfig {
        token: env("TELEGRAM_BOT_TOKEN")
            .map(Secret::new)
            .or(raw.token)
            .filter(|t| !t.is_empty()),
        api_url,
        channel_chat_id: channel,
        admin_chat_ids,
        request_timeout_secs: positive(
            "telegram.request_timeout_secs",
            raw.request_timeout_secs.unwrap_or(15),
        )?,
    })
}

fn superset_config(
    raw: raw::RawSuperset,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SupersetConfig, ConfigError> {
    let base_url = raw.base_url.unwrap_or_else(|| SUPERSET_API.into());
    check_url("superset.base_url", &base_url)?;
    let accounts = match env("SUPERSET_CREDENTIALS") {
        Some(json) => serde_json::from_str::<Vec<AccountConfig>>(&json).map_err(|e| {
            invalid(
                "SUPERSET_CREDENTIALS",
                format!("expected a JSON list of {{\"email\", \"password\"}} objects: {e}"),
            )
        })?,
        None => raw.accounts.unwrap_or_default(),
    };
    Ok(SupersetConfig {
        base_url: base_url.trim_end_matches('/').to_owned(),
        tenant_id: raw.tenant_id.unwrap_or_else(|| SUPERSET_TENANT.into()),
        rsa_public_key: raw.rsa_public_key,
        accounts,
        timeout_secs: positive("superset.timeout_secs", raw.timeout_secs.unwrap_or(30))?,
    })
}

fn web_config(
    raw: raw::RawWeb,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<WebConfig, ConfigError> {
    let (key, listen) = match (env("WEBHOOK_HOST"), env("WEBHOOK_PORT")) {
        (None, None) => (
            "web.listen",
            raw.listen.unwrap_or_else(|| "127.0.0.1:8000".into()),
        ),
        (host, port) => (
            "WEBHOOK_HOST/WEBHOOK_PORT",
            join_host_port(
                &host.unwrap_or_else(|| "127.0.0.1".into()),
                &port.unwrap_or_else(|| "8000".into()),
            ),
        ),
    };
    let listen = listen_addr(key, &listen)?;
    Ok(WebConfig {
        listen,
        token: raw.token.filter(|t| !t.is_empty()),
    })
}

/// The original's variable names, including its misspelt `PLCAMENT_*`.
fn email_config(
    raw: raw::RawEmail,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EmailConfig, ConfigError> {
    let either = |a: &str, b: &str| env(a).or_else(|| env(b));
    let imap_port = raw.imap_port.unwrap_or(993);
    if imap_port == 0 {
        return Err(invalid(
            "email.imap_port",
            "must be a port number, 1 to 65535",
        ));
    }
    Ok(EmailConfig {
        imap_host: raw.imap_host.unwrap_or_else(|| "imap.gmail.com".into()),
        imap_port,
        tls: raw.tls.unwrap_or(true),
        user: either("PLACEMENT_EMAIL", "PLCAMENT_EMAIL").or(raw.user),
        password: either("PLACEMENT_APP_PASSWORD", "PLCAMENT_APP_PASSWORD")
            .map(Secret::new)
            .or(raw.password)
            .filter(|p| !p.is_empty()),
        mailbox: raw.mailbox.unwrap_or_else(|| "INBOX".into()),
    })
}

fn official_config(raw: raw::RawOfficial) -> Result<OfficialConfig, ConfigError> {
    let url = raw.url.unwrap_or_else(|| OFFICIAL_URL.into());
    check_url("official.url", &url)?;
    Ok(OfficialConfig { url })
}

fn llm_config(
    raw: raw::RawLlm,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LlmConfig, ConfigError> {
    let api_url = raw.api_url.unwrap_or_else(|| LLM_API.into());
    check_url("llm.api_url", &api_url)?;
    Ok(LlmConfig {
        api_url,
        api_key: env("GOOGLE_API_KEY")
            .map(Secret::new)
            .or(raw.api_key)
            .filter(|k| !k.is_empty()),
    })
}

/// `VAPID_EMAIL` is a bare address in the original; the VAPID contact is a URI.
fn webpush_config(raw: raw::RawWebpush, env: &dyn Fn(&str) -> Option<String>) -> WebpushConfig {
    let contact = env("VAPID_EMAIL")
        .map(|e| {
            if e.contains(':') {
                e
            } else {
                format!("mailto:{e}")
            }
        })
        .or(raw.contact);
    WebpushConfig {
        vapid_private_key: env("VAPID_PRIVATE_KEY")
            .map(Secret::new)
            .or(raw.vapid_private_key)
            .filter(|k| !k.is_empty()),
        vapid_public_key: env("VAPID_PUBLIC_KEY").or(raw.vapid_public_key),
        contact,
    }
}

/// An IPv6 host needs brackets to be followed by a port.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `host:port` or `ip:port`; a name is resolved now, and its first address is the one bound.
fn listen_addr(key: &str, listen: &str) -> Result<SocketAddr, ConfigError> {
    let help = "give host:port, like 127.0.0.1:8000 or localhost:8000";
    let mut addrs = listen
        .to_socket_addrs()
        .map_err(|e| invalid(key, format!("{listen:?} does not resolve ({e}); {help}")))?;
    addrs
        .next()
        .ok_or_else(|| invalid(key, format!("{listen:?} resolves to no address; {help}")))
}

fn delivery_config(raw: raw::RawDelivery) -> Result<DeliveryConfig, ConfigError> {
    let rate = raw.rate_per_sec.unwrap_or(28.0);
    if !(rate > 0.0 && rate <= 30.0) {
        return Err(invalid(
            "delivery.rate_per_sec",
            format!("{rate} is outside (0, 30]: Telegram allows about 30 messages a second"),
        ));
    }
    let concurrency = raw.concurrency.unwrap_or(16);
    if concurrency == 0 || concurrency > 256 {
        return Err(invalid(
            "delivery.concurrency",
            format!("{concurrency} is outside 1..=256"),
        ));
    }
    Ok(DeliveryConfig {
        backfill: raw.backfill.unwrap_or(false),
        rate_per_sec: rate,
        concurrency,
        max_inline_wait_secs: raw.max_inline_wait_secs.unwrap_or(60),
    })
}

fn scheduler_config(raw: raw::RawScheduler) -> Result<SchedulerConfig, ConfigError> {
    let zone = raw.timezone.unwrap_or_else(|| "Asia/Kolkata".into());
    let timezone = parse_zone("scheduler.timezone", &zone)?;
    let raw_jobs = raw.jobs.unwrap_or_else(default_jobs);
    let mut seen = std::collections::HashSet::new();
    let mut jobs = Vec::with_capacity(raw_jobs.len());
    for job in raw_jobs {
        if !KNOWN_JOBS.contains(&job.name.as_str()) {
            return Err(invalid(
                "scheduler.jobs.name",
                format!(
                    "unknown job {:?} (known: {})",
                    job.name,
                    KNOWN_JOBS.join(", ")
                ),
            ));
        }
        if !seen.insert(job.name.clone()) {
            return Err(invalid(
                "scheduler.jobs.name",
                format!("job {:?} is configured twice", job.name),
            ));
        }
        jobs.push(job_config(job, timezone)?);
    }
    let keep_runs = raw.history_keep_runs.unwrap_or(1000);
    if keep_runs == 0 {
        return Err(invalid(
            "scheduler.history_keep_runs",
            "must be at least 1 (the last run of each job is always kept)",
        ));
    }
    Ok(SchedulerConfig {
        timezone,
        history_keep_runs: keep_runs,
        history_keep_days: raw.history_keep_days.unwrap_or(90).max(1),
        jobs,
    })
}

fn parse_zone(key: &str, zone: &str) -> Result<Tz, ConfigError> {
    zone.parse()
        .map_err(|_| invalid(key, format!("{zone:?} is not an IANA time zone name")))
}

/// Resolve one job's settings, each error naming the job and the key.
fn job_config(raw: raw::RawJob, default_zone: Tz) -> Result<JobConfig, ConfigError> {
    let key = |k: &str| format!("scheduler.jobs.{}.{k}", raw.name);
    parse_schedule(&raw.name, &raw.schedule)?;
    let timezone = match &raw.timezone {
        Some(z) => parse_zone(&key("timezone"), z)?,
        None => default_zone,
    };
    let misfire = match &raw.misfire {
        Some(m) => m.parse().map_err(|e: String| invalid(&key("misfire"), e))?,
        None => MisfirePolicy::default(),
    };
    let timeout_secs = raw.timeout_secs.unwrap_or(30 * 60);
    if timeout_secs == 0 {
        return Err(invalid(&key("timeout_secs"), "must be at least 1 second"));
    }
    let catch_up_limit = raw.catch_up_limit.unwrap_or(24);
    if !(1..=1000).contains(&catch_up_limit) {
        return Err(invalid(
            &key("catch_up_limit"),
            "must be between 1 and 1000",
        ));
    }
    Ok(JobConfig {
        name: raw.name,
        schedule: raw.schedule,
        timezone,
        misfire,
        grace_secs: raw.grace_secs.unwrap_or(300),
        catch_up_limit,
        timeout_secs,
    })
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        Ok(u) => Err(invalid(
            key,
            format!("scheme {:?} is not http or https", u.scheme()),
        )),
        Err(e) => Err(invalid(key, format!("{url:?} is not a URL: {e}"))),
    }
}

fn positive(key: &str, v: u64) -> Result<u64, ConfigError> {
    if v == 0 {
        Err(invalid(key, "must be greater than 0"))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(toml_text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let raw: RawConfig =
            toml::from_str(toml_text).map_err(|e| invalid("toml", e.to_string()))?;
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let env = move |name: &str| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        resolve(
            raw,
            Some(PathBuf::from("/etc/supersetd/supersetd.toml")),
            &env,
        )
    }

    #[test]
    fn defaults_are_complete() {
        let cfg = from("", &[]).unwrap();
        assert_eq!(cfg.store.backend, StoreBackend::Embedded);
        assert_eq!(cfg.scheduler.timezone, chrono_tz::Asia::Kolkata);
        assert_eq!(cfg.scheduler.jobs.len(), 2);
        assert_eq!(cfg.web.listen.port(), 8000);
        assert!(cfg.telegram.token.is_none());
    }

    #[test]
    fn environment_overrides_the_file() {
        let cfg = from(
            "[telegram]\ntoken = \"file-token\"\nchannel_chat_id = -100123\n",
            &[
                ("TELEGRAM_BOT_TOKEN", "env-token"),
                (
                    "SUPERSET_CREDENTIALS",
                    r#"[{"email":"a@b.c","password":"pw"}]"#,
                ),
            ],
        )
        .unwrap();
        assert_eq!(
            cfg.telegram.token.as_ref().map(Secret::expose),
            Some("env-token")
        );
        assert_eq!(cfg.telegram.channel_chat_id.as_deref(), Some("-100123"));
        assert_eq!(cfg.telegram.admin_chat_ids, vec![-100123]);
        assert_eq!(cfg.superset.accounts.len(), 1);
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let cfg = from("state_dir = \"data\"\n", &[]).unwrap();
        assert_eq!(cfg.state_dir, PathBuf::from("/etc/supersetd/data"));
        assert_eq!(
            cfg.control.socket,
            PathBuf::from("/etc/supersetd/data/control.sock")
        );
    }

    #[test]
    fn jobs_default_to_the_original_schedules_with_run_once() {
        let cfg = from("", &[]).unwrap();
        let jobs: Vec<_> = cfg.scheduler.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(jobs, ["update", "official"]);
        let update = &cfg.scheduler.jobs[0];
        assert_eq!(update.schedule, "0 0,8-23 * * *");
        assert_eq!(update.timezone, chrono_tz::Asia::Kolkata);
        assert_eq!(update.misfire, MisfirePolicy::RunOnce);
        assert_eq!((update.grace_secs, update.timeout_secs), (300, 1800));
        assert_eq!(cfg.scheduler.history_keep_runs, 1000);
        let shown = cfg.to_masked_toml();
        assert!(shown.contains("misfire = \"run-once\""), "{shown}");
    }

    #[test]
    fn job_settings_are_read_and_checked() {
        let cfg = from(
            "[scheduler]\nhistory_keep_runs = 50\n[[scheduler.jobs]]\nname = \"update\"\n\
             schedule = \"*/15 8-18 * * mon-fri\"\ntimezone = \"Europe/Berlin\"\n\
             misfire = \"catch-up\"\ncatch_up_limit = 4\ngrace_secs = 60\ntimeout_secs = 600\n",
            &[],
        )
        .unwrap();
        let job = &cfg.scheduler.jobs[0];
        assert_eq!(cfg.scheduler.jobs.len(), 1);
        assert_eq!(job.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(job.misfire, MisfirePolicy::CatchUp);
        assert_eq!(
            (job.catch_up_limit, job.grace_secs, job.timeout_secs),
            (4, 60, 600)
        );
        assert_eq!(cfg.scheduler.history_keep_runs, 50);
        for (body, key) in [
            ("misfire = \"sometimes\"", "scheduler.jobs.update.misfire"),
            (
                "timezone = \"Mars/Olympus\"",
                "scheduler.jobs.update.timezone",
            ),
            ("timeout_secs = 0", "scheduler.jobs.update.timeout_secs"),
            ("catch_up_limit = 0", "scheduler.jobs.update.catch_up_limit"),
            ("retries = 3", "retries"),
        ] {
            let text = format!(
                "[[scheduler.jobs]]\nname = \"update\"\nschedule = \"0 * * * *\"\n{body}\n"
            );
            let err = from(&text, &[]).unwrap_err();
            assert!(err.to_string().contains(key), "{body}: {err}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let err = from(
            "[scheduler]\njobs = [{ name = \"update\", schedule = \"61 * * * *\" }]\n",
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("scheduler.jobs.update.schedule"),
            "{err}"
        );
        let err = from("[web]\nlisten = \"nowhere\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("web.listen"), "{err}");
        let err = from("", &[("SUPERSET_CREDENTIALS", "not json")]).unwrap_err();
        assert!(err.to_string().contains("SUPERSET_CREDENTIALS"), "{err}");
        assert!(toml::from_str::<RawConfig>("[telegram]\ntokn = \"x\"\n").is_err());
    }

    #[test]
    fn the_mongodb_backend_is_chosen_by_name_or_by_the_uri() {
        let uri = [("MONGO_CONNECTION_STR", "mongodb://u:pw@h/")];
        let cfg = from("", &uri).unwrap();
        assert_eq!(cfg.store.backend, StoreBackend::Mongodb);
        assert_eq!(cfg.store.database, "SupersetPlacement");
        assert_eq!(cfg.store.server_selection_timeout_secs, 5);
        assert_eq!(cfg.store.operation_timeout_secs, 10);
        let cfg = from("[store]\nbackend = \"embedded\"\n", &uri).unwrap();
        assert_eq!(cfg.store.backend, StoreBackend::Embedded);
        let cfg = from(
            "[store]\nbackend = \"mongodb\"\nmongodb_uri = \"mongodb://h/\"\nserver_selection_timeout_secs = 2\noperation_timeout_secs = 3\n",
            &[],
        )
        .unwrap();
        assert_eq!(cfg.store.backend, StoreBackend::Mongodb);
        assert_eq!(cfg.store.server_selection_timeout_secs, 2);
        assert_eq!(cfg.store.operation_timeout_secs, 3);
    }

    #[test]
    fn a_mongodb_backend_needs_a_valid_uri_and_never_quotes_it() {
        let err = from("[store]\nbackend = \"mongodb\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("MONGO_CONNECTION_STR"), "{err}");
        let err = from("", &[("MONGO_CONNECTION_STR", "http://u:pw@h/")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("mongodb://") && !err.contains("pw"), "{err}");
        let err = from("[store]\noperation_timeout_secs = 0\n", &[]).unwrap_err();
        assert!(err.to_string().contains("operation_timeout_secs"), "{err}");
    }

    #[test]
    fn state_dir_must_be_a_directory_if_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        let text = format!("state_dir = {:?}\n", file.display().to_string());
        let err = from(&text, &[]).unwrap_err().to_string();
        assert!(
            err.contains("is not a directory") && err.contains("state_dir"),
            "{err}"
        );
        let missing = format!(
            "state_dir = {:?}\n",
            dir.path().join("new").display().to_string()
        );
        assert!(from(&missing, &[]).is_ok());
    }

    #[test]
    fn listen_accepts_a_host_name() {
        let cfg = from("[web]\nlisten = \"localhost:8000\"\n", &[]).unwrap();
        assert!(cfg.web.listen.ip().is_loopback());
        assert_eq!(cfg.web.listen.port(), 8000);
        let cfg = from("", &[("WEBHOOK_HOST", "::1"), ("WEBHOOK_PORT", "9000")]).unwrap();
        assert_eq!(cfg.web.listen.to_string(), "[::1]:9000");
        let err = from("", &[("WEBHOOK_PORT", "http")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("WEBHOOK_HOST/WEBHOOK_PORT"), "{err}");
    }

    #[test]
    fn masked_rendering_hides_secrets() {
        let cfg = from(
            "[store]\nbackend = \"embedded\"\n[telegram]\ntoken = \"123:SECRET\"\n",
            &[("MONGO_CONNECTION_STR", "mongodb://u:pw@h/")],
        )
        .unwrap();
        let text = cfg.to_masked_toml();
        assert!(!text.contains("SECRET") && !text.contains("pw@"), "{text}");
        assert!(text.contains("***"));
    }

    #[test]
    fn later_sections_are_typed_and_refuse_unknown_keys() {
        for text in [
            "[email]\nimap_port = 99999\n",
            "[email]\ngarbage = [1, 2]\n",
            "[official]\nurl = 1\n",
            "[llm]\nmodel = \"x\"\n",
            "[webpush]\ncontact = [1]\n",
            "[[superset.accounts]]\nemail = \"a@b.c\"\npassword = \"pw\"\npasword2 = 1\n",
        ] {
            assert!(from(text, &[]).is_err(), "{text:?} was accepted");
        }
        let err = from("[official]\nurl = \"ftp://x/\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("official.url"), "{err}");
        let err = from(
            "",
            &[(
                "SUPERSET_CREDENTIALS",
                r#"[{"email":"a","password":"p","x":1}]"#,
            )],
        )
        .unwrap_err();
        assert!(err.to_string().contains("SUPERSET_CREDENTIALS"), "{err}");
    }

    #[test]
    fn later_sections_are_shown_with_secrets_masked() {
        let cfg = from(
            "[email]\nuser = \"me@x.in\"\npassword = \"MAILSECRET\"\n[webpush]\nvapid_public_key = \"PUB\"\n",
            &[
                ("GOOGLE_API_KEY", "LLMSECRET"),
                ("PLCAMENT_APP_PASSWORD", "ENVMAILSECRET"),
                ("VAPID_PRIVATE_KEY", "VAPIDSECRET"),
                ("VAPID_EMAIL", "ops@x.in"),
            ],
        )
        .unwrap();
        assert_eq!(cfg.email.imap_port, 993);
        assert_eq!(
            cfg.email.password.as_ref().map(Secret::expose),
            Some("ENVMAILSECRET")
        );
        assert_eq!(cfg.webpush.contact.as_deref(), Some("mailto:ops@x.in"));
        let text = cfg.to_masked_toml();
        for needle in [
            "[email]",
            "[official]",
            "[llm]",
            "[webpush]",
            "me@x.in",
            "PUB",
        ] {
            assert!(text.contains(needle), "{needle} missing:\n{text}");
        }
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn log_levels_are_checked_and_normalised_naming_the_key() {
        let cfg = from("", &[("LOG_LEVEL", "WARNING")]).unwrap();
        assert_eq!(cfg.log.level, "warn");
        let err = from("[log]\nlevel = \"bogus\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("log.level"), "{err}");
        let err = from("[log]\nlevel = \"info\"\n", &[("LOG_LEVEL", "info,==")]).unwrap_err();
        assert!(err.to_string().contains("LOG_LEVEL"), "{err}");
    }
}
