//! Keep going when a platform fails: how each platform of a build split into solves ended
//! ([`PlatformResult`]), how the build as a whole ended, and which images make the index pushed
//! under the tags — every platform's when all of them succeeded, else none, unless the user asked
//! to push the ones that did (`push_partial`). A retry of one platform replaces its result.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::failure::BuildFailure;
use super::BuildState;
use crate::platform::Platform;

/// How one platform of a build split into solves ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlatformResult {
    pub platform: String,
    /// The builder node that built it.
    pub node: String,
    pub state: BuildState,
    /// The image its solve made (with push, pushed by digest to the tags' repositories: a manifest
    /// list of its platforms and their attestations), when it succeeded.
    pub digest: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// The Dockerfile line its failure points at, when it can be told.
    pub dockerfile_line: Option<u32>,
    /// 1 for the build itself, 2 for its first retry, and so on.
    pub attempt: u32,
}

impl PlatformResult {
    pub(super) fn succeeded(platform: &Platform, node: &str, digest: Option<String>, attempt: u32) -> Self {
        Self::new(platform, node, BuildState::Succeeded, attempt, |r| r.digest = digest)
    }

    pub(super) fn failed(platform: &Platform, node: &str, failure: &BuildFailure, attempt: u32) -> Self {
        Self::new(platform, node, BuildState::Failed, attempt, |r| {
            r.error = Some(failure.message.clone());
            r.dockerfile_line = failure.dockerfile_line;
        })
    }

    /// Stopped by the user, or by BuildKit when another platform of its solve failed.
    pub(super) fn cancelled(platform: &Platform, node: &str, attempt: u32) -> Self {
        Self::new(platform, node, BuildState::Cancelled, attempt, |_| {})
    }

    fn new(platform: &Platform, node: &str, state: BuildState, attempt: u32, with: impl FnOnce(&mut Self)) -> Self {
        let mut result = PlatformResult {
            platform: platform.to_string(),
            node: node.to_owned(),
            state,
            digest: None,
            error: None,
            dockerfile_line: None,
            attempt,
        };
        with(&mut result);
        result
    }
}

/// How the build ended: failed when a platform failed, else cancelled when one was stopped, else
/// succeeded.
pub fn overall(results: &[PlatformResult]) -> BuildState {
    let any = |state| results.iter().any(|r| r.state == state);
    match (any(BuildState::Failed), any(BuildState::Cancelled)) {
        (true, _) => BuildState::Failed,
        (false, true) => BuildState::Cancelled,
        (false, false) => BuildState::Succeeded,
    }
}

/// The platforms that succeeded, in order.
pub fn succeeded(results: &[PlatformResult]) -> Vec<String> {
    results.iter().filter(|r| r.state == BuildState::Succeeded).map(|r| r.platform.clone()).collect()
}

/// The platforms an index of the succeeded ones lacks, in order.
pub fn missing(results: &[PlatformResult]) -> Vec<String> {
    results.iter().filter(|r| r.state != BuildState::Succeeded).map(|r| r.platform.clone()).collect()
}

/// The images (digests, each once, in order) of the index pushed under the tags: every platform's
/// when all succeeded; when some did not, the succeeded ones' only if `push_partial`, else none.
pub(super) fn index_sources(results: &[PlatformResult], push_partial: bool) -> Option<Vec<String>> {
    let complete = results.iter().all(|r| r.state == BuildState::Succeeded);
    if !complete && !push_partial {
        return None;
    }
    let mut digests: Vec<String> = Vec::new();
    let images = results.iter().filter(|r| r.state == BuildState::Succeeded).filter_map(|r| r.digest.as_ref());
    for digest in images {
        if !digests.contains(digest) {
            digests.push(digest.clone());
        }
    }
    (!digests.is_empty()).then_some(digests)
}

/// The results after a retry: the retried platforms' new results in place of their earlier ones.
pub(super) fn with_retry(earlier: &[PlatformResult], retried: Vec<PlatformResult>) -> Vec<PlatformResult> {
    let mut results = earlier.to_vec();
    for result in retried {
        match results.iter_mut().find(|r| r.platform == result.platform) {
            Some(slot) => *slot = result,
            None => results.push(result),
        }
    }
    results
}

