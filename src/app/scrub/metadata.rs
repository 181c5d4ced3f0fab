//! What a scrubbed copy keeps of the original: owner and group, extended
//! attributes (ACLs included), mode bits and times, or the file is refused.

use std::{
    ffi::{OsStr, OsString},
    fs::{self, File, FileTimes},
    io,
    os::unix::fs::MetadataExt,
};

use xattr::FileExt;

use crate::app::Error;
use crate::app::refusal::Refusal;

/// Gives `file` the owner, group, extended attributes (ACLs included),
/// permissions and times of `like`, the metadata of `original`.
///
/// The order matters: a chown clears the setuid and setgid bits and file
/// capabilities, and an ACL sets the group bits, so the owner goes first,
/// then the attributes, then the mode.
///
/// In place (`keep_owner`), the owner and group are kept or the file is
/// refused: a user who may rename in the folder but does not own the file
/// (or is not in its group) would otherwise take it over, and shut out the
/// group that read it. A mirror's copy is a new file: it is the runner's
/// where the owner cannot be given, unless it is setuid or setgid, which
/// would then be theirs.
pub(super) fn copy_metadata(
    file: &File,
    original: &File,
    like: &fs::Metadata,
    keep_owner: bool,
) -> Result<(), Error> {
    let refuse = |what: &str, source: io::Error| {
        Error::Refused(Refusal::Metadata { what: what.to_string(), source })
    };
    let special = like.mode() & 0o6000;
    match std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid())) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && keep_owner => {
            let what = format!("owner and group ({}:{})", like.uid(), like.gid());
            return Err(refuse(&what, e));
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && special != 0 => {
            return Err(refuse("setuid/setgid owner and group", e));
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
        other => other.map_err(Error::Write)?,
    }
    copy_xattrs(file, original)?;
    file.set_permissions(like.permissions()).map_err(Error::Write)?;
    // The kernel may drop setgid quietly (a group the caller is not in).
    let mode = file.metadata().map_err(Error::Write)?.mode();
    if mode & 0o7777 != like.mode() & 0o7777 {
        let e =
            io::Error::other(format!("mode {:o} became {:o}", like.mode() & 0o7777, mode & 0o7777));
        return Err(refuse("mode", e));
    }
    let accessed = like.accessed().map_err(Error::Read)?;
    let modified = like.modified().map_err(Error::Read)?;
    file.set_times(FileTimes::new().set_accessed(accessed).set_modified(modified))
        .map_err(Error::Write)
}

/// Makes `file`'s extended attributes those of `original`: each of the
/// original's is copied (an ACL is `system.posix_acl_access`), and any the
/// new file got on its own (a folder's default ACL) and the original lacks
/// is removed.
fn copy_xattrs(file: &File, original: &File) -> Result<(), Error> {
    let refuse = |name: &OsStr, source: io::Error| {
        let what = format!("extended attribute {}", name.to_string_lossy());
        Error::Refused(Refusal::Metadata { what, source })
    };
    let unsupported = |e: &io::Error| e.raw_os_error() == Some(libc::EOPNOTSUPP);
    let names: Vec<OsString> = match original.list_xattr() {
        Ok(names) => names.collect(),
        Err(e) if unsupported(&e) => Vec::new(),
        Err(e) => return Err(Error::Read(e)),
    };
    for name in &names {
        let Some(value) = original.get_xattr(name).map_err(Error::Read)? else { continue };
        file.set_xattr(name, &value).map_err(|e| refuse(name, e))?;
    }
    let own: Vec<OsString> = match file.list_xattr() {
        Ok(own) => own.collect(),
        Err(e) if unsupported(&e) => Vec::new(),
        Err(e) => return Err(Error::Write(e)),
    };
    for name in own.iter().filter(|n| !names.contains(n)) {
        file.remove_xattr(name).map_err(|e| refuse(name, e))?;
    }
    Ok(())
}
