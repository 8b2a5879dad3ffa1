//! The build progress model: BuildKit's Status stream folded into one lane per platform plus a
//! shared lane, each step with its state, times on a common axis, bytes and bounded logs.

use std::collections::{BTreeMap, HashMap};

use bollard::moby::buildkit::v1::StatusResponse;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::dockerfile::{Instructions, LineRange};

pub mod timing;

/// The lane of steps that belong to no single platform (loading the context, exporting).
pub const SHARED_LANE: &str = "shared";
/// Log bytes kept in memory per step; older output is dropped (and counted) past this.
const LOG_BYTES_PER_STEP: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum StepState {
    Queued,
    Running,
    Cached,
    Done,
    Failed,
    Cancelled,
}

/// One build step (a BuildKit vertex), as a lane shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Step {
    pub id: String,
    /// `shared` or a platform such as `linux/arm64`.
    pub lane: String,
    /// The builder node that ran the step, in a build split across nodes.
    pub node: Option<String>,
    /// The step's text without its `[platform stage n/m]` prefix, e.g. `RUN uname -a > /os.txt`.
    pub name: String,
    pub stage: Option<String>,
    /// `2/4` within its stage, when the frontend numbers it.
    pub position: Option<String>,
    pub state: StepState,
    /// Milliseconds since the build's first step started.
    pub started_ms: Option<u64>,
    pub completed_ms: Option<u64>,
    pub error: Option<String>,
    pub bytes_current: u64,
    pub bytes_total: u64,
    /// Lines of output the step printed so far.
    pub log_lines: u64,
    /// The lines of the Dockerfile the step came from, when the build knows its Dockerfile and the
    /// step is one of its instructions (see [`crate::dockerfile::step_lines`]); none in records
    /// written before steps carried it.
    #[serde(default)]
    pub dockerfile_line: Option<LineRange>,
    /// The attempt at its platform the step belongs to when the platform was retried (2 for the
    /// first retry, and so on); none for the build itself.
    #[serde(default)]
    pub attempt: Option<u32>,
}

/// A chunk of a step's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LogChunk {
    pub step: String,
    /// 1 stdout, 2 stderr.
    pub stream: u8,
    pub text: String,
}

/// What changed since the last update: the changed steps in full, and new output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProgressUpdate {
    pub steps: Vec<Step>,
    pub logs: Vec<LogChunk>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Default)]
struct StepLog {
    text: String,
    dropped_bytes: u64,
}

/// Folds Status responses; cheap to feed, drained by `take_update` at the pace the UI renders.
#[derive(Debug, Default)]
pub struct ProgressModel {
    single_platform: Option<String>,
    /// The build's Dockerfile, to place each step in it.
    dockerfile: Option<Instructions>,
    /// Each step's vertex name as BuildKit sent it.
    vertex_names: HashMap<String, String>,
    /// The first start BuildKit sent, in stream order: the build's zero. Not the earliest start:
    /// a step shared with an older build (cached, or still in the solver) carries that build's start,
    /// minutes back; it clamps to zero instead of shifting every other step, and a replay of the
    /// stream, which may batch it first, gets the same axis.
    epoch_ns: Option<i128>,
    /// In a build split into several solves: each solve, as its steps are labelled.
    parts: Vec<SolvePart>,
    order: Vec<String>,
    steps: HashMap<String, Step>,
    /// Per step: status id → (current, total).
    transfers: HashMap<String, BTreeMap<String, (u64, u64)>>,
    logs: HashMap<String, StepLog>,
    dirty: Vec<String>,
    /// Each step as last handed out, so a change undone within one interval is not sent.
    emitted: HashMap<String, Step>,
    pending_logs: Vec<LogChunk>,
    pending_warnings: Vec<String>,
}

/// One solve of a build split into several (across nodes, or one per platform to keep going): the
/// `key` its steps' ids start with (two solves may run the same vertex digests), the node it runs
/// on, its platforms, and which attempt at them it is (1 the build itself, 2 its first retry, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SolvePart {
    pub key: String,
    pub node: String,
    pub platforms: Vec<String>,
    pub attempt: u32,
}

