//! Walks a local folder the way fsutil's sender does: depth first, names byte-sorted per folder,
//! `.dockerignore`-style exclusions and include filters applied, each entry described by an fsutil
//! `Stat` (Go `os.FileMode` bits, nanosecond mtimes, hard links pointing at their first path).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bollard::fsutil::types::Stat;

use crate::patterns::{PatternError, PatternMatcher};

// Go's os.FileMode type bits.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_NAMED_PIPE: u32 = 1 << 25;
const MODE_SOCKET: u32 = 1 << 24;
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_CHAR_DEVICE: u32 = 1 << 21;
const MODE_STICKY: u32 = 1 << 20;

/// One entry to send; regular files (with `source`) are the ones the receiver asks data for.
#[derive(Debug, Clone)]
pub struct Entry {
    pub stat: Stat,
    pub source: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Pattern(#[from] PatternError),
}

/// What the receiver asked for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub follow: Vec<String>,
}

struct Walker {
    include: Option<PatternMatcher>,
    exclude: PatternMatcher,
    links: HashMap<(u64, u64), String>,
    out: Vec<Entry>,
}

/// Every entry under `root` that the filter lets through, in send order.
pub fn walk(root: &Path, filter: &Filter) -> Result<Vec<Entry>, WalkError> {
    // followpaths name exact files (the Dockerfile, .dockerignore): they act as include filters.
    let mut include: Vec<String> = filter.include.clone();
    include.extend(filter.follow.iter().map(|p| escape_glob(p)));
    let mut walker = Walker {
        include: if include.is_empty() { None } else { Some(PatternMatcher::new(&include)?) },
        exclude: PatternMatcher::new(&filter.exclude)?,
        links: HashMap::new(),
        out: Vec::new(),
    };
    walker.dir(root, "")?;
    Ok(walker.out)
}

fn escape_glob(path: &str) -> String {
    path.chars().flat_map(|c| if matches!(c, '*' | '?' | '[' | ']' | '\\') { vec!['\\', c] } else { vec![c] }).collect()
}

impl Walker {
    /// Walks `dir` (relative `rel`), pushing its included entries; returns whether it pushed any.
    fn dir(&mut self, dir: &Path, rel: &str) -> Result<bool, WalkError> {
        let io = |source| WalkError::Io { path: dir.to_owned(), source };
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        let mut pushed = false;
        for name in names {
            let name = name.to_string_lossy().into_owned();
            let rel_path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let path = dir.join(&name);
            let meta =
                std::fs::symlink_metadata(&path).map_err(|source| WalkError::Io { path: path.clone(), source })?;
            let excluded = self.exclude.matches(&rel_path);
            let included = self.include.as_ref().is_none_or(|inc| inc.matches(&rel_path));
            if meta.is_dir() {
                // An excluded folder is skipped whole unless a `!` exception might bring back part of it.
                if excluded && !self.exclude.has_exclusions() {
                    continue;
                }
                let at = self.out.len();
                let stat = self.stat(&path, &rel_path, &meta)?;
                self.out.push(Entry { stat, source: None });
                let children = self.dir(&path, &rel_path)?;
                if children || (included && !excluded) {
                    pushed = true;
                } else {
                    self.out.remove(at);
                }
            } else if included && !excluded {
                let stat = self.stat(&path, &rel_path, &meta)?;
                let source = (meta.is_file() && stat.linkname.is_empty()).then_some(path);
                self.out.push(Entry { stat, source });
                pushed = true;
            }
        }
        Ok(pushed)
    }

