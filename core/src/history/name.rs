//! A build's name, derived as buildx derives it (util/history/name.go): from the frontend's
//! attributes (an explicit `BUILDKIT_BUILD_NAME`, the context, the Dockerfile, the target, the VCS
//! source) and from what the client that started the build remembers of it: buildx's local state
//! (`<buildx dir>/refs/<builder>/<node>/<ref>`), or Buildlane's own record of the build.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a client keeps of a build it started: buildx's `localstate.State`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LocalState {
    #[serde(default)]
    pub target: String,
    /// The context folder (absolute), or the remote context as given.
    #[serde(default)]
    pub local_path: String,
    /// The Dockerfile (absolute; relative for a remote context); `-` when read from stdin.
    #[serde(default)]
    pub dockerfile_path: String,
}

/// buildx's local state folder of a builder node: `<buildx dir>/refs/<builder>/<node>`.
#[derive(Debug, Clone)]
pub struct LocalStates {
    dir: PathBuf,
}

/// A name buildx would accept as one path element (builders, nodes and refs are such names).
fn plain(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

impl LocalStates {
    pub fn new(buildx_dir: &Path, builder: &str, node: &str) -> Self {
        let dir = if plain(builder) && plain(node) {
            buildx_dir.join("refs").join(builder).join(node)
        } else {
            // No state can be kept under such a name: a folder that cannot exist.
            buildx_dir.join("refs").join("\0")
        };
        Self { dir }
    }

    /// What buildx kept of the build `build_ref`, when it started it and the file is readable.
    pub fn read(&self, build_ref: &str) -> Option<LocalState> {
        if !build_ref.chars().all(|c| c.is_ascii_alphanumeric()) || build_ref.is_empty() {
            return None;
        }
        serde_json::from_slice(&std::fs::read(self.dir.join(build_ref)).ok()?).ok()
    }
}

/// A git reference as BuildKit's Dockerfile frontend reads one (dfgitutil.ParseGitRef), reduced
/// to what names need: the remote, and the ref and subdirectory asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRef {
    pub remote: String,
    pub reference: String,
    pub subdir: String,
}

/// `Some` when `text` is a git reference: `https://…/x.git`, `http://…/x.git`, `git://…`,
/// `ssh://…`, `user@host:path`, or `github.com/…`, with a `#ref:subdir` fragment or `ref`,
/// `tag`, `branch`, `subdir` queries.
pub fn parse_git_ref(text: &str) -> Option<GitRef> {
    if text.starts_with("./") || text.starts_with("../") {
        return None;
    }
    let (rest, fragment) = match text.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (text, None),
    };
    let (remote, query) = match rest.split_once('?') {
        Some((remote, query)) => (remote, Some(query)),
        None => (rest, None),
    };
    let scheme = remote.split_once("://").map(|(s, _)| s);
    let git = match scheme {
        Some("https" | "http") => remote.ends_with(".git"),
        Some("git" | "ssh") => true,
        Some(_) => false,
        None => {
            remote.starts_with("github.com/")
                || remote.split_once(':').is_some_and(|(user_host, path)| {
                    user_host.contains('@') && !path.is_empty() && !user_host.contains('/')
                })
        }
    };
    if !git {
        return None;
    }
    let mut out = GitRef { remote: remote.to_owned(), reference: String::new(), subdir: String::new() };
    if let Some(fragment) = fragment {
        let (reference, subdir) = fragment.split_once(':').unwrap_or((fragment, ""));
        out.reference = reference.to_owned();
        out.subdir = subdir.to_owned();
    }
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "ref" => out.reference = value.into_owned(),
            "tag" => out.reference = format!("refs/tags/{}", value.trim_start_matches("refs/tags/")),
            "branch" => out.reference = format!("refs/heads/{}", value.trim_start_matches("refs/heads/")),
            "subdir" => out.subdir = value.into_owned(),
            _ => {}
        }
    }
    Some(out)
}

/// A git reference in fragment form without its subdirectory (`…/x.git#main`), as buildx names a
/// build from its VCS source; anything else unchanged.
pub fn fragment_form(text: &str) -> String {
    match parse_git_ref(text) {
        Some(git) if !git.reference.is_empty() => format!("{}#{}", git.remote, git.reference),
        Some(git) => git.remote,
        None => text.to_owned(),
    }
}

