//! Key bindings as data.
//!
//! One table per scope (global, each view, each popup) lists every [`Binding`]: the
//! [`Action`], the keys that trigger it (arrows and vim keys side by side), a label and a
//! group. Dispatch ([`lookup`]), the footer hint bar and the `?` overlay all read these tables,
//! so the help cannot drift from what the keys do (bottom's hand-written help text can).

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// An operator intent, independent of the key that expressed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    NextView,
    PrevView,
    ShowOverview,
    ShowJobs,
    ShowLogs,
    ShowRuns,
    ShowSubscribers,
    ShowDeliveries,
    ShowAudit,
    /// Open the `/` filter prompt for the focused view.
    Filter,
    /// Open the `:` command line.
    CommandLine,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    PauseJob,
    ResumeJob,
    RunJob,
    CancelJob,
    CycleLevel,
    /// Show the selected run's log lines.
    FollowRun,
    /// Answer "yes" in a confirm popup.
    Confirm,
    /// Close the top popup (and answer "no" to a confirm).
    Dismiss,
}

impl Action {
    /// Actions that change daemon state; hidden and refused in read-only mode.
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::PauseJob | Action::ResumeJob | Action::RunJob | Action::CancelJob
        )
    }
}

/// Where a binding is listed in the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    General,
    Navigation,
    Job,
    Logs,
    Popup,
}

impl Group {
    pub fn title(self) -> &'static str {
        match self {
            Group::General => "General",
            Group::Navigation => "Navigation",
            Group::Job => "Jobs",
            Group::Logs => "Logs",
            Group::Popup => "Popups",
        }
    }
}

/// A key as written in a table: a code plus the modifiers that must be held. Shift is implied
/// by the character itself (`G`), so it is ignored when matching characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }
    pub const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }
    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// Whether a terminal key event is this key.
    pub fn matches(&self, ev: &KeyEvent) -> bool {
        if ev.kind == KeyEventKind::Release {
            return false;
        }
        let significant = KeyModifiers::CONTROL | KeyModifiers::ALT;
        let code_matches = match (self.code, ev.code) {
            (KeyCode::Char(a), KeyCode::Char(b)) => a == b,
            (a, b) => a == b,
        };
        code_matches && (ev.modifiers & significant) == (self.mods & significant)
    }

    /// How the key is written in help and hints.
    pub fn display(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".to_owned(),
            KeyCode::Down => "↓".to_owned(),
            KeyCode::Left => "←".to_owned(),
            KeyCode::Right => "→".to_owned(),
            KeyCode::PageUp => "PgUp".to_owned(),
            KeyCode::PageDown => "PgDn".to_owned(),
            KeyCode::Home => "Home".to_owned(),
            KeyCode::End => "End".to_owned(),
            KeyCode::Enter => "Enter".to_owned(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::BackTab => "Shift-Tab".to_owned(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("Ctrl-{base}")
        } else {
            base
        }
    }
}

/// One row of a keymap table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub action: Action,
    pub keys: &'static [Key],
    pub label: &'static str,
    pub group: Group,
    /// Shown in the footer hint bar (the overlay shows everything).
    pub is_hint: bool,
}

impl Binding {
    /// `↑/k`: every key of the binding.
    pub fn keys_text(&self) -> String {
        self.keys
            .iter()
            .map(Key::display)
            .collect::<Vec<_>>()
            .join("/")
    }
}

const fn bind(
    action: Action,
    keys: &'static [Key],
    label: &'static str,
    group: Group,
    is_hint: bool,
) -> Binding {
    Binding {
        action,
        keys,
        label,
        group,
        is_hint,
    }
}

use Action as A;
use KeyCode as K;

