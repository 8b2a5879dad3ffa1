//! A Dockerfile's outline for the Build view: its stages (for the target picker) and ARGs (to
//! prefill build args), read locally so the form fills in before any builder is asked.

use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DockerfileOutline {
    pub source: String,
    pub stages: Vec<OutlineStage>,
    pub args: Vec<OutlineArg>,
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OutlineArg {
    pub name: String,
    pub default: Option<String>,
    pub line: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error("cannot read Dockerfile {path}: {reason}")]
    Read { path: String, reason: String },
}

/// Reads and outlines the Dockerfile at `path`.
pub fn outline_file(path: &Path) -> Result<DockerfileOutline, DockerfileError> {
    let source = std::fs::read_to_string(path).map_err(|e| DockerfileError::Read {
        path: path.display().to_string(),
        reason: crate::engine::io_reason(&e),
    })?;
    Ok(outline(&source))
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

pub fn outline(source: &str) -> DockerfileOutline {
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
                stages.push(OutlineStage { name, base: positional.first().unwrap_or(&"").to_string(), line, platform });
            }
            "ARG" => {
                for item in rest {
                    let (name, default) = match item.split_once('=') {
                        Some((n, d)) => (n, Some(d.trim_matches('"').to_owned())),
                        None => (item, None),
                    };
                    args.push(OutlineArg { name: name.to_owned(), default, line });
                }
            }
            _ => {}
        }
    }
    DockerfileOutline { source: source.to_owned(), stages, args }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_and_args_of_the_cross_compiling_tutorial() {
        let o = outline(
            "# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nARG TARGETOS TARGETARCH\nARG VERSION=\"1.0\"\nRUN GOOS=$TARGETOS \\\n    go build -o /out/app\n\nfrom alpine\nCOPY --from=build /out/app /app\n",
        );
        assert_eq!(
            o.stages,
            [
                OutlineStage {
                    name: Some("build".into()),
                    base: "golang:1.22".into(),
                    line: 2,
                    platform: Some("$BUILDPLATFORM".into())
                },
                OutlineStage { name: None, base: "alpine".into(), line: 8, platform: None },
            ]
        );
        assert_eq!(
            o.args.iter().map(|a| (a.name.as_str(), a.default.as_deref(), a.line)).collect::<Vec<_>>(),
            [("TARGETOS", None, 3), ("TARGETARCH", None, 3), ("VERSION", Some("1.0"), 4)]
        );
    }
}
