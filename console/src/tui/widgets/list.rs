//! A selection in a filtered list, shared by the list views (runs, subscribers, notices).
//!
//! Views keep their rows and a [`ListCursor`]; the cursor knows nothing of what the rows are,
//! only how many match the filter, so the same navigation keys behave the same everywhere.

use crate::tui::keymap::Action;

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
