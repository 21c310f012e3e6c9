//! The views behind the tabs. Each owns its state and follows the same three-method shape:
//! `update` (pure: a [`Msg`] in, maybe a [`Command`] out), `draw` (read-only) and `bindings`
//! (its rows of the keymap). `App` routes to them and never reaches into their state.

pub mod audit;
pub mod deliveries;
pub mod jobs;
pub mod logs;
pub mod overview;
pub mod runs;
pub mod subscribers;

use ratatui::Frame;
use ratatui::layout::Rect;

use super::keymap::Binding;
use super::msg::{Command, Msg};

pub trait View {
    /// The tab label.
    fn title(&self) -> &'static str;
    /// React to a message. Daemon replies reach every view; actions only the focused one.
    fn update(&mut self, msg: &Msg) -> Option<Command>;
    /// Draw into `area`. Must not panic at any size, including zero.
    fn draw(&self, frame: &mut Frame, area: Rect);
    /// The view's own keymap rows (global ones are added by `App`).
    fn bindings(&self) -> &'static [Binding];
}
