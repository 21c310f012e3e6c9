//! The keymap table on its own: both key styles dispatch, read-only filtering, no clashes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::tui::keymap::*;

use Action as A;
use KeyCode as K;

fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

#[test]
fn arrows_and_vim_keys_both_dispatch() {
    let up = lookup(&[JOBS], &key(K::Up, KeyModifiers::NONE), false).map(|b| b.action);
    let k = lookup(&[JOBS], &key(K::Char('k'), KeyModifiers::NONE), false).map(|b| b.action);
    assert_eq!(up, Some(A::Up));
    assert_eq!(k, Some(A::Up));
    let shifted_g =
        lookup(&[LOGS], &key(K::Char('G'), KeyModifiers::SHIFT), false).map(|b| b.action);
    assert_eq!(shifted_g, Some(A::Bottom));
}

#[test]
fn ctrl_c_quits_but_plain_c_cancels() {
    let ctrl_c = lookup(
        &[GLOBAL, JOBS],
        &key(K::Char('c'), KeyModifiers::CONTROL),
        false,
    );
    assert_eq!(ctrl_c.map(|b| b.action), Some(A::Quit));
    let c = lookup(
        &[GLOBAL, JOBS],
        &key(K::Char('c'), KeyModifiers::NONE),
        false,
    );
    assert_eq!(c.map(|b| b.action), Some(A::CancelJob));
}

#[test]
fn read_only_hides_and_refuses_mutations() {
    assert!(lookup(&[JOBS], &key(K::Char('p'), KeyModifiers::NONE), true).is_none());
    assert!(
        visible(&[JOBS], true)
            .iter()
            .all(|b| !b.action.is_mutating())
    );
}

#[test]
fn no_key_is_bound_twice_in_one_scope() {
    for scope in [
        &[CONFIRM, ALWAYS][..],
        &[HELP, ALWAYS],
        &[GLOBAL, OVERVIEW][..],
        &[GLOBAL, JOBS],
        &[GLOBAL, LOGS],
        &[GLOBAL, LIST],
        &[GLOBAL, RUNS],
        &[PROMPT, ALWAYS],
        &[CONFIRM],
        &[HELP],
    ] {
        let keys: Vec<Key> = scope
            .iter()
            .flat_map(|t| t.iter())
            .flat_map(|b| b.keys.iter().copied())
            .collect();
        for (i, a) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(a), "{} bound twice", a.display());
        }
    }
}