/// A protobuf timestamp in nanoseconds (bollard does not re-export the Timestamp type itself).
macro_rules! timestamp_ns {
    ($ts:expr) => {
        $ts.as_ref().map(|t| i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos))
    };
}

/// Splits `[linux/amd64 builder 2/4] RUN make` into (lane, stage, position, name).
pub fn parse_vertex_name(
    name: &str,
    single_platform: Option<&str>,
) -> (String, Option<String>, Option<String>, String) {
    let Some(rest) = name.strip_prefix('[') else {
        return (SHARED_LANE.into(), None, None, name.to_owned());
    };
    let Some((inner, text)) = rest.split_once("] ") else {
        return (SHARED_LANE.into(), None, None, name.to_owned());
    };
    let mut tokens: Vec<&str> = inner.split_whitespace().collect();
    let mut lane = None;
    if let Some(first) = tokens.first() {
        if let Some((from, to)) = first.split_once("->") {
            // A cross-compiling step runs on the build platform for the target platform's lane.
            let os = from.split('/').next().unwrap_or("linux");
            lane = Some(format!("{os}/{to}"));
            tokens.remove(0);
        } else if first.contains('/') && first.parse::<crate::platform::Platform>().is_ok() {
            lane = Some(first.to_string());
            tokens.remove(0);
        }
    }
    let position = tokens
        .last()
        .filter(|t| t.contains('/') && t.split('/').all(|n| n.parse::<u32>().is_ok()))
        .map(|t| t.to_string());
    if position.is_some() {
        tokens.pop();
    }
    let internal = tokens.first() == Some(&"internal");
    let stage = (!internal && !tokens.is_empty()).then(|| tokens.join(" "));
    let lane = match lane {
        Some(lane) => lane,
        None if internal || tokens.first().is_some_and(|t| *t == "auth") => SHARED_LANE.into(),
        None => single_platform.map(str::to_owned).unwrap_or_else(|| SHARED_LANE.into()),
    };
    (lane, stage, position, text.to_owned())
}

impl ProgressModel {
    /// `platforms` are the build's target platforms; with exactly one, unprefixed stage steps go to its lane.
    pub fn new(platforms: &[String]) -> Self {
        Self { single_platform: (platforms.len() == 1).then(|| platforms[0].clone()), ..Self::default() }
    }

    /// Places each step in the build's Dockerfile `source` (the file the build sends the frontend).
    pub fn with_dockerfile(self, source: &str) -> Self {
        Self { dockerfile: Some(Instructions::parse(source)), ..self }
    }

    /// Times measured from `epoch_ns` (nanoseconds since the Unix epoch), e.g. a recorded build's
    /// creation, rather than from the first start the stream carries.
    pub fn with_epoch(self, epoch_ns: i128) -> Self {
        Self { epoch_ns: Some(epoch_ns), ..self }
    }

    /// A model for a build split into several solves, `parts`. Steps are fed per solve
    /// ([`Self::apply_node`]), carry its node's name (and attempt, for a retry), and their ids are
    /// prefixed with its key; one time axis for all.
    pub fn split(parts: &[SolvePart]) -> Self {
        Self { parts: parts.to_vec(), ..Self::default() }
    }

    /// The id of solve `node`'s vertex `digest` in this model.
    pub fn step_id(&self, node: Option<usize>, digest: &str) -> String {
        match node.and_then(|i| self.parts.get(i)) {
            Some(part) => format!("{}/{digest}", part.key),
            None => digest.to_owned(),
        }
    }

    pub fn apply(&mut self, response: &StatusResponse) {
        self.apply_from(None, response);
    }

    /// Folds a Status response of the solve with index `node` of a split build.
    pub fn apply_node(&mut self, node: usize, response: &StatusResponse) {
        self.apply_from(Some(node), response);
    }

