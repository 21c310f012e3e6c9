//! What the screen shows: each view at common sizes, tiny terminals, colour, and the
//! redraw-only-on-change renderer.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use supersetd_proto::Access;

use super::fixtures::{everything, hello, jobs, sample_logs, status};
use super::*;
use crate::tui::msg::ConnEvent;
use crate::tui::render::Renderer;

fn connected_app() -> App {
    let mut app = app();
    feed(&mut app, everything());
    app
}

#[test]
fn overview_shows_process_store_and_services() {
    let app = connected_app();
    let s = screen(&app, 80, 24);
    assert_shows(&s, "connected · supersetd 0.1.0 · pid 4242 · up 3h 12m");
    assert_shows(&s, "pid 4242");
    assert_shows(&s, "rss 13.0 MiB");
    assert_shows(&s, "clients 2");
    assert_shows(&s, "embedded  healthy");
    assert_shows(&s, "/var/lib/supersetd/store.db");
    assert_shows(&s, "backoff");
    assert_shows(&s, "12m ago");
    assert_shows(&s, "disabled     12m ago    0        no jobs");
    // Devanagari with combining marks and an emoji, cut to the column but not mangled.
    assert_shows(&s, "त्रुटि");
    let wide = screen(&app, 200, 60);
    assert_shows(&wide, "त्रुटि: पोर्ट 8080 व्यस्त है 🚫");
}

#[test]
fn jobs_view_shows_schedule_next_last_and_active_runs() {
    let mut app = connected_app();
    feed(&mut app, [key('2')]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "update");
    assert_shows(&s, "0 0 * * * *");
    assert_shows(&s, "Asia/Kolkata");
    assert_shows(&s, "in 20m");
    assert_shows(&s, "failed");
    assert_shows(&s, "官方通知🎓");
    assert_shows(&s, "paused");
    assert_shows(&s, "#7");
    // The detail pane of the selected job carries its last error.
    assert_shows(&s, "error: 门户返回错误 503 😱");
    let wide = screen(&app, 200, 60);
    assert_shows(&wide, "failed 12.3s");
}

#[test]
fn logs_view_shows_lines_and_dropped_count() {
    let mut app = connected_app();
    feed(&mut app, [key('3')]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "12 lines dropped");
    assert_shows(&s, "following");
    assert_shows(&s, "INFO  supersetd::pipeline: fetched items=3 new=1");
    assert_shows(&s, "聊天 🚀");
    assert_shows(&s, "सूचना भेजने में विफल");
}

#[test]
fn every_view_and_popup_draws_at_any_size_without_panicking() {
    let widths = [0, 1, 2, 5, 10, 20, 39, 40, 41, 60, 80, 120, 200];
    let heights = [0, 1, 2, 3, 5, 9, 10, 11, 15, 24, 60];
    for view in ['1', '2', '3', '4', '5', '6', '7'] {
        for popup in [None, Some('?'), Some('c'), Some('/'), Some(':')] {
            let mut app = connected_app();
            feed(&mut app, [key(view)]);
            if let Some(k) = popup {
                feed(&mut app, [key(k)]);
            }
            for w in widths {
                for h in heights {
                    draw_buffer(&app, w, h);
                }
            }
        }
    }
    // And before any data arrived.
    for w in widths {
        for h in heights {
            draw_buffer(&app(), w, h);
        }
    }
}

#[test]
fn small_terminals_get_a_notice() {
    let app = connected_app();
    let s = screen(&app, 20, 5);
    assert_shows(&s, "terminal too small");
    assert_shows(&s, "(need 40×10)");
    assert_shows(&screen(&app, 39, 24), "terminal too small (need 40×10)");
    assert_shows(&screen(&app, 80, 9), "terminal too small (need 40×10)");
    assert_eq!(screen(&app, 1, 1), "t\n");
    assert_hides(&screen(&app, 40, 10), "too small");
}

#[test]
fn header_tells_connecting_reconnecting_and_incompatible_apart() {
    let mut app = app();
    assert_shows(&screen(&app, 100, 24), &format!("connecting to {SOCKET}…"));
    let error = Some("cannot reach supersetd: connection refused".to_owned());
    feed(
        &mut app,
        [Msg::Conn(ConnEvent::Connecting {
            attempt: 3,
            last_error: error,
        })],
    );
    let s = screen(&app, 120, 24);
    assert_shows(&s, &format!("reconnecting to {SOCKET} (attempt 3)…"));
    assert_shows(&s, "connection refused");
    let text = "incompatible daemon version: supersetd 0.2.0 speaks protocol 2, this client speaks 1; upgrade the older side";
    feed(
        &mut app,
        [Msg::Conn(ConnEvent::Incompatible(text.to_owned()))],
    );
    let s = screen(&app, 80, 24);
    assert_shows(&s, "incompatible daemon at");
    assert_shows(&s, "upgrade the older side");
    assert_shows(&screen(&app, 200, 24), text);
    // Slow retries do not hide the cause.
    let retry = Some(text.to_owned());
    feed(
        &mut app,
        [Msg::Conn(ConnEvent::Connecting {
            attempt: 1,
            last_error: retry,
        })],
    );
    assert_shows(&screen(&app, 80, 24), "incompatible daemon at");
    feed(&mut app, [hello(Access::Operator), status()]);
    assert_shows(&screen(&app, 80, 24), "connected");
}

