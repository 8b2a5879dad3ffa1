//! A Dockerfile's outline for the Build view: its stages (for the target picker), ARGs (to prefill
//! build args), secrets and SSH mounts. [`crate::dockerfile::outline`] asks the builder's Dockerfile frontend for
//! it; the local parse here is the fallback when no builder can be reached. Also where a build
//! step's instruction is in the file ([`step_lines`]), the one place that is worked out.

pub mod outline;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
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

/// The Dockerfile a form names: empty means `Dockerfile` in the context (or `dockerfile` when only
/// that is there, as BuildKit's Dockerfile frontend falls back to it), a relative path is taken
/// from the context.
pub fn path(context: &Path, dockerfile: &str) -> PathBuf {
    match dockerfile.trim() {
        "" => {
            let (usual, lower) = (context.join("Dockerfile"), context.join("dockerfile"));
            if !usual.exists() && lower.exists() {
                lower
            } else {
                usual
            }
        }
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

/// Lines of a Dockerfile, 1-based and inclusive: an instruction continued over several lines, or
/// the span BuildKit's error details point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
}

/// One instruction: the lines it covers and its text, continuation lines joined by a space.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Instruction {
    lines: LineRange,
    text: String,
    /// The index of the stage it belongs to; `None` before the first FROM.
    stage: Option<usize>,
}

/// A Dockerfile's instructions in order, parsed once to place each of a build's steps. Comment
/// lines are skipped, and so are empty lines inside a continued instruction, as BuildKit's parser
/// skips them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Instructions {
    list: Vec<Instruction>,
    /// Each stage's `AS` name, lowercased as BuildKit names stages.
    stage_names: Vec<Option<String>>,
}

impl Instructions {
    pub fn parse(source: &str) -> Self {
        let mut parsed = Self::default();
        let mut current: Option<Instruction> = None;
        for (index, raw) in source.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let n = index as u32 + 1;
            let mut instruction = current.take().unwrap_or(Instruction {
                lines: LineRange { start: n, end: n },
                text: String::new(),
                stage: None,
            });
            instruction.lines.end = n;
            let (part, continued) = match line.strip_suffix('\\') {
                Some(part) => (part.trim_end(), true),
                None => (line, false),
            };
            if !instruction.text.is_empty() && !part.is_empty() {
                instruction.text.push(' ');
            }
            instruction.text.push_str(part);
            if continued {
                current = Some(instruction);
            } else {
                parsed.push(instruction);
            }
        }
        if let Some(last) = current {
            parsed.push(last);
        }
        parsed
    }

    fn push(&mut self, mut instruction: Instruction) {
        let mut words = instruction.text.split_whitespace();
        if words.next().is_some_and(|k| k.eq_ignore_ascii_case("FROM")) {
            let positional = arguments(words);
            let name = match positional.as_slice() {
                [_, as_kw, name, ..] if as_kw.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
                _ => None,
            };
            self.stage_names.push(name);
        }
        instruction.stage = self.stage_names.len().checked_sub(1);
        self.list.push(instruction);
    }

    /// The stage a step's prefix names: by its `AS` name, or `stage-N` for an unnamed one.
    fn stage_named(&self, name: &str) -> Option<usize> {
        let name = name.to_ascii_lowercase();
        self.stage_names.iter().position(|n| n.as_deref() == Some(name.as_str())).or_else(|| {
            let index: usize = name.strip_prefix("stage-")?.parse().ok()?;
            (index < self.stage_names.len()).then_some(index)
        })
    }

    /// The lines of the instruction a BuildKit vertex is named after (see [`step_lines`]).
    pub fn lines_of(&self, vertex_name: &str) -> Option<LineRange> {
        let (prefix, text) = match vertex_name.strip_prefix('[').and_then(|rest| rest.split_once("] ")) {
            Some((prefix, text)) => (prefix, text),
            None => ("", vertex_name),
        };
        // `[linux/amd64->arm64 build 3/5]`: the platform, the stage, the position; internal work
        // (`[internal] load build context`) comes from no instruction.
        let mut tokens: Vec<&str> = prefix.split_whitespace().collect();
        if tokens.contains(&"internal") {
            return None;
        }
        let is_position =
            |t: &&str| t.split_once('/').is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok());
        if tokens.last().is_some_and(is_position) {
            tokens.pop();
        }
        if tokens.first().is_some_and(|t| t.contains('/')) {
            tokens.remove(0);
        }
        let stage = tokens.first().and_then(|name| self.stage_named(name));
        let mut words = text.split_whitespace().peekable();
        let keyword = words.next()?;
        // Steps not named by a keyword (`exporting to image`) come from no instruction either.
        if !keyword.bytes().all(|b| b.is_ascii_uppercase()) || words.peek().is_none() {
            return None;
        }
        let step_args = arguments(words).join(" ");
        let candidates = || {
            self.list.iter().filter(move |i| stage.is_none() || i.stage == stage).filter_map(move |instruction| {
                let mut words = instruction.text.split_whitespace();
                if !words.next()?.eq_ignore_ascii_case(keyword) {
                    return None;
                }
                let mut body = arguments(words);
                // BuildKit names a FROM by its image, without the stage's `AS name`.
                if keyword == "FROM" && body.len() >= 3 && body[body.len() - 2].eq_ignore_ascii_case("as") {
                    body.truncate(body.len() - 2);
                }
                let body = body.join(" ");
                (!body.is_empty()).then_some((instruction.lines, body))
            })
        };
        let as_written = candidates().find(|(_, body)| {
            *body == step_args
                || step_args.starts_with(body.as_str())
                || body.starts_with(&step_args)
                || (keyword == "FROM" && same_image(body, &step_args))
        });
        // BuildKit names a step after its text with ARG and ENV values put in: only when no
        // instruction reads as the step does, one whose `$VAR`s could have become its name.
        as_written.or_else(|| candidates().find(|(_, body)| expands_to(body, &step_args))).map(|(lines, _)| lines)
    }
}

