//! The application: the drivers around the engine. Inputs and their
//! compression, the filter, the in-place scrub, batch runs, the audit
//! (`--check`), follow mode, directory walks, sample logs and the
//! redaction policy for messages.

pub mod atomic;
pub mod batch;
pub mod check;
pub mod compress;
pub mod diff_check;
pub mod filter;
pub mod follow;
mod gzip_blocks;
mod gzip_members;
pub mod inputs;
pub mod keys;
mod meta_scan;
pub mod policy;
pub mod readahead;
pub mod sample;
pub mod scrub;
pub mod segments;
pub mod stdio;
pub mod walk;
mod zstd_frames;