    fn stat(&mut self, path: &Path, rel: &str, meta: &std::fs::Metadata) -> Result<Stat, WalkError> {
        let ft = meta.file_type();
        let raw = meta.mode();
        let mut mode = raw & 0o777;
        if ft.is_dir() {
            mode |= MODE_DIR;
        }
        use std::os::unix::fs::FileTypeExt;
        if ft.is_symlink() {
            mode |= MODE_SYMLINK;
        }
        if ft.is_fifo() {
            mode |= MODE_NAMED_PIPE;
        }
        if ft.is_socket() {
            mode |= MODE_SOCKET;
        }
        if ft.is_block_device() {
            mode |= MODE_DEVICE;
        }
        if ft.is_char_device() {
            mode |= MODE_DEVICE | MODE_CHAR_DEVICE;
        }
        if raw & 0o4000 != 0 {
            mode |= MODE_SETUID;
        }
        if raw & 0o2000 != 0 {
            mode |= MODE_SETGID;
        }
        if raw & 0o1000 != 0 {
            mode |= MODE_STICKY;
        }
        let mut linkname = String::new();
        let mut size = if ft.is_file() { meta.len() as i64 } else { 0 };
        if ft.is_symlink() {
            linkname = std::fs::read_link(path)
                .map_err(|source| WalkError::Io { path: path.to_owned(), source })?
                .to_string_lossy()
                .into_owned();
        } else if ft.is_file() && meta.nlink() > 1 {
            match self.links.get(&(meta.dev(), meta.ino())) {
                Some(first) => {
                    linkname = first.clone();
                    size = 0;
                }
                None => {
                    self.links.insert((meta.dev(), meta.ino()), rel.to_owned());
                }
            }
        }
        Ok(Stat {
            path: rel.to_owned(),
            mode,
            uid: 0,
            gid: 0,
            size,
            mod_time: meta.mtime() * 1_000_000_000 + meta.mtime_nsec(),
            linkname,
            devmajor: 0,
            devminor: 0,
            xattrs: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(entries: &[Entry]) -> Vec<&str> {
        entries.iter().map(|e| e.stat.path.as_str()).collect()
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in
            [("a.txt", "a"), ("a/b", "b"), ("b/keep.md", "k"), ("b/drop.md", "d"), ("node_modules/x/y.js", "y")]
        {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        std::os::unix::fs::symlink("a.txt", dir.path().join("link")).unwrap();
        std::fs::hard_link(dir.path().join("a.txt"), dir.path().join("z-hard")).unwrap();
        dir
    }

    #[test]
    fn entries_come_depth_first_in_byte_order_with_go_modes() {
        let dir = tree();
        let entries = walk(dir.path(), &Filter::default()).unwrap();
        assert_eq!(
            paths(&entries),
            [
                "a",
                "a/b",
                "a.txt",
                "b",
                "b/drop.md",
                "b/keep.md",
                "link",
                "node_modules",
                "node_modules/x",
                "node_modules/x/y.js",
                "z-hard"
            ]
        );
        let by = |p: &str| entries.iter().find(|e| e.stat.path == p).unwrap();
        assert_ne!(by("a").stat.mode & MODE_DIR, 0);
        assert_eq!(by("a.txt").stat.mode & !0o777, 0);
        assert_ne!(by("link").stat.mode & MODE_SYMLINK, 0);
        assert_eq!(by("link").stat.linkname, "a.txt");
        assert_eq!((by("z-hard").stat.linkname.as_str(), by("z-hard").stat.size), ("a.txt", 0));
        assert!(by("z-hard").source.is_none() && by("a.txt").source.is_some());
    }

    #[test]
    fn excluded_folders_are_skipped_and_exceptions_bring_files_back() {
        let dir = tree();
        let filter =
            Filter { exclude: vec!["node_modules".into(), "b".into(), "!b/keep.md".into()], ..Filter::default() };
        let entries = walk(dir.path(), &filter).unwrap();
        assert_eq!(paths(&entries), ["a", "a/b", "a.txt", "b", "b/keep.md", "link", "z-hard"]);
    }

    #[test]
    fn followpaths_send_only_those_files_and_their_folders() {
        let dir = tree();
        let filter = Filter { follow: vec!["b/keep.md".into(), "missing".into()], ..Filter::default() };
        assert_eq!(paths(&walk(dir.path(), &filter).unwrap()), ["b", "b/keep.md"]);
    }
}
