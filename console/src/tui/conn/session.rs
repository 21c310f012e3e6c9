//! One connected session: status and jobs polled once a second, the log tail long-polled, and
//! commands executed, until the transport fails ([`End::Lost`]) or the UI goes ([`End::Closed`]).

use std::pin::Pin;
use std::time::Duration;

use futures::future::Future;
use supersetd_proto::connect::context_with_timeout;
use supersetd_proto::{
    AuditQuery, CancelTarget, ControlClient, ControlError, LogBatch, LogQuery, NoticeQuery,
    RunQuery, SubscriberQuery,
};
use tokio::sync::mpsc;

use super::{
    End, LIST_LIMIT, LOG_BACKLOG, LOG_BATCH_MAX, LOG_RETRY, LOG_WAIT_MS, POLL_INTERVAL,
    REQUEST_TIMEOUT, SLOW_POLL_EVERY, emit,
};
use crate::tui::msg::{Command, ConnEvent, LogFilter};

type LogFuture = Pin<
    Box<
        dyn Future<Output = Result<Result<LogBatch, ControlError>, tarpc::client::RpcError>> + Send,
    >,
>;

/// One connected session: polling, the log tail and commands, until the transport fails.
pub(super) struct Session<'a> {
    pub(super) client: ControlClient,
    pub(super) events: &'a mpsc::Sender<ConnEvent>,
    pub(super) read_only: bool,
    pub(super) filter: LogFilter,
    /// `None` until the first batch: then the backlog is read with `tail`.
    pub(super) log_cursor: Option<u64>,
}

