//! One integration-test crate (as ripgrep does), to keep link time down.

mod batch;
mod common;
mod engine;
mod filter_cli;
mod follow;
