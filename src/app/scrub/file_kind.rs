//! How messages name a file that is not a regular file (a FIFO, a device,
//! a folder), which a scrub refuses.

use std::{fs, os::unix::fs::FileTypeExt};

/// How messages name the type of the `st_mode` `mode`; None for a regular
/// file.
pub(super) fn special_kind(mode: u32) -> Option<&'static str> {
    use rustix::fs::FileType;
    match FileType::from_raw_mode(mode as _) {
        FileType::RegularFile => None,
        FileType::Fifo => Some("FIFO"),
        FileType::CharacterDevice => Some("character device"),
        FileType::BlockDevice => Some("block device"),
        FileType::Socket => Some("socket"),
        FileType::Directory => Some("folder"),
        FileType::Symlink => Some("symbolic link"),
        _ => Some("special file"),
    }
}

/// How messages name a file type other than a regular file.
pub(crate) fn kind_name(kind: fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "FIFO"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_dir() {
        "folder"
    } else {
        "special file"
    }
}
