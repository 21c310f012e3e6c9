//! Pieces drawn around and over the views: the header, tab bar and footer ([`chrome`]), the
//! help overlay and confirm popup ([`popup`]), and text formatting ([`format`]).

pub mod chrome;
pub mod format;
pub mod list;
pub mod popup;

use ratatui::layout::Rect;

/// A `width`×`height` rectangle centred in `area`, shrunk to fit it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
