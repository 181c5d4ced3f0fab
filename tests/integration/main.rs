//! One integration-test crate (as ripgrep does), to keep link time down.

mod batch;
mod check_cli;
mod cli_meta;
mod common;
mod decoder_limits;
mod diff_check;
mod docs;
mod engine;
mod filter_cli;
mod follow_copytruncate;
mod follow_harness;
mod follow_inputs;
mod follow_lines;
mod follow_rotation;
mod follow_signals;
mod follow_state;
mod formats;
mod hidden_fields;
mod io_paths;
mod key_list;
mod library_io;
mod messages;
mod parallel_archive;
mod rules;
mod rules_cli;
mod scrub_safety;
