//! The application: one event loop and a router.
//!
//! [`run_loop`] selects over terminal events, the connection task's reports, a one-second tick
//! and termination signals; each becomes one [`Msg`] for [`App::handle`], whose returned
//! [`Command`]s go to the connection task. `App` holds only routing state (the views, which one
//! is focused, the popup stack, the connection state for the header); each view owns its own.
//!
//! Drawing (`draw.rs`) is read-only over the same state; [`super::render::Renderer`] decides
//! whether a frame reaches the terminal at all.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::Backend;
use supersetd_proto::{Access, ServerHello};

use super::TuiError;
use super::conn::ConnHandle;
use super::keymap::{self, Action, Binding};
use super::msg::{Command, ConnEvent, Msg};
use super::render::Renderer;
use super::term::Signals;
use super::theme::Theme;
use super::views::View;
use super::views::audit::AuditView;
use super::views::deliveries::DeliveriesView;
use super::views::runs::RunsView;
use super::views::subscribers::SubscribersView;
use super::views::{jobs::JobsView, logs::LogsView, overview::OverviewView};

pub mod command_line;
mod draw;

/// The longest line the `/` and `:` prompts take; more is a paste gone wrong.
const MAX_PROMPT_CHARS: usize = 200;

/// Below this the layout does not fit; a notice is shown instead.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;
/// How long a command's outcome stays in the footer.
const FLASH_SECS: i64 = 6;

/// What the TUI was started with.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub socket: PathBuf,
    pub read_only: bool,
    pub theme: Theme,
}

/// Something drawn over the views; the top one receives the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    Confirm {
        prompt: String,
        command: Command,
    },
    /// A line being typed after `/` (filter) or `:` (command).
    Prompt {
        kind: PromptKind,
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Command,
}

impl PromptKind {
    pub fn sigil(self) -> char {
        match self {
            PromptKind::Filter => '/',
            PromptKind::Command => ':',
        }
    }
}

/// The connection as the header shows it.
#[derive(Debug, Clone)]
enum Link {
    Connecting {
        attempt: u32,
        last_error: Option<String>,
    },
    Connected {
        hello: ServerHello,
        uptime_ms: Option<u64>,
    },
    Incompatible(String),
}

struct Flash {
    text: String,
    is_error: bool,
    until: DateTime<Utc>,
}

pub struct App {
    views: Vec<Box<dyn View>>,
    focus: usize,
    popups: Vec<Popup>,
    link: Link,
    opts: AppOptions,
    flash: Option<Flash>,
    now: DateTime<Utc>,
    should_quit: bool,
    /// The last terminal size reported; `None` until the first resize message.
    size: Option<(u16, u16)>,
}

impl App {
    pub fn new(opts: AppOptions, now: DateTime<Utc>) -> App {
        let theme = opts.theme;
        let views: Vec<Box<dyn View>> = vec![
            Box::new(OverviewView::new(theme, now)),
            Box::new(JobsView::new(theme, now)),
            Box::new(LogsView::new(theme)),
            Box::new(RunsView::new(theme, now)),
            Box::new(SubscribersView::new(theme, now)),
            Box::new(DeliveriesView::new(theme, now)),
            Box::new(AuditView::new(theme, now)),
        ];
        let link = Link::Connecting {
            attempt: 1,
            last_error: None,
        };
        App {
            views,
            focus: 0,
            popups: Vec::new(),
            link,
            opts,
            flash: None,
            now,
            should_quit: false,
            size: None,
        }
    }

    pub fn should_quit(&self) -> bool {
        self.should_quit
    }

