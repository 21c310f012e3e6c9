//! Turning a portal notice into the Telegram message students read.
