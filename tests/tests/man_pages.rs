//! The man pages in `man/` are generated from the clap definitions (plus each crate's
//! `MAN_SECTIONS` and, for the console, its keymap) and must be current: a change to a flag
//! that forgets the man page fails here, with the command that regenerates it.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use superset_console::tui::keymap;

const REGENERATE: &str = "UPDATE_MAN=1 cargo test -p supersetd-tests --test man_pages";

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("man")
}

/// Escape text for roff: backslashes, and a leading `.` or `'` that would read as a request.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    match escaped.chars().next() {
        Some('.' | '\'') => format!("\\&{escaped}"),
        _ => escaped,
    }
}

fn sections(sections: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (title, body) in sections {
        out.push_str(&format!(".SH \"{title}\"\n{}\n", roff_text(body)));
    }
    out
}

/// The console's KEYS section, from the same tables that dispatch keys and draw `?` help.
fn keys_section() -> String {
    let mut out = String::from(".SH KEYS\n");
    for (scope, table) in keymap::man_tables() {
        out.push_str(&format!(".SS \"{scope}\"\n"));
        for b in *table {
            out.push_str(&format!(
                ".TP\n\\fB{}\\fR\n{}\n",
                roff_text(&b.keys_text()),
                roff_text(b.label)
            ));
        }
    }
    out
}

/// Every subcommand on the one page, with its usage and its own arguments (clap_mangen would
/// point at a page per subcommand, which we do not ship).
fn commands_section(cmd: &clap::Command) -> String {
    let bin = cmd.get_name().to_owned();
    let mut out = String::from(".SH COMMANDS\n");
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut sub = sub.clone().bin_name(format!("{bin} {}", sub.get_name()));
        let usage = sub.render_usage().to_string();
        let usage = usage.trim_start_matches("Usage: ").trim();
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        out.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            roff_text(usage),
            roff_text(&about)
        ));
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_global_set() && !a.is_hide_set())
        {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let name = match arg.get_long() {
                Some(long) => format!("--{long}"),
                None => arg
                    .get_value_names()
                    .and_then(|v| v.first().map(|n| n.to_string()))
                    .unwrap_or_else(|| id.to_uppercase()),
            };
            let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
            let values: Vec<String> = arg
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_owned())
                .collect();
            let values = if values.is_empty() {
                String::new()
            } else {
                format!(" [{}]", values.join(", "))
            };
            out.push_str(&format!(
                ".RS\n.TP\n{}\n{}{}\n.RE\n",
                roff_text(&name),
                roff_text(&help),
                roff_text(&values)
            ));
        }
    }
    out
}

fn render(cmd: clap::Command, section: &str, extra: String) -> String {
    let has_subcommands = cmd.has_subcommands();
    let cmd_for_commands = cmd.clone();
    let man = clap_mangen::Man::new(cmd)
        .section(section)
        .manual("supersetd manual")
        .source(format!("supersetd {}", env!("CARGO_PKG_VERSION")));
    let mut buf = Vec::new();
    man.render_title(&mut buf).unwrap();
    man.render_name_section(&mut buf).unwrap();
    man.render_synopsis_section(&mut buf).unwrap();
    man.render_description_section(&mut buf).unwrap();
    man.render_options_section(&mut buf).unwrap();
    let mut text = String::from_utf8(buf).unwrap();
    if has_subcommands {
        text.push_str(&commands_section(&cmd_for_commands));
    }
    text.push_str(&extra);
    text
}

fn pages() -> Vec<(&'static str, String)> {
    vec![
        (
            "supersetd.8",
            render(
                supersetd::lifecycle::Cli::command(),
                "8",
                sections(supersetd::lifecycle::MAN_SECTIONS),
            ),
        ),
        (
            "supersetctl.1",
            render(
                superset_console::cli::Cli::command(),
                "1",
                sections(superset_console::cli::MAN_SECTIONS),
            ),
        ),
        (
            "superset-console.1",
            render(
                superset_console::tui::ConsoleArgs::command(),
                "1",
                keys_section() + &sections(superset_console::tui::MAN_SECTIONS),
            ),
        ),
    ]
}

#[test]
fn man_pages_are_current() {
    let update = std::env::var_os("UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (name, text) in pages() {
        let path = man_dir().join(name);
        if update {
            std::fs::create_dir_all(man_dir()).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "man pages out of date: {stale:?}; regenerate them with `{REGENERATE}` and commit man/"
    );
}

#[test]
fn the_pages_cover_every_command_and_key() {
    let pages = pages();
    let ctl = &pages[1].1;
    for word in [
        "mark\\-sent",
        "deliveries",
        "broadcast",
        "audit",
        "EXIT STATUS",
        "JSON OUTPUT",
        "completions",
    ] {
        assert!(ctl.contains(word), "supersetctl.1 lacks {word}");
    }
    assert!(pages[0].1.contains("check\\-config") && pages[0].1.contains("SIGNALS"));
    let console = &pages[2].1;
    assert!(
        console.contains(".SH KEYS") && console.contains("\\-\\-read\\-only"),
        "{console}"
    );
}
