//! Keys to actions to commands: the keymap table, popups, read-only mode and view switching.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use supersetd_proto::{Access, JobName, LogLevel};

use super::fixtures::{everything, hello, log_entry, logs};
use super::*;
use crate::tui::app::Popup;
use crate::tui::keymap::{self, Binding};
use crate::tui::msg::{ConnEvent, LogFilter};

fn connected_app() -> App {
    let mut app = app();
    feed(&mut app, everything());
    app
}

#[test]
fn p_on_the_jobs_view_pauses_the_selected_job() {
    let mut app = connected_app();
    assert_eq!(
        feed(&mut app, [key('2'), key('p')]),
        vec![Command::PauseJob(JobName::from("update"))]
    );
    assert_eq!(
        feed(&mut app, [key('j'), key('p')]),
        vec![Command::PauseJob(JobName::from("官方通知🎓"))]
    );
    assert_eq!(
        feed(&mut app, [code(KeyCode::Up), key('r')]),
        vec![Command::ResumeJob(JobName::from("update"))]
    );
    let run = Command::RunJob(JobName::from("update"));
    assert_eq!(
        feed(&mut app, [code(KeyCode::Enter), key('x')]),
        vec![run.clone(), run]
    );
}

#[test]
fn p_elsewhere_does_nothing() {
    let mut app = connected_app();
    assert!(feed(&mut app, [key('1'), key('p'), key('3'), key('p')]).is_empty());
}

#[test]
fn cancel_needs_confirmation() {
    let mut app = connected_app();
    // `c` only opens the popup; `n` closes it with nothing sent.
    assert!(feed(&mut app, [key('2'), key('j'), key('c')]).is_empty());
    assert!(matches!(app.popups(), [Popup::Confirm { .. }]));
    let s = screen(&app, 80, 24);
    assert_shows(&s, "cancel run 7 of job 官方通知🎓?");
    assert_shows(&s, "y/Enter yes, go ahead");
    // Other keys do nothing while it is open, including ones bound in the view.
    assert!(feed(&mut app, [key('p'), key('q')]).is_empty());
    assert!(!app.should_quit());
    assert!(feed(&mut app, [key('n')]).is_empty());
    assert!(app.popups().is_empty());
    // `y` lets the carried command through.
    let cancel = Command::CancelJob(JobName::from("官方通知🎓"));
    assert_eq!(feed(&mut app, [key('c'), key('y')]), vec![cancel.clone()]);
    assert_eq!(
        feed(&mut app, [key('c'), code(KeyCode::Enter)]),
        vec![cancel]
    );
    assert!(feed(&mut app, [key('c'), code(KeyCode::Esc)]).is_empty());
}

#[test]
fn read_only_hides_and_refuses_actions() {
    let mut app = app_with(true, Theme::plain());
    feed(&mut app, everything());
    assert!(feed(&mut app, [key('2'), key('p'), key('r'), key('x'), key('c')]).is_empty());
    assert!(app.popups().is_empty());
    let s = screen(&app, 80, 24);
    assert_shows(&s, "read-only");
    assert_hides(&s, "p pause");
    feed(&mut app, [key('?')]);
    let help = screen(&app, 80, 24);
    assert_shows(&help, "Help (read-only)");
    assert_hides(&help, "run now");
}

#[test]
fn viewer_access_makes_the_console_read_only() {
    let mut app = app();
    feed(&mut app, [hello(Access::Viewer)]);
    assert!(app.is_read_only());
    let commands = feed(&mut app, everything().into_iter().skip(1));
    assert!(commands.iter().all(|c| !c.is_mutating()), "{commands:?}");
    assert!(feed(&mut app, [key('2'), key('p')]).is_empty());
}

