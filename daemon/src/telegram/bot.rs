//! The student-facing bot: `/start`, `/stop`, `/status`, `/help` over long polling.
