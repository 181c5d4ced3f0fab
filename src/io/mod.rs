//! The I/O adapters: the engine behind `std::io::Write`, `std::io::Read`
//! and a `tracing-subscriber` writer factory. Nothing here opens a file.

mod reader;
#[cfg(feature = "tracing")]
mod tracing;
mod writer;

pub use reader::RedactReader;
#[cfg(feature = "tracing")]
pub use tracing::RedactMakeWriter;
pub use writer::RedactWriter;

/// Bytes read at a time. Large reads keep syscalls rare; this size still
/// fits the L2 cache, so the bytes are hot when the prefilter scans them.
pub const READ_SIZE: usize = 256 * 1024;
