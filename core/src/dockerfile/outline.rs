//! The Build form's outline of a Dockerfile as the builder's Dockerfile frontend reports it: every
//! stage (`frontend.targets`: name, base, platform, line, which is the default) and, for the chosen
//! target, its ARGs with defaults and `# NAME description` comments, secrets and SSH mounts
//! (`frontend.outline`), what `docker buildx build --print=targets|outline` shows. Both are asked
//! in one gateway build with a session that serves the context and the Dockerfile, as for a build.
//!
//! Offline fallback: when the builder cannot be reached (engine stopped, daemon unreachable, a
//! BuildKit without the gateway bridge) the outline comes from the local parse in
//! [`crate::dockerfile`], so the form still fills; its `origin` says which it is.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use tracing::instrument;

use crate::builders::drivers::DriverError;
use crate::builders::{BuilderError, Builders};
use crate::buildkit::session::SessionServices;
use crate::buildkit::BuildkitError;
use crate::builds::{self, BuildError, BuildRequest};
use crate::docker_config::credentials::CredentialStore;
use crate::dockerfile::{self, DockerfileOutline, OutlineArg, OutlineMount, OutlineOrigin, OutlineStage};
use crate::engine::EngineError;

/// What the form's outline is asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutlineRequest {
    /// Empty: the current builder.
    pub builder: String,
    /// The context folder.
    pub context: String,
    /// Empty means `Dockerfile` in the context, a relative path is taken from the context.
    pub dockerfile: String,
    /// The stage whose ARGs are wanted; empty: the default (last) stage. Build args are not sent, so
    /// the values are the Dockerfile's own defaults.
    pub target: String,
}

/// The Dockerfile's outline from the builder's frontend, or from the local parse when the builder
/// cannot be reached. A syntax error is [`BuildError::DockerfileSyntax`] with the frontend's line.
#[instrument(skip(builders))]
pub async fn outline(
    builders: &Builders,
    request: &OutlineRequest,
    docker_context: Option<&str>,
) -> Result<DockerfileOutline, BuildError> {
    let checked = builds::check(&BuildRequest {
        context: request.context.clone(),
        dockerfile: request.dockerfile.clone(),
        ..Default::default()
    })?;
    let source = dockerfile::read_source(&checked.dockerfile)?;
    match ask(builders, request, docker_context, &checked).await {
        Ok((builder, answers)) => from_answers(source, builder, &answers),
        Err(e) if unreachable(&e) => {
            tracing::info!(error = %e, "outlining the Dockerfile locally");
            Ok(dockerfile::local_outline(&source, e.to_string()))
        }
        Err(BuildError::Buildkit(BuildkitError::Call { message, details, .. }))
            if message.contains("dockerfile parse error") =>
        {
            let line =
                details.location().and_then(|l| l.span()).map(|r| r.start).or_else(|| dockerfile::line_in(&message));
            // `dockerfile parse error on line N: what` → `what`; the line is said once, by the error.
            let at = message.find("dockerfile parse error").unwrap_or(0);
            let what = message[at..].split_once(": ").map_or(message.as_str(), |(_, what)| what).to_owned();
            // Named as the form names it: the context folder is said by the field above.
            let file = checked.dockerfile.strip_prefix(&checked.context).map_or(checked.dockerfile.clone(), Into::into);
            Err(BuildError::DockerfileSyntax { file, line, message: what })
        }
        Err(e) => Err(e),
    }
}

/// The frontend's answers to `frontend.targets` and `frontend.outline`, and the builder's name.
async fn ask(
    builders: &Builders,
    request: &OutlineRequest,
    docker_context: Option<&str>,
    checked: &builds::Checked,
) -> Result<(String, Vec<HashMap<String, Vec<u8>>>), BuildError> {
    let (name, driver) = builds::target(builders, &request.builder, docker_context).await?;
    let builder = builds::connect(name, driver).await?;
    let services = SessionServices {
        dirs: HashMap::from([
            ("context".to_owned(), checked.context.clone()),
            ("dockerfile".to_owned(), checked.dockerfile_dir.clone()),
        ]),
        // A `# syntax=` image may need a registry login.
        credentials: Some(CredentialStore::new(builders.contexts().environment())),
        ..Default::default()
    };
    let session = builder.attach(&checked.context, services).await?;
    let ask = |id: &str, target: &str| {
        let mut opts = BTreeMap::from([
            ("filename".to_owned(), checked.dockerfile_name.clone()),
            ("requestid".to_owned(), id.to_owned()),
        ]);
        if !target.is_empty() {
            opts.insert("target".to_owned(), target.to_owned());
        }
        opts
    };
    let requests = [ask("frontend.targets", ""), ask("frontend.outline", request.target.trim())];
    let answers = builder.control.frontend_subrequests(session.id(), "dockerfile.v0", &requests).await?;
    drop(session);
    Ok((builder.builder, answers))
}

/// Errors that mean no builder could be asked, as opposed to a question it refused.
fn unreachable(e: &BuildError) -> bool {
    let engine = |e: &EngineError| matches!(e, EngineError::Unreachable { .. });
    let buildkit = |e: &BuildkitError| match e {
        BuildkitError::Transport(_) => true,
        BuildkitError::Call { code, .. } => matches!(code, tonic::Code::Unavailable | tonic::Code::Unimplemented),
    };
    match e {
        BuildError::Engine(e) | BuildError::Builder(BuilderError::Engine(e)) => engine(e),
        BuildError::Session(_) => true,
        BuildError::Buildkit(e) => buildkit(e),
        BuildError::Builder(BuilderError::Driver(d)) => match d {
            DriverError::Engine(e) => engine(e),
            DriverError::Buildkit(e) => buildkit(e),
            DriverError::BootFailed { .. } | DriverError::ImageUnavailable { .. } => true,
            _ => false,
        },
        _ => false,
    }
}

