//! Reading a small configuration file whole (a rules file, a fingerprint
//! key), safely: bounded, and only from a regular file.

/// Reads a small configuration file (rules, a key) whole: at most `limit`
/// bytes, and only from a regular file, so that a FIFO or `/dev/zero`
/// named by mistake fails at once instead of blocking or eating memory.
pub(crate) fn read_small_file(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let not_regular = || Error::new(ErrorKind::InvalidInput, "not a regular file");
    // Checked before opening too: opening a FIFO blocks until a writer
    // comes.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {} KiB", limit / 1024),
        ));
    }
    Ok(bytes)
}
