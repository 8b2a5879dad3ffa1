//! Walks a local folder the way fsutil's sender does: depth first, names byte-sorted per folder,
//! `.dockerignore`-style exclusions and include filters applied, each entry described by an fsutil
//! `Stat` (Go `os.FileMode` bits, nanosecond mtimes, hard links pointing at their first path).

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bollard::fsutil::types::Stat;

use crate::buildkit::session::file_mode;
use crate::buildkit::session::patterns::{self, MatchInfo, PatternError, PatternMatcher};

/// Characters that make a pattern more than a plain path for fsutil's skip decisions.
const PATTERN_CHARS: &[char] = &['*', '[', ']', '?', '^', '\\'];

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
    #[error("{kind} patterns: {source}")]
    Pattern { kind: &'static str, source: PatternError },
}

/// What the receiver asked for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub follow: Vec<String>,
}

/// A matcher with fsutil's shortcut: when no pattern of the kind that could bring a path back has
/// glob characters, a folder may be skipped whole unless one of those patterns names a path
/// inside it (`prefixes` hold them, trailing `/**` or `/*` removed, with a `/` appended).
struct Rule {
    matcher: PatternMatcher,
    /// `None` when some pattern has glob characters: then folders are always walked.
    prefixes: Option<Vec<String>>,
}

impl Rule {
    /// `bring_back` selects the patterns that can keep a folder's insides: the `!` exceptions of
    /// excludes, the plain patterns of includes.
    fn new(matcher: PatternMatcher, bring_back: bool) -> Self {
        let candidates = matcher.patterns().iter().filter(|p| p.exclusion() == bring_back);
        let mut prefixes = Some(Vec::new());
        for pattern in candidates {
            let plain = without_trailing_glob(pattern.as_str());
            match prefixes.as_mut() {
                Some(list) if !plain.contains(PATTERN_CHARS) => list.push(format!("{plain}/")),
                _ => prefixes = None,
            }
        }
        Self { matcher, prefixes }
    }

    /// Whether walking into folder `rel` can be skipped: no pattern could bring back anything inside.
    fn may_skip(&self, rel: &str) -> bool {
        self.prefixes.as_ref().is_some_and(|prefixes| {
            !prefixes.iter().any(|p| p.len() > rel.len() && p.starts_with(rel) && p.as_bytes()[rel.len()] == b'/')
        })
    }
}

fn without_trailing_glob(pattern: &str) -> &str {
    let pattern = pattern.strip_suffix("/**").unwrap_or(pattern);
    pattern.strip_suffix("/*").unwrap_or(pattern)
}

/// What a folder's children inherit: each matcher's results for the folder.
#[derive(Default)]
struct Parent {
    include: MatchInfo,
    exclude: MatchInfo,
}

struct Walker {
    include: Option<Rule>,
    exclude: Option<Rule>,
    links: HashMap<(u64, u64), String>,
    /// Folders walked into but not sent yet (themselves filtered out): sent before the first
    /// entry found inside them, as fsutil does.
    pending: Vec<Entry>,
    out: Vec<Entry>,
}

/// Every entry under `root` that the filter lets through, in send order, chosen as fsutil's
/// filtered walk chooses them.
pub fn walk(root: &Path, filter: &Filter) -> Result<Vec<Entry>, WalkError> {
    let pattern_error = |kind| move |source| WalkError::Pattern { kind, source };
    let mut include = filter.include.clone();
    if !filter.follow.is_empty() {
        include.extend(follow_links(root, &filter.follow)?);
        include = dedupe_paths(include);
    }
    let include = match include.is_empty() {
        true => None,
        false => Some(Rule::new(PatternMatcher::new(&include).map_err(pattern_error("include"))?, false)),
    };
    let exclude = match filter.exclude.is_empty() {
        true => None,
        false => Some(Rule::new(PatternMatcher::new(&filter.exclude).map_err(pattern_error("exclude"))?, true)),
    };
    let mut walker = Walker { include, exclude, links: HashMap::new(), pending: Vec::new(), out: Vec::new() };
    walker.dir(root, "", &Parent::default(), false)?;
    Ok(walker.out)
}

