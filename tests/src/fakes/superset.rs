//! A fake SuperSet portal.