#[test]
fn no_color_means_no_colour_at_all() {
    let mut plain = app_with(false, Theme::plain());
    let mut coloured = app_with(false, Theme { is_color: true });
    for app in [&mut plain, &mut coloured] {
        feed(app, everything());
        feed(app, [key('2')]);
    }
    let is_coloured = |c: &ratatui::buffer::Cell| c.fg != Color::Reset || c.bg != Color::Reset;
    assert!(
        !draw_buffer(&plain, 80, 24)
            .content()
            .iter()
            .any(is_coloured)
    );
    assert!(
        draw_buffer(&coloured, 80, 24)
            .content()
            .iter()
            .any(is_coloured)
    );
}

#[test]
fn renderer_writes_only_when_the_screen_changes() {
    let mut app = connected_app();
    let mut terminal = match Terminal::new(TestBackend::new(80, 24)) {
        Ok(t) => t,
        Err(never) => match never {},
    };
    let mut renderer = Renderer::new();
    assert!(renderer.render(&mut terminal, &app).unwrap());
    // A tick a few seconds on, and the same status again: nothing visible changes.
    feed(
        &mut app,
        [
            Msg::Tick(now() + chrono::Duration::seconds(5)),
            status(),
            jobs(),
            sample_logs(),
        ],
    );
    assert!(!renderer.render(&mut terminal, &app).unwrap());
    feed(&mut app, [key('2')]);
    assert!(renderer.render(&mut terminal, &app).unwrap());
    assert_shows(&screen_of(terminal.backend().buffer()), "官方通知🎓");
    renderer.invalidate();
    assert!(renderer.render(&mut terminal, &app).unwrap());
}

#[test]
fn runs_view_shows_history_steps_and_errors() {
    let mut app = connected_app();
    feed(&mut app, [key('4')]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "#9");
    assert_shows(&s, "官方通知🎓");
    assert_shows(&s, "cancelled");
    assert_shows(&s, "Run #9 steps");
    assert_shows(&s, "notices_new=3");
    assert_shows(&s, "error: 门户返回错误 503 😱");
    assert_shows(&s, "error: डिलीवरी विफल 🚫");
    let wide = screen(&app, 200, 60);
    assert_shows(&wide, "12.3s");
    assert_shows(&screen(&app, 20, 5), "terminal too small");
    assert_eq!(screen(&app, 1, 1), "t\n");
}

#[test]
fn subscribers_view_aligns_names_in_any_script() {
    let mut app = connected_app();
    feed(&mut app, [key('5')]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "2 active of 3");
    assert_shows(&s, "आशा");
    assert_shows(&s, "王小明");
    assert_shows(&s, "Ravi 🎓");
    assert_shows(&s, "@asha_k");
    // The username column starts at the same display column on every row, whatever the
    // width of the name before it.
    let col = |needle: &str| {
        s.lines()
            .find(|l| l.contains(needle))
            .map(|l| Span::raw(&l[..l.find(needle).unwrap()]).width())
    };
    assert_eq!(col("@asha_k"), col("@ravi"));
    assert_eq!(col("@asha_k"), col("-     "));
    assert_shows(&screen(&app, 200, 60), "Ravi 🎓");
    assert_shows(&screen(&app, 20, 5), "terminal too small");
    assert_eq!(screen(&app, 1, 1), "t\n");
}

#[test]
fn deliveries_view_shows_notices_and_the_selected_ones_ledger() {
    let mut app = connected_app();
    feed(&mut app, [key('6')]);
    let s = screen(&app, 80, 24);
    assert_shows(&s, "भर्ती अभियान: Acme 🚀");
    assert_shows(&s, "校园招聘 Globex");
    assert_shows(&s, "Deliveries · 1 sent of 2");
    assert_shows(&s, "user:1003");
    assert_shows(&s, "blocked");
    assert_shows(&s, "Forbidden: bot was blocked by the user 🙅");
    assert_shows(&screen(&app, 200, 60), "user:1001");
    assert_shows(&screen(&app, 20, 5), "terminal too small");
    assert_eq!(screen(&app, 1, 1), "t\n");
}

#[test]
fn audit_view_shows_who_did_what_and_refusals() {
    let mut app = connected_app();
    feed(&mut app, [key('7')]);
    let s = screen(&app, 100, 24);
    assert_shows(&s, "ops (1000)");
    assert_shows(&s, "pause_job");
    assert_shows(&s, "官方通知🎓");
    assert_shows(&s, "permission denied");
    assert_shows(&s, "ok");
    assert_shows(
        &screen(&app, 200, 60),
        "permission denied: uid 1002 (विवेक) may only read",
    );
    assert_shows(&screen(&app, 80, 24), "Operator actions");
    assert_shows(&screen(&app, 20, 5), "terminal too small");
    assert_eq!(screen(&app, 1, 1), "t\n");
}