/// fsutil's `dedupePaths`: drops a path inside the one before it; `.` means no filter at all.
fn dedupe_paths(paths: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(paths.len());
    for path in paths {
        if path == "." {
            return Vec::new();
        }
        let last = out.last().map_or("", String::as_str);
        if path.len() > last.len() && path.starts_with(last) && path.as_bytes()[last.len()] == b'/' {
            continue;
        }
        out.push(path);
    }
    out
}

/// fsutil's `FollowLinks`: the followpaths with every symlink on the way resolved inside `root`
/// (a wildcard in a name expands to the symlinks it matches), sorted and deduplicated.
fn follow_links(root: &Path, paths: &[String]) -> Result<Vec<String>, WalkError> {
    let mut resolved = std::collections::BTreeSet::new();
    for path in paths {
        follow(root, path, &mut resolved, 0)?;
    }
    Ok(dedupe_paths(resolved.into_iter().collect()))
}

/// Symlink chains longer than this are cycles (the kernel's own limit is 40).
const MAX_LINK_DEPTH: usize = 40;

fn follow(
    root: &Path,
    path: &str,
    resolved: &mut std::collections::BTreeSet<String>,
    depth: usize,
) -> Result<(), WalkError> {
    let mut rest = patterns::clean(path.trim_start_matches('/')).into_owned();
    let mut current = String::new();
    loop {
        let (first, tail) = rest.split_once('/').unwrap_or((&rest, ""));
        current = join(&current, first);
        let targets = if depth < MAX_LINK_DEPTH { read_symlink(root, &current, true)? } else { None };
        let tail = tail.to_owned();
        if (tail.is_empty() || targets.is_some()) && resolved.contains(&current) {
            return Ok(());
        }
        if let Some(targets) = targets {
            resolved.insert(current);
            for target in targets {
                follow(root, &join(&target, &tail), resolved, depth + 1)?;
            }
            return Ok(());
        }
        if tail.is_empty() {
            resolved.insert(current);
            return Ok(());
        }
        rest = tail;
    }
}

/// `filepath.Join` of two slash paths (an empty or `.` base adds nothing).
fn join(base: &str, name: &str) -> String {
    let joined = if base.is_empty() { name.to_owned() } else { format!("{base}/{name}") };
    patterns::clean(&joined).into_owned()
}

/// Where the symlink at `rel` points, as a path from `root` (`None` if it is not a symlink or does
/// not exist); a wildcard in the last name matches the directory's entries.
fn read_symlink(root: &Path, rel: &str, allow_wildcard: bool) -> Result<Option<Vec<String>>, WalkError> {
    let (dir, base) = rel.rsplit_once('/').unwrap_or(("", rel));
    if allow_wildcard && contains_wildcards(base) {
        let names = match std::fs::read_dir(root.join(dir)) {
            Ok(names) => names,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(source) => return Err(WalkError::Io { path: root.join(dir), source }),
        };
        let mut out = Vec::new();
        for name in names {
            let name = name.map_err(|source| WalkError::Io { path: root.join(dir), source })?.file_name();
            let name = name.to_string_lossy();
            if patterns::name_matches_glob(base, &name) {
                out.extend(read_symlink(root, &join(dir, &name), false)?.unwrap_or_default());
            }
        }
        return Ok((!out.is_empty()).then_some(out));
    }
    if rel == "." || rel.starts_with("../") || rel == ".." {
        return Ok(None);
    }
    let path = root.join(rel);
    let link = match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::read_link(&path).map_err(|source| WalkError::Io { path: path.clone(), source })?
        }
        Ok(_) => return Ok(None),
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(source) => return Err(WalkError::Io { path, source }),
    };
    let link = link.to_string_lossy();
    // Absolute or relative, a link is resolved inside the root: `/` is the root.
    let target = if link.starts_with('/') { link.into_owned() } else { format!("/{}", join(dir, &link)) };
    Ok(Some(vec![patterns::clean(&target).into_owned()]))
}

fn contains_wildcards(name: &str) -> bool {
    let mut bytes = name.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => {
                bytes.next();
            }
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
    }
    false
}

fn is_not_found(e: &std::io::Error) -> bool {
    // ENOTDIR: a path through a file, which fsutil treats as not there.
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(20)
}

