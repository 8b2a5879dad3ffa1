//! The receiving side of a `type=local` output: what fsutil's `Receive` does with a `Validator`,
//! a hard-link check and its `DiskWriter` (tonistiigi/fsutil receive.go, validator.go,
//! hardlinks.go, diskwriter.go).
//!
//! The builder is not trusted: a remote or compromised one may send any path. So the stream is
//! validated before anything is written (clean relative paths, fsutil's order, no entry twice,
//! every parent already received as a folder, hard links only to files already received), and
//! the writer never follows a symlink: each entry is created exclusively (`O_EXCL`, `O_NOFOLLOW`),
//! under a temporary name beside its final one when something is already there, and renamed over
//! it, so a symlink the builder sent earlier, or one already in the destination, is replaced,
//! never written through. Modes and times are applied to the entry itself (`fchmod`,
//! `futimens`, `utimensat` with `AT_SYMLINK_NOFOLLOW`), folders' last; ownership is left as the
//! current user's, as buildx's receiver does. A regular file is made when its data starts and
//! written through that one handle; hard links are made once their files are whole.
//!
//! The file system calls run on the session's own task: each is short, and handing every packet
//! to a blocking thread cost more CPU than the calls themselves (measured on a 10,000-file output).
//!
//! rustix gives the no-follow flags and `utimensat` (std has neither); it is already in the tree
//! through tempfile.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::fsutil::types::packet::PacketType;
use bollard::fsutil::types::{Packet, Stat};
use rustix::fs::{AtFlags, OFlags, Timespec, Timestamps, CWD};
use tokio::sync::mpsc::Sender;
use tonic::Status;

use super::file_mode;

/// Why a `type=local` output was refused or could not be written. The entry is named as the
/// builder sent it.
#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("builder sent `{entry}`: not a clean relative path")]
    Unclean { entry: String },
    #[error("builder sent `{entry}`: an absolute path")]
    Absolute { entry: String },
    #[error("builder sent `{entry}`: it leads out of the output folder")]
    Escape { entry: String },
    #[error("builder sent `{entry}` twice")]
    Duplicate { entry: String },
    #[error("builder sent `{entry}` after `{previous}`: entries out of order")]
    OutOfOrder { entry: String, previous: String },
    #[error("builder sent `{entry}` after `{parent}` as a {kind}: parent is not a directory")]
    ParentNotDirectory { entry: String, parent: String, kind: &'static str },
    #[error("builder sent `{entry}` before its folder `{parent}`")]
    ParentMissing { entry: String, parent: String },
    #[error("builder sent `{entry}` as a hard link to `{target}`, which is not a file it sent before")]
    UnknownLinkTarget { entry: String, target: String },
    #[error("builder sent data for entry {id}, which was not asked for")]
    Unrequested { id: u32 },
    #[error("builder sent an unexpected packet (type {0})")]
    UnexpectedPacket(i32),
    #[error("builder stopped the transfer: {0}")]
    Aborted(String),
    #[error("cannot write {}: {reason}", .path.display())]
    Io { path: PathBuf, reason: String },
}

impl From<ReceiveError> for Status {
    fn from(e: ReceiveError) -> Self {
        match e {
            ReceiveError::Io { .. } => Status::internal(e.to_string()),
            ReceiveError::Aborted(_) => Status::aborted(e.to_string()),
            _ => Status::invalid_argument(e.to_string()),
        }
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ReceiveError + '_ {
    move |e| ReceiveError::Io { path: path.to_path_buf(), reason: crate::io_error::reason(&e) }
}

/// What an entry was received as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    File,
    Symlink,
    HardLink,
    /// A named pipe or a device, made with `mknod`.
    Node,
    Other,
}

impl EntryKind {
    pub fn of(stat: &Stat) -> Self {
        if stat.mode & file_mode::DIR != 0 {
            EntryKind::Directory
        } else if stat.mode & file_mode::SYMLINK != 0 {
            EntryKind::Symlink
        } else if stat.mode & (file_mode::NAMED_PIPE | file_mode::DEVICE) != 0 {
            EntryKind::Node
        } else if stat.mode & file_mode::TYPE_BITS != 0 {
            EntryKind::Other
        } else if !stat.linkname.is_empty() {
            EntryKind::HardLink
        } else {
            EntryKind::File
        }
    }

