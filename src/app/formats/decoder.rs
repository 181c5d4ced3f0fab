//! Reading a format's content: each format's decoder, set up with
//! phx-redact's memory limits and with a hand on what its library would
//! step over unseen (the metadata scanner gets that).

use std::{
    io::{self, BufRead, Read},
    rc::Rc,
};

use crate::app::formats::format::Format;
use crate::app::formats::gzip_members::GzMembers;
use crate::app::formats::lz4_frames::Lz4Frames;
use crate::app::formats::meta_scan::MetaSink;
use crate::app::formats::pzstd_layout::PzstdLayout;
use crate::app::formats::xz::{XZ_MEMORY_MAX, XzLimited};
use crate::app::formats::zstd_frames::{ZSTD_WINDOW_LOG_MAX, ZstdFrames};

/// The decompressed bytes of `reader`, stored as `format`. The bytes
/// around the content that a decoder would step over unseen (gzip's header
/// fields, skippable frames) go to `meta`, to be scanned; a decoder that
/// would need more memory than phx-redact allows fails with an
/// [`OverLimit`](crate::app::formats::decode_errors::OverLimit) error.
///
/// # Errors
///
/// Those of setting up the zstd or xz decoder; `Unsupported` for a format
/// that cannot be read.
pub(crate) fn decoder<'a, R: BufRead + 'a>(
    format: Format,
    reader: R,
    meta: &MetaSink,
) -> io::Result<Box<dyn Read + 'a>> {
    let meta = Rc::clone(meta);
    Ok(match format {
        Format::Plain => Box::new(reader),
        Format::Gzip => Box::new(GzMembers::new(reader, meta)),
        // libzstd steps over skippable frames and reads on past each frame.
        Format::Zstd => {
            let walked = PzstdLayout::new(ZstdFrames::new(reader, meta));
            let mut decoder = zstd::stream::read::Decoder::new(walked)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Box::new(decoder)
        }
        Format::Xz => {
            let stream = liblzma::stream::Stream::new_stream_decoder(
                XZ_MEMORY_MAX,
                liblzma::stream::CONCATENATED,
            )?;
            Box::new(XzLimited(liblzma::bufread::XzDecoder::new_stream(reader, stream)))
        }
        Format::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(reader)),
        Format::Lz4 => Box::new(Lz4Frames::new(reader, meta)),
        Format::Unsupported(name) => {
            return Err(io::Error::new(io::ErrorKind::Unsupported, format!("{name} data")));
        }
    })
}