    /// Marks what solve `node` left unfinished as failed with `error` (its node went away).
    pub fn fail_node(&mut self, node: usize, error: &str) {
        let Some(part) = self.parts.get(node) else { return };
        let prefix = format!("{}/", part.key);
        let ids: Vec<String> = self
            .steps
            .values()
            .filter(|s| s.id.starts_with(&prefix) && matches!(s.state, StepState::Queued | StepState::Running))
            .map(|s| s.id.clone())
            .collect();
        for id in ids {
            if let Some(step) = self.steps.get_mut(&id) {
                step.state = StepState::Failed;
                step.error = Some(error.to_owned());
            }
            self.mark(&id);
        }
    }

    fn ms(&mut self, ns: Option<i128>) -> Option<u64> {
        let ns = ns?;
        let epoch = *self.epoch_ns.get_or_insert(ns);
        Some(((ns - epoch).max(0) / 1_000_000) as u64)
    }

    fn mark(&mut self, id: &str) {
        if !self.dirty.iter().any(|d| d == id) {
            self.dirty.push(id.to_owned());
        }
    }

    fn apply_from(&mut self, node: Option<usize>, response: &StatusResponse) {
        let (node_name, single_platform, attempt) = match node.and_then(|i| self.parts.get(i)) {
            Some(part) => (
                Some(part.node.clone()),
                (part.platforms.len() == 1).then(|| part.platforms[0].clone()),
                (part.attempt > 1).then_some(part.attempt),
            ),
            None => (None, self.single_platform.clone(), None),
        };
        for v in &response.vertexes {
            let (lane, stage, position, name) = parse_vertex_name(&v.name, single_platform.as_deref());
            let id = self.step_id(node, &v.digest);
            let started_ms = self.ms(timestamp_ns!(v.started));
            let completed_ms = self.ms(timestamp_ns!(v.completed));
            let state = if !v.error.is_empty() {
                if v.error.contains("context canceled") {
                    StepState::Cancelled
                } else {
                    StepState::Failed
                }
            } else if completed_ms.is_some() {
                if v.cached {
                    StepState::Cached
                } else {
                    StepState::Done
                }
            } else if started_ms.is_some() {
                StepState::Running
            } else {
                StepState::Queued
            };
            let previous = self.steps.get(&id);
            let renamed = self.vertex_names.get(&id) != Some(&v.name);
            let dockerfile_line = match previous {
                Some(p) if !renamed => p.dockerfile_line,
                _ => self.dockerfile.as_ref().and_then(|d| d.lines_of(&v.name)),
            };
            let step = Step {
                id: id.clone(),
                lane,
                node: node_name.clone(),
                name,
                stage,
                position,
                state,
                started_ms,
                completed_ms,
                error: (!v.error.is_empty()).then(|| v.error.clone()),
                bytes_current: previous.map_or(0, |p| p.bytes_current),
                bytes_total: previous.map_or(0, |p| p.bytes_total),
                log_lines: previous.map_or(0, |p| p.log_lines),
                dockerfile_line,
                attempt,
            };
            if !self.steps.contains_key(&id) {
                self.order.push(id.clone());
            }
            if renamed {
                self.vertex_names.insert(id.clone(), v.name.clone());
            }
            if previous != Some(&step) {
                self.steps.insert(id.clone(), step);
                self.mark(&id);
            }
        }
        for s in &response.statuses {
            let id = self.step_id(node, &s.vertex);
            let transfers = self.transfers.entry(id.clone()).or_default();
            transfers.insert(s.id.clone(), (s.current.max(0) as u64, s.total.max(0) as u64));
            let (current, total) = transfers.values().fold((0, 0), |(c, t), (sc, st)| (c + sc, t + st));
            if let Some(step) = self.steps.get_mut(&id) {
                if (step.bytes_current, step.bytes_total) != (current, total) {
                    step.bytes_current = current;
                    step.bytes_total = total;
                    self.mark(&id);
                }
            }
        }
        for log in &response.logs {
            let text = String::from_utf8_lossy(&log.msg).into_owned();
            let lines = text.matches('\n').count() as u64;
            let id = self.step_id(node, &log.vertex);
            let kept = self.logs.entry(id.clone()).or_default();
            kept.text.push_str(&text);
            if kept.text.len() > LOG_BYTES_PER_STEP {
                let mut cut = kept.text.len() - LOG_BYTES_PER_STEP;
                while !kept.text.is_char_boundary(cut) {
                    cut += 1;
                }
                kept.dropped_bytes += cut as u64;
                kept.text.drain(..cut);
            }
            if let Some(step) = self.steps.get_mut(&id) {
                step.log_lines += lines;
                self.mark(&id);
            }
            self.pending_logs.push(LogChunk { step: id, stream: log.stream.clamp(0, 2) as u8, text });
        }
        for w in &response.warnings {
            self.pending_warnings.push(String::from_utf8_lossy(&w.short).into_owned());
        }
    }

