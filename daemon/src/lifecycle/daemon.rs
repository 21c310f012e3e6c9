//! The daemon proper: build every part, serve until asked to stop, drain, exit.
//!
//! Start-up is all or nothing up to the point where the control socket is bound: any failure
//! before it (store, socket, web address) is reported to `start`'s launcher and the process
//! exits 1. After it, parts that lack configuration run as "disabled: <reason>" and parts that
//! fail are restarted by their supervisor, so one broken service never stops the others.
//!
//! SIGTERM and SIGINT stop it gracefully; SIGHUP reopens its log files (logrotate) and nothing
//! else. The handlers are installed before it reports ready: SIGHUP's default action kills.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use supersetd_proto::{JobName, ServiceState};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::detach::ReadyWriter;
use super::logfile::{LogFiles, SharedFile};
use super::{logging, pidfile};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, StoreBackend};
use crate::control::{self, Handles, JobControl};
use crate::deliver::{DeliveryEngine, DeliverySettings};
use crate::leader::{Leadership, Role};
use crate::logs::LogRing;
use crate::pipeline::{self, Part, Pipeline};
use crate::scheduler::{JobSpec, Scheduler};
use crate::services::{ServiceHealth, ServiceRegistry, supervise};
use crate::sources::superset::{Account, DEFAULT_RSA_PUBLIC_KEY, SupersetSettings, SupersetSource};
use crate::store::embedded::EmbeddedStore;
use crate::store::mongo::{MongoSettings, MongoStore};
use crate::store::{SharedStore, Store};
use crate::telegram::{self, ChatTarget, bot, sender::TelegramSender};
use crate::{config, web};

/// Lines kept for `supersetctl logs` and the console.
const LOG_RING_LINES: usize = 10_000;

pub fn run_foreground(cfg: Config) -> ExitCode {
    let extra = match cfg.log.file.as_deref().map(SharedFile::open).transpose() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("supersetd: {e}");
            return ExitCode::from(1);
        }
    };
    run(cfg, LogFiles::foreground(extra), None)
}

pub fn run_detached(cfg: Config, ready: ReadyWriter) -> ExitCode {
    let log_files = LogFiles::stdio(cfg.daemon_log_file());
    run(cfg, log_files, Some(ready))
}

fn run(cfg: Config, log_files: LogFiles, ready: Option<ReadyWriter>) -> ExitCode {
    let fail = |ready: Option<ReadyWriter>, reason: String| {
        eprintln!("supersetd: {reason}");
        if let Some(r) = ready {
            r.fail(&reason);
        }
        ExitCode::from(1)
    };
    let _pid_lock = match pidfile::acquire(&cfg.pid_file()) {
        Ok(lock) => lock,
        Err(e) => return fail(ready, e.to_string()),
    };
    let ring = LogRing::new(LOG_RING_LINES);
    if let Err(e) = logging::init(&cfg.log.level, &ring, log_files.extra()) {
        return fail(ready, e);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(ready, format!("cannot start the async runtime: {e}")),
    };
    let result = runtime.block_on(serve(cfg, ring, log_files, ready));
    // Blocking tasks (SQLite) get a moment to finish their current statement.
    runtime.shutdown_timeout(Duration::from_secs(2));
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(
                error = crate::error_text::chain(e.as_ref()),
                "daemon failed"
            );
            ExitCode::from(1)
        }
    }
}

