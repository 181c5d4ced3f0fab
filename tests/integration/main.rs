//! One integration-test crate (as ripgrep does), to keep link time down.

mod batch;
mod batch_hazards;
mod check_cli;
mod check_output;
mod cli_meta;
mod common;
mod decoder_limits;
mod diff_check;
mod docs;
mod engine;
mod filter_cli;
mod follow;
mod formats;
mod hidden_fields;
mod io_paths;
mod key_list;
mod library_io;
mod messages;
mod parallel_archive;
mod rules;
mod rules_cli;
mod scrub_links;
mod scrub_metadata;
mod scrub_safety;