    pub fn focused_title(&self) -> &'static str {
        self.views[self.focus].title()
    }

    pub fn popups(&self) -> &[Popup] {
        &self.popups
    }

    /// Whether the last reported size is below the minimum (the size notice is showing).
    pub fn is_too_small(&self) -> bool {
        self.size
            .is_some_and(|(w, h)| w < MIN_WIDTH || h < MIN_HEIGHT)
    }

    /// Read-only when asked for, or when the daemon grants only viewer access.
    pub fn is_read_only(&self) -> bool {
        let viewer =
            matches!(&self.link, Link::Connected { hello, .. } if hello.access == Access::Viewer);
        self.opts.read_only || viewer
    }

    /// Route one message; returns the commands for the connection task.
    pub fn handle(&mut self, msg: Msg) -> Vec<Command> {
        match msg {
            Msg::Key(key) if self.is_prompting() && !self.is_too_small() => self.prompt_key(key),
            Msg::Key(key) => {
                // Under the size notice nothing else is visible, so only quitting works.
                let tables = if self.is_too_small() {
                    vec![keymap::GLOBAL]
                } else {
                    self.active_tables()
                };
                let action = keymap::lookup(&tables, &key, self.is_read_only())
                    .map(|b| b.action)
                    .filter(|a| !self.is_too_small() || *a == Action::Quit);
                match action {
                    Some(Action::Quit) => {
                        self.should_quit = true;
                        Vec::new()
                    }
                    Some(a) => self.act(a),
                    None => Vec::new(),
                }
            }
            Msg::Action(action) => self.act(action),
            Msg::Tick(now) => {
                self.now = now;
                if self.flash.as_ref().is_some_and(|f| f.until <= now) {
                    self.flash = None;
                }
                self.broadcast(&Msg::Tick(now))
            }
            Msg::Conn(event) => {
                self.observe(&event);
                self.broadcast(&Msg::Conn(event))
            }
            Msg::Resize(width, height) => {
                self.size = Some((width, height));
                self.broadcast(&Msg::Resize(width, height))
            }
            Msg::FollowRun(run) => self.broadcast(&Msg::FollowRun(run)),
            Msg::Filter(text) => self.views[self.focus]
                .update(&Msg::Filter(text))
                .map(|c| self.run(c))
                .unwrap_or_default(),
        }
    }

    fn is_prompting(&self) -> bool {
        matches!(self.popups.last(), Some(Popup::Prompt { .. }))
    }

    /// Keys while a prompt is open: Enter applies, Esc closes, Ctrl-C quits, Backspace
    /// deletes, printable characters are typed.
    fn prompt_key(&mut self, key: crossterm::event::KeyEvent) -> Vec<Command> {
        use crossterm::event::{KeyCode, KeyEventKind, KeyModifiers};
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        if let Some(b) = keymap::lookup(&[keymap::PROMPT, keymap::ALWAYS], &key, false) {
            return match b.action {
                Action::Confirm => self.submit_prompt(),
                Action::Quit => {
                    self.should_quit = true;
                    Vec::new()
                }
                _ => {
                    self.popups.pop();
                    Vec::new()
                }
            };
        }
        if let Some(Popup::Prompt { text, .. }) = self.popups.last_mut() {
            match key.code {
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c)
                    if !key.modifiers.contains(KeyModifiers::CONTROL)
                        && text.chars().count() < MAX_PROMPT_CHARS =>
                {
                    text.push(c)
                }
                _ => {}
            }
        }
        Vec::new()
    }

    fn submit_prompt(&mut self) -> Vec<Command> {
        let Some(Popup::Prompt { kind, text }) = self.popups.pop() else {
            return Vec::new();
        };
        match kind {
            PromptKind::Filter => self.handle(Msg::Filter(text.trim().to_owned())),
            PromptKind::Command => match command_line::parse(&text) {
                Ok(command_line::Parsed::Command(c)) => self.run(c),
                Ok(command_line::Parsed::Focus(title)) => {
                    self.focus_title(title);
                    Vec::new()
                }
                Ok(command_line::Parsed::Help) => {
                    self.popups.push(Popup::Help);
                    Vec::new()
                }
                Ok(command_line::Parsed::Quit) => {
                    self.should_quit = true;
                    Vec::new()
                }
                Err(e) => {
                    self.set_flash(e, true);
                    Vec::new()
                }
            },
        }
    }

    /// Focus the view titled `title` (views are found by title, not position).
    fn focus_title(&mut self, title: &str) {
        if let Some(i) = self.views.iter().position(|v| v.title() == title) {
            self.focus = i;
        }
    }

    /// The keymap tables in force: the top popup's, else the global and focused view's.
    fn active_tables(&self) -> Vec<&'static [Binding]> {
        match self.popups.last() {
            Some(Popup::Help) => vec![keymap::HELP, keymap::ALWAYS],
            Some(Popup::Confirm { .. }) => vec![keymap::CONFIRM, keymap::ALWAYS],
            Some(Popup::Prompt { .. }) => vec![keymap::PROMPT, keymap::ALWAYS],
            None => vec![keymap::GLOBAL, self.views[self.focus].bindings()],
        }
    }

    fn act(&mut self, action: Action) -> Vec<Command> {
        if let Some(top) = self.popups.last() {
            return match (top, action) {
                (Popup::Confirm { command, .. }, Action::Confirm) => {
                    let command = command.clone();
                    self.popups.pop();
                    self.run(command)
                }
                (_, Action::Dismiss) => {
                    self.popups.pop();
                    Vec::new()
                }
                (_, Action::Quit) => {
                    self.should_quit = true;
                    Vec::new()
                }
                _ => Vec::new(),
            };
        }
        let count = self.views.len();
        match action {
            Action::Quit => self.should_quit = true,
            Action::Help => self.popups.push(Popup::Help),
            Action::NextView => self.focus = (self.focus + 1) % count,
            Action::PrevView => self.focus = (self.focus + count - 1) % count,
            Action::ShowOverview => self.focus_title("Overview"),
            Action::ShowJobs => self.focus_title("Jobs"),
            Action::ShowLogs => self.focus_title("Logs"),
            Action::ShowRuns => self.focus_title("Runs"),
            Action::ShowSubscribers => self.focus_title("Subscribers"),
            Action::ShowDeliveries => self.focus_title("Deliveries"),
            Action::ShowAudit => self.focus_title("Audit"),
            Action::Filter | Action::CommandLine => {
                let kind = if action == Action::Filter {
                    PromptKind::Filter
                } else {
                    PromptKind::Command
                };
                self.popups.push(Popup::Prompt {
                    kind,
                    text: String::new(),
                });
            }
            _ => {
                let command = self.views[self.focus].update(&Msg::Action(action));
                return command.map(|c| self.run(c)).unwrap_or_default();
            }
        }
        Vec::new()
    }

    /// Send `msg` to every view (daemon replies concern views that are not focused too).
    fn broadcast(&mut self, msg: &Msg) -> Vec<Command> {
        let commands: Vec<Command> = self
            .views
            .iter_mut()
            .filter_map(|v| v.update(msg))
            .collect();
        commands.into_iter().flat_map(|c| self.run(c)).collect()
    }

    /// Gate a command: confirmations open a popup, mutations are refused when read-only.
    fn run(&mut self, command: Command) -> Vec<Command> {
        if command.is_mutating() && self.is_read_only() {
            self.set_flash(
                "read-only: this console does not change the daemon".to_owned(),
                true,
            );
            return Vec::new();
        }
        match command {
            Command::Confirm { prompt, command } => {
                self.popups.push(Popup::Confirm {
                    prompt,
                    command: *command,
                });
                Vec::new()
            }
            Command::FollowRun(run) => {
                self.focus_title("Logs");
                self.broadcast(&Msg::FollowRun(run))
            }
            other => vec![other],
        }
    }

    fn set_flash(&mut self, text: String, is_error: bool) {
        let until = self.now + chrono::Duration::seconds(FLASH_SECS);
        self.flash = Some(Flash {
            text,
            is_error,
            until,
        });
    }

    /// Keep what the header shows in step with the connection.
    fn observe(&mut self, event: &ConnEvent) {
        match event {
            // An incompatible daemon stays on screen through the slow retries: the cause
            // will not change until someone upgrades one side.
            ConnEvent::Connecting { .. } if matches!(self.link, Link::Incompatible(_)) => {}
            ConnEvent::Connecting {
                attempt,
                last_error,
            } => {
                self.link = Link::Connecting {
                    attempt: *attempt,
                    last_error: last_error.clone(),
                }
            }
            ConnEvent::Connected(hello) => {
                self.link = Link::Connected {
                    hello: hello.clone(),
                    uptime_ms: None,
                }
            }
            ConnEvent::Incompatible(text) => self.link = Link::Incompatible(text.clone()),
            ConnEvent::Status(status) => {
                if let Link::Connected { uptime_ms, .. } = &mut self.link {
                    *uptime_ms = Some(status.uptime_ms);
                }
            }
            ConnEvent::CommandDone { text, is_error } => self.set_flash(text.clone(), *is_error),
            _ => {}
        }
    }
}

