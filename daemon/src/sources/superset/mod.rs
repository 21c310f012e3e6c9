//! The SuperSet placement portal: login, notices, job profiles.
