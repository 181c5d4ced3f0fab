//! The I/O adapters: the engine behind `std::io::Write`, `std::io::Read`
//! and a `tracing-subscriber` writer factory. Nothing here opens a file.

mod reader;
mod retry;
#[cfg(feature = "tracing")]
mod tracing;
mod writer;

pub use reader::RedactReader;
// For the application's readers (the `cli` feature).
#[cfg(feature = "cli")]
pub use retry::READ_SIZE;
#[cfg(feature = "cli")]
pub(crate) use retry::read_retrying;
#[cfg(feature = "tracing")]
pub use tracing::RedactMakeWriter;
pub use writer::RedactWriter;
