//! Writing frames to the terminal only when they change.
//!
//! [`Renderer`] renders into an off-screen buffer first and writes to the terminal only when
//! that buffer differs from the last one written (or after a resize): an idle console sends
//! nothing over a slow SSH link, not even the cursor and colour resets ratatui emits on every
//! `draw`.

use ratatui::Terminal;
use ratatui::backend::{Backend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::TuiError;
use super::app::App;

/// Unwrap a result whose error cannot exist (the in-memory backend never fails).
fn infallible<T>(result: Result<T, std::convert::Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// Writes frames to the terminal only when they differ from the last one written.
pub struct Renderer {
    shadow: Terminal<TestBackend>,
    last: Option<Buffer>,
}

impl Default for Renderer {
    fn default() -> Renderer {
        Renderer::new()
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        let shadow = infallible(Terminal::new(TestBackend::new(1, 1)));
        Renderer { shadow, last: None }
    }

    /// Forget the last frame so the next render is written in full (after a resize).
    pub fn invalidate(&mut self) {
        self.last = None;
    }

    /// Render `app`; write to `terminal` only if something visible changed. Returns whether it
    /// wrote.
    pub fn render<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        app: &App,
    ) -> Result<bool, TuiError>
    where
        B::Error: Into<TuiError>,
    {
        let size = terminal.size().map_err(Into::into)?;
        if self.shadow.backend().buffer().area.as_size() != size {
            self.shadow.backend_mut().resize(size.width, size.height);
            infallible(
                self.shadow
                    .resize(Rect::from((ratatui::layout::Position::ORIGIN, size))),
            );
            self.last = None;
        }
        infallible(self.shadow.draw(|f| app.draw(f)));
        let current = self.shadow.backend().buffer();
        if self.last.as_ref() == Some(current) {
            return Ok(false);
        }
        self.last = Some(current.clone());
        terminal.draw(|f| app.draw(f)).map_err(Into::into)?;
        Ok(true)
    }
}