/// Bindings active everywhere (unless a popup is open).
pub static GLOBAL: &[Binding] = &[
    bind(
        A::Quit,
        &[Key::ch('q'), Key::ctrl('c')],
        "quit",
        Group::General,
        true,
    ),
    bind(
        A::Help,
        &[Key::ch('?'), Key::plain(K::F(1))],
        "help",
        Group::General,
        true,
    ),
    bind(
        A::NextView,
        &[Key::plain(K::Tab)],
        "next view",
        Group::General,
        false,
    ),
    bind(
        A::PrevView,
        &[Key::plain(K::BackTab)],
        "previous view",
        Group::General,
        false,
    ),
    bind(
        A::ShowOverview,
        &[Key::ch('1')],
        "overview",
        Group::General,
        false,
    ),
    bind(A::ShowJobs, &[Key::ch('2')], "jobs", Group::General, false),
    bind(A::ShowLogs, &[Key::ch('3')], "logs", Group::General, false),
    bind(A::ShowRuns, &[Key::ch('4')], "runs", Group::General, false),
    bind(
        A::ShowSubscribers,
        &[Key::ch('5')],
        "subscribers",
        Group::General,
        false,
    ),
    bind(
        A::ShowDeliveries,
        &[Key::ch('6')],
        "deliveries",
        Group::General,
        false,
    ),
    bind(
        A::ShowAudit,
        &[Key::ch('7')],
        "audit",
        Group::General,
        false,
    ),
    bind(A::Filter, &[Key::ch('/')], "filter", Group::General, false),
    bind(
        A::CommandLine,
        &[Key::ch(':')],
        "command (:run JOB)",
        Group::General,
        false,
    ),
];

/// Moving through a list (runs, subscribers, notices).
pub static LIST: &[Binding] = &[
    bind(
        A::Up,
        &[Key::plain(K::Up), Key::ch('k')],
        "up",
        Group::Navigation,
        false,
    ),
    bind(
        A::Down,
        &[Key::plain(K::Down), Key::ch('j')],
        "down",
        Group::Navigation,
        false,
    ),
    bind(
        A::PageUp,
        &[Key::plain(K::PageUp), Key::ctrl('b')],
        "page up",
        Group::Navigation,
        false,
    ),
    bind(
        A::PageDown,
        &[Key::plain(K::PageDown), Key::ctrl('f')],
        "page down",
        Group::Navigation,
        false,
    ),
    bind(
        A::Top,
        &[Key::plain(K::Home), Key::ch('g')],
        "first",
        Group::Navigation,
        false,
    ),
    bind(
        A::Bottom,
        &[Key::plain(K::End), Key::ch('G')],
        "last",
        Group::Navigation,
        false,
    ),
];

/// The runs view: a list, and Enter follows the selected run's logs.
pub static RUNS: &[Binding] = &[
    bind(
        A::Up,
        &[Key::plain(K::Up), Key::ch('k')],
        "up",
        Group::Navigation,
        false,
    ),
    bind(
        A::Down,
        &[Key::plain(K::Down), Key::ch('j')],
        "down",
        Group::Navigation,
        false,
    ),
    bind(
        A::PageUp,
        &[Key::plain(K::PageUp), Key::ctrl('b')],
        "page up",
        Group::Navigation,
        false,
    ),
    bind(
        A::PageDown,
        &[Key::plain(K::PageDown), Key::ctrl('f')],
        "page down",
        Group::Navigation,
        false,
    ),
    bind(
        A::Top,
        &[Key::plain(K::Home), Key::ch('g')],
        "newest",
        Group::Navigation,
        false,
    ),
    bind(
        A::Bottom,
        &[Key::plain(K::End), Key::ch('G')],
        "oldest",
        Group::Navigation,
        false,
    ),
    bind(
        A::FollowRun,
        &[Key::plain(K::Enter)],
        "follow its logs",
        Group::Logs,
        true,
    ),
];

/// The `/` and `:` prompts; any other key is typed into the line.
pub static PROMPT: &[Binding] = &[
    bind(
        A::Confirm,
        &[Key::plain(K::Enter)],
        "apply",
        Group::Popup,
        true,
    ),
    bind(
        A::Dismiss,
        &[Key::plain(K::Esc)],
        "cancel",
        Group::Popup,
        true,
    ),
];

pub static OVERVIEW: &[Binding] = &[];