#[derive(Deserialize)]
struct Targets {
    #[serde(default)]
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    name: String,
    #[serde(default)]
    default: bool,
    description: Option<String>,
    #[serde(default)]
    base: String,
    platform: Option<String>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Outline {
    name: Option<String>,
    #[serde(default)]
    args: Vec<Arg>,
    #[serde(default)]
    secrets: Vec<Mount>,
    #[serde(default)]
    ssh: Vec<Mount>,
}

#[derive(Deserialize)]
struct Arg {
    name: String,
    description: Option<String>,
    value: Option<String>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Mount {
    name: String,
    #[serde(default)]
    required: bool,
    location: Option<Location>,
}

/// BuildKit's `pb.Location`: ranges of 1-based lines.
#[derive(Deserialize)]
struct Location {
    #[serde(default)]
    ranges: Vec<Range>,
}

#[derive(Deserialize)]
struct Range {
    start: Position,
}

#[derive(Deserialize)]
struct Position {
    #[serde(default)]
    line: u32,
}

fn line(location: &Option<Location>) -> u32 {
    location.as_ref().and_then(|l| l.ranges.first()).map(|r| r.start.line).unwrap_or(0)
}

fn answer<T: for<'de> Deserialize<'de>>(answers: &[HashMap<String, Vec<u8>>], index: usize) -> Result<T, BuildError> {
    let malformed = |reason: String| {
        BuildError::Buildkit(BuildkitError::call(
            "the Dockerfile frontend",
            "LLBBridge.Solve",
            &tonic::Status::internal(format!("unexpected subrequest answer: {reason}")),
        ))
    };
    let json =
        answers.get(index).and_then(|a| a.get("result.json")).ok_or_else(|| malformed("no result.json".into()))?;
    serde_json::from_slice(json).map_err(|e| malformed(e.to_string()))
}

fn from_answers(
    source: String,
    builder: String,
    answers: &[HashMap<String, Vec<u8>>],
) -> Result<DockerfileOutline, BuildError> {
    let targets: Targets = answer(answers, 0)?;
    let outline: Outline = answer(answers, 1)?;
    let mounts = |list: Vec<Mount>| {
        list.into_iter()
            .map(|m| OutlineMount { line: line(&m.location), name: m.name, required: m.required })
            .collect::<Vec<_>>()
    };
    Ok(DockerfileOutline {
        source,
        stages: targets
            .targets
            .into_iter()
            .map(|t| OutlineStage {
                line: line(&t.location),
                name: Some(t.name).filter(|n| !n.is_empty()),
                base: t.base,
                platform: t.platform.filter(|p| !p.is_empty()),
                default: t.default,
                description: t.description.filter(|d| !d.is_empty()),
            })
            .collect(),
        target: outline.name.filter(|n| !n.is_empty()),
        args: outline
            .args
            .into_iter()
            .map(|a| OutlineArg {
                line: line(&a.location),
                name: a.name,
                default: a.value,
                description: a.description.filter(|d| !d.is_empty()),
            })
            .collect(),
        secrets: mounts(outline.secrets),
        ssh: mounts(outline.ssh),
        origin: OutlineOrigin::Builder { builder },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(targets: &str, outline: &str) -> Vec<HashMap<String, Vec<u8>>> {
        [targets, outline]
            .iter()
            .map(|json| HashMap::from([("result.json".to_owned(), json.as_bytes().to_vec())]))
            .collect()
    }

    #[test]
    fn the_frontends_answers_become_the_forms_outline() {
        let o = from_answers(
            "FROM x".into(),
            "default".into(),
            &answers(
                r#"{"targets":[{"name":"builder","base":"${BASE}","platform":"$BUILDPLATFORM","location":{"ranges":[{"start":{"line":3},"end":{"line":3}}]}},{"name":"final","default":true,"base":"${BASE}","location":{"ranges":[{"start":{"line":10},"end":{"line":10}}]}}],"sources":["eA=="]}"#,
                r#"{"name":"final","args":[{"name":"GREETING","description":"the word to print","value":"hello","location":{"ranges":[{"start":{"line":5},"end":{"line":5}}]}},{"name":"VERSION"}],"secrets":[{"name":"token","required":true,"location":{"ranges":[{"start":{"line":7},"end":{"line":7}}]}}],"ssh":[{"name":"default"}]}"#,
            ),
        )
        .unwrap();
        assert_eq!(o.origin, OutlineOrigin::Builder { builder: "default".into() });
        assert_eq!(o.target.as_deref(), Some("final"));
        assert_eq!(
            o.stages.iter().map(|s| (s.name.as_deref(), s.line, s.platform.as_deref(), s.default)).collect::<Vec<_>>(),
            [(Some("builder"), 3, Some("$BUILDPLATFORM"), false), (Some("final"), 10, None, true)]
        );
        assert_eq!(
            o.args[0],
            OutlineArg {
                name: "GREETING".into(),
                default: Some("hello".into()),
                line: 5,
                description: Some("the word to print".into())
            }
        );
        assert_eq!(o.args[1].default, None);
        assert_eq!(o.secrets, [OutlineMount { name: "token".into(), required: true, line: 7 }]);
        assert_eq!(o.ssh, [OutlineMount { name: "default".into(), required: false, line: 0 }]);
    }

    #[test]
    fn an_answer_without_result_json_is_an_error() {
        let err = from_answers("".into(), "b".into(), &[HashMap::new(), HashMap::new()]).unwrap_err();
        assert!(err.to_string().contains("no result.json"), "{err}");
    }
}
