//! Failure analysis: which platform and step failed, the Dockerfile line it points at, the last
//! output, and which platforms succeeded, failure first.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::buildkit::error_details::{ErrorDetails, SourceLocation};
use crate::dockerfile::{self, LineRange};
use crate::progress::{ProgressModel, Step, StepState};

/// Why a build failed, failure first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildFailure {
    pub message: String,
    /// The lane of the failed step (`linux/arm64`, or `shared`).
    pub platform: Option<String>,
    pub step: Option<Step>,
    /// 1-based line of the Dockerfile the failure points at, when it can be told: from the source
    /// location BuildKit attaches to the error, else from the message or the step's instruction.
    pub dockerfile_line: Option<u32>,
    /// The last line of that span (an instruction continued over several lines).
    pub dockerfile_end_line: Option<u32>,
    /// The file BuildKit's source location names, e.g. `Dockerfile`.
    pub dockerfile_name: Option<String>,
    /// The Dockerfile as the frontend read it, sent by BuildKit with the location.
    pub dockerfile_source: Option<String>,
    /// The failing vertex (step id) BuildKit named.
    pub vertex: Option<String>,
    /// The failing process's exit code, when BuildKit sent it.
    pub exit_code: Option<u32>,
    pub last_lines: Vec<String>,
    /// Platforms whose steps all finished.
    pub succeeded_platforms: Vec<String>,
    /// The builder node whose solve failed, in a build split across nodes.
    pub node: Option<String>,
}

impl BuildFailure {
    /// The Dockerfile lines around the failure as buildx prints them under a failed build
    /// (BuildKit's `errdefs.Source.Print`): the file and first line, then each line numbered,
    /// the failing ones marked `>>>`, two more on each side of one line, one around a span.
    /// None when BuildKit sent no source or its lines are not in it.
    pub fn source_excerpt(&self) -> Option<String> {
        let source = self.dockerfile_source.as_deref()?;
        let lines: Vec<&str> = source.split('\n').collect();
        let first = self.dockerfile_line? as usize;
        let last = (self.dockerfile_end_line.map_or(first, |e| e as usize).max(first)).min(lines.len());
        if first < 1 || first > lines.len() {
            return None;
        }
        let (mut start, mut end) = (first, last);
        let pad = if start == end { 4 } else { 2 };
        // BuildKit's loop, as it counts: a step on each side it can take, and one more per round.
        let mut taken = 0;
        while taken < pad {
            if start > 1 {
                start -= 1;
                taken += 1;
            }
            if end != lines.len() {
                end += 1;
                taken += 1;
            }
            taken += 1;
        }
        let file = self.dockerfile_name.as_deref().unwrap_or("Dockerfile");
        let mut out = format!("{file}:{first}\n--------------------\n");
        for (number, line) in lines.iter().enumerate().take(end).skip(start - 1).map(|(i, l)| (i + 1, l)) {
            let mark = if (first..=last).contains(&number) { ">>>" } else { "   " };
            out.push_str(&format!(" {number:>3} | {mark} {line}\n"));
        }
        out.push_str("--------------------\n");
        Some(out)
    }
}

/// Why the build failed. `dockerfile` is the Dockerfile's text as the build read it, when it
/// could; the failed step among `steps` gets BuildKit's own range for its lines when it sent one.
pub(crate) fn failure(
    message: String,
    details: &ErrorDetails,
    model: &ProgressModel,
    steps: &mut [Step],
    dockerfile: Option<&str>,
) -> BuildFailure {
    let location = details.location();
    let reported = location.and_then(SourceLocation::span);
    // The Dockerfile the frontend read when it failed beats the one read at the start.
    let source = location.and_then(|l| l.data.as_deref()).or(dockerfile);
    // The vertex BuildKit names is the failed step; without it, the first step marked failed.
    let failed = details
        .vertex
        .as_ref()
        .and_then(|v| steps.iter().position(|s| &s.id == v))
        .or_else(|| steps.iter().position(|s| s.state == StepState::Failed));
    let failed = failed.map(|i| {
        let step = &mut steps[i];
        step.dockerfile_line = match (source, model.vertex_name(&step.id)) {
            (Some(source), Some(name)) => dockerfile::step_lines(source, name, reported),
            _ => reported.or(step.dockerfile_line),
        };
        step.clone()
    });
    let mut lanes: Vec<&str> =
        steps.iter().map(|s| s.lane.as_str()).filter(|l| *l != crate::progress::SHARED_LANE).collect();
    lanes.sort();
    lanes.dedup();
    let succeeded_platforms = lanes
        .into_iter()
        .filter(|lane| {
            steps.iter().filter(|s| s.lane == *lane).all(|s| matches!(s.state, StepState::Done | StepState::Cached))
        })
        .map(str::to_owned)
        .collect();
    let last_lines = failed
        .as_ref()
        .map(|s| {
            model.log(&s.id).lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().map(str::to_owned).collect()
        })
        .unwrap_or_default();
    // A parse error names its line in the message (`dockerfile parse error on line 3: …`) when
    // BuildKit sends no location; a failed step is where its instruction is.
    let lines = reported
        .or_else(|| dockerfile::line_in(&message).map(|n| LineRange { start: n, end: n }))
        .or_else(|| failed.as_ref().and_then(|s| s.dockerfile_line));
    BuildFailure {
        dockerfile_line: lines.map(|l| l.start),
        dockerfile_end_line: lines.map(|l| l.end),
        dockerfile_name: location.map(|l| l.filename.clone()).filter(|f| !f.is_empty()),
        dockerfile_source: location.and_then(|l| l.data.clone()),
        vertex: details.vertex.clone(),
        exit_code: details.exit_code,
        platform: failed.as_ref().map(|s| s.lane.clone()),
        step: failed,
        last_lines,
        succeeded_platforms,
        message,
        node: None,
    }
}