    fn noun(self) -> &'static str {
        match self {
            EntryKind::Directory => "directory",
            EntryKind::File => "file",
            EntryKind::Symlink => "symlink",
            EntryKind::HardLink => "hard link",
            EntryKind::Node => "pipe or device",
            EntryKind::Other => "special file",
        }
    }
}

/// fsutil's `ComparePath`: byte order, except that `/` sorts before every other byte.
fn compare_path(a: &str, b: &str) -> std::cmp::Ordering {
    for (x, y) in a.bytes().zip(b.bytes()) {
        if x == y {
            continue;
        }
        return if x == b'/' || (y != b'/' && x < y) { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater };
    }
    a.len().cmp(&b.len())
}

/// Whether `path` is what Go's `filepath.Clean` leaves as it is, and names an entry (not `.`).
fn is_clean(path: &str) -> bool {
    !path.is_empty() && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The order and shape checks of fsutil's `Validator` and `Hardlinks`, with errors that say which
/// rule an entry broke.
#[derive(Debug, Default)]
pub struct StreamValidator {
    /// Open folders, outermost first: each folder and the last name received in it.
    parents: Vec<(String, String)>,
    /// Every entry so far and what it was.
    seen: HashMap<String, EntryKind>,
    last_entry: String,
}

impl StreamValidator {
    pub fn check(&mut self, entry: &str, kind: EntryKind, linkname: &str) -> Result<(), ReceiveError> {
        let owned = || entry.to_owned();
        if entry.starts_with('/') {
            return Err(ReceiveError::Absolute { entry: owned() });
        }
        if entry == ".." || entry.starts_with("../") {
            return Err(ReceiveError::Escape { entry: owned() });
        }
        if !is_clean(entry) {
            return Err(ReceiveError::Unclean { entry: owned() });
        }
        if self.parents.is_empty() {
            self.parents.push((String::new(), String::new()));
        }
        let (dir, base) = entry.rsplit_once('/').unwrap_or(("", entry));
        // Back out of the folders this entry is not in (fsutil's search from the innermost).
        while self.parents.len() > 1
            && compare_path(&self.parents[self.parents.len() - 1].0, dir) == std::cmp::Ordering::Greater
        {
            self.parents.pop();
        }
        let (open_dir, last) = self.parents.last().expect("the root is always open");
        if open_dir != dir {
            return Err(match self.seen.get(dir) {
                Some(EntryKind::Directory) => {
                    ReceiveError::OutOfOrder { entry: owned(), previous: self.last_entry.clone() }
                }
                Some(other) => {
                    ReceiveError::ParentNotDirectory { entry: owned(), parent: dir.to_owned(), kind: other.noun() }
                }
                None => ReceiveError::ParentMissing { entry: owned(), parent: dir.to_owned() },
            });
        }
        if last.as_str() == base {
            return Err(ReceiveError::Duplicate { entry: owned() });
        }
        if last.as_str() > base {
            return Err(ReceiveError::OutOfOrder { entry: owned(), previous: self.last_entry.clone() });
        }
        if kind == EntryKind::HardLink && self.seen.get(linkname) != Some(&EntryKind::File) {
            return Err(ReceiveError::UnknownLinkTarget { entry: owned(), target: linkname.to_owned() });
        }
        self.parents.last_mut().expect("the root is always open").1 = base.to_owned();
        if kind == EntryKind::Directory {
            self.parents.push((entry.to_owned(), String::new()));
        }
        self.seen.insert(entry.to_owned(), kind);
        self.last_entry = entry.to_owned();
        Ok(())
    }
}

/// A regular file whose data is still to come. It is made when its data starts, so that one open
/// handle writes it whole.
#[derive(Debug)]
struct PendingFile {
    dest: PathBuf,
    perm: u32,
    modified: i64,
    /// What was at `dest` before (whether a folder): the file is then written under a
    /// temporary name and renamed over it.
    replaces: Option<bool>,
    open: Option<(File, PathBuf)>,
}

/// Writes a validated stream into the destination folder without following symlinks.
#[derive(Debug)]
pub struct DiskWriter {
    root: PathBuf,
    validator: StreamValidator,
    pending: HashMap<u32, PendingFile>,
    /// Hard links (where, to what), made once their files are whole.
    links: Vec<(PathBuf, PathBuf)>,
    /// Folders with their mode and time, applied last: writing inside a folder changes its time,
    /// and a folder without owner write permission could not be filled.
    folders: Vec<(PathBuf, u32, i64)>,
    next_id: u32,
}

/// `O_NOFOLLOW` for std's `OpenOptions`.
fn no_follow() -> i32 {
    (OFlags::NOFOLLOW | OFlags::CLOEXEC).bits() as i32
}

fn timestamps(ns: i64) -> Timestamps {
    let at = Timespec { tv_sec: ns.div_euclid(1_000_000_000), tv_nsec: ns.rem_euclid(1_000_000_000) as _ };
    Timestamps { last_access: at, last_modification: at }
}

/// Sets an entry's own times (`lutimes`): a symlink's are its own, not its target's.
fn set_times_no_follow(path: &Path, ns: i64) -> Result<(), ReceiveError> {
    rustix::fs::utimensat(CWD, path, &timestamps(ns), AtFlags::SYMLINK_NOFOLLOW).map_err(|e| io_error(path)(e.into()))
}

/// A named pipe or a device at `dest` (beside whatever is there, then renamed over it), with its
/// mode and time, as fsutil's receiver makes one with `mknod`. Making a device needs a privilege
/// a user's session seldom has: then it is left out, where buildx's receiver fails the output.
fn make_node(dest: &Path, stat: &Stat, perm: u32) -> Result<(), ReceiveError> {
    use rustix::fs::{FileType, Mode};
    let kind = match stat.mode {
        m if m & file_mode::NAMED_PIPE != 0 => FileType::Fifo,
        m if m & file_mode::CHAR_DEVICE != 0 => FileType::CharacterDevice,
        _ => FileType::BlockDevice,
    };
    let old = existing(dest)?;
    let fresh = if old.is_some() { temporary_beside(dest) } else { dest.to_path_buf() };
    let device = rustix::fs::makedev(stat.devmajor as u32, stat.devminor as u32);
    match rustix::fs::mknodat(CWD, &fresh, kind, Mode::from_raw_mode(perm), device) {
        Err(rustix::io::Errno::PERM) if kind != FileType::Fifo => {
            tracing::warn!(entry = %stat.path, "a device in a local output needs privileges to make: left out");
            return Ok(());
        }
        made => made.map_err(|e| io_error(&fresh)(e.into()))?,
    }
    // The mode as sent, not as the umask left it.
    rustix::fs::chmodat(CWD, &fresh, Mode::from_raw_mode(perm), AtFlags::empty())
        .map_err(|e| io_error(&fresh)(e.into()))?;
    set_times_no_follow(&fresh, stat.mod_time)?;
    if let Some(old_is_dir) = old {
        rename_over(&fresh, dest, old_is_dir, false)?;
    }
    Ok(())
}

fn system_time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

/// What is at `path` now, without following a link: `None` when nothing, else whether a folder.
fn existing(path: &Path) -> Result<Option<bool>, ReceiveError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta.is_dir())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path)(e)),
    }
}