/// Go's `filepath.Join` for slash paths: the non-empty parts joined and cleaned.
fn join(parts: &[&str]) -> String {
    let joined = parts.iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join("/");
    clean(&joined)
}

/// Go's `path.Clean`, enough for names: no empty or `.` elements, `..` folded, `.` when empty.
fn clean(path: &str) -> String {
    if path.is_empty() {
        return String::new();
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|p| *p != "..") => {
                out.pop();
            }
            ".." if rooted => {}
            _ => out.push(part),
        }
    }
    let body = out.join("/");
    match (rooted, body.is_empty()) {
        (true, _) => format!("/{body}"),
        (false, true) => ".".into(),
        (false, false) => body,
    }
}

/// Go's `filepath.Base`.
fn base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { ".".into() } else { "/".into() };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// The index just past the last `/` of `s`, 0 when there is none (Go's `LastIndex + 1`).
fn after_last_slash(s: &str) -> usize {
    s.rfind('/').map_or(0, |i| i + 1)
}

/// The build's name as `docker buildx history ls` shows it.
pub fn build_name(attrs: &BTreeMap<String, String>, local: Option<&LocalState>) -> String {
    if let Some(name) = attrs.get("build-arg:BUILDKIT_BUILD_NAME").filter(|v| !v.is_empty()) {
        return name.clone();
    }
    let target = attrs.get("target").cloned().unwrap_or_default();
    let context_path = match attrs.get("context") {
        Some(v) => v.clone(),
        None => attrs.get("vcs:localdir:context").filter(|v| *v != ".").cloned().unwrap_or_default(),
    };
    let vcs_source = match attrs.get("vcs:source") {
        Some(v) => v.clone(),
        None => attrs.get("input:context").filter(|v| parse_git_ref(v).is_some()).cloned().unwrap_or_default(),
    };
    let mut dockerfile_path = attrs.get("filename").filter(|v| *v != "Dockerfile").cloned().unwrap_or_default();
    if let Some(dir) = attrs.get("vcs:localdir:dockerfile").filter(|v| *v != ".") {
        dockerfile_path = join(&[dir, &dockerfile_path]);
    }

    let mut local_path = String::new();
    if let Some(state) = local.filter(|s| !remote_url(&s.local_path)) {
        if !state.local_path.is_empty() && state.local_path != "-" {
            local_path = state.local_path.clone();
        }
        if !matches!(state.dockerfile_path.as_str(), "" | "-" | "Dockerfile") {
            dockerfile_path = state.dockerfile_path.clone();
        }
    }

    const DEFAULT_FILE: &str = "/Dockerfile";
    let default_file = dockerfile_path.ends_with(DEFAULT_FILE) || dockerfile_path.is_empty();
    let dockerfile_path = dockerfile_path.strip_suffix(DEFAULT_FILE).unwrap_or(&dockerfile_path).to_owned();

    let mut name = String::new();
    if dockerfile_path.starts_with(&local_path) && dockerfile_path.len() > local_path.len() {
        name = dockerfile_path[after_last_slash(&local_path)..].to_owned();
    } else {
        let path = if dockerfile_path.is_empty() { &local_path } else { &dockerfile_path };
        if !path.is_empty() {
            let cut = after_last_slash(path);
            name = path[cut..].to_owned();
            if !default_file {
                let parent = if cut > 0 { base(&path[..cut - 1]) } else { base(path) };
                name = join(&[&parent, &name]);
            }
        }
    }
    if !context_path.is_empty() {
        name = context_path;
    }
    if !target.is_empty() {
        name = if name.is_empty() { target } else { format!("{name} ({target})") };
    }
    if name.is_empty() && !vcs_source.is_empty() {
        return fragment_form(&vcs_source);
    }
    name
}