/// Everything the daemon runs, once started.
struct Parts {
    store: SharedStore,
    scheduler: Scheduler,
    bot: Part<teloxide::Bot>,
    leadership: Leadership,
    /// Keeps or waits for the lease; spawned once the daemon serves.
    lease_task: Option<BoxFuture<'static, ()>>,
    /// Sources left out for missing configuration, with the reason: shown in `status`.
    disabled_sources: Vec<(&'static str, String)>,
}

async fn serve(
    cfg: Config,
    ring: LogRing,
    log_files: LogFiles,
    ready: Option<ReadyWriter>,
) -> anyhow::Result<()> {
    let signals = Signals::install();
    let shutdown = CancellationToken::new();
    let started_at = chrono::Utc::now();
    let registry = ServiceRegistry::new();
    let tracker = TaskTracker::new();
    let setup = async {
        let parts = build(&cfg, &shutdown).await?;
        let control_listener = control::bind_with(&cfg.control.socket, cfg.control.access_policy())
            .await
            .context("control socket")?;
        let web_listener = web::bind(cfg.web.listen).await?;
        anyhow::Ok((parts, control_listener, web_listener))
    };
    let (mut parts, control_listener, web_listener) = match setup.await {
        Ok(p) => p,
        Err(e) => {
            if let Some(r) = ready {
                r.fail(&crate::error_text::chain(e.as_ref()));
            }
            return Err(e);
        }
    };
    let jobs: Arc<dyn JobControl> = Arc::new(parts.scheduler.clone());
    registry.set_state("scheduler", ServiceState::Running, None);
    for (source, reason) in &parts.disabled_sources {
        tracing::warn!(reason = %reason, "{source} source disabled");
        registry.set_state(source, ServiceState::Disabled(reason.clone()), None);
    }
    let handles = Handles {
        jobs: jobs.clone(),
        services: registry.clone(),
        logs: ring,
        store: parts.store.clone(),
        shutdown: shutdown.clone(),
        started_at,
    };
    tracker.spawn(control::serve(
        control_listener,
        handles,
        shutdown.child_token(),
    ));
    spawn_web(
        &tracker,
        &registry,
        web_listener,
        web::WebState {
            store: parts.store.clone(),
            services: registry.clone(),
            jobs,
            started_at,
        },
        &shutdown,
    );
    spawn_bot(&tracker, &registry, &cfg, &parts, &shutdown);
    spawn_scheduler_switch(&tracker, &registry, &parts.scheduler, &shutdown);
    if let Some(task) = parts.lease_task.take() {
        tracker.spawn(task);
    }
    tracker.spawn(follow_role(
        parts.leadership.clone(),
        registry.clone(),
        parts.store.clone(),
        parts.scheduler.clone(),
        parts.bot.is_ok(),
        shutdown.child_token(),
    ));
    tracker.spawn(watch_signals(signals, log_files, shutdown.clone()));
    tracing::info!(pid = std::process::id(), socket = %cfg.control.socket.display(), web = %cfg.web.listen, "supersetd ready");
    if let Some(r) = ready {
        r.ready();
    }
    shutdown.cancelled().await;
    drain(&cfg, &parts.scheduler, &registry, tracker).await;
    Ok(())
}

async fn drain(
    cfg: &Config,
    scheduler: &Scheduler,
    registry: &ServiceRegistry,
    tracker: TaskTracker,
) {
    let drain = Duration::from_secs(cfg.drain_secs);
    tracing::info!(
        drain_secs = cfg.drain_secs,
        "shutting down: letting running work finish"
    );
    let clean = scheduler.drain(drain).await;
    registry.set_state("scheduler", ServiceState::Stopped, None);
    tracker.close();
    let tasks_done = tokio::time::timeout(Duration::from_secs(5), tracker.wait())
        .await
        .is_ok();
    if !clean || !tasks_done {
        tracing::warn!("drain time ran out; unfinished work resumes at the next start");
    }
}

/// The signals the daemon handles. Once installed, tokio keeps them caught for the life of
/// the process, so a SIGHUP during the drain is ignored rather than fatal.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Option<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let installed = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        );
        if let (Ok(term), Ok(int), Ok(hup)) = installed {
            return Some(Signals { term, int, hup });
        }
        tracing::error!("cannot install signal handlers; stop with `supersetd stop`");
        None
    }
}

async fn watch_signals(signals: Option<Signals>, logs: LogFiles, shutdown: CancellationToken) {
    let Some(mut s) = signals else { return };
    let signal = loop {
        tokio::select! {
            _ = s.term.recv() => break "SIGTERM",
            _ = s.int.recv() => break "SIGINT",
            _ = s.hup.recv() => reopen_logs(&logs),
            () = shutdown.cancelled() => return,
        }
    };
    tracing::info!(signal, "stop requested");
    shutdown.cancel();
}

fn reopen_logs(logs: &LogFiles) {
    match logs.reopen() {
        Ok(paths) if paths.is_empty() => {
            tracing::info!(signal = "SIGHUP", "no log file to reopen");
        }
        Ok(paths) => {
            for path in paths {
                tracing::info!(signal = "SIGHUP", path = %path.display(), "log file reopened");
            }
        }
        Err(error) => {
            tracing::warn!(signal = "SIGHUP", %error, "still logging to the old file");
        }
    }
}

