//! Colours, limited to the 16-colour ANSI palette so the TUI looks the same in any terminal
//! and over any SSH client, and switched off entirely when `NO_COLOR` is set
//! (<https://no-color.org>). Emphasis that carries meaning without colour (the selected row)
//! uses reverse video, which survives `NO_COLOR`.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub is_color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme {
            is_color: !no_color,
        }
    }

    pub const fn plain() -> Theme {
        Theme { is_color: false }
    }

    fn fg(self, color: Color) -> Style {
        if self.is_color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray)
    }
    pub fn accent(self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn title(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn header(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
}