impl Session<'_> {
    pub(super) async fn run(&mut self, commands: &mut mpsc::Receiver<Command>) -> End {
        match self.run_inner(commands).await {
            Ok(never) => match never {},
            Err(end) => end,
        }
    }

    async fn run_inner(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<std::convert::Infallible, End> {
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        emit(
            self.events,
            ConnEvent::LogsReset {
                filter: self.filter,
            },
        )
        .await?;
        let mut logs = self.tail(Duration::ZERO);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                _ = poll.tick() => {
                    self.refresh().await?;
                    // History, subscribers and notices change slowly; asking every few
                    // seconds keeps an idle console's load on the daemon small.
                    if ticks.is_multiple_of(SLOW_POLL_EVERY) {
                        self.refresh_slow().await?;
                    }
                    ticks = ticks.wrapping_add(1);
                }
                command = commands.recv() => {
                    let Some(command) = command else { return Err(End::Closed) };
                    if let Command::TailLogs { filter } = command {
                        self.filter = filter;
                        self.log_cursor = None;
                        emit(self.events, ConnEvent::LogsReset { filter }).await?;
                        logs = self.tail(Duration::ZERO);
                    } else if let Command::FetchDeliveries(notice_id) = command {
                        self.deliveries(notice_id).await?;
                    } else {
                        self.execute(command).await?;
                        self.refresh().await?;
                        self.refresh_slow().await?;
                    }
                }
                reply = &mut logs => {
                    let delay = self.take_logs(reply).await?;
                    logs = self.tail(delay);
                }
            }
        }
    }

    /// Handle one `tail_logs` reply; returns how long to wait before the next read.
    async fn take_logs(
        &mut self,
        reply: Result<Result<LogBatch, ControlError>, tarpc::client::RpcError>,
    ) -> Result<Duration, End> {
        match reply {
            Ok(Ok(batch)) => {
                self.log_cursor = Some(batch.next_cursor);
                emit(
                    self.events,
                    ConnEvent::Logs {
                        filter: self.filter,
                        batch,
                    },
                )
                .await?;
                Ok(Duration::ZERO)
            }
            Ok(Err(error)) => {
                emit(
                    self.events,
                    ConnEvent::RequestFailed {
                        what: "logs",
                        error: error.to_string(),
                    },
                )
                .await?;
                Ok(LOG_RETRY)
            }
            Err(e) => Err(End::Lost(format!("reading logs failed: {e}"))),
        }
    }

    /// The next log read, after `delay`: the backlog first, then a long poll from the cursor.
    fn tail(&self, delay: Duration) -> LogFuture {
        let client = self.client.clone();
        let query = LogQuery {
            cursor: self.log_cursor.unwrap_or(0),
            max: LOG_BATCH_MAX,
            wait_ms: if self.log_cursor.is_some() {
                LOG_WAIT_MS
            } else {
                0
            },
            min_level: self.filter.min_level,
            run: self.filter.run,
            tail: if self.log_cursor.is_some() {
                None
            } else {
                Some(LOG_BACKLOG)
            },
            ..LogQuery::default()
        };
        let timeout = REQUEST_TIMEOUT + Duration::from_millis(query.wait_ms);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            client.tail_logs(context_with_timeout(timeout), query).await
        })
    }

    /// Runs, subscribers and notices: the slower-moving lists.
    async fn refresh_slow(&self) -> Result<(), End> {
        let ctx = || context_with_timeout(REQUEST_TIMEOUT);
        let c = &self.client;
        let (runs, subs, notices, audit) = tokio::join!(
            c.list_runs(
                ctx(),
                RunQuery {
                    job: None,
                    limit: LIST_LIMIT
                }
            ),
            c.list_subscribers(ctx(), SubscriberQuery { active_only: false }),
            c.list_notices(
                ctx(),
                NoticeQuery {
                    unsent_only: false,
                    limit: LIST_LIMIT
                }
            ),
            c.list_audit(ctx(), AuditQuery { limit: LIST_LIMIT }),
        );
        let lost = |e: tarpc::client::RpcError| End::Lost(format!("polling failed: {e}"));
        self.report("runs", runs.map_err(lost)?, ConnEvent::Runs)
            .await?;
        self.report("subscribers", subs.map_err(lost)?, ConnEvent::Subscribers)
            .await?;
        self.report("notices", notices.map_err(lost)?, ConnEvent::Notices)
            .await?;
        self.report("audit", audit.map_err(lost)?, ConnEvent::Audit)
            .await
    }

    async fn deliveries(&self, notice_id: String) -> Result<(), End> {
        let reply = self
            .client
            .list_deliveries(context_with_timeout(REQUEST_TIMEOUT), notice_id.clone())
            .await
            .map_err(|e| End::Lost(format!("reading deliveries failed: {e}")))?;
        self.report("deliveries", reply, |rows| ConnEvent::Deliveries {
            notice_id,
            rows,
        })
        .await
    }

    /// Emit a reply as `event`, or its error as a failed request named `what`.
    async fn report<T>(
        &self,
        what: &'static str,
        reply: Result<T, ControlError>,
        event: impl FnOnce(T) -> ConnEvent,
    ) -> Result<(), End> {
        let event = match reply {
            Ok(value) => event(value),
            Err(e) => ConnEvent::RequestFailed {
                what,
                error: e.to_string(),
            },
        };
        emit(self.events, event).await
    }

    async fn refresh(&self) -> Result<(), End> {
        let (status, jobs) = tokio::join!(
            self.client
                .get_status(context_with_timeout(REQUEST_TIMEOUT)),
            self.client.list_jobs(context_with_timeout(REQUEST_TIMEOUT)),
        );
        let lost = |e: tarpc::client::RpcError| End::Lost(format!("polling failed: {e}"));
        match status.map_err(lost)? {
            Ok(status) => emit(self.events, ConnEvent::Status(status)).await?,
            Err(e) => {
                emit(
                    self.events,
                    ConnEvent::RequestFailed {
                        what: "status",
                        error: e.to_string(),
                    },
                )
                .await?
            }
        }
        match jobs.map_err(lost)? {
            Ok(jobs) => emit(self.events, ConnEvent::Jobs(jobs)).await?,
            Err(e) => {
                emit(
                    self.events,
                    ConnEvent::RequestFailed {
                        what: "jobs",
                        error: e.to_string(),
                    },
                )
                .await?
            }
        }
        Ok(())
    }

    /// Run a daemon-facing command and report its outcome for the footer.
    async fn execute(&self, command: Command) -> Result<(), End> {
        if self.read_only && command.is_mutating() {
            let text = "read-only: this console does not change the daemon".to_owned();
            return emit(
                self.events,
                ConnEvent::CommandDone {
                    text,
                    is_error: true,
                },
            )
            .await;
        }
        let ctx = || context_with_timeout(REQUEST_TIMEOUT);
        let c = &self.client;
        let (what, result) = match command {
            Command::PauseJob(job) => (
                format!("pause {job}"),
                c.pause_job(ctx(), job.clone())
                    .await
                    .map(|r| r.map(|_| format!("paused {job}"))),
            ),
            Command::ResumeJob(job) => (
                format!("resume {job}"),
                c.resume_job(ctx(), job.clone(), false)
                    .await
                    .map(|r| r.map(|_| format!("resumed {job}"))),
            ),
            Command::RunJob(job) => (
                format!("run {job}"),
                c.run_job(ctx(), job.clone())
                    .await
                    .map(|r| r.map(|id| format!("started run {id} of {job}"))),
            ),
            Command::CancelJob(job) => (
                format!("cancel {job}"),
                c.cancel(ctx(), CancelTarget::Job(job.clone()))
                    .await
                    .map(|r| r.map(|id| format!("asked run {id} of {job} to stop"))),
            ),
            Command::Service(name, action) => (
                format!("{action} {name}"),
                c.control_service(ctx(), name, action)
                    .await
                    .map(|r| r.map(|info| format!("{} is {}", info.name, info.state))),
            ),
            // Handled by the caller and by `App`; nothing to send.
            Command::TailLogs { .. }
            | Command::Confirm { .. }
            | Command::FetchDeliveries(_)
            | Command::FollowRun(_) => {
                return Ok(());
            }
        };
        let event = match result {
            Ok(Ok(text)) => ConnEvent::CommandDone {
                text,
                is_error: false,
            },
            Ok(Err(e)) => ConnEvent::CommandDone {
                text: format!("{what} failed: {e}"),
                is_error: true,
            },
            Err(e) => {
                let text = format!("{what} failed: no answer from supersetd ({e})");
                emit(
                    self.events,
                    ConnEvent::CommandDone {
                        text,
                        is_error: true,
                    },
                )
                .await?;
                return Err(End::Lost(e.to_string()));
            }
        };
        emit(self.events, event).await
    }
}