fn spawn_web(
    tracker: &TaskTracker,
    registry: &ServiceRegistry,
    listener: tokio::net::TcpListener,
    state: web::WebState,
    shutdown: &CancellationToken,
) {
    let listener = Arc::new(std::sync::Mutex::new(Some(listener)));
    let addr = listener
        .lock()
        .ok()
        .and_then(|l| l.as_ref().and_then(|l| l.local_addr().ok()));
    tracker.spawn(supervise(
        registry.clone(),
        "web",
        shutdown.child_token(),
        move |cancel| {
            let (listener, state) = (listener.clone(), state.clone());
            async move {
                // The first run uses the listener bound at start-up; a restart binds again.
                let taken = listener.lock().ok().and_then(|mut l| l.take());
                let l = match (taken, addr) {
                    (Some(l), _) => l,
                    (None, Some(addr)) => web::bind(addr).await.map_err(|e| e.to_string())?,
                    (None, None) => return Err("no listen address".to_owned()),
                };
                web::serve(l, state, cancel)
                    .await
                    .map_err(|e| e.to_string())
            }
        },
    ));
}

/// `supersetctl service stop|start scheduler`: hold or release the scheduler's timers and show
/// it in `status`. The scheduler is not a supervised task (its timers are), so its switch is
/// watched here.
fn spawn_scheduler_switch(
    tracker: &TaskTracker,
    registry: &ServiceRegistry,
    scheduler: &Scheduler,
    shutdown: &CancellationToken,
) {
    let (registry, scheduler, shutdown) = (registry.clone(), scheduler.clone(), shutdown.clone());
    let mut wanted = registry.switch_for("scheduler");
    tracker.spawn(async move {
        loop {
            let on = *wanted.borrow_and_update();
            scheduler.hold(!on);
            // Stopped is ours to show; running again is shown as leadership allows (a
            // standby daemon's scheduler stays "disabled: standby").
            let shown = registry.get("scheduler").map(|i| i.state);
            if !on {
                registry.set_state("scheduler", ServiceState::Stopped, None);
            } else if matches!(shown, None | Some(ServiceState::Stopped)) {
                let state = match scheduler.standby() {
                    Some(why) => ServiceState::Disabled(why),
                    None => ServiceState::Running,
                };
                registry.set_state("scheduler", state, None);
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                changed = wanted.changed() => if changed.is_err() { return },
            }
        }
    });
}

fn spawn_bot(
    tracker: &TaskTracker,
    registry: &ServiceRegistry,
    cfg: &Config,
    parts: &Parts,
    shutdown: &CancellationToken,
) {
    let bot = match &parts.bot {
        Ok(bot) => bot.clone(),
        Err(reason) => {
            tracing::warn!(reason = %reason, "bot disabled");
            registry.set_state("bot", ServiceState::Disabled(reason.clone()), None);
            return;
        }
    };
    let settings = bot::BotSettings {
        admin_chat_ids: cfg.telegram.admin_chat_ids.clone(),
        health: Some(ServiceHealth::new(registry, "bot")),
    };
    let (store, clock): (SharedStore, SharedClock) = (parts.store.clone(), Arc::new(SystemClock));
    let (leadership, reg) = (parts.leadership.clone(), registry.clone());
    tracker.spawn(supervise(
        registry.clone(),
        "bot",
        shutdown.child_token(),
        move |cancel| {
            let (bot, store, clock, settings) =
                (bot.clone(), store.clone(), clock.clone(), settings.clone());
            let (leadership, reg) = (leadership.clone(), reg.clone());
            async move {
                if !wait_to_lead(&leadership, &reg, &cancel).await {
                    return Ok(());
                }
                // Another daemon leading stops polling at once: Telegram refuses two pollers.
                let stop = cancel.child_token();
                let watcher = tokio::spawn({
                    let (leadership, stop) = (leadership.clone(), stop.clone());
                    async move {
                        leadership.yielded().await;
                        stop.cancel();
                    }
                });
                let result = bot::run_bot(bot, store, clock, settings, stop)
                    .await
                    .map_err(|e| e.to_string());
                watcher.abort();
                if !cancel.is_cancelled() && !leadership.role().polls_bot() {
                    return Err("stepped down: another daemon leads now".to_owned());
                }
                result
            }
        },
    ));
}

