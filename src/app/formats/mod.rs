//! Compressed inputs and outputs, recognised by their magic bytes, never by
//! file name: gzip (multi-member too), zstd (pzstd's skippable frames too),
//! xz, bzip2 and lz4 frames, several streams or frames one after another
//! included, as logrotate and the parallel compressors write them.
//!
//! Any other compressed or archive format that can be told by its magic
//! (zip, 7z, rar, lzip, lzma, compress, lzop, ...) is
//! [`Format::Unsupported`]: its bytes are never scanned as text, for they
//! would look clean whatever they hold, and never rewritten.
//!
//! - [`format`]: the [`Format`] enum, and the error a failure to read one
//!   becomes; [`sniff`]: telling it by the first bytes.
//! - [`decoder`](mod@decoder): reading each format, within memory limits
//!   ([`decode_errors`]): gzip members with their header fields
//!   ([`gzip_members`]), zstd frames walked ([`zstd_frames`],
//!   [`pzstd_layout`]), [`xz`], bzip2, lz4 frames ([`lz4_frames`]); what a
//!   library steps over unseen goes to the [`meta_scan`]ner.
//! - [`encoder`]: writing it back, gzip in parallel blocks
//!   ([`gzip_blocks`]).
//! - [`nesting`]: what decompressed content holds that cannot be rewritten
//!   or checked as text (archives, read by [`tar_header`], their members
//!   stored compressed, binary data).

mod decode_errors;
mod decoder;
mod encoder;
mod format;
pub(crate) mod gzip_blocks;
mod gzip_members;
mod lz4_frames;
pub(crate) mod meta_scan;
mod nesting;
mod pzstd_layout;
mod sniff;
mod tar_header;
mod xz;
mod zstd_frames;

pub(crate) use decoder::decoder;
pub use encoder::{Encoder, Levels};
pub use format::Format;
pub use gzip_blocks::GZIP_BLOCK;
pub(crate) use nesting::{Archive, MemberWalk};
pub use nesting::{BINARY_HEAD, framed};
pub use sniff::SNIFF_MAX;
