//! A selection in a filtered list, shared by the list views (runs, subscribers, notices).
//!
//! Views keep their rows and a [`ListCursor`]; the cursor knows nothing of what the rows are,
//! only how many match the filter, so the same navigation keys behave the same everywhere.

use chrono::{DateTime, Utc};

use crate::tui::keymap::Action;
use crate::tui::msg::Msg;

/// The selected row among `len` visible ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListCursor {
    pub selected: usize,
}

impl ListCursor {
    /// Apply a navigation action over `len` rows with pages of `page`; true if it was one.
    pub fn act(&mut self, action: Action, len: usize, page: usize) -> bool {
        let last = len.saturating_sub(1);
        let page = page.max(1);
        self.selected = match action {
            Action::Up => self.selected.saturating_sub(1),
            Action::Down => self.selected + 1,
            Action::PageUp => self.selected.saturating_sub(page),
            Action::PageDown => self.selected + page,
            Action::Top => 0,
            Action::Bottom => last,
            _ => return false,
        }
        .min(last);
        true
    }

    /// Keep the cursor inside a list that shrank.
    pub fn clamp(&mut self, len: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
    }
}

/// What every filtered list view keeps besides its rows (the time for "ago" columns, the
/// filter, the selection, the page height, the last request error), and the messages that mean
/// the same in all of them, handled once here.
#[derive(Debug, Clone)]
pub struct ListFrame {
    pub now: DateTime<Utc>,
    pub filter: String,
    pub cursor: ListCursor,
    pub page: usize,
    pub error: Option<String>,
    /// Terminal rows that are not list rows (tabs, header, status line, the view's own panes).
    chrome_rows: u16,
}

/// What a list view still has to do with a message after [`ListFrame::update`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListEvent {
    /// Fully handled (time, size or filter changed).
    Done,
    /// A navigation key: move the cursor over the view's visible rows.
    Navigate(Action),
    /// Not a list message: the view's own.
    Other,
}

impl ListFrame {
    pub fn new(now: DateTime<Utc>, chrome_rows: u16) -> ListFrame {
        ListFrame {
            now,
            filter: String::new(),
            cursor: ListCursor::default(),
            page: 10,
            error: None,
            chrome_rows,
        }
    }

    pub fn update(&mut self, msg: &Msg) -> ListEvent {
        match msg {
            Msg::Tick(now) => self.now = *now,
            Msg::Resize(_, h) => self.page = usize::from(h.saturating_sub(self.chrome_rows)),
            Msg::Filter(text) => {
                self.filter = text.clone();
                self.cursor = ListCursor::default();
            }
            Msg::Action(action) => return ListEvent::Navigate(*action),
            _ => return ListEvent::Other,
        }
        ListEvent::Done
    }

    /// Move over `len` visible rows.
    pub fn navigate(&mut self, action: Action, len: usize) {
        self.cursor.act(action, len, self.page);
    }

    /// Fresh rows arrived: the error is over, and the selection stays inside `len` rows.
    pub fn loaded(&mut self, len: usize) {
        self.error = None;
        self.cursor.clamp(len);
    }
}

/// Case-insensitive: does any of `fields` contain `filter` (empty matches everything)?
pub fn matches(filter: &str, fields: &[&str]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let needle = filter.to_lowercase();
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_within_bounds() {
        let mut c = ListCursor::default();
        c.act(Action::Up, 3, 10);
        assert_eq!(c.selected, 0);
        c.act(Action::PageDown, 3, 10);
        assert_eq!(c.selected, 2);
        assert!(!c.act(Action::Help, 3, 10));
        c.clamp(1);
        assert_eq!(c.selected, 0);
        c.act(Action::Bottom, 0, 10);
        assert_eq!(c.selected, 0);
    }

    #[test]
    fn filters_ignore_case_and_handle_wide_text() {
        assert!(matches("", &["x"]));
        assert!(matches("UPD", &["update"]));
        assert!(matches("官方", &["官方通知🎓"]));
        assert!(!matches("zzz", &["update", "failed"]));
    }
}