/// While another daemon leads, the bot shows why it does not poll. `false` when cancelled.
async fn wait_to_lead(
    leadership: &Leadership,
    registry: &ServiceRegistry,
    cancel: &CancellationToken,
) -> bool {
    if let Role::Standby(why) = leadership.role() {
        registry.set_state("bot", ServiceState::Disabled(why), None);
        if !leadership.wait_to_poll(cancel).await {
            return false;
        }
        registry.set_state("bot", ServiceState::Running, None);
    }
    true
}

/// Open the store and build the pipeline and the scheduler.
async fn build(cfg: &Config, shutdown: &CancellationToken) -> anyhow::Result<Parts> {
    let store = open_store(cfg).await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let bot = telegram_bot(cfg);
    let delivery = match &bot {
        Ok(bot) => {
            let token = cfg.telegram.token.clone().unwrap_or_default();
            let sender = Arc::new(TelegramSender::new(bot.clone(), token));
            Ok(DeliveryEngine::new(
                store.clone(),
                sender,
                clock.clone(),
                delivery_settings(cfg),
            ))
        }
        Err(reason) => Err(reason.clone()),
    };
    let superset = superset_source(cfg);
    let disabled_sources = match &superset {
        Err(reason) => vec![("superset", reason.clone())],
        Ok(_) => Vec::new(),
    };
    let pipeline = Pipeline {
        store: store.clone(),
        clock: clock.clone(),
        superset,
        delivery,
        backfill: cfg.delivery.backfill,
    };
    let specs = job_specs(cfg)?;
    let (leadership, lease_task) = elect(cfg, &store, shutdown).await;
    let scheduler = Scheduler::start_following(
        specs,
        store.clone(),
        clock,
        Arc::new(pipeline),
        shutdown.child_token(),
        Some(leadership.clone()),
    )
    .await;
    Ok(Parts {
        store,
        scheduler,
        bot,
        leadership,
        lease_task,
        disabled_sources,
    })
}

/// Show the role in `status` (the scheduler's state says "standby, leader is host:pid"), and
/// on becoming the leader pick up any broadcast the previous leader left open.
async fn follow_role(
    leadership: Leadership,
    registry: ServiceRegistry,
    store: SharedStore,
    scheduler: Scheduler,
    can_deliver: bool,
    cancel: CancellationToken,
) {
    let mut role = leadership.watch();
    let mut led = false;
    loop {
        let current = role.borrow_and_update().clone();
        match current {
            Role::Leader => {
                // An operator's `service stop scheduler` outlasts a change of role.
                let state = if scheduler.is_held() {
                    ServiceState::Stopped
                } else {
                    ServiceState::Running
                };
                registry.set_state("scheduler", state, None);
                if !led && leadership.is_shared() {
                    scheduler.close_interrupted().await;
                }
                if !led && can_deliver {
                    resume_unfinished(&store, &scheduler).await;
                }
                led = true;
            }
            Role::Standby(why) | Role::Unknown(why) => {
                if std::mem::take(&mut led) {
                    scheduler.cancel_active();
                }
                registry.set_state("scheduler", ServiceState::Disabled(why), None);
            }
        }
        tokio::select! {
            changed = role.changed() => if changed.is_err() { return },
            () = cancel.cancelled() => return,
        }
    }
}

/// Ask for a delivering run when a previous process left a broadcast open.
async fn resume_unfinished(store: &SharedStore, scheduler: &Scheduler) {
    match pipeline::unfinished_deliveries(&**store, chrono::Utc::now()).await {
        Ok(Some(at)) => {
            tracing::info!(at = %at, "deliveries left open by the previous run; resuming them");
            scheduler.request_follow_up(&JobName::from(pipeline::DELIVERING_JOB), at);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "cannot check for unfinished deliveries"),
    }
}

