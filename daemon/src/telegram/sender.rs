//! The Bot API implementation of [`Sender`](super::Sender) on teloxide.
