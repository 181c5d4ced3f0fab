//! The command line: arguments and the configuration they become, and
//! the exit statuses.

pub mod args;
pub mod exit_codes;

pub use args::{Args, Config};