/// Several daemons can share a MongoDB database, so there they elect a leader; the embedded
/// store is locked to one daemon by the pid file, which always leads.
async fn elect(
    cfg: &Config,
    store: &SharedStore,
    shutdown: &CancellationToken,
) -> (Leadership, Option<BoxFuture<'static, ()>>) {
    match cfg.store.backend {
        StoreBackend::Embedded => (Leadership::always(), None),
        StoreBackend::Mongodb => {
            let ttl = Duration::from_secs(cfg.store.lease_secs);
            let (leadership, task) =
                Leadership::start(store.clone(), ttl, shutdown.child_token()).await;
            match leadership.role() {
                Role::Leader => tracing::info!(holder = %leadership.holder(), "this daemon leads"),
                Role::Standby(why) | Role::Unknown(why) => {
                    tracing::info!(reason = %why, "this daemon does not lead for now")
                }
            }
            (leadership, Some(task))
        }
    }
}

async fn open_store(cfg: &Config) -> anyhow::Result<SharedStore> {
    match cfg.store.backend {
        StoreBackend::Embedded => {
            let path = cfg.store.path.clone();
            let store = tokio::task::spawn_blocking(move || EmbeddedStore::open(&path))
                .await
                .context("opening the embedded store")??;
            Ok(Arc::new(store))
        }
        StoreBackend::Mongodb => {
            let store = MongoStore::open(&mongo_settings(cfg)?).await?;
            tracing::info!(location = %store.describe().location, "using the MongoDB store");
            Ok(Arc::new(store))
        }
    }
}

fn mongo_settings(cfg: &Config) -> anyhow::Result<MongoSettings> {
    let s = &cfg.store;
    let uri = s
        .mongodb_uri
        .clone()
        .context("store.backend = \"mongodb\" needs store.mongodb_uri or MONGO_CONNECTION_STR")?;
    Ok(MongoSettings {
        uri,
        database: s.database.clone(),
        server_selection_timeout: Duration::from_secs(s.server_selection_timeout_secs),
        operation_timeout: Duration::from_secs(s.operation_timeout_secs),
    })
}

fn telegram_bot(cfg: &Config) -> Part<teloxide::Bot> {
    let token = cfg
        .telegram
        .token
        .as_ref()
        .ok_or("no Telegram bot token (telegram.token or TELEGRAM_BOT_TOKEN)")?;
    telegram::build_bot(token, &cfg.telegram.api_url, cfg.telegram_timeout())
        .map_err(|e| e.to_string())
}

fn superset_source(cfg: &Config) -> Part<SupersetSource> {
    let s = &cfg.superset;
    if s.accounts.is_empty() {
        return Err("no SuperSet accounts (superset.accounts or SUPERSET_CREDENTIALS)".into());
    }
    let settings = SupersetSettings {
        base_url: s.base_url.clone(),
        tenant_id: s.tenant_id.clone(),
        rsa_public_key_pem: s
            .rsa_public_key
            .clone()
            .unwrap_or_else(|| DEFAULT_RSA_PUBLIC_KEY.to_owned()),
        accounts: s
            .accounts
            .iter()
            .map(|a| Account {
                email: a.email.clone(),
                password: a.password.clone(),
            })
            .collect(),
        timeout: Duration::from_secs(s.timeout_secs),
    };
    SupersetSource::new(settings).map_err(|e| e.to_string())
}

fn delivery_settings(cfg: &Config) -> DeliverySettings {
    DeliverySettings {
        rate_per_sec: cfg.delivery.rate_per_sec,
        concurrency: cfg.delivery.concurrency,
        max_inline_wait: Duration::from_secs(cfg.delivery.max_inline_wait_secs),
        channel: cfg
            .telegram
            .channel_chat_id
            .as_deref()
            .and_then(ChatTarget::parse),
        startup_grace: DeliverySettings::default().private_chat_interval,
        ..DeliverySettings::default()
    }
}

fn job_specs(cfg: &Config) -> anyhow::Result<Vec<JobSpec>> {
    let sched = &cfg.scheduler;
    sched
        .jobs
        .iter()
        .map(|j| {
            let expr = config::parse_schedule(&j.name, &j.schedule)?;
            Ok(JobSpec {
                misfire: j.misfire,
                grace: chrono::Duration::seconds(i64::try_from(j.grace_secs).unwrap_or(i64::MAX)),
                catch_up_limit: j.catch_up_limit,
                timeout: std::time::Duration::from_secs(j.timeout_secs),
                keep_runs: sched.history_keep_runs,
                keep_for: chrono::Duration::days(i64::from(sched.history_keep_days)),
                ..JobSpec::new(JobName(j.name.clone()), expr, j.timezone)
            })
        })
        .collect()
}
