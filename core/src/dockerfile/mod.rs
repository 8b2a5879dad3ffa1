//! A Dockerfile's outline for the Build view: its stages (for the target picker), ARGs (to prefill
//! build args), secrets and SSH mounts. [`crate::dockerfile::outline`] asks the builder's Dockerfile frontend for
//! it; the local parse here is the fallback when no builder can be reached.

pub mod outline;

use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DockerfileOutline {
    pub source: String,
    pub stages: Vec<OutlineStage>,
    /// The stage `args`, `secrets` and `ssh` are for (the target, else the default stage); `None`
    /// from the local parse, whose `args` are every ARG of the file.
    pub target: Option<String>,
    /// The ARGs the target uses, without BuildKit's built-in ones (`TARGETARCH`, …) from the frontend.
    pub args: Vec<OutlineArg>,
    pub secrets: Vec<OutlineMount>,
    pub ssh: Vec<OutlineMount>,
    pub origin: OutlineOrigin,
}

/// Where an outline came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
#[ts(export)]
pub enum OutlineOrigin {
    /// The Dockerfile frontend of this builder answered.
    Builder { builder: String },
    /// Parsed here because no builder could be asked, for this reason.
    Local { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OutlineStage {
    pub name: Option<String>,
    pub base: String,
    /// 1-based line of its FROM.
    pub line: u32,
    /// `--platform=…` as written, e.g. `$BUILDPLATFORM`.
    pub platform: Option<String>,
    /// The stage built when no target is given (the last one).
    pub default: bool,
    /// From a `# NAME description` comment above the FROM.
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OutlineArg {
    pub name: String,
    pub default: Option<String>,
    pub line: u32,
    /// From a `# NAME description` comment above the ARG.
    pub description: Option<String>,
}

/// A secret or SSH agent a `RUN --mount=type=secret|ssh` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OutlineMount {
    /// The secret's id, or the SSH agent's (`default`).
    pub name: String,
    pub required: bool,
    pub line: u32,
}

/// The most a Dockerfile may weigh when read here: real ones are a few KiB, and whatever is read is
/// held in memory and shown in the window.
pub const MAX_DOCKERFILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error("cannot read Dockerfile {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("Dockerfile {path} is not a regular file")]
    NotAFile { path: String },
    #[error("Dockerfile {path} is larger than {limit} bytes, the most a Dockerfile may be")]
    TooLarge { path: String, limit: u64 },
    #[error("Dockerfile {path} is outside the build context {context}: only a Dockerfile inside the context is shown")]
    OutsideContext { path: String, context: String },
}

/// The Dockerfile a form names: empty means `Dockerfile` in the context, a relative path is taken
/// from the context.
pub fn path(context: &Path, dockerfile: &str) -> PathBuf {
    match dockerfile.trim() {
        "" => context.join("Dockerfile"),
        file if Path::new(file).is_absolute() => PathBuf::from(file),
        file => context.join(file),
    }
}

/// The Dockerfile's text: a regular file (never a device, a pipe or a folder, which could block or
/// fill memory) of at most [`MAX_DOCKERFILE_BYTES`].
pub fn read_source(path: &Path) -> Result<String, DockerfileError> {
    use std::io::Read;
    let shown = || path.display().to_string();
    let read_error = |e: std::io::Error| DockerfileError::Read { path: shown(), reason: crate::io_error::reason(&e) };
    // Checked before opening too: opening a FIFO for reading waits for a writer.
    if !std::fs::metadata(path).map_err(read_error)?.is_file() {
        return Err(DockerfileError::NotAFile { path: shown() });
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let meta = file.metadata().map_err(read_error)?;
    if !meta.is_file() {
        return Err(DockerfileError::NotAFile { path: shown() });
    }
    if meta.len() > MAX_DOCKERFILE_BYTES {
        return Err(DockerfileError::TooLarge { path: shown(), limit: MAX_DOCKERFILE_BYTES });
    }
    // The size can change after the check: never read more than the limit allows.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_DOCKERFILE_BYTES + 1).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() as u64 > MAX_DOCKERFILE_BYTES {
        return Err(DockerfileError::TooLarge { path: shown(), limit: MAX_DOCKERFILE_BYTES });
    }
    String::from_utf8(bytes).map_err(|_| DockerfileError::Read { path: shown(), reason: "not UTF-8 text".into() })
}

/// The text of the Dockerfile a form names (see [`path`]), only when it lies inside the context
/// folder once links are resolved: what the window shows of the user's files is the build context
/// they chose, not any file a page's script names.
pub fn read_in_context(context: &Path, dockerfile: &str) -> Result<String, DockerfileError> {
    let resolve = |p: &Path| {
        p.canonicalize()
            .map_err(|e| DockerfileError::Read { path: p.display().to_string(), reason: crate::io_error::reason(&e) })
    };
    let context = resolve(context)?;
    let file = resolve(&path(&context, dockerfile))?;
    if !file.starts_with(&context) {
        return Err(DockerfileError::OutsideContext {
            path: file.display().to_string(),
            context: context.display().to_string(),
        });
    }
    read_source(&file)
}

/// The `line N` of an error message, as the frontend writes `dockerfile parse error on line N: …`.
pub(crate) fn line_in(message: &str) -> Option<u32> {
    let at = message.find("line ")?;
    message[at + 5..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().ok()
}

/// Instructions with their starting line, continuation lines joined and comments dropped.
fn instructions(source: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut current: Option<(u32, String)> = None;
    for (index, raw) in source.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_none()) {
            continue;
        }
        let (start, mut text) = current.take().unwrap_or((index as u32 + 1, String::new()));
        match line.strip_suffix('\\') {
            Some(part) => {
                text.push_str(part);
                text.push(' ');
                current = Some((start, text));
            }
            None => {
                text.push_str(line);
                out.push((start, text));
            }
        }
    }
    out.extend(current);
    out
}

/// The local parse: stages and every ARG of the file, without descriptions, secrets or SSH mounts;
/// `reason` says why no builder was asked.
pub fn local_outline(source: &str, reason: String) -> DockerfileOutline {
    let mut stages = Vec::new();
    let mut args = Vec::new();
    for (line, text) in instructions(source) {
        let mut words = text.split_whitespace();
        let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
        let rest: Vec<&str> = words.collect();
        match keyword.as_str() {
            "FROM" => {
                let platform = rest.iter().find_map(|w| w.strip_prefix("--platform=")).map(str::to_owned);
                let positional: Vec<&str> = rest.iter().copied().filter(|w| !w.starts_with("--")).collect();
                let name = match positional.as_slice() {
                    [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_string()),
                    _ => None,
                };
                stages.push(OutlineStage {
                    name,
                    base: positional.first().unwrap_or(&"").to_string(),
                    line,
                    platform,
                    default: false,
                    description: None,
                });
            }
            "ARG" => {
                for item in rest {
                    let (name, default) = match item.split_once('=') {
                        Some((n, d)) => (n, Some(d.trim_matches('"').to_owned())),
                        None => (item, None),
                    };
                    args.push(OutlineArg { name: name.to_owned(), default, line, description: None });
                }
            }
            _ => {}
        }
    }
    if let Some(last) = stages.last_mut() {
        last.default = true;
    }
    DockerfileOutline {
        source: source.to_owned(),
        stages,
        target: None,
        args,
        secrets: Vec::new(),
        ssh: Vec::new(),
        origin: OutlineOrigin::Local { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_args_of_the_cross_compiling_tutorial() {
        let o = local_outline(
            "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\nARG VERSION=\"1.0\"\nRUN GOOS=$TARGETOS \\\n    go build -o /out/app\n\nfrom alpine\nCOPY --from=build /out/app /app\n",
            "offline".into(),
        );
        assert_eq!(
            o.stages,
            [
                OutlineStage {
                    name: Some("build".into()),
                    base: "golang:1.22".into(),
                    line: 2,
                    platform: Some("$BUILDPLATFORM".into()),
                    default: false,
                    description: None,
                },
                OutlineStage {
                    name: None,
                    base: "alpine".into(),
                    line: 8,
                    platform: None,
                    default: true,
                    description: None
                },
            ]
        );
        assert_eq!(
            o.args.iter().map(|a| (a.name.as_str(), a.default.as_deref(), a.line)).collect::<Vec<_>>(),
            [("TARGETOS", None, 3), ("TARGETARCH", None, 3), ("VERSION", Some("1.0"), 4)]
        );
        assert_eq!(o.origin, OutlineOrigin::Local { reason: "offline".into() });
    }
}
