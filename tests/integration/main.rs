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
mod floor_plan;
mod follow;
mod formats_nested;
mod formats_read_write;
mod formats_stdin;
mod formats_tools;
mod formats_unreadable;
mod hidden_fields;
mod io_paths;
mod key_list;
mod library_io;
mod messages;
mod parallel_archive;
mod rules;
mod rules_cli;
mod scrub_safety;
