//! LZ4 frames read one after another, as the lz4 tool writes several
//! files into one, the payloads of skippable frames passed to the metadata
//! scanner, and a frame cut short called so.

use std::io::{self, BufRead, Read};

use crate::app::formats::decode_errors::truncated;
use crate::app::formats::meta_scan::MetaSink;

/// LZ4 frames one after another, skippable ones stepped over.
///
/// lz4_flex's decoder ends its stream at the end of each frame, and also
/// when its input ends between two blocks of a frame, where the input was
/// cut short. So this reads on while input is left, and calls the end of
/// input inside a frame what it is.
pub(crate) struct Lz4Frames<R: BufRead> {
    decoder: lz4_flex::frame::FrameDecoder<DryWatch<R>>,
    meta: MetaSink,
}

/// A reader that remembers whether it was ever asked for bytes it did not
/// have: only a frame cut short asks past the end.
struct DryWatch<R> {
    inner: R,
    ran_dry: bool,
}

impl<R: Read> Read for DryWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ran_dry |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl<R: BufRead> Lz4Frames<R> {
    pub(crate) fn new(inner: R, meta: MetaSink) -> Lz4Frames<R> {
        let watch = DryWatch { inner, ran_dry: false };
        Lz4Frames { decoder: lz4_flex::frame::FrameDecoder::new(watch), meta }
    }

    /// Passes a skippable frame's `len` bytes of payload to the metadata
    /// scanner as they come.
    fn skip(&mut self, mut len: u64) -> io::Result<()> {
        let mut meta = self.meta.borrow_mut();
        meta.start("lz4 skippable frame");
        let inner = &mut self.decoder.get_mut().inner;
        while len > 0 {
            let data = inner.fill_buf()?;
            if data.is_empty() {
                return Err(truncated("skippable frame"));
            }
            let n = data.len().min(usize::try_from(len).unwrap_or(usize::MAX));
            meta.feed(&data[..n]);
            inner.consume(n);
            len -= n as u64;
        }
        meta.end();
        Ok(())
    }
}

impl<R: BufRead> Read for Lz4Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.decoder.read(buf) {
                Ok(0) => {}
                Ok(n) => return Ok(n),
                Err(e) => {
                    // The decoder has read a skippable frame's header and
                    // leaves its content to us.
                    let skip = e.get_ref().and_then(|e| e.downcast_ref()).and_then(|e| match e {
                        lz4_flex::frame::Error::SkippableFrame(len) => Some(u64::from(*len)),
                        _ => None,
                    });
                    let Some(len) = skip else { return Err(e) };
                    self.skip(len)?;
                    // A skippable frame may end the input (lz4 reads
                    // such a file): the decoder must not be asked for a
                    // frame that is not there.
                    if self.decoder.get_mut().inner.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    continue;
                }
            }
            let watch = self.decoder.get_mut();
            if watch.ran_dry {
                return Err(truncated("lz4 frame"));
            }
            if watch.inner.fill_buf()?.is_empty() {
                return Ok(0);
            }
            // Another frame follows.
        }
    }
}