/// buildx's `urlutil.IsRemoteURL`: an http(s) URL or a git reference.
fn remote_url(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://") || parse_git_ref(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn state(local: &str, dockerfile: &str) -> LocalState {
        LocalState { local_path: local.into(), dockerfile_path: dockerfile.into(), ..Default::default() }
    }

    /// buildx's own table (util/history/name_test.go), case for case.
    #[test]
    fn names_are_derived_as_buildx_derives_them() {
        type Case = (&'static str, BTreeMap<String, String>, Option<LocalState>, &'static str);
        let cases: Vec<Case> = vec![
            ("empty", attrs(&[]), None, ""),
            ("override", attrs(&[("build-arg:BUILDKIT_BUILD_NAME", "foobar")]), None, "foobar"),
            (
                "local dockerfile path",
                attrs(&[]),
                Some(state("/tmp/project", "/tmp/project/deploy/Dockerfile.release")),
                "project/deploy/Dockerfile.release",
            ),
            ("local default dockerfile", attrs(&[]), Some(state("/tmp/project", "/tmp/project/Dockerfile")), "project"),
            (
                "git query input",
                attrs(&[("input:context", "https://github.com/docker/buildx.git?ref=main")]),
                None,
                "https://github.com/docker/buildx.git#main",
            ),
            (
                "vcs source",
                attrs(&[("vcs:source", "https://github.com/docker/buildx.git?ref=main")]),
                None,
                "https://github.com/docker/buildx.git#main",
            ),
            ("vcs local context fallback", attrs(&[("vcs:localdir:context", "subdir")]), None, "subdir"),
            (
                "dockerfile attrs",
                attrs(&[("filename", "Dockerfile.release"), ("vcs:localdir:dockerfile", "deploy")]),
                None,
                "deploy/Dockerfile.release",
            ),
            ("target only", attrs(&[("target", "release")]), None, "release"),
            (
                "context overrides local name",
                attrs(&[("context", "subdir"), ("target", "release")]),
                Some(state("/tmp/project", "/tmp/project/deploy/Dockerfile.release")),
                "subdir (release)",
            ),
            (
                "remote local path ignored",
                attrs(&[("filename", "Dockerfile.release"), ("vcs:localdir:dockerfile", "deploy")]),
                Some(state("https://github.com/docker/buildx.git", "/tmp/project/ignored/Dockerfile")),
                "deploy/Dockerfile.release",
            ),
        ];
        for (case, attrs, local, want) in cases {
            assert_eq!(build_name(&attrs, local.as_ref()), want, "{case}");
        }
    }

    #[test]
    fn buildx_0_13_state_without_a_dockerfile_names_the_context_folder() {
        // What buildx 0.13.1 on the test engine writes for `docker buildx build /tmp/lockprobe/ctx`.
        let local: LocalState =
            serde_json::from_str(r#"{"Target":"default","LocalPath":"/tmp/lockprobe/ctx","DockerfilePath":""}"#)
                .unwrap();
        assert_eq!(build_name(&attrs(&[("filename", "Dockerfile")]), Some(&local)), "ctx");
    }

    #[test]
    fn git_references_are_told_from_paths() {
        assert_eq!(
            parse_git_ref("https://github.com/moby/buildkit.git#v0.13.2:frontend"),
            Some(GitRef {
                remote: "https://github.com/moby/buildkit.git".into(),
                reference: "v0.13.2".into(),
                subdir: "frontend".into()
            })
        );
        assert_eq!(
            parse_git_ref("git@github.com:moby/buildkit.git").unwrap().remote,
            "git@github.com:moby/buildkit.git"
        );
        assert_eq!(parse_git_ref("https://example.com/archive.tar.gz"), None);
        assert_eq!(parse_git_ref("./github.com/x"), None);
        assert_eq!(parse_git_ref("/home/me/project"), None);
        assert_eq!(fragment_form("https://github.com/a/b.git?branch=dev"), "https://github.com/a/b.git#refs/heads/dev");
    }

    #[test]
    fn local_state_is_read_only_under_plain_names() {
        let dir = tempfile::tempdir().unwrap();
        let node = dir.path().join("refs/default/default");
        std::fs::create_dir_all(&node).unwrap();
        std::fs::write(node.join("abc123"), r#"{"LocalPath":"/src/app","DockerfilePath":"/src/app/Dockerfile"}"#)
            .unwrap();
        let states = LocalStates::new(dir.path(), "default", "default");
        assert_eq!(states.read("abc123").unwrap().local_path, "/src/app");
        assert_eq!(states.read("../abc123"), None);
        assert_eq!(LocalStates::new(dir.path(), "..", "default").read("abc123"), None);
    }
}