/// Why a build whose retry succeeded still failed: a platform other than the retried one, read from
/// its result (the build kept the failure of its first failed platform only).
pub(super) fn failure_of(result: &PlatformResult) -> BuildFailure {
    BuildFailure {
        message: result.error.clone().unwrap_or_else(|| format!("{} did not finish", result.platform)),
        platform: Some(result.platform.clone()),
        step: None,
        dockerfile_line: result.dockerfile_line,
        dockerfile_end_line: result.dockerfile_line,
        dockerfile_name: None,
        dockerfile_source: None,
        vertex: None,
        exit_code: None,
        last_lines: Vec::new(),
        succeeded_platforms: Vec::new(),
        node: Some(result.node.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(p: &str) -> Platform {
        p.parse().unwrap()
    }

    fn ok(p: &str, digest: &str) -> PlatformResult {
        PlatformResult::succeeded(&platform(p), "default", Some(digest.into()), 1)
    }

    /// Failed at line 2, as read back from such a result.
    fn failed(p: &str) -> PlatformResult {
        let mut seen = PlatformResult::cancelled(&platform(p), "default", 1);
        seen.error = Some("exit code: 1".into());
        seen.dockerfile_line = Some(2);
        PlatformResult::failed(&platform(p), "default", &failure_of(&seen), 1)
    }

    #[test]
    fn every_platform_succeeded_so_every_image_goes_under_the_tags() {
        let results = [ok("linux/amd64", "sha256:a"), ok("linux/arm64", "sha256:b")];
        assert_eq!(overall(&results), BuildState::Succeeded);
        let all = Some(vec!["sha256:a".to_owned(), "sha256:b".to_owned()]);
        assert_eq!(index_sources(&results, false), all);
        assert_eq!(index_sources(&results, true), all, "nothing partial about it");
        assert!(missing(&results).is_empty());
    }

    #[test]
    fn a_failed_platform_keeps_everything_off_the_tags_unless_the_user_pushes_what_succeeded() {
        let results = [ok("linux/amd64", "sha256:a"), failed("linux/arm64")];
        assert_eq!(overall(&results), BuildState::Failed);
        assert_eq!(index_sources(&results, false), None);
        assert_eq!(index_sources(&results, true), Some(vec!["sha256:a".to_owned()]));
        assert_eq!(succeeded(&results), ["linux/amd64"]);
        assert_eq!(missing(&results), ["linux/arm64"]);
        assert_eq!(results[1].error.as_deref(), Some("exit code: 1"));
        assert_eq!(results[1].dockerfile_line, Some(2));
    }

    #[test]
    fn nothing_succeeded_so_even_a_partial_push_has_nothing_to_push() {
        assert_eq!(index_sources(&[failed("linux/amd64"), failed("linux/arm64")], true), None);
    }

    #[test]
    fn platforms_one_solve_built_share_its_image_once() {
        let results =
            [ok("linux/amd64", "sha256:both"), ok("linux/arm64", "sha256:both"), ok("linux/riscv64", "sha256:c")];
        assert_eq!(index_sources(&results, false), Some(vec!["sha256:both".to_owned(), "sha256:c".to_owned()]));
    }

    #[test]
    fn a_cancel_is_the_outcome_unless_something_failed() {
        let cancelled = PlatformResult::cancelled(&platform("linux/arm64"), "default", 1);
        assert_eq!(overall(&[ok("linux/amd64", "sha256:a"), cancelled.clone()]), BuildState::Cancelled);
        assert_eq!(overall(&[failed("linux/amd64"), cancelled]), BuildState::Failed);
    }

    #[test]
    fn a_retry_replaces_its_platforms_result_and_keeps_the_others_in_order() {
        let earlier = [ok("linux/amd64", "sha256:a"), failed("linux/arm64"), failed("linux/riscv64")];
        let retried = PlatformResult::succeeded(&platform("linux/arm64"), "arm", Some("sha256:b".into()), 2);
        let results = with_retry(&earlier, vec![retried.clone()]);
        assert_eq!(results, [earlier[0].clone(), retried, earlier[2].clone()]);
        assert_eq!(overall(&results), BuildState::Failed, "riscv64 still failed");
        assert_eq!(index_sources(&results, true), Some(vec!["sha256:a".to_owned(), "sha256:b".to_owned()]));
        let still = failure_of(&results[2]);
        assert_eq!((still.platform.as_deref(), still.dockerfile_line), (Some("linux/riscv64"), Some(2)));
    }
}