    /// Everything that changed since the last call; `None` when nothing did.
    pub fn take_update(&mut self) -> Option<ProgressUpdate> {
        let mut steps = Vec::new();
        for id in std::mem::take(&mut self.dirty) {
            if let Some(step) = self.steps.get(&id) {
                if self.emitted.get(&id) != Some(step) {
                    self.emitted.insert(id, step.clone());
                    steps.push(step.clone());
                }
            }
        }
        if steps.is_empty() && self.pending_logs.is_empty() && self.pending_warnings.is_empty() {
            return None;
        }
        Some(ProgressUpdate {
            steps,
            logs: std::mem::take(&mut self.pending_logs),
            warnings: std::mem::take(&mut self.pending_warnings),
        })
    }

    /// Every step in the order BuildKit first reported it.
    pub fn steps(&self) -> Vec<Step> {
        self.order.iter().filter_map(|id| self.steps.get(id).cloned()).collect()
    }

    /// A step's vertex name as BuildKit last sent it, prefix included (`[linux/arm64 2/3] RUN make`).
    pub fn vertex_name(&self, step: &str) -> Option<&str> {
        self.vertex_names.get(step).map(String::as_str)
    }

    /// The output kept for a step (the newest part when it printed more than the bound).
    pub fn log(&self, step: &str) -> &str {
        self.logs.get(step).map_or("", |l| l.text.as_str())
    }

