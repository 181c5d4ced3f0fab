//! The command line: arguments and the configuration they become, the
//! exit statuses, the message printer, and one runner per job. Its one
//! public item is [`main`], which the binary calls.

pub(crate) mod args;
pub(crate) mod checks;
pub(crate) mod config;
pub(crate) mod exit_codes;
mod jobs;
pub(crate) mod man;
pub(crate) mod messages;
mod run;
pub(crate) mod verify_args;
mod verify_run;

pub(crate) use args::Args;
pub(crate) use config::Config;
pub use run::main;