/// The help overlay, opened on each view, lists every binding in force there: global, the
/// view's own and the popups'.
#[test]
fn help_lists_every_binding() {
    for (view, table) in [
        ('1', keymap::OVERVIEW),
        ('2', keymap::JOBS),
        ('3', keymap::LOGS),
        ('4', keymap::RUNS),
        ('5', keymap::LIST),
        ('6', keymap::LIST),
        ('7', keymap::LIST),
    ] {
        let mut app = connected_app();
        feed(&mut app, [key(view), key('?')]);
        assert_eq!(app.popups(), &[Popup::Help]);
        let s = screen(&app, 80, 24);
        let all: Vec<&Binding> = [keymap::GLOBAL, table, keymap::HELP, keymap::CONFIRM]
            .iter()
            .flat_map(|t| t.iter())
            .collect();
        for b in all {
            assert_shows(&s, &format!("{}  ", b.keys_text()));
            assert_shows(&s, b.label);
        }
    }
}

#[test]
fn help_closes_without_quitting() {
    let mut app = connected_app();
    for close in [code(KeyCode::Esc), key('q'), key('?'), code(KeyCode::F(1))] {
        feed(&mut app, [code(KeyCode::F(1))]);
        assert_eq!(app.popups(), &[Popup::Help]);
        feed(&mut app, [close]);
        assert!(app.popups().is_empty());
        assert!(!app.should_quit());
    }
}

#[test]
fn footer_hints_come_from_the_keymap() {
    let mut app = connected_app();
    feed(&mut app, [key('2')]);
    let s = screen(&app, 120, 24);
    for b in keymap::GLOBAL
        .iter()
        .chain(keymap::JOBS)
        .filter(|b| b.is_hint)
    {
        assert_shows(&s, &format!("{} {}", b.keys_text(), b.label));
    }
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = connected_app();
    feed(&mut app, [key('q')]);
    assert!(app.should_quit());
    let mut app = connected_app();
    feed(
        &mut app,
        [Msg::Key(KeyEvent::new(
            KeyCode::Char('c'),
            KeyModifiers::CONTROL,
        ))],
    );
    assert!(app.should_quit());
}

#[test]
fn views_switch_by_number_and_tab() {
    let mut app = connected_app();
    assert_eq!(app.focused_title(), "Overview");
    feed(&mut app, [code(KeyCode::Tab)]);
    assert_eq!(app.focused_title(), "Jobs");
    for _ in 0..6 {
        feed(&mut app, [code(KeyCode::Tab)]);
    }
    assert_eq!(app.focused_title(), "Overview");
    feed(
        &mut app,
        [Msg::Key(KeyEvent::new(
            KeyCode::BackTab,
            KeyModifiers::SHIFT,
        ))],
    );
    assert_eq!(app.focused_title(), "Audit");
    feed(&mut app, [key('6')]);
    assert_eq!(app.focused_title(), "Deliveries");
    feed(&mut app, [key('4')]);
    assert_eq!(app.focused_title(), "Runs");
    feed(&mut app, [key('5')]);
    assert_eq!(app.focused_title(), "Subscribers");
    feed(&mut app, [key('3')]);
    assert_eq!(app.focused_title(), "Logs");
    feed(&mut app, [key('2')]);
    assert_eq!(app.focused_title(), "Jobs");
    feed(&mut app, [key('1')]);
    assert_eq!(app.focused_title(), "Overview");
}