    /// Marks steps still queued or running as cancelled (the build was stopped).
    pub fn cancel_unfinished(&mut self) {
        let ids: Vec<String> = self
            .steps
            .values()
            .filter(|s| matches!(s.state, StepState::Queued | StepState::Running))
            .map(|s| s.id.clone())
            .collect();
        for id in ids {
            if let Some(step) = self.steps.get_mut(&id) {
                step.state = StepState::Cancelled;
            }
            self.mark(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// Status responses recorded from real builds on the test engine, framed as BuildKit frames its
    /// own history logs: `[u32 little-endian length][StatusResponse]`.
    fn recorded(bytes: &[u8]) -> Vec<StatusResponse> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while rest.len() >= 4 {
            let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
            out.push(StatusResponse::decode(&rest[4..4 + len]).unwrap());
            rest = &rest[4 + len..];
        }
        out
    }

    fn fold(bytes: &[u8], platforms: &[&str]) -> ProgressModel {
        let platforms: Vec<String> = platforms.iter().map(|p| p.to_string()).collect();
        let mut model = ProgressModel::new(&platforms);
        for response in recorded(bytes) {
            model.apply(&response);
        }
        model
    }

    #[test]
    fn a_recorded_three_platform_build_folds_into_three_lanes_and_a_shared_one() {
        let model = fold(
            include_bytes!("../tests/fixtures/cross-three-platforms.status"),
            &["linux/amd64", "linux/arm64", "linux/arm/v7"],
        );
        let steps = model.steps();
        let mut lanes: Vec<&str> = steps.iter().map(|s| s.lane.as_str()).collect();
        lanes.sort();
        lanes.dedup();
        assert_eq!(lanes, ["linux/amd64", "linux/arm/v7", "linux/arm64", "shared"]);
        assert!(steps.iter().all(|s| matches!(s.state, StepState::Done | StepState::Cached)), "{steps:#?}");
        for (lane, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64"), ("linux/arm/v7", "armv7l")] {
            let run = steps.iter().find(|s| s.lane == lane && s.name.starts_with("RUN cat")).unwrap();
            assert!(model.log(&run.id).contains(machine), "{lane}: {}", model.log(&run.id));
            assert!(run.log_lines >= 2);
            let cross = steps
                .iter()
                .find(|s| s.lane == lane && s.stage.as_deref() == Some("builder") && s.name.starts_with("RUN"));
            assert!(cross.is_some(), "{lane} has its builder-stage step");
        }
        // Times share one axis: every step starts at or after zero and ends after it starts.
        assert!(steps.iter().any(|s| s.started_ms == Some(0)));
        assert!(steps.iter().all(|s| s.completed_ms >= s.started_ms));
    }

    #[test]
    fn a_recorded_build_folded_with_its_dockerfile_places_every_step_of_it() {
        // The Dockerfile the recording was made from (core/tests/builds.rs's cross-compiling one).
        let source = "FROM --platform=$BUILDPLATFORM 127.0.0.1:5055/busybox:latest AS builder\nARG TARGETOS TARGETARCH\nRUN echo \"built on $(uname -m) for $TARGETOS/$TARGETARCH\" > /app.txt\n\nFROM 127.0.0.1:5055/busybox:latest\nCOPY --from=builder /app.txt /app.txt\nRUN cat /app.txt && uname -m\n";
        let platforms = ["linux/amd64".to_owned(), "linux/arm64".to_owned(), "linux/arm/v7".to_owned()];
        let mut model = ProgressModel::new(&platforms).with_dockerfile(source);
        for response in recorded(include_bytes!("../tests/fixtures/cross-three-platforms.status")) {
            model.apply(&response);
        }
        let steps = model.steps();
        for step in &steps {
            let start = step.dockerfile_line.map(|l| l.start);
            let expected = match (step.stage.as_deref(), step.name.split_whitespace().next()) {
                (Some("builder"), Some("FROM")) => Some(1),
                (Some("builder"), Some("RUN")) => Some(3),
                (Some("stage-1"), Some("FROM")) => Some(5),
                (Some("stage-1"), Some("COPY")) => Some(6),
                (Some("stage-1"), Some("RUN")) => Some(7),
                _ => None,
            };
            assert_eq!(start, expected, "{step:?}");
        }
        // amd64 runs both FROMs as one step (same image, same platform): 1 + 3 + 2 + 3 + 3.
        assert_eq!(steps.iter().filter(|s| s.dockerfile_line.is_some()).count(), 12, "{steps:#?}");
    }

    /// A vertex that started `at_ms` after some fixed moment, 50 ms long.
    fn vertex(name: &str, at_ms: i64, cached: bool) -> bollard::moby::buildkit::v1::Vertex {
        use bollard_buildkit_proto::google::protobuf::Timestamp;
        let at =
            |ms: i64| Some(Timestamp { seconds: 1_800_000_000 + ms / 1000, nanos: (ms % 1000) as i32 * 1_000_000 });
        bollard::moby::buildkit::v1::Vertex {
            digest: format!("sha256:{name}"),
            name: name.into(),
            started: at(at_ms),
            completed: at(at_ms + 50),
            cached,
            ..Default::default()
        }
    }

    #[test]
    fn a_cached_step_from_an_older_build_does_not_shift_the_time_axis() {
        // BuildKit sends a step shared with an older build with that build's start, minutes ago,
        // first as running, then as cached.
        let steps = [
            vertex("load", 0, false),
            vertex("from", -300_000, false),
            vertex("from", -300_000, true),
            vertex("run", 1_000, false),
        ];
        let live = steps.iter().fold(ProgressModel::default(), |mut model, v| {
            model.apply(&StatusResponse { vertexes: vec![v.clone()], ..Default::default() });
            model
        });
        // A replay gets them all at once, and must show the same times.
        let mut replayed = ProgressModel::default();
        replayed.apply(&StatusResponse { vertexes: steps.to_vec(), ..Default::default() });
        for model in [live, replayed] {
            let started: Vec<_> = model.steps().iter().map(|s| (s.name.clone(), s.started_ms)).collect();
            assert_eq!(started, [("load".into(), Some(0)), ("from".into(), Some(0)), ("run".into(), Some(1_000))]);
        }
    }

    #[test]
    fn a_recorded_one_platform_failure_marks_that_lane_only() {
        let model = fold(include_bytes!("../tests/fixtures/fails-on-arm64.status"), &["linux/amd64", "linux/arm64"]);
        let failed: Vec<Step> = model.steps().into_iter().filter(|s| s.state == StepState::Failed).collect();
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert_eq!(failed[0].lane, "linux/arm64");
        assert!(failed[0].error.as_deref().unwrap().contains("exit code: 1"));
    }

    #[test]
    fn a_split_build_keeps_each_nodes_steps_apart_on_one_axis_and_labelled() {
        let bytes = include_bytes!("../tests/fixtures/fails-on-arm64.status");
        let alone = fold(bytes, &["linux/amd64", "linux/arm64"]).steps().len();
        let mut model =
            ProgressModel::split(&[part("farm0", "farm0", "linux/amd64", 1), part("farm1", "farm1", "linux/arm64", 1)]);
        for response in recorded(bytes) {
            model.apply_node(0, &response);
            model.apply_node(1, &response);
        }
        let steps = model.steps();
        assert_eq!(steps.len(), 2 * alone, "the same digests on two nodes are two steps");
        for step in &steps {
            let node = step.node.as_deref().expect("labelled with its node");
            assert!(step.id.starts_with(&format!("{node}/")), "{step:?}");
        }
        assert!(steps.iter().any(|s| s.started_ms == Some(0)));
        let running = steps.iter().find(|s| s.node.as_deref() == Some("farm1")).unwrap().clone();
        let mut unfinished = StatusResponse::default();
        unfinished.vertexes.push(bollard::moby::buildkit::v1::Vertex {
            digest: "sha256:late".into(),
            name: "[2/2] RUN sleep 60".into(),
            started: None,
            ..Default::default()
        });
        model.apply_node(1, &unfinished);
        model.fail_node(1, "node farm1 went away");
        let late = model.steps().into_iter().find(|s| s.id == "farm1/sha256:late").unwrap();
        assert_eq!((late.state, late.lane.as_str()), (StepState::Failed, "linux/arm64"));
        assert_eq!(late.error.as_deref(), Some("node farm1 went away"));
        assert_eq!(model.steps().into_iter().find(|s| s.id == running.id).unwrap().state, running.state);
    }

    fn part(key: &str, node: &str, platform: &str, attempt: u32) -> SolvePart {
        SolvePart { key: key.into(), node: node.into(), platforms: vec![platform.into()], attempt }
    }

    #[test]
    fn solves_of_one_platform_each_on_one_node_keep_their_steps_apart_and_a_retry_is_a_new_attempt() {
        let bytes = include_bytes!("../tests/fixtures/fails-on-arm64.status");
        let mut model = ProgressModel::split(&[
            part("default/linux/amd64", "default", "linux/amd64", 1),
            part("default/linux/arm64", "default", "linux/arm64", 1),
            part("default/linux/arm64#2", "default", "linux/arm64", 2),
        ]);
        for response in recorded(bytes) {
            for solve in 0..3 {
                model.apply_node(solve, &response);
            }
        }
        let steps = model.steps();
        let of = |prefix: &str| steps.iter().filter(|s| s.id.starts_with(prefix)).cloned().collect::<Vec<_>>();
        let (first, retry) = (of("default/linux/arm64/"), of("default/linux/arm64#2/"));
        assert!(!first.is_empty() && first.len() == retry.len(), "{steps:#?}");
        assert!(first.iter().chain(&retry).all(|s| s.node.as_deref() == Some("default")));
        assert!(first.iter().all(|s| s.attempt.is_none()), "the build itself is no retry");
        assert!(retry.iter().all(|s| s.attempt == Some(2)));

        let mut unfinished = StatusResponse::default();
        unfinished.vertexes.push(bollard::moby::buildkit::v1::Vertex {
            digest: "sha256:late".into(),
            name: "[2/2] RUN sleep 60".into(),
            ..Default::default()
        });
        model.apply_node(0, &unfinished);
        model.apply_node(2, &unfinished);
        model.fail_node(2, "gone");
        let step = |id: &str| model.steps().into_iter().find(|s| s.id == id).map(|s| (s.state, s.lane));
        assert_eq!(step("default/linux/arm64#2/sha256:late"), Some((StepState::Failed, "linux/arm64".into())));
        // Another solve on the node goes on; an unprefixed step of a one-platform solve is in its lane.
        assert_eq!(step("default/linux/amd64/sha256:late"), Some((StepState::Queued, "linux/amd64".into())));
    }

    #[test]
    fn updates_carry_only_what_changed_since_the_last_one() {
        // BuildKit resends a vertex whenever it changes, but never resends output.
        let mut response = recorded(include_bytes!("../tests/fixtures/cross-three-platforms.status")).remove(0);
        response.logs.clear();
        let mut model = ProgressModel::new(&["linux/amd64".into(), "linux/arm64".into(), "linux/arm/v7".into()]);
        model.apply(&response);
        let first = model.take_update().unwrap();
        assert!(!first.steps.is_empty());
        assert_eq!(model.take_update(), None);
        model.apply(&response);
        assert_eq!(model.take_update(), None, "a resent vertex that did not change is not an update");
    }

    #[test]
    fn logs_are_bounded_per_step_keeping_the_newest_output() {
        let mut model = ProgressModel::default();
        let vertex = bollard::moby::buildkit::v1::Vertex {
            digest: "sha256:a".into(),
            name: "RUN yes".into(),
            ..Default::default()
        };
        model.apply(&StatusResponse { vertexes: vec![vertex], ..Default::default() });
        let line = "y".repeat(1023) + "\n";
        for _ in 0..(2 * LOG_BYTES_PER_STEP / 1024) {
            let log = bollard::moby::buildkit::v1::VertexLog {
                vertex: "sha256:a".into(),
                stream: 1,
                msg: line.clone().into_bytes(),
                ..Default::default()
            };
            model.apply(&StatusResponse { logs: vec![log], ..Default::default() });
        }
        assert!(model.log("sha256:a").len() <= LOG_BYTES_PER_STEP);
        assert_eq!(model.steps()[0].log_lines as usize, 2 * LOG_BYTES_PER_STEP / 1024);
    }

    #[test]
    fn vertex_names_are_split_into_lane_stage_and_position() {
        let p = |n: &str| parse_vertex_name(n, None);
        assert_eq!(
            p("[linux/arm64 2/2] RUN uname -a > /os.txt"),
            ("linux/arm64".into(), None, Some("2/2".into()), "RUN uname -a > /os.txt".into())
        );
        assert_eq!(
            p("[linux/arm/v7 builder 1/3] FROM x"),
            ("linux/arm/v7".into(), Some("builder".into()), Some("1/3".into()), "FROM x".into())
        );
        assert_eq!(
            p("[linux/amd64->arm/v7 build 3/5] RUN go build"),
            ("linux/arm/v7".into(), Some("build".into()), Some("3/5".into()), "RUN go build".into())
        );
        assert_eq!(p("[linux/amd64 internal] load metadata for r/busybox:latest").0, "linux/amd64");
        assert_eq!(p("[internal] load build context"), ("shared".into(), None, None, "load build context".into()));
        assert_eq!(p("exporting to image").0, "shared");
        assert_eq!(parse_vertex_name("[2/2] RUN make", Some("linux/arm64")).0, "linux/arm64");
        assert_eq!(parse_vertex_name("[internal] load .dockerignore", Some("linux/arm64")).0, "shared");
    }
}
