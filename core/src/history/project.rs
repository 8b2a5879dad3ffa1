//! A project's builds over time, as Docker Desktop's History tab charts them: the finished records
//! of "the same project" — the same context, Dockerfile and target, which is what the history list
//! names a build by — oldest to newest, each with its duration, step count and cached share. A
//! build on several nodes (one ref, a record on each) is one build, charted as its slowest node's.

use std::collections::HashMap;

use serde::Serialize;
use tracing::instrument;
use ts_rs::TS;

use super::bundle::{Bundle, BundleError};
use super::{BuildHistory, BuildSpec, HistoryEntry, HistoryError, HistoryStatus};

/// One build of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProjectBuild {
    pub build_ref: String,
    /// RFC 3339.
    pub created_at: String,
    pub status: HistoryStatus,
    pub duration_ms: Option<u64>,
    pub steps_total: u32,
    pub steps_cached: u32,
    /// `steps_cached` of `steps_total` in percent, rounded as `docker buildx history inspect`
    /// rounds its "n% cached"; none when BuildKit counted no steps.
    pub cached_percent: Option<u32>,
}

/// The builds of the project a record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProjectHistory {
    /// As the history list names the project's builds.
    pub name: String,
    pub context: String,
    pub dockerfile: String,
    pub target: String,
    /// Finished builds, oldest first.
    pub builds: Vec<ProjectBuild>,
}

/// What makes two records builds of one project: the context folder (or remote) and the Dockerfile
/// in it, as the client that started each named them, and the target; a record that names no
/// context (its client kept no state) by its name alone; one that names neither is a project of
/// its own build (nameless builds have nothing else in common).
#[derive(PartialEq, Eq)]
enum ProjectKey {
    Source { context: String, dockerfile: String, target: String },
    Named(String),
    Alone(String),
}

fn key(entry: &HistoryEntry) -> ProjectKey {
    let context = entry.context.trim();
    if context.is_empty() {
        return match entry.name.trim() {
            "" => ProjectKey::Alone(entry.build_ref.clone()),
            _ => ProjectKey::Named(entry.name.clone()),
        };
    }
    let context = match context.trim_end_matches('/') {
        "" => "/",
        trimmed => trimmed,
    };
    let dockerfile = entry.dockerfile.trim();
    // buildx keeps the Dockerfile's absolute path, BuildKit's attributes its name in the context.
    let dockerfile = if dockerfile.is_empty() {
        format!("{}/Dockerfile", context.trim_end_matches('/'))
    } else if dockerfile.starts_with('/') || !context.starts_with('/') {
        dockerfile.to_owned()
    } else {
        format!("{}/{}", context.trim_end_matches('/'), dockerfile.trim_start_matches("./"))
    };
    ProjectKey::Source { context: context.to_owned(), dockerfile, target: entry.target.trim().to_owned() }
}

/// `part` of `whole` in percent, rounded half to even as Go's `%.0f` rounds it.
fn percent(part: u32, whole: u32) -> Option<u32> {
    (whole > 0).then(|| (f64::from(part) / f64::from(whole) * 100.0).round_ties_even() as u32)
}

/// The finished builds among `entries` of the project `of` belongs to, oldest first.
pub fn project_history(entries: &[HistoryEntry], of: &HistoryEntry) -> ProjectHistory {
    let project = key(of);
    let mut builds: Vec<&HistoryEntry> =
        entries.iter().filter(|e| e.status != HistoryStatus::Running && key(e) == project).collect();
    builds.sort_by_key(|e| e.created());
    let mut one_per_ref: Vec<&HistoryEntry> = Vec::with_capacity(builds.len());
    let mut kept_at: HashMap<&str, usize> = HashMap::new();
    for entry in builds {
        match kept_at.get(entry.build_ref.as_str()) {
            Some(&at) if entry.duration_ms > one_per_ref[at].duration_ms => one_per_ref[at] = entry,
            Some(_) => {}
            None => {
                kept_at.insert(&entry.build_ref, one_per_ref.len());
                one_per_ref.push(entry);
            }
        }
    }
    ProjectHistory {
        name: of.name.clone(),
        context: of.context.clone(),
        dockerfile: of.dockerfile.clone(),
        target: of.target.clone(),
        builds: one_per_ref
            .into_iter()
            .map(|e| ProjectBuild {
                build_ref: e.build_ref.clone(),
                created_at: e.created_at.clone(),
                status: e.status,
                duration_ms: e.duration_ms,
                steps_total: e.steps_total,
                steps_cached: e.steps_cached,
                cached_percent: percent(e.steps_cached, e.steps_total),
            })
            .collect(),
    }
}

impl BuildHistory {
    /// The builds of the project the build `spec` names, among every record the builder keeps.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn project(&self, spec: &BuildSpec) -> Result<ProjectHistory, HistoryError> {
        let of = self.get(spec).await?;
        Ok(project_history(&self.list().await?, &of))
    }
}

impl Bundle {
    /// The builds of the project the bundle's build `spec` names, among the bundle's records.
    pub fn project(&self, spec: &BuildSpec) -> Result<ProjectHistory, BundleError> {
        Ok(project_history(&self.entries(), &self.get(spec)?))
    }
}

#[cfg(test)]
mod tests {
    use bollard::moby::buildkit::v1::BuildHistoryRecord;
    use bollard_buildkit_proto::google::protobuf::Timestamp;

    use super::*;
    use crate::history::entry::Origin;
    use crate::history::LocalState;