/// The event loop. Returns when the operator quits, a signal arrives or the terminal fails.
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    mut app: App,
    mut conn: ConnHandle,
    mut signals: Signals,
) -> Result<(), TuiError>
where
    B::Error: Into<TuiError>,
{
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renderer = Renderer::new();
    let size = terminal.size().map_err(Into::into)?;
    app.handle(Msg::Resize(size.width, size.height));
    renderer.render(terminal, &app)?;
    while !app.should_quit() {
        let msg = tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) => {
                    #[cfg(debug_assertions)]
                    super::term::test_panic_on(&key);
                    Msg::Key(key)
                }
                Some(Ok(Event::Resize(w, h))) => {
                    renderer.invalidate();
                    terminal.autoresize().map_err(Into::into)?;
                    Msg::Resize(w, h)
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(TuiError::Terminal(e)),
                None => return Ok(()),
            },
            event = conn.events.recv() => match event {
                Some(event) => Msg::Conn(event),
                // Only a panic ends the task while we hold its handle.
                None => return Err(TuiError::ConnectionTask),
            },
            _ = tick.tick() => Msg::Tick(Utc::now()),
            () = signals.recv() => return Ok(()),
        };
        for command in app.handle(msg) {
            if let Err(refused) = conn.try_send(command) {
                app.handle(Msg::Conn(ConnEvent::CommandDone {
                    text: refused,
                    is_error: true,
                }));
            }
        }
        renderer.render(terminal, &app)?;
    }
    Ok(())
}
