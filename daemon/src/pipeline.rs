//! The jobs' steps as plain functions over the store, the sources and the sender.
