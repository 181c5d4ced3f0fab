//! The command line: arguments and the configuration they become, the
//! exit statuses, and the message printer.

pub mod args;
pub mod config;
pub mod exit_codes;
pub mod man;
pub mod messages;

pub use args::Args;
pub use config::Config;