#[cfg(test)]
mod tests {
    use bollard::moby::buildkit::v1::{StatusResponse, Vertex};

    use super::*;

    /// The Dockerfile of the UI's former failure summary tests (ui/src/lib/build/failure.test.ts).
    const DOCKERFILE: &str = "# syntax=docker/dockerfile:1\nFROM --platform=$TARGETPLATFORM 127.0.0.1:5055/busybox:latest AS base\nARG X=1\nRUN echo one && \\\n    echo two\n\nRUN [ \"$(uname -m)\" != \"aarch64\" ]";

    /// A build whose arm64 RUN failed, folded with the Dockerfile it read.
    fn failed_on_arm64() -> (ProgressModel, Vec<Step>) {
        let vertex = Vertex {
            digest: "sha256:v3".into(),
            name: "[linux/arm64 3/3] RUN [ \"$(uname -m)\" != \"aarch64\" ]".into(),
            error: "process \"/bin/sh -c [ ... ]\" did not complete successfully: exit code: 1".into(),
            ..Default::default()
        };
        let mut model = ProgressModel::new(&["linux/amd64".into(), "linux/arm64".into()]).with_dockerfile(DOCKERFILE);
        model.apply(&StatusResponse { vertexes: vec![vertex], ..Default::default() });
        let steps = model.steps();
        (model, steps)
    }

    #[test]
    fn the_lines_around_a_failure_are_printed_as_buildx_prints_them() {
        let (model, mut steps) = (ProgressModel::default(), Vec::new());
        let mut failed = failure("exit code: 1".into(), &ErrorDetails::default(), &model, &mut steps, None);
        failed.dockerfile_source = Some("FROM alpine\n\nRUN exit 1\n\nCOPY . /src\nRUN true\n".into());
        (failed.dockerfile_line, failed.dockerfile_end_line) = (Some(3), Some(3));
        // One line: two more on each side (what buildx printed for the same file).
        assert_eq!(
            failed.source_excerpt().unwrap(),
            "Dockerfile:3\n--------------------\n   1 |     FROM alpine\n   2 |     \n   3 | >>> RUN exit 1\n   4 |     \n   5 |     COPY . /src\n--------------------\n"
        );
        // A span over two lines: one more on each side; a named file.
        (failed.dockerfile_line, failed.dockerfile_end_line) = (Some(5), Some(6));
        failed.dockerfile_name = Some("app.Dockerfile".into());
        assert_eq!(
            failed.source_excerpt().unwrap(),
            "app.Dockerfile:5\n--------------------\n   4 |     \n   5 | >>> COPY . /src\n   6 | >>> RUN true\n   7 |     \n--------------------\n"
        );
        failed.dockerfile_line = Some(40);
        assert_eq!(failed.source_excerpt(), None, "a line the source does not have");
    }

    #[test]
    fn a_syntax_error_points_at_its_line() {
        let (model, mut steps) = (ProgressModel::default(), Vec::new());
        let message = "dockerfile parse error on line 3: unknown instruction: FORM".to_owned();
        let failure = failure(message, &ErrorDetails::default(), &model, &mut steps, None);
        assert_eq!((failure.dockerfile_line, failure.dockerfile_end_line), (Some(3), Some(3)));
    }

    #[test]
    fn without_a_location_from_buildkit_the_failed_steps_instruction_is_the_line() {
        let (model, mut steps) = failed_on_arm64();
        assert_eq!(steps[0].dockerfile_line, Some(LineRange { start: 7, end: 7 }), "the lanes know it already");
        let message = "process \"/bin/sh -c [ ... ]\" did not complete successfully: exit code: 1".to_owned();
        let found = failure(message, &ErrorDetails::default(), &model, &mut steps, Some(DOCKERFILE));
        assert_eq!((found.dockerfile_line, found.dockerfile_end_line), (Some(7), Some(7)));
        assert_eq!(found.platform.as_deref(), Some("linux/arm64"));
        // Without the Dockerfile the step keeps what the lanes found.
        let (model, mut steps) = failed_on_arm64();
        let found = failure(String::new(), &ErrorDetails::default(), &model, &mut steps, None);
        assert_eq!(found.dockerfile_line, Some(7));
    }

    #[test]
    fn buildkits_location_wins_and_the_failed_step_carries_it() {
        let (model, mut steps) = failed_on_arm64();
        let sent = "FROM x\nRUN false \\\n    || exit 3\n";
        let details = ErrorDetails {
            vertex: Some("sha256:v3".into()),
            sources: vec![SourceLocation {
                filename: "app.Dockerfile".into(),
                data: Some(sent.into()),
                ranges: vec![LineRange { start: 2, end: 2 }, LineRange { start: 3, end: 3 }],
            }],
            exit_code: Some(3),
        };
        let failure = failure("exit code: 3".into(), &details, &model, &mut steps, Some(DOCKERFILE));
        assert_eq!((failure.dockerfile_line, failure.dockerfile_end_line), (Some(2), Some(3)));
        assert_eq!(failure.dockerfile_name.as_deref(), Some("app.Dockerfile"));
        let range = Some(LineRange { start: 2, end: 3 });
        assert_eq!(failure.step.as_ref().and_then(|s| s.dockerfile_line), range);
        assert_eq!(steps[0].dockerfile_line, range, "the lanes show BuildKit's range too");
    }
}