    /// A record as BuildKit lists it, created `at` seconds in, with buildx's local state when the
    /// client kept one (`context`, `dockerfile`).
    struct Made<'a> {
        build_ref: &'a str,
        at: i64,
        local: Option<(&'a str, &'a str)>,
        target: &'a str,
        attrs: &'a [(&'a str, &'a str)],
        cached: i32,
        running: bool,
        node: &'a str,
        seconds: i64,
    }

    impl Default for Made<'_> {
        fn default() -> Self {
            Made {
                build_ref: "",
                at: 0,
                local: None,
                target: "",
                attrs: &[],
                cached: 1,
                running: false,
                node: "default",
                seconds: 5,
            }
        }
    }

    fn entry(made: Made<'_>) -> HistoryEntry {
        let mut attrs: std::collections::HashMap<String, String> =
            made.attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !made.target.is_empty() {
            attrs.insert("target".into(), made.target.into());
        }
        let record = BuildHistoryRecord {
            r#ref: made.build_ref.into(),
            frontend_attrs: attrs,
            created_at: Some(Timestamp { seconds: 1_800_000_000 + made.at, nanos: 0 }),
            completed_at: (!made.running)
                .then_some(Timestamp { seconds: 1_800_000_000 + made.at + made.seconds, nanos: 0 }),
            num_total_steps: 8,
            num_completed_steps: 8,
            num_cached_steps: made.cached,
            ..Default::default()
        };
        let local = made.local.map(|(context, dockerfile)| LocalState {
            target: made.target.into(),
            local_path: context.into(),
            dockerfile_path: dockerfile.into(),
        });
        HistoryEntry::from_record(
            &record,
            Origin { builder: "default", node: made.node, local, recorded: None, server_time: None },
        )
    }

    fn refs(history: &ProjectHistory) -> Vec<&str> {
        history.builds.iter().map(|b| b.build_ref.as_str()).collect()
    }

    #[test]
    fn builds_of_one_context_dockerfile_and_target_are_one_project_oldest_first() {
        let app = Some(("/src/app", "/src/app/Dockerfile"));
        let entries = [
            entry(Made { build_ref: "second", at: 300, local: app, cached: 8, ..Default::default() }),
            entry(Made { build_ref: "first", at: 100, local: app, cached: 2, ..Default::default() }),
            // The same Dockerfile named as BuildKit's attributes name it, in the context.
            entry(Made {
                build_ref: "by-name",
                at: 200,
                local: Some(("/src/app/", "")),
                attrs: &[("filename", "Dockerfile")],
                ..Default::default()
            }),
            entry(Made { build_ref: "running", at: 400, local: app, running: true, ..Default::default() }),
            entry(Made { build_ref: "tests", at: 150, local: app, target: "test", ..Default::default() }),
            entry(Made {
                build_ref: "other",
                at: 250,
                local: Some(("/src/other", "/src/other/Dockerfile")),
                ..Default::default()
            }),
            entry(Made {
                build_ref: "other-file",
                at: 260,
                local: Some(("/src/app", "/src/app/Dockerfile.dev")),
                ..Default::default()
            }),
        ];
        let history = project_history(&entries, &entries[0]);
        assert_eq!(refs(&history), ["first", "by-name", "second"]);
        assert_eq!((history.context.as_str(), history.dockerfile.as_str()), ("/src/app", "/src/app/Dockerfile"));
        let first = &history.builds[0];
        assert_eq!((first.steps_total, first.steps_cached, first.cached_percent), (8, 2, Some(25)));
        assert_eq!(history.builds[2].cached_percent, Some(100));
        assert_eq!(first.duration_ms, Some(5000));
        assert_eq!(first.status, HistoryStatus::Completed);
        assert_eq!(refs(&project_history(&entries, &entries[4])), ["tests"], "another target, another project");
    }

    #[test]
    fn records_that_name_no_context_are_grouped_by_their_name() {
        fn named(build_ref: &str, at: i64, name: &str) -> HistoryEntry {
            entry(Made { build_ref, at, attrs: &[("build-arg:BUILDKIT_BUILD_NAME", name)], ..Default::default() })
        }
        let entries = [named("a1", 1, "ci/app"), named("b", 2, "ci/other"), named("a2", 3, "ci/app")];
        assert_eq!(entries[0].context, "", "{:#?}", entries[0]);
        assert_eq!(refs(&project_history(&entries, &entries[2])), ["a1", "a2"]);
    }

    #[test]
    fn nameless_records_of_no_context_are_each_a_project_of_their_own() {
        let entries = [
            entry(Made { build_ref: "x", at: 1, ..Default::default() }),
            entry(Made { build_ref: "y", at: 2, ..Default::default() }),
        ];
        assert_eq!(entries[0].name, "", "{:#?}", entries[0]);
        assert_eq!(refs(&project_history(&entries, &entries[1])), ["y"]);
    }

    #[test]
    fn a_build_on_several_nodes_is_one_build_charted_as_its_slowest_node() {
        let app = Some(("/src/app", "/src/app/Dockerfile"));
        let on = |node, build_ref, at, seconds| Made { build_ref, at, local: app, node, seconds, ..Default::default() };
        let entries = [
            entry(on("farm0", "split", 10, 4)),
            entry(on("farm1", "split", 11, 9)),
            entry(on("farm1", "later", 100, 3)),
            entry(on("farm0", "later", 100, 2)),
        ];
        let history = project_history(&entries, &entries[0]);
        assert_eq!(refs(&history), ["split", "later"]);
        let durations: Vec<_> = history.builds.iter().map(|b| b.duration_ms).collect();
        assert_eq!(durations, [Some(9000), Some(3000)]);
    }

    #[test]
    fn the_cached_share_rounds_half_to_even_as_buildx_prints_it() {
        assert_eq!(percent(1, 8), Some(12), "12.5");
        assert_eq!(percent(3, 8), Some(38), "37.5");
        assert_eq!(percent(0, 0), None);
    }
}