/// A temporary name beside `dest`, as fsutil's `.tmp.<suffix>`.
fn temporary_beside(dest: &Path) -> PathBuf {
    dest.with_file_name(format!(".tmp.{}", crate::buildkit::session::new_id()))
}

/// Renames the new entry `fresh` over `dest`, where something (a folder if `old_is_dir`) was.
/// rename(2) replaces a file with a file and an empty folder with a folder only, so a different
/// kind goes first; the entry is removed again if this fails.
fn rename_over(fresh: &Path, dest: &Path, old_is_dir: bool, new_is_dir: bool) -> Result<(), ReceiveError> {
    let replaced = if old_is_dir {
        std::fs::remove_dir_all(dest)
    } else if new_is_dir {
        std::fs::remove_file(dest)
    } else {
        Ok(())
    }
    .and_then(|()| std::fs::rename(fresh, dest));
    if let Err(e) = replaced {
        let _ = if new_is_dir { std::fs::remove_dir(fresh) } else { std::fs::remove_file(fresh) };
        return Err(io_error(dest)(e));
    }
    Ok(())
}

impl DiskWriter {
    /// Writes under `root`, made with its missing parents owner-only as buildx makes them
    /// (`MkdirAll(dest, 0700)`); a folder already there keeps its mode.
    pub fn new(root: &Path) -> Result<Self, ReceiveError> {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(root).map_err(io_error(root))?;
        Ok(DiskWriter {
            root: root.to_path_buf(),
            validator: StreamValidator::default(),
            pending: HashMap::new(),
            links: Vec::new(),
            folders: Vec::new(),
            next_id: 0,
        })
    }

