//! Failure analysis: which platform and step failed, the Dockerfile line it points at, the last
//! output, and which platforms succeeded, failure first.

use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::buildkit::error_details::ErrorDetails;
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
    /// The last line of that span (an instruction continued over several lines); BuildKit's only.
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

/// The Dockerfile line of a failure BuildKit sent no source location for: a `line N` in the
/// message, else the first line whose text is the failed step's instruction.
fn guessed_line(message: &str, step: Option<&Step>, dockerfile: &Path) -> Option<u32> {
    if let Some(n) = crate::dockerfile::line_in(message) {
        return Some(n);
    }
    let step = step?;
    let source = std::fs::read_to_string(dockerfile).ok()?;
    let wanted = step.name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    source
        .lines()
        .position(|line| line.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase() == wanted)
        .map(|i| i as u32 + 1)
}

pub(super) fn failure(
    message: String,
    details: &ErrorDetails,
    model: &ProgressModel,
    steps: &[Step],
    dockerfile: &Path,
) -> BuildFailure {
    // The vertex BuildKit names is the failed step; without it, the first step marked failed.
    let failed = details
        .vertex
        .as_ref()
        .and_then(|v| steps.iter().find(|s| &s.id == v))
        .or_else(|| steps.iter().find(|s| s.state == StepState::Failed))
        .cloned();
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
    let location = details.location();
    let range = location.and_then(|l| l.span());
    BuildFailure {
        dockerfile_line: match &range {
            Some(r) => Some(r.start),
            None => guessed_line(&message, failed.as_ref(), dockerfile),
        },
        dockerfile_end_line: range.as_ref().map(|r| r.end),
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
    use super::*;

    #[test]
    fn a_syntax_error_points_at_its_line() {
        let line = guessed_line(
            "dockerfile parse error on line 3: unknown instruction: FORM",
            None,
            Path::new("/nonexistent"),
        );
        assert_eq!(line, Some(3));
    }
}