pub static JOBS: &[Binding] = &[
    bind(
        A::Up,
        &[Key::plain(K::Up), Key::ch('k')],
        "up",
        Group::Navigation,
        false,
    ),
    bind(
        A::Down,
        &[Key::plain(K::Down), Key::ch('j')],
        "down",
        Group::Navigation,
        false,
    ),
    bind(
        A::Top,
        &[Key::plain(K::Home), Key::ch('g')],
        "first job",
        Group::Navigation,
        false,
    ),
    bind(
        A::Bottom,
        &[Key::plain(K::End), Key::ch('G')],
        "last job",
        Group::Navigation,
        false,
    ),
    bind(A::PauseJob, &[Key::ch('p')], "pause", Group::Job, true),
    bind(A::ResumeJob, &[Key::ch('r')], "resume", Group::Job, true),
    bind(
        A::RunJob,
        &[Key::plain(K::Enter), Key::ch('x')],
        "run now",
        Group::Job,
        true,
    ),
    bind(
        A::CancelJob,
        &[Key::ch('c')],
        "cancel run",
        Group::Job,
        true,
    ),
];

pub static LOGS: &[Binding] = &[
    bind(
        A::Up,
        &[Key::plain(K::Up), Key::ch('k')],
        "scroll up",
        Group::Navigation,
        false,
    ),
    bind(
        A::Down,
        &[Key::plain(K::Down), Key::ch('j')],
        "scroll down",
        Group::Navigation,
        false,
    ),
    bind(
        A::PageUp,
        &[Key::plain(K::PageUp), Key::ctrl('b')],
        "page up",
        Group::Navigation,
        false,
    ),
    bind(
        A::PageDown,
        &[Key::plain(K::PageDown), Key::ctrl('f')],
        "page down",
        Group::Navigation,
        false,
    ),
    bind(
        A::Top,
        &[Key::plain(K::Home), Key::ch('g')],
        "oldest line",
        Group::Navigation,
        false,
    ),
    bind(
        A::Bottom,
        &[Key::plain(K::End), Key::ch('G')],
        "follow",
        Group::Logs,
        true,
    ),
    bind(
        A::CycleLevel,
        &[Key::ch('l')],
        "level filter",
        Group::Logs,
        true,
    ),
];

/// Keys that work even while a popup is open (listed in help with [`GLOBAL`]).
pub static ALWAYS: &[Binding] = &[bind(
    A::Quit,
    &[Key::ctrl('c')],
    "quit",
    Group::General,
    false,
)];

/// The confirm popup.
pub static CONFIRM: &[Binding] = &[
    bind(
        A::Confirm,
        &[Key::ch('y'), Key::plain(K::Enter)],
        "yes, go ahead",
        Group::Popup,
        true,
    ),
    bind(
        A::Dismiss,
        &[Key::ch('n'), Key::plain(K::Esc)],
        "no, back out",
        Group::Popup,
        true,
    ),
];

/// The help overlay.
pub static HELP: &[Binding] = &[bind(
    A::Dismiss,
    &[
        Key::plain(K::Esc),
        Key::ch('q'),
        Key::ch('?'),
        Key::plain(K::F(1)),
    ],
    "close help",
    Group::Popup,
    true,
)];

/// The first binding in `tables` (searched in order) that `ev` triggers.
/// Every table with the scope it applies in, for the man page's KEYS section.
pub fn man_tables() -> &'static [(&'static str, &'static [Binding])] {
    static TABLES: &[(&str, &[Binding])] = &[
        ("Everywhere", GLOBAL),
        ("Jobs view", JOBS),
        ("Logs view", LOGS),
        ("Runs view", RUNS),
        ("Subscribers and deliveries views", LIST),
        ("Filter and command prompts", PROMPT),
        ("Confirmation", CONFIRM),
        ("Help", HELP),
    ];
    TABLES
}

pub fn lookup<'a>(tables: &[&'a [Binding]], ev: &KeyEvent, read_only: bool) -> Option<&'a Binding> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .filter(|b| !(read_only && b.action.is_mutating()))
        .find(|b| b.keys.iter().any(|k| k.matches(ev)))
}

/// The bindings of `tables` that are shown, in table order, without read-only ones hidden.
pub fn visible<'a>(tables: &[&'a [Binding]], read_only: bool) -> Vec<&'a Binding> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .filter(|b| !(read_only && b.action.is_mutating()))
        .collect()
}
