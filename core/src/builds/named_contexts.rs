//! `--build-context NAME=VALUE`, as buildx hands named contexts to the Dockerfile frontend: a
//! folder is served by the session under the context's name (`local:NAME`), anything else it can
//! fetch itself (`docker-image://…`, `target:…`, a git or HTTP URL, `oci-layout://…`) is passed
//! as written. Names are image names, kept in their short form (`docker.io/library/alpine:latest`
//! is `alpine`).

use std::path::PathBuf;

use super::BuildError;
use crate::images::reference::ImageReference;

/// One named context of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamedContext {
    pub name: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A folder on this machine, served under `session_name`.
    Folder { path: PathBuf, session_name: String },
    /// What the frontend resolves itself, as written.
    Passed(String),
}

/// The frontend capability buildx asks for whenever a build has named contexts.
pub(crate) const CAPABILITY: (&str, &str) = ("frontend.caps", "moby.buildkit.frontend.contexts+forward");

/// Prefixes the frontend resolves itself.
const PASSED: &[&str] =
    &["docker-image://", "target:", "oci-layout://", "http://", "https://", "git://", "git@", "ssh://", "github.com/"];

/// Parses `--build-context` items; a folder must exist and be a folder.
pub(crate) fn parse(items: &[String]) -> Result<Vec<NamedContext>, BuildError> {
    items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()).map(parse_one).collect()
}

fn parse_one(item: &str) -> Result<NamedContext, BuildError> {
    let invalid = |reason: String| BuildError::NamedContext { item: item.to_owned(), reason };
    let (name, value) = item.split_once('=').ok_or_else(|| invalid("expected NAME=VALUE".into()))?;
    let name = short_name(name.trim()).ok_or_else(|| invalid(format!("invalid context name {}", name.trim())))?;
    let value = value.trim();
    if PASSED.iter().any(|prefix| value.starts_with(prefix)) {
        return Ok(NamedContext { name, source: Source::Passed(value.to_owned()) });
    }
    let path = PathBuf::from(value);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(invalid(format!("{value} is not a folder"))),
        Err(e) => return Err(invalid(format!("{value}: {}", crate::io_error::reason(&e)))),
    }
    // The session's own folders are `context` and `dockerfile`: buildx prefixes these two names.
    let session_name =
        if matches!(name.as_str(), "context" | "dockerfile") { format!("_{name}") } else { name.clone() };
    Ok(NamedContext { name, source: Source::Folder { path, session_name } })
}

/// An image name in docker's short form, `:latest` dropped, as buildx keys named contexts.
fn short_name(name: &str) -> Option<String> {
    let reference: ImageReference = name.parse().ok()?;
    let repository = match reference.registry.as_str() {
        "docker.io" => reference.repository.strip_prefix("library/").unwrap_or(&reference.repository).to_owned(),
        registry => format!("{registry}/{}", reference.repository),
    };
    let tagged = match reference.tag.as_deref() {
        Some(tag) if tag != "latest" => format!("{repository}:{tag}"),
        _ => repository,
    };
    Some(match &reference.digest {
        Some(digest) => format!("{tagged}@{digest}"),
        None => tagged,
    })
}

impl NamedContext {
    /// Its frontend attribute: `context:NAME`.
    pub(crate) fn attr(&self) -> (String, String) {
        let value = match &self.source {
            Source::Folder { session_name, .. } => format!("local:{session_name}"),
            Source::Passed(value) => value.clone(),
        };
        (format!("context:{}", self.name), value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_served_by_name_and_the_rest_passed_as_written() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().to_string_lossy();
        let items = [
            format!("extra={path}"),
            format!("context={path}"),
            "docker.io/library/alpine:latest=docker-image://127.0.0.1:5055/busybox:latest".to_owned(),
            "base=target:build".to_owned(),
        ];
        let attrs: Vec<(String, String)> = parse(&items).unwrap().iter().map(NamedContext::attr).collect();
        assert_eq!(
            attrs,
            [
                ("context:extra".to_owned(), "local:extra".to_owned()),
                ("context:context".to_owned(), "local:_context".to_owned()),
                ("context:alpine".to_owned(), "docker-image://127.0.0.1:5055/busybox:latest".to_owned()),
                ("context:base".to_owned(), "target:build".to_owned()),
            ]
        );
    }

    #[test]
    fn a_bad_name_a_missing_folder_or_a_file_is_refused() {
        let file = tempfile::NamedTempFile::new().unwrap();
        for item in ["Upper=/tmp", "novalue", "gone=/nowhere/at/all", &format!("file={}", file.path().display())] {
            assert!(matches!(parse(&[item.to_owned()]), Err(BuildError::NamedContext { .. })), "{item}");
        }
    }
}