    /// Takes one entry of the stream; a regular file gets an id to ask its data by.
    pub fn entry(&mut self, stat: &Stat) -> Result<Option<u32>, ReceiveError> {
        let id = self.next_id;
        self.next_id += 1;
        let kind = EntryKind::of(stat);
        self.validator.check(&stat.path, kind, &stat.linkname)?;
        let dest = self.root.join(&stat.path);
        let perm = file_mode::unix_permissions(stat.mode);
        match kind {
            EntryKind::Other => Ok(None),
            EntryKind::Node => {
                make_node(&dest, stat, perm)?;
                Ok(None)
            }
            EntryKind::File => {
                let replaces = existing(&dest)?;
                self.pending.insert(id, PendingFile { dest, perm, modified: stat.mod_time, replaces, open: None });
                Ok(Some(id))
            }
            EntryKind::HardLink => {
                self.links.push((dest, self.root.join(&stat.linkname)));
                Ok(None)
            }
            EntryKind::Directory => {
                let old = existing(&dest)?;
                if old == Some(true) {
                    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(perm | 0o700))
                        .map_err(io_error(&dest))?;
                } else {
                    // Something else is there (a file, a symlink): build the folder beside it
                    // and rename it over, as fsutil does, so nothing is written through it.
                    let fresh = if old.is_some() { temporary_beside(&dest) } else { dest.clone() };
                    // Owner-writable until the end, so the folder's own entries can be written.
                    std::fs::DirBuilder::new().mode(perm | 0o700).create(&fresh).map_err(io_error(&fresh))?;
                    std::fs::set_permissions(&fresh, std::fs::Permissions::from_mode(perm | 0o700))
                        .map_err(io_error(&fresh))?;
                    if old.is_some() {
                        rename_over(&fresh, &dest, false, true)?;
                    }
                }
                self.folders.push((dest, perm, stat.mod_time));
                Ok(None)
            }
            EntryKind::Symlink => {
                let old = existing(&dest)?;
                let fresh = if old.is_some() { temporary_beside(&dest) } else { dest.clone() };
                std::os::unix::fs::symlink(&stat.linkname, &fresh).map_err(io_error(&fresh))?;
                set_times_no_follow(&fresh, stat.mod_time)?;
                if let Some(old_is_dir) = old {
                    rename_over(&fresh, &dest, old_is_dir, false)?;
                }
                Ok(None)
            }
        }
    }

    /// The ids of the files whose data is still to come.
    pub fn wanted(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.pending.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Appends a chunk to a file; an empty chunk ends it. True once every file is complete.
    pub fn data(&mut self, id: u32, chunk: &[u8]) -> Result<bool, ReceiveError> {
        let file = self.pending.get_mut(&id).ok_or(ReceiveError::Unrequested { id })?;
        if file.open.is_none() {
            // Made exclusively (O_EXCL, O_NOFOLLOW): never through a link someone put there.
            let path = if file.replaces.is_some() { temporary_beside(&file.dest) } else { file.dest.clone() };
            let handle = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(file.perm)
                .custom_flags(no_follow())
                .open(&path)
                .map_err(io_error(&path))?;
            file.open = Some((handle, path));
        }
        let (handle, path) = file.open.as_mut().expect("opened above");
        if !chunk.is_empty() {
            handle.write_all(chunk).map_err(io_error(path))?;
            return Ok(false);
        }
        let done = self.pending.remove(&id).expect("looked up above");
        let (handle, path) = done.open.expect("opened above");
        let at = system_time(done.modified);
        // The mode as sent, not as the umask left it.
        handle.set_permissions(std::fs::Permissions::from_mode(done.perm)).map_err(io_error(&path))?;
        handle.set_times(std::fs::FileTimes::new().set_modified(at).set_accessed(at)).map_err(io_error(&path))?;
        drop(handle);
        if let Some(old_is_dir) = done.replaces {
            rename_over(&path, &done.dest, old_is_dir, false)?;
        }
        Ok(self.pending.is_empty())
    }

    /// Makes the hard links, now that their files are whole, then gives the folders their modes
    /// and times, innermost first, once nothing more is written into them; each folder through a
    /// handle opened without following a link.
    pub fn finish(&mut self) -> Result<(), ReceiveError> {
        for (dest, target) in std::mem::take(&mut self.links) {
            let old = existing(&dest)?;
            let fresh = if old.is_some() { temporary_beside(&dest) } else { dest.clone() };
            // link(2) links to the entry itself, never to what a symlink points at.
            std::fs::hard_link(&target, &fresh).map_err(io_error(&fresh))?;
            if let Some(old_is_dir) = old {
                rename_over(&fresh, &dest, old_is_dir, false)?;
            }
        }
        for (path, perm, ns) in self.folders.drain(..).rev() {
            let folder = OpenOptions::new()
                .read(true)
                .custom_flags(no_follow() | OFlags::DIRECTORY.bits() as i32)
                .open(&path)
                .map_err(io_error(&path))?;
            folder.set_permissions(std::fs::Permissions::from_mode(perm)).map_err(io_error(&path))?;
            folder
                .set_times(std::fs::FileTimes::new().set_modified(system_time(ns)).set_accessed(system_time(ns)))
                .map_err(io_error(&path))?;
        }
        Ok(())
    }
}