/// Whether `named` can be `written` with its variable references (`$VAR`, `${VAR}`,
/// `${VAR:-default}`) replaced by some text each; false when `written` has none.
fn expands_to(written: &str, named: &str) -> bool {
    let (mut literals, mut literal) = (Vec::new(), String::new());
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('$', Some('{')) => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                literals.push(std::mem::take(&mut literal));
            }
            ('$', Some(next)) if next.is_ascii_alphabetic() || *next == '_' => {
                while chars.peek().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    chars.next();
                }
                literals.push(std::mem::take(&mut literal));
            }
            (c, _) => literal.push(c),
        }
    }
    literals.push(literal);
    let [first, middle @ .., last] = literals.as_slice() else {
        return false;
    };
    let Some(mut rest) = named.strip_prefix(first.as_str()) else {
        return false;
    };
    for literal in middle {
        match rest.find(literal.as_str()) {
            Some(at) => rest = &rest[at + literal.len()..],
            None => return false,
        }
    }
    rest.ends_with(last.as_str())
}

/// Whether a FROM's image is the one a step names: BuildKit names it in full and pinned
/// (`docker.io/library/golang:1.22@sha256:…`) whatever the Dockerfile wrote (`golang:1.22`).
fn same_image(written: &str, named: &str) -> bool {
    use crate::images::reference::ImageReference;
    let (Ok(written), Ok(named)) = (written.parse::<ImageReference>(), named.parse::<ImageReference>()) else {
        return false;
    };
    written.name() == named.name()
        && match &written.digest {
            Some(digest) => named.digest.as_ref() == Some(digest),
            None => written.tag == named.tag,
        }
}

/// An instruction's arguments without its `--flag=…` options, which BuildKit leaves out of (or
/// rewrites in) a step's name, e.g. `--platform`.
fn arguments<'a>(words: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    words.filter(|w| !w.starts_with("--")).collect()
}