#[test]
fn level_filter_restarts_the_tail_and_ignores_stale_batches() {
    let mut app = connected_app();
    let commands = feed(&mut app, [key('3'), key('l')]);
    assert_eq!(
        commands,
        vec![Command::TailLogs {
            filter: LogFilter {
                min_level: Some(LogLevel::Debug),
                run: None,
            }
        }]
    );
    let s = screen(&app, 80, 24);
    assert_shows(&s, "level ≥ DEBUG");
    assert_shows(&s, "no log lines yet");
    // A batch read under the old filter arrives late: ignored.
    feed(
        &mut app,
        [logs(
            None,
            vec![log_entry(13, LogLevel::Trace, "stale line")],
            0,
        )],
    );
    assert_hides(&screen(&app, 80, 24), "stale line");
    feed(
        &mut app,
        [logs(
            Some(LogLevel::Debug),
            vec![log_entry(20, LogLevel::Debug, "fresh line")],
            0,
        )],
    );
    assert_shows(&screen(&app, 80, 24), "fresh line");
    let cycle: Vec<Command> = feed(&mut app, [key('l'), key('l'), key('l'), key('l')]);
    let levels: Vec<_> = cycle
        .into_iter()
        .map(|c| match c {
            Command::TailLogs { filter } => filter.min_level,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        levels,
        vec![
            Some(LogLevel::Info),
            Some(LogLevel::Warn),
            Some(LogLevel::Error),
            None
        ]
    );
}

#[test]
fn scrolling_back_stops_following_and_g_resumes() {
    let mut app = connected_app();
    feed(&mut app, [key('3')]);
    let many: Vec<_> = (100..200)
        .map(|i| log_entry(i, LogLevel::Info, &format!("line {i}")))
        .collect();
    feed(&mut app, [logs(None, many, 0)]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "line 199");
    feed(&mut app, [key('k'), code(KeyCode::PageUp)]);
    let s = screen(&app, 80, 24);
    assert_hides(&s, "line 199");
    assert_shows(&s, "scrolled back");
    // New lines do not move what the operator is reading.
    let before = screen(&app, 80, 24);
    feed(
        &mut app,
        [logs(
            None,
            vec![log_entry(200, LogLevel::Info, "line 200")],
            0,
        )],
    );
    let after = screen(&app, 80, 24);
    let body = |s: &str| s.lines().skip(4).take(17).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&before), body(&after));
    feed(&mut app, [key('G')]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "line 200");
    assert_shows(&s, "following");
    feed(&mut app, [key('g')]);
    assert_shows(&screen(&app, 80, 24), "fetched items=3");
}

#[test]
fn command_outcomes_flash_in_the_footer_then_expire() {
    let mut app = connected_app();
    let done = ConnEvent::CommandDone {
        text: "paused update".into(),
        is_error: false,
    };
    feed(&mut app, [Msg::Conn(done)]);
    assert_shows(&screen(&app, 80, 24), "paused update");
    feed(&mut app, [Msg::Tick(now() + chrono::Duration::seconds(10))]);
    let s = screen(&app, 80, 24);
    assert_hides(&s, "paused update");
    assert_shows(&s, "?/F1 help");
}

#[test]
fn ctrl_c_quits_even_from_a_popup() {
    let ctrl_c = || Msg::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    for popup in ['?', 'c'] {
        let mut app = connected_app();
        feed(&mut app, [key('2'), key(popup)]);
        assert_eq!(app.popups().len(), 1);
        assert!(feed(&mut app, [ctrl_c()]).is_empty());
        assert!(app.should_quit());
    }
}

#[test]
fn under_the_size_notice_only_quitting_works() {
    let mut app = connected_app();
    feed(&mut app, [Msg::Resize(20, 5), key('?'), key('2'), key('p')]);
    assert!(app.popups().is_empty());
    assert_eq!(app.focused_title(), "Overview");
    feed(&mut app, [Msg::Resize(80, 24), key('?')]);
    assert_eq!(app.popups(), &[Popup::Help]);
    feed(&mut app, [Msg::Resize(20, 5), key('q')]);
    assert!(app.should_quit());
}

fn typed(text: &str) -> Vec<Msg> {
    text.chars().map(key).collect()
}

#[test]
fn colon_commands_go_through_the_same_gates_as_keys() {
    let mut app = connected_app();
    let mut msgs = vec![key(':')];
    msgs.extend(typed("pause official"));
    msgs.push(code(KeyCode::Enter));
    assert_eq!(feed(&mut app, msgs), [Command::PauseJob("official".into())]);
    let mut msgs = vec![key(':')];
    msgs.extend(typed("run updatx"));
    msgs.extend([code(KeyCode::Backspace), key('e'), code(KeyCode::Enter)]);
    assert_eq!(feed(&mut app, msgs), [Command::RunJob("update".into())]);
    // cancel asks first; nothing is sent until `y`.
    let mut msgs = vec![key(':')];
    msgs.extend(typed("cancel update"));
    msgs.push(code(KeyCode::Enter));
    assert!(feed(&mut app, msgs).is_empty());
    assert!(matches!(app.popups().last(), Some(Popup::Confirm { .. })));
    assert_eq!(
        feed(&mut app, [key('y')]),
        [Command::CancelJob("update".into())]
    );
    // A view by name, and a mistake reported in the footer.
    let mut msgs = vec![key(':')];
    msgs.extend(typed("runs"));
    msgs.push(code(KeyCode::Enter));
    feed(&mut app, msgs);
    assert_eq!(app.focused_title(), "Runs");
    let mut msgs = vec![key(':')];
    msgs.extend(typed("frob"));
    msgs.push(code(KeyCode::Enter));
    feed(&mut app, msgs);
    assert_shows(&screen(&app, 120, 24), "unknown command \"frob\"");
    // Esc closes without doing anything; q typed in a prompt is text, not quit.
    let mut msgs = vec![key(':'), key('q'), code(KeyCode::Esc)];
    msgs.push(key('2'));
    assert!(feed(&mut app, msgs).is_empty());
    assert!(!app.should_quit());
    assert_eq!(app.focused_title(), "Jobs");
}