impl Walker {
    /// Walks `dir` (relative `rel`, whose matches are `parent`), sending what the filters keep.
    /// `filtered_out` says the folder itself is not sent: then an unreadable folder is not an error.
    fn dir(&mut self, dir: &Path, rel: &str, parent: &Parent, filtered_out: bool) -> Result<(), WalkError> {
        let io = |source| WalkError::Io { path: dir.to_owned(), source };
        let read = match std::fs::read_dir(dir) {
            Ok(read) => read,
            Err(e) if filtered_out && e.kind() == std::io::ErrorKind::PermissionDenied => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        let mut names: Vec<std::ffi::OsString> =
            read.map(|e| e.map(|e| e.file_name())).collect::<Result<_, _>>().map_err(io)?;
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        // One buffer for every child's relative path.
        let mut rel_path = String::with_capacity(rel.len() + 64);
        for name in names {
            let name = name.to_string_lossy();
            rel_path.clear();
            if !rel.is_empty() {
                rel_path.push_str(rel);
                rel_path.push('/');
            }
            rel_path.push_str(&name);
            let path = dir.join(&*name);
            let meta =
                std::fs::symlink_metadata(&path).map_err(|source| WalkError::Io { path: path.clone(), source })?;
            let is_dir = meta.is_dir();
            let mut inherited = Parent::default();
            let mut filtered = false;
            if let Some(include) = &self.include {
                let matched =
                    check(&include.matcher, &rel_path, &parent.include, is_dir.then_some(&mut inherited.include))
                        .map_err(|source| WalkError::Pattern { kind: "include", source })?;
                if !matched {
                    if is_dir && include.may_skip(&rel_path) {
                        continue;
                    }
                    filtered = true;
                }
            }
            if let Some(exclude) = &self.exclude {
                let matched =
                    check(&exclude.matcher, &rel_path, &parent.exclude, is_dir.then_some(&mut inherited.exclude))
                        .map_err(|source| WalkError::Pattern { kind: "exclude", source })?;
                if matched {
                    if is_dir && (!exclude.matcher.exclusions() || exclude.may_skip(&rel_path)) {
                        continue;
                    }
                    filtered = true;
                }
            }
            if is_dir {
                let stat = self.stat(&path, &rel_path, &meta)?;
                let at = self.pending.len();
                if filtered {
                    self.pending.push(Entry { stat, source: None });
                } else {
                    self.send(Entry { stat, source: None });
                }
                self.dir(&path, &rel_path, &inherited, filtered)?;
                self.pending.truncate(at);
            } else if !filtered {
                let stat = self.stat(&path, &rel_path, &meta)?;
                let source = (meta.is_file() && stat.linkname.is_empty()).then_some(path);
                self.send(Entry { stat, source });
            }
        }
        Ok(())
    }

    /// Sends an entry after the folders above it that were waiting for something inside them.
    fn send(&mut self, entry: Entry) {
        self.out.append(&mut self.pending);
        self.out.push(entry);
    }

    fn stat(&mut self, path: &Path, rel: &str, meta: &std::fs::Metadata) -> Result<Stat, WalkError> {
        let ft = meta.file_type();
        // As fsutil's `mkstat`, without the socket bit: a socket goes as a file, sent empty since it
        // cannot be opened, and the context BuildKit gets holds an empty file there.
        let mode = file_mode::of(meta) & !file_mode::SOCKET;
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

/// One matcher's verdict for `rel` given its folder's results; for a folder, `record` receives
/// what its children inherit.
fn check(
    matcher: &PatternMatcher,
    rel: &str,
    parent: &MatchInfo,
    record: Option<&mut MatchInfo>,
) -> Result<bool, PatternError> {
    match record {
        Some(record) => {
            let (matched, info) = matcher.matches_using_parent_results(rel, parent)?;
            *record = info;
            Ok(matched)
        }
        None => matcher.matches_with_parent(rel, parent),
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
        assert_ne!(by("a").stat.mode & file_mode::DIR, 0);
        assert_eq!(by("a.txt").stat.mode & !0o777, 0);
        assert_ne!(by("link").stat.mode & file_mode::SYMLINK, 0);
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

    /// The case of issue 8: `docker buildx build` sends `.dockerignore .gitignore Dockerfile src/x`.
    #[test]
    fn a_child_of_an_excluded_folder_stays_excluded_when_an_unrelated_exception_exists() {
        let dir = tempfile::tempdir().unwrap();
        for path in [
            ".git/config",
            ".git/HEAD",
            ".gitignore",
            "secrets/key",
            "a/secrets/key",
            "b/.git/config",
            "src/x",
            "Dockerfile",
        ] {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, path).unwrap();
        }
        std::fs::write(dir.path().join(".dockerignore"), "**/.git\n!.gitignore\n**/secrets\n").unwrap();
        let filter =
            Filter { exclude: vec!["**/.git".into(), "!.gitignore".into(), "**/secrets".into()], ..Filter::default() };
        let entries = walk(dir.path(), &filter).unwrap();
        let sent: Vec<&str> =
            entries.iter().filter(|e| e.stat.mode & file_mode::DIR == 0).map(|e| e.stat.path.as_str()).collect();
        assert_eq!(sent, [".dockerignore", ".gitignore", "Dockerfile", "src/x"]);
        assert_eq!(paths(&entries), [".dockerignore", ".gitignore", "Dockerfile", "a", "b", "src", "src/x"]);
    }

    #[test]
    fn followpaths_send_only_those_files_and_their_folders() {
        let dir = tree();
        let filter = Filter { follow: vec!["b/keep.md".into(), "missing".into()], ..Filter::default() };
        assert_eq!(paths(&walk(dir.path(), &filter).unwrap()), ["b", "b/keep.md"]);
    }

    #[test]
    fn a_followpath_through_a_symlink_also_sends_its_target() {
        let dir = tree();
        std::fs::create_dir(dir.path().join("docker")).unwrap();
        std::fs::write(dir.path().join("docker/Dockerfile.prod"), "FROM scratch\n").unwrap();
        std::os::unix::fs::symlink("docker/Dockerfile.prod", dir.path().join("Dockerfile")).unwrap();
        std::os::unix::fs::symlink("/a/b", dir.path().join("absolute")).unwrap();
        let follow = vec!["Dockerfile".into(), "absolute".into(), "missing".into()];
        let filter = Filter { follow, ..Filter::default() };
        assert_eq!(
            paths(&walk(dir.path(), &filter).unwrap()),
            ["Dockerfile", "a", "a/b", "absolute", "docker", "docker/Dockerfile.prod"]
        );
    }

    #[test]
    fn a_wildcard_followpath_expands_to_the_symlinks_it_matches() {
        let dir = tree();
        std::os::unix::fs::symlink("b/keep.md", dir.path().join("l1")).unwrap();
        let filter = Filter { follow: vec!["l?".into()], ..Filter::default() };
        assert_eq!(paths(&walk(dir.path(), &filter).unwrap()), ["b", "b/keep.md", "l1"]);
    }

    #[test]
    fn a_followpath_of_the_whole_folder_filters_nothing() {
        let dir = tree();
        let filter = Filter { follow: vec![".".into(), "a.txt".into()], ..Filter::default() };
        assert_eq!(paths(&walk(dir.path(), &filter).unwrap()).len(), 11);
    }

    /// The walker, with its shortcuts (skipping folders, sending a folder only once something inside
    /// is sent), agrees with the matchers applied to every path with its parents' results carried
    /// down, over random trees and random pattern sets.
    mod agrees_with_the_matchers {
        use super::super::*;
        use proptest::prelude::*;
        use std::collections::BTreeSet;

        const NAMES: &[&str] = &["a", "b", "c", ".git", "x.txt", "sec"];
        const PARTS: &[&str] =
            &["a", "b", "*", "**", "?", "[ab]", "x.txt", "*.txt", ".git", "sec", "c*", "**.txt", "a\\*", "."];

        fn tree() -> impl Strategy<Value = Vec<(Vec<&'static str>, bool)>> {
            let path = prop::collection::vec(prop::sample::select(NAMES), 1..4);
            prop::collection::vec((path, any::<bool>()), 1..16)
        }

        fn pattern() -> impl Strategy<Value = String> {
            let parts = prop::collection::vec(prop::sample::select(PARTS), 1..4);
            (prop::bool::weighted(0.3), prop::bool::weighted(0.2), parts, prop::bool::weighted(0.2)).prop_map(
                |(exception, leading, parts, trailing)| {
                    let mut p = String::new();
                    if exception {
                        p.push('!');
                    }
                    if leading {
                        p.push('/');
                    }
                    p.push_str(&parts.join("/"));
                    if trailing {
                        p.push('/');
                    }
                    p
                },
            )
        }

        /// The matcher's verdict for `path`, its parents' results carried down from the top.
        fn verdict(pm: &PatternMatcher, path: &str) -> bool {
            let mut info = MatchInfo::default();
            let parts: Vec<&str> = path.split('/').collect();
            for n in 1..parts.len() {
                info = pm.matches_using_parent_results(&parts[..n].join("/"), &info).unwrap().1;
            }
            pm.matches_using_parent_results(path, &info).unwrap().0
        }

        fn every_path(root: &Path, rel: &str, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(root.join(rel)).unwrap() {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                out.push(path.clone());
                if entry.file_type().unwrap().is_dir() {
                    every_path(root, &path, out);
                }
            }
        }

        proptest! {
            #[test]
            fn sent_entries_are_those_the_matchers_keep(
                entries in tree(),
                exclude in prop::collection::vec(pattern(), 0..5),
                include in prop::collection::vec(pattern(), 0..3),
            ) {
                let dir = tempfile::tempdir().unwrap();
                for (parts, is_dir) in &entries {
                    let path = dir.path().join(parts.join("/"));
                    // A name already taken by a file or folder of the other kind is left as it is.
                    if is_dir.then(|| std::fs::create_dir_all(&path)).is_none()
                        && path.parent().is_some_and(|p| std::fs::create_dir_all(p).is_ok())
                        && !path.exists()
                    {
                        std::fs::write(&path, "x").unwrap();
                    }
                }
                let filter = Filter { include: include.clone(), exclude: exclude.clone(), ..Filter::default() };
                let walked = walk(dir.path(), &filter);
                // `!/.` cleans to a lone `!`: refused by the walker as by the matcher.
                let (include_pm, exclude_pm) = match (PatternMatcher::new(&include), PatternMatcher::new(&exclude)) {
                    (Ok(include_pm), Ok(exclude_pm)) => (include_pm, exclude_pm),
                    _ => {
                        prop_assert!(walked.is_err());
                        return Ok(());
                    }
                };
                let sent: Vec<String> = walked.unwrap().into_iter().map(|e| e.stat.path).collect();
                let mut all = Vec::new();
                every_path(dir.path(), "", &mut all);
                // fsutil's shortcut, which the walker keeps: with includes (exceptions aside) that are
                // plain paths once a trailing `/**` and then `/*` are cut (so `x/*/**` counts as `x`),
                // a folder they do not match is not walked unless one of them names a path inside it.
                let cut: Vec<String> = include_pm
                    .patterns()
                    .iter()
                    .filter(|p| !p.exclusion())
                    .map(|p| {
                        let p = p.as_str().strip_suffix("/**").unwrap_or(p.as_str());
                        p.strip_suffix("/*").unwrap_or(p).to_owned()
                    })
                    .collect();
                let plain = cut.iter().all(|p| !p.contains(PATTERN_CHARS));
                let skipped = |dir: &str| {
                    !include.is_empty()
                        && plain
                        && !verdict(&include_pm, dir)
                        && !cut.iter().any(|p| format!("{p}/").starts_with(&format!("{dir}/")))
                };
                let mut expected = BTreeSet::new();
                for path in &all {
                    let folders: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
                    if folders.iter().any(|dir| skipped(dir)) {
                        continue;
                    }
                    let included = include.is_empty() || verdict(&include_pm, path);
                    if included && !verdict(&exclude_pm, path) {
                        // A kept entry brings the folders above it.
                        let mut at = 0;
                        while let Some(i) = path[at..].find('/') {
                            expected.insert(path[..at + i].to_owned());
                            at += i + 1;
                        }
                        expected.insert(path.clone());
                    }
                }
                let sent_set: BTreeSet<String> = sent.iter().cloned().collect();
                prop_assert_eq!(sent_set.len(), sent.len(), "sent twice: {:?}", sent);
                prop_assert_eq!(&sent_set, &expected, "exclude {:?} include {:?}", exclude, include);
                // Depth first, names in byte order: each path sorts after the one before, by elements.
                for pair in sent.windows(2) {
                    prop_assert!(pair[0].split('/').lt(pair[1].split('/')), "order: {:?}", sent);
                }
            }
        }
    }
}