/// The lines of the Dockerfile `source` a build step came from, given its BuildKit vertex name
/// (`[linux/arm64 build 3/5] RUN make`, `FROM base@sha256:…`, `[internal] load build context`).
/// `reported`, the range BuildKit's error details carry for a failed step, wins: it is exact.
/// Otherwise the step is matched by the text BuildKit names it after, its instruction: the first
/// instruction of the same keyword whose arguments (options left out; a FROM's `AS name` too) are
/// the step's, or a prefix of them, or start with them (BuildKit pins a FROM's image to a digest
/// and may shorten a long name). `None` for internal steps and when nothing matches.
pub fn step_lines(source: &str, vertex_name: &str, reported: Option<LineRange>) -> Option<LineRange> {
    reported.or_else(|| Instructions::parse(source).lines_of(vertex_name))
}

/// The local parse: stages and every ARG of the file, without descriptions, secrets or SSH mounts;
/// `reason` says why no builder was asked.
pub fn local_outline(source: &str, reason: String) -> DockerfileOutline {
    let mut stages = Vec::new();
    let mut args = Vec::new();
    for Instruction { lines, text, .. } in Instructions::parse(source).list {
        let line = lines.start;
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

    /// The Dockerfile of the UI's former step-line tests (ui/src/lib/build/failure.test.ts).
    const DOCKERFILE: &str = "# syntax=docker/dockerfile:1\nFROM --platform=$TARGETPLATFORM 127.0.0.1:5055/busybox:latest AS base\nARG X=1\nRUN echo one && \\\n    echo two\n\nRUN [ \"$(uname -m)\" != \"aarch64\" ]";

    fn lines(start: u32, end: u32) -> Option<LineRange> {
        Some(LineRange { start, end })
    }

    #[test]
    fn a_context_with_only_a_lowercase_dockerfile_builds_it_as_buildkit_falls_back_to_it() {
        let context = tempfile::tempdir().unwrap();
        assert_eq!(path(context.path(), ""), context.path().join("Dockerfile"), "named as missing");
        std::fs::write(context.path().join("dockerfile"), "FROM scratch\n").unwrap();
        assert_eq!(path(context.path(), ""), context.path().join("dockerfile"));
        std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        assert_eq!(path(context.path(), ""), context.path().join("Dockerfile"));
        assert_eq!(path(context.path(), "sub/Dockerfile"), context.path().join("sub/Dockerfile"));
    }

    #[test]
    fn instructions_join_continuation_lines_and_skip_comments() {
        let parsed = Instructions::parse(DOCKERFILE).list;
        assert_eq!(
            parsed.iter().map(|i| (i.lines.start, i.lines.end)).collect::<Vec<_>>(),
            [(2, 2), (3, 3), (4, 5), (7, 7)]
        );
        assert_eq!(parsed[2].text, "RUN echo one && echo two");
    }

    #[test]
    fn steps_match_their_instruction_and_from_by_image_without_flags_digest_or_stage_name() {
        let at = |name: &str| step_lines(DOCKERFILE, name, None);
        assert_eq!(at("[linux/arm64 3/3] RUN [ \"$(uname -m)\" != \"aarch64\" ]"), lines(7, 7));
        assert_eq!(at("[linux/amd64 2/3] RUN echo one &&     echo two"), lines(4, 5));
        assert_eq!(at("[linux/amd64 1/3] FROM 127.0.0.1:5055/busybox:latest@sha256:abc"), lines(2, 2));
        assert_eq!(at("[internal] load build context"), None);
        assert_eq!(at("load build context"), None);
        assert_eq!(at("[linux/amd64 1/1] RUN other"), None);
    }

    #[test]
    fn a_step_is_found_whatever_its_prefix_and_internal_steps_never_are() {
        let source = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN --mount=type=cache,target=/root/.cache \\\n\n    # fetch first\n    go mod download\nFROM alpine\nCOPY --from=build /out/app /app\n";
        let at = |name: &str| step_lines(source, name, None);
        let digest = format!("sha256:{}", "0".repeat(64));
        // BuildKit names an image in full; the Dockerfile need not.
        assert_eq!(
            at(&format!("[linux/amd64->arm64 build 1/2] FROM docker.io/library/golang:1.22@{digest}")),
            lines(1, 1)
        );
        assert_eq!(at(&format!("[build 1/2] FROM golang:1.22@{digest}")), lines(1, 1));
        assert_eq!(at(&format!("[build 1/2] FROM docker.io/library/golang:1.23@{digest}")), None, "another tag");
        // An empty line and a comment inside a continuation belong to it, as BuildKit parses it.
        assert_eq!(
            at("[linux/arm64 build 2/2] RUN --mount=type=cache,target=/root/.cache go mod download"),
            lines(2, 5)
        );
        assert_eq!(at("FROM alpine"), lines(6, 6));
        assert_eq!(
            at(&format!("[linux/arm64 stage-1 1/2] FROM docker.io/library/alpine:latest@{digest}")),
            lines(6, 6)
        );
        assert_eq!(at("[linux/arm64 stage-1 2/2] COPY /out/app /app"), lines(7, 7));
        assert_eq!(at("[linux/arm64 internal] load metadata for docker.io/library/alpine:latest"), None);
        assert_eq!(at("[auth] library/alpine:pull token for registry-1.docker.io"), None);
        assert_eq!(at("exporting to image"), None);
        assert_eq!(at("RUN"), None, "a keyword alone names nothing");
    }

    #[test]
    fn a_step_is_looked_for_in_its_own_stage_and_with_its_args_put_in() {
        // core/tests/builds.rs's cross-compiling Dockerfile, and names BuildKit gave its steps.
        let source = "FROM --platform=$BUILDPLATFORM 127.0.0.1:5055/busybox:latest AS builder\nARG TARGETOS TARGETARCH\nRUN echo \"built on $(uname -m) for $TARGETOS/$TARGETARCH\" > /app.txt\n\nFROM 127.0.0.1:5055/busybox:latest\nCOPY --from=builder /app.txt /app.txt\nRUN cat /app.txt && uname -m\n";
        let at = |name: &str| step_lines(source, name, None);
        let busybox = "FROM 127.0.0.1:5055/busybox:latest@sha256:eacb6779e6b3ff40cb85241cca40151a6fd636ab20f29a082876316a481005b4";
        assert_eq!(at(&format!("[linux/amd64 builder 1/2] {busybox}")), lines(1, 1));
        assert_eq!(at(&format!("[linux/arm64 stage-1 1/3] {busybox}")), lines(5, 5));
        assert_eq!(
            at("[linux/amd64->arm/v7 builder 2/2] RUN echo \"built on $(uname -m) for linux/arm\" > /app.txt"),
            lines(3, 3)
        );
        assert_eq!(at("[linux/arm64 stage-1 2/3] COPY --from=builder /app.txt /app.txt"), lines(6, 6));
        assert_eq!(at("[linux/arm64 stage-1 3/3] RUN cat /app.txt && uname -m"), lines(7, 7));
        // Positions are padded when a stage has ten steps or more.
        assert_eq!(at("[linux/arm64 stage-1  3/12] RUN cat /app.txt && uname -m"), lines(7, 7));
    }

    #[test]
    fn variables_stand_for_any_text_only_when_nothing_reads_as_the_step() {
        assert!(expands_to("echo ${GREETING:-hi}, $NAME!", "echo hello, world!"));
        assert!(expands_to("$CMD", "make all"));
        assert!(!expands_to("echo $NAME!", "echo world?"));
        assert!(!expands_to("echo $(uname -m)", "echo $(uname -m)"), "no variable, nothing to expand");
        let source = "FROM x\nRUN $CMD\nRUN make all\n";
        assert_eq!(step_lines(source, "[2/3] RUN make all", None), lines(3, 3));
        assert_eq!(step_lines(source, "[3/3] RUN make test", None), lines(2, 2));
    }

    #[test]
    fn buildkits_own_range_wins_over_the_text() {
        assert_eq!(step_lines(DOCKERFILE, "[linux/amd64 2/3] RUN echo one && echo two", lines(5, 6)), lines(5, 6));
        assert_eq!(step_lines("", "[internal] load build context", lines(3, 3)), lines(3, 3));
    }

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