#[test]
fn colon_commands_are_refused_when_read_only() {
    let mut app = app_with(true, Theme::plain());
    feed(&mut app, super::fixtures::everything());
    let mut msgs = vec![key(':')];
    msgs.extend(typed("run update"));
    msgs.push(code(KeyCode::Enter));
    assert!(feed(&mut app, msgs).is_empty());
    assert_shows(&screen(&app, 100, 24), "read-only");
}

#[test]
fn slash_filters_the_focused_view() {
    let mut app = connected_app();
    feed(&mut app, [key('5')]);
    let mut msgs = vec![key('/')];
    msgs.extend(typed("王"));
    assert_shows(&screen(app_after(&mut app, msgs), 80, 24), "/王");
    feed(&mut app, [code(KeyCode::Enter)]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "王小明");
    assert_hides(&s, "आशा");
    assert_shows(&s, "filter \"王\"");
    // An empty filter shows everything again.
    feed(&mut app, [key('/'), code(KeyCode::Enter)]);
    assert_shows(&screen(&app, 80, 24), "आशा");
    // In the logs view it searches the lines held.
    feed(&mut app, [key('3'), key('/')]);
    feed(&mut app, typed("429"));
    feed(&mut app, [code(KeyCode::Enter)]);
    let s = screen(&app, 100, 24);
    assert_shows(&s, "聊天 🚀");
    assert_hides(&s, "fetched items=3");
}

#[test]
fn moving_in_the_deliveries_view_asks_for_that_notices_ledger() {
    let mut app = connected_app();
    feed(&mut app, [key('6')]);
    assert_eq!(
        feed(&mut app, [key('j')]),
        [Command::FetchDeliveries("n1".into())]
    );
    assert!(
        feed(&mut app, [key('j')]).is_empty(),
        "already at the last notice"
    );
    let refreshed = feed(&mut app, [super::fixtures::notices()]);
    assert_eq!(
        refreshed,
        [Command::FetchDeliveries("n1".into())],
        "a refresh reloads the selection"
    );
}

fn app_after(app: &mut App, msgs: Vec<Msg>) -> &App {
    feed(app, msgs);
    app
}

#[test]
fn enter_on_a_run_follows_its_logs_and_follow_alone_returns_to_all() {
    let mut app = connected_app();
    let commands = feed(&mut app, [key('4'), code(KeyCode::Enter)]);
    let run9 = LogFilter {
        min_level: None,
        run: Some(supersetd_proto::RunId(9)),
    };
    assert_eq!(commands, [Command::TailLogs { filter: run9 }]);
    assert_eq!(app.focused_title(), "Logs");
    assert_shows(&screen(&app, 100, 24), "run #9 (:follow for all)");
    // Lines of the old, unfiltered tail that arrive late are not shown as the run's.
    feed(
        &mut app,
        [logs(
            None,
            vec![log_entry(30, LogLevel::Info, "other run")],
            0,
        )],
    );
    assert_hides(&screen(&app, 100, 24), "other run");
    let mut msgs = vec![key(':')];
    msgs.extend(typed("follow"));
    msgs.push(code(KeyCode::Enter));
    assert_eq!(
        feed(&mut app, msgs),
        [Command::TailLogs {
            filter: LogFilter::default()
        }]
    );
}