fn packet(kind: PacketType, id: u32) -> Packet {
    Packet { r#type: kind as i32, id, ..Default::default() }
}

/// Runs fsutil's receiving protocol: stats (validated and written as they come), an empty stat,
/// then every regular file's data asked for by id; FIN ends it.
pub async fn receive(
    root: &Path,
    inbound: &mut tonic::Streaming<Packet>,
    replies: &Sender<Result<Packet, Status>>,
) -> Result<(), ReceiveError> {
    let mut writer = DiskWriter::new(root)?;
    let closed = || ReceiveError::Aborted("the session closed".into());
    let mut stats_done = false;
    while let Some(incoming) = inbound.message().await.map_err(|s| ReceiveError::Aborted(s.message().to_owned()))? {
        match PacketType::try_from(incoming.r#type) {
            Ok(PacketType::PacketStat) if !stats_done => match incoming.stat {
                Some(stat) => {
                    writer.entry(&stat)?;
                }
                None => {
                    stats_done = true;
                    let wanted = writer.wanted();
                    if wanted.is_empty() {
                        writer.finish()?;
                        replies.send(Ok(packet(PacketType::PacketFin, 0))).await.map_err(|_| closed())?;
                    }
                    for id in wanted {
                        replies.send(Ok(packet(PacketType::PacketReq, id))).await.map_err(|_| closed())?;
                    }
                }
            },
            Ok(PacketType::PacketData) if stats_done => {
                if writer.data(incoming.id, &incoming.data)? {
                    writer.finish()?;
                    replies.send(Ok(packet(PacketType::PacketFin, 0))).await.map_err(|_| closed())?;
                }
            }
            Ok(PacketType::PacketFin) => return Ok(()),
            Ok(PacketType::PacketErr) => {
                return Err(ReceiveError::Aborted(String::from_utf8_lossy(&incoming.data).into_owned()))
            }
            _ => return Err(ReceiveError::UnexpectedPacket(incoming.r#type)),
        }
    }
    if !stats_done || !writer.wanted().is_empty() {
        return Err(ReceiveError::Aborted("the transfer ended before every file arrived".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A named stream of `(path, kind)` entries and whether fsutil's validator lets it pass.
    type Case = (&'static str, Vec<(&'static str, EntryKind)>, bool);

    /// fsutil's validator_test.go, case by case.
    #[test]
    fn fsutil_validator_cases() {
        use EntryKind::{Directory as D, File as F};
        let cases: Vec<Case> = vec![
            ("SimpleFiles", vec![("foo", F), ("foo2", F)], true),
            ("FilesNotInOrder", vec![("foo", F), ("foo2", F), ("bar", F)], false),
            ("FilesNotInOrder2", vec![("foo", F), ("foo2", F), ("foo2", F)], false),
            ("DirIsFile", vec![("foo", F), ("foo2", F), ("foo2", D)], false),
            ("DirIsFile2", vec![("foo", F), ("foo2", D), ("foo2", F)], false),
            ("NoParentDir", vec![("bar", F), ("foo/baz", F)], false),
            ("ParentFile", vec![("bar", F), ("bar/baz", F)], false),
            ("ParentFile2", vec![("foo/bar", F)], false),
            ("SimpleDir", vec![("foo", D), ("foo/bar", F)], true),
            (
                "SimpleDir2",
                vec![
                    ("foo", D),
                    ("foo/bar", F),
                    ("foo/bay", D),
                    ("foo/bay/aa", F),
                    ("foo/bay/ab", D),
                    ("foo/bay/abb", D),
                    ("foo/bay/abb/a", D),
                    ("foo/bay/ba", F),
                    ("foo/baz", F),
                ],
                true,
            ),
            (
                "BackToParent",
                vec![
                    ("foo", D),
                    ("foo/bar", F),
                    ("foo/bay", D),
                    ("foo/bay/aa", F),
                    ("foo/bay/ab", D),
                    ("foo/bay/ba", F),
                    ("foo/bay", D),
                    ("foo/baz", F),
                ],
                false,
            ),
            (
                "ParentOrder",
                vec![("foo", D), ("foo/bar", F), ("foo/bay", D), ("foo/bay/aa", F), ("foo/bay/ab", D), ("foo/bar", F)],
                false,
            ),
            (
                "BigJump",
                vec![
                    ("foo", D),
                    ("foo/a", D),
                    ("foo/a/foo", D),
                    ("foo/a/b/foo", D),
                    ("foo/a/b/c/foo", D),
                    ("foo/a/b/c/d/foo", D),
                    ("zzz", D),
                ],
                false,
            ),
            ("Dot", vec![("foo", D), ("foo/a", D), ("foo.2", D)], true),
            ("Dot2a", vec![("foo.a", D), ("foo/a/a", D)], false),
            ("Dot2b", vec![("foo", D), ("foo.", D), ("foo", D)], false),
            ("SkipDir", vec![("bar", D), ("bar/foo/a", D)], false),
        ];
        for (name, stream, valid) in cases {
            let mut v = StreamValidator::default();
            let result = stream.iter().try_for_each(|(path, kind)| v.check(path, *kind, ""));
            assert_eq!(result.is_ok(), valid, "{name}: {result:?}");
        }
    }

    #[test]
    fn each_broken_rule_is_named_with_its_entry() {
        let check = |stream: &[(&str, EntryKind, &str)]| {
            let mut v = StreamValidator::default();
            stream.iter().try_for_each(|(p, k, l)| v.check(p, *k, l)).unwrap_err().to_string()
        };
        use EntryKind::*;
        assert_eq!(
            check(&[("a", File, ""), ("a/b", File, "")]),
            "builder sent `a/b` after `a` as a file: parent is not a directory"
        );
        assert_eq!(
            check(&[("a", Symlink, "/etc"), ("a/passwd", File, "")]),
            "builder sent `a/passwd` after `a` as a symlink: parent is not a directory"
        );
        assert_eq!(check(&[("a", File, ""), ("a", File, "")]), "builder sent `a` twice");
        assert_eq!(check(&[("../x", File, "")]), "builder sent `../x`: it leads out of the output folder");
        assert_eq!(check(&[("..", Directory, "")]), "builder sent `..`: it leads out of the output folder");
        assert_eq!(check(&[("/etc/x", File, "")]), "builder sent `/etc/x`: an absolute path");
        for unclean in ["a/../b", "a//b", "./a", "a/", ".", "", "a/."] {
            assert_eq!(check(&[(unclean, File, "")]), format!("builder sent `{unclean}`: not a clean relative path"));
        }
        assert_eq!(check(&[("b", File, ""), ("a", File, "")]), "builder sent `a` after `b`: entries out of order");
        assert_eq!(check(&[("d/x", File, "")]), "builder sent `d/x` before its folder `d`");
        assert_eq!(
            check(&[("a", Symlink, "/etc/passwd"), ("b", HardLink, "a")]),
            "builder sent `b` as a hard link to `a`, which is not a file it sent before"
        );
        assert_eq!(
            check(&[("b", HardLink, "../../etc/passwd")]),
            "builder sent `b` as a hard link to `../../etc/passwd`, which is not a file it sent before"
        );
    }

    #[test]
    fn slash_sorts_before_every_other_byte() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_path("foo/a", "foo.2"), Less);
        assert_eq!(compare_path("foo", "foo/a"), Less);
        assert_eq!(compare_path("foo.a", "foo/a"), Greater);
        assert_eq!(compare_path("a", "a"), Equal);
    }
}
