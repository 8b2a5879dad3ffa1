//! Why a build missed the cache (moby/buildkit#2567): two records of the same Dockerfile compared
//! step by step. Steps are matched by what they are — platform, stage and instruction, in order —
//! never by vertex digest, which changes whenever anything before it does. The newer build's steps
//! that ran although the older build had their result are its cache misses; the first of those with
//! no missed step before it is where the cache stopped, and its reasons are read from what BuildKit
//! recorded of both builds: the frontend's attributes (build args, `no-cache`, …), the step names
//! (a FROM's pinned digest), and the provenance BuildKit keeps with every finished record (each
//! step's LLB operation with its environment, the Dockerfile as the frontend read it, each step's
//! lines in it). BuildKit records no checksums of context files: a COPY (or a RUN bind-mounting
//! the context) whose definition did not change yet ran again read files that changed, and that is
//! what is said, with the paths it reads.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine as _;
use bollard::moby::buildkit::v1::StatusResponse;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use super::entry::{HistoryEntry, HistoryStatus};
use crate::dockerfile::{Instructions, LineRange};
use crate::progress::{parse_vertex_name, SHARED_LANE};

/// What a step did in one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum StepRun {
    /// Its result came from the cache.
    Cached,
    /// It ran.
    Ran,
    /// It ran and failed.
    Failed,
    /// It never finished (the build stopped before it, or was cancelled).
    NotRun,
}

/// Why a step missed the cache, or how two builds differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
#[ts(export)]
pub enum MissReason {
    /// The newer build was asked not to use the cache (`--no-cache`).
    NoCache,
    /// The older build has no such step: the Dockerfile gained it.
    NewStep,
    /// A build arg the step sees changed; `None`: not given (the Dockerfile's default applies).
    BuildArgChanged { name: String, older: Option<String>, newer: Option<String> },
    /// A variable of the step's environment changed without a build arg changing (an `ENV`, or an
    /// `ARG`'s default in the Dockerfile).
    EnvironmentChanged { name: String, older: Option<String>, newer: Option<String> },
    /// The instruction reads differently (the Dockerfile's line as written, else the step's name).
    InstructionChanged { older: String, newer: String },
    /// The base image's tag now names another image.
    BaseImageChanged { image: String, older: String, newer: String },
    /// The files the step reads from a local source (`context`) changed: BuildKit records no
    /// checksums, so these are the paths it reads there (a COPY's sources, a RUN's bind mounts).
    ContextFilesChanged { source: String, paths: Vec<String> },
    /// Another frontend attribute changed (target, platform, network, …).
    FrontendAttrChanged { name: String, older: Option<String>, newer: Option<String> },
    /// The step's definition changed in these parts (mounts, network, user, …).
    DefinitionChanged { parts: Vec<String> },
    /// The Dockerfile is not the same file.
    DockerfileChanged { filename: String },
    /// A step it builds on missed the cache first.
    EarlierStepMissed { step: String, dockerfile_line: Option<LineRange> },
    /// Nothing recorded differs: its cache was pruned, or built by another builder.
    NotInCache,
}

/// A value as a user reads it: quoted, or "not set".
fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) => format!("\"{v}\""),
        None => "not set".into(),
    }
}

impl std::fmt::Display for MissReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MissReason::NoCache => write!(f, "the build was told not to use the cache (--no-cache)"),
            MissReason::NewStep => write!(f, "the older build had no such step"),
            MissReason::BuildArgChanged { name, older, newer } => {
                write!(f, "build arg {name} changed: {} -> {}", shown(older), shown(newer))
            }
            MissReason::EnvironmentChanged { name, older, newer } => {
                write!(f, "environment variable {name} changed: {} -> {}", shown(older), shown(newer))
            }
            MissReason::InstructionChanged { older, newer } => {
                write!(f, "the instruction changed: \"{older}\" -> \"{newer}\"")
            }
            MissReason::BaseImageChanged { image, older, newer } => {
                write!(f, "base image {image} is another image: {older} -> {newer}")
            }
            MissReason::ContextFilesChanged { source, paths } => {
                let paths = paths.join(", ");
                if source == "context" {
                    write!(f, "the files it reads from the build context changed: {paths}")
                } else {
                    write!(f, "the files it reads from local source {source} changed: {paths}")
                }
            }
            MissReason::FrontendAttrChanged { name, older, newer } => {
                write!(f, "frontend attribute {name} changed: {} -> {}", shown(older), shown(newer))
            }
            MissReason::DefinitionChanged { parts } => write!(f, "its definition changed: {}", parts.join(", ")),
            MissReason::DockerfileChanged { filename } => write!(f, "the Dockerfile ({filename}) changed"),
            MissReason::EarlierStepMissed { step, dockerfile_line } => match dockerfile_line {
                Some(line) => write!(f, "a step it builds on missed first: {step} (line {})", line.start),
                None => write!(f, "a step it builds on missed first: {step}"),
            },
            MissReason::NotInCache => {
                write!(f, "nothing recorded differs: its cache was pruned, or made by another builder")
            }
        }
    }
}

/// One step of either build, side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ComparedStep {
    /// The platform the step was for, in a multi-platform build.
    pub platform: Option<String>,
    pub stage: Option<String>,
    /// The step's name without its `[platform stage n/m]` prefix, the newer build's when it has it.
    pub instruction: String,
    /// `2/4` within its stage, the newer build's when it has it.
    pub position: Option<String>,
    /// Where the instruction is in the newer build's Dockerfile (else the older's).
    pub dockerfile_line: Option<LineRange>,
    /// Those lines as written.
    pub source: Vec<String>,
    pub older: Option<StepRun>,
    pub newer: Option<StepRun>,
    /// It ran in the newer build although the older build had its result.
    pub missed: bool,
    /// Why it missed, when it did.
    pub reasons: Vec<MissReason>,
}

/// One of the two builds compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ComparedBuild {
    pub build_ref: String,
    pub name: String,
    /// RFC 3339.
    pub created_at: String,
    pub status: HistoryStatus,
    pub steps_total: u32,
    pub steps_cached: u32,
    /// BuildKit kept the build's provenance (its steps' definitions and Dockerfile) with the record.
    pub has_definitions: bool,
}

/// Two builds compared step by step, the older first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildComparison {
    pub older: ComparedBuild,
    pub newer: ComparedBuild,
    /// Every Dockerfile step of either build, in the Dockerfile's order per platform.
    pub steps: Vec<ComparedStep>,
    /// The index in `steps` of the first step that missed the cache; `None`: none missed.
    pub first_miss: Option<u32>,
    /// How the builds differ as a whole: build args, other frontend attributes, base images, the Dockerfile.
    pub differences: Vec<MissReason>,
}

/// One record as read for a comparison: the record, the status stream its logs blob holds, and the
/// provenance predicates BuildKit attached to it (one per platform of a multi-platform build).
pub struct RecordedBuild {
    pub entry: HistoryEntry,
    pub statuses: Vec<StatusResponse>,
    pub provenance: Vec<Value>,
}

/// The parts of a BuildKit provenance predicate (SLSA v0.2, `mode=max` as BuildKit records it
/// for its history) a comparison reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Provenance {
    #[serde(default)]
    build_config: Option<BuildConfig>,
    #[serde(default)]
    metadata: Option<ProvenanceMetadata>,
    #[serde(default)]
    materials: Vec<Material>,
}

impl Provenance {
    fn source(&self) -> Option<&SourceMetadata> {
        self.metadata.as_ref()?.buildkit.as_ref()?.source.as_ref()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BuildConfig {
    #[serde(default)]
    llb_definition: Vec<LlbStep>,
    /// Vertex digest → step id.
    #[serde(default)]
    digest_mapping: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct LlbStep {
    id: String,
    #[serde(default)]
    op: Value,
    /// `step3:0`: the step and its output.
    #[serde(default)]
    inputs: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ProvenanceMetadata {
    #[serde(rename = "https://mobyproject.org/buildkit@v1#metadata", default)]
    buildkit: Option<BuildkitMetadata>,
}

#[derive(Debug, Default, Deserialize)]
struct BuildkitMetadata {
    #[serde(default)]
    source: Option<SourceMetadata>,
}

#[derive(Debug, Default, Deserialize)]
struct SourceMetadata {
    #[serde(default)]
    locations: HashMap<String, StepLocations>,
    #[serde(default)]
    infos: Vec<SourceInfo>,
}

#[derive(Debug, Default, Deserialize)]
struct StepLocations {
    #[serde(default)]
    locations: Vec<SourceLocation>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SourceLocation {
    #[serde(default)]
    source_index: usize,
    #[serde(default)]
    ranges: Vec<SourceRange>,
}

#[derive(Debug, Default, Deserialize)]
struct SourceRange {
    #[serde(default)]
    start: SourcePosition,
    #[serde(default)]
    end: SourcePosition,
}

#[derive(Debug, Default, Deserialize)]
struct SourcePosition {
    #[serde(default)]
    line: u32,
}

#[derive(Debug, Default, Deserialize)]
struct SourceInfo {
    #[serde(default)]
    filename: String,
    /// The file, base64.
    #[serde(default)]
    data: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Material {
    #[serde(default)]
    uri: String,
    #[serde(default)]
    digest: BTreeMap<String, String>,
}

/// A Dockerfile step of one build.
#[derive(Debug, Clone)]
struct Step {
    digest: String,
    platform: Option<String>,
    stage: Option<String>,
    position: Option<String>,
    /// The number before the slash of `position`.
    index: u32,
    text: String,
    run: StepRun,
    started: Option<i128>,
    lines: Option<LineRange>,
    source: Vec<String>,
}

impl Step {
    fn keyword(&self) -> &str {
        self.text.split_whitespace().next().unwrap_or_default()
    }

    /// `[linux/arm64 build 2/3] RUN make`, as BuildKit names it.
    fn label(&self) -> String {
        let prefix: Vec<&str> =
            [self.platform.as_deref(), self.stage.as_deref(), self.position.as_deref()].into_iter().flatten().collect();
        if prefix.is_empty() {
            self.text.clone()
        } else {
            format!("[{}] {}", prefix.join(" "), self.text)
        }
    }
}

/// One build, read for comparing.
struct Read<'a> {
    entry: &'a HistoryEntry,
    steps: Vec<Step>,
    /// Vertex digest → the digests of its inputs, every vertex of the build.
    inputs: HashMap<String, Vec<String>>,
    provenance: Vec<Provenance>,
    /// The Dockerfile as the frontend read it.
    dockerfile: Option<(String, String)>,
}

impl<'a> Read<'a> {
    fn new(build: &'a RecordedBuild) -> Self {
        // One that is not BuildKit's provenance is left out, as if not recorded.
        let provenance: Vec<Provenance> =
            build.provenance.iter().filter_map(|p| serde_json::from_value(p.clone()).ok()).collect();
        let dockerfile = provenance.iter().filter_map(Provenance::source).find_map(|s| {
            let info = s.infos.first()?;
            let data = base64::engine::general_purpose::STANDARD.decode(info.data.as_deref()?).ok()?;
            Some((info.filename.clone(), String::from_utf8(data).ok()?))
        });
        let instructions = dockerfile.as_ref().map(|(_, text)| Instructions::parse(text));

        // The same vertex is sent again as it changes: the last word on each counts.
        let mut vertexes = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for v in build.statuses.iter().flat_map(|s| &s.vertexes) {
            match seen.get(&v.digest) {
                Some(&at) => vertexes[at] = v,
                None => {
                    seen.insert(v.digest.clone(), vertexes.len());
                    vertexes.push(v);
                }
            }
        }
        let inputs = vertexes.iter().map(|v| (v.digest.clone(), v.inputs.clone())).collect();
        let steps = vertexes
            .iter()
            .filter_map(|v| {
                let (lane, stage, position, text) = parse_vertex_name(&v.name, None);
                let index = position.as_deref()?.split('/').next()?.trim().parse().ok()?;
                let run = if v.error.contains("context canceled") {
                    StepRun::NotRun
                } else if !v.error.is_empty() {
                    StepRun::Failed
                } else if v.completed.is_none() {
                    StepRun::NotRun
                } else if v.cached {
                    StepRun::Cached
                } else {
                    StepRun::Ran
                };
                let located = provenance
                    .iter()
                    .find_map(|p| Some((p.source()?, p.build_config.as_ref()?.digest_mapping.get(&v.digest)?)))
                    .and_then(|(source, id)| source.locations.get(id))
                    .and_then(|l| l.locations.first())
                    .filter(|l| l.source_index == 0)
                    .and_then(|l| l.ranges.first())
                    .map(|r| LineRange { start: r.start.line, end: r.end.line.max(r.start.line) });
                let lines = located.or_else(|| instructions.as_ref()?.lines_of(&v.name));
                let source = match (lines, &dockerfile) {
                    (Some(l), Some((_, text))) => text
                        .lines()
                        .skip(l.start.saturating_sub(1) as usize)
                        .take((l.end + 1).saturating_sub(l.start) as usize)
                        .map(str::to_owned)
                        .collect(),
                    _ => Vec::new(),
                };
                Some(Step {
                    digest: v.digest.clone(),
                    platform: (lane != SHARED_LANE).then_some(lane),
                    stage,
                    position,
                    index,
                    text,
                    run,
                    started: v.started.as_ref().map(|t| i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos)),
                    lines,
                    source,
                })
            })
            .collect();
        Read { entry: &build.entry, steps, inputs, provenance, dockerfile }
    }

    /// A vertex's step in the provenance that has it (each platform's has its own step ids).
    fn llb(&self, digest: &str) -> Option<(&BuildConfig, &LlbStep)> {
        self.provenance.iter().filter_map(|p| p.build_config.as_ref()).find_map(|config| {
            let id = config.digest_mapping.get(digest)?;
            Some((config, config.llb_definition.iter().find(|s| &s.id == id)?))
        })
    }

    /// The operation of a vertex (`{"Op": {"exec": …}, "platform": …}`), as the provenance records it.
    fn op(&self, digest: &str) -> Option<&Value> {
        self.llb(digest).map(|(_, s)| &s.op)
    }

    /// The local sources (`context`) a step reads, and the paths it reads there: what a COPY
    /// copies, and what a RUN bind-mounts (`RUN --mount=type=bind`, `.` for all of it).
    fn local_reads(&self, digest: &str) -> Vec<(String, String)> {
        let Some((config, step)) = self.llb(digest) else { return Vec::new() };
        // An input below the step's input count is that input; above, an earlier action's output.
        let local_of = |input: i64| -> Option<String> {
            let id = step.inputs.get(usize::try_from(input).ok()?)?.split(':').next()?;
            let source = config.llb_definition.iter().find(|s| s.id == id)?;
            let identifier = source.op.pointer("/Op/source/identifier")?.as_str()?;
            identifier.strip_prefix("local://").map(str::to_owned)
        };
        let list = |pointer: &str| step.op.pointer(pointer).and_then(Value::as_array).into_iter().flatten();
        let copied = list("/Op/file/actions").filter_map(|action| {
            let src = action.pointer("/Action/copy/src")?.as_str()?;
            Some((local_of(action.get("secondaryInput")?.as_i64()?)?, src.trim_start_matches('/').to_owned()))
        });
        let mounted = list("/Op/exec/mounts").filter_map(|mount| {
            let local = local_of(mount.get("input")?.as_i64()?)?;
            let selector = mount.get("selector").and_then(Value::as_str).unwrap_or_default().trim_start_matches('/');
            Some((local, if selector.is_empty() { ".".to_owned() } else { selector.to_owned() }))
        });
        copied.chain(mounted).collect()
    }

    fn build_args(&self) -> BTreeMap<&str, &str> {
        self.entry.build_args.iter().map(|kv| (kv.name.as_str(), kv.value.as_str())).collect()
    }

    /// The vertexes a vertex builds on, all the way down.
    fn ancestors(&self, digest: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut queue: std::collections::VecDeque<String> = self.inputs.get(digest).cloned().unwrap_or_default().into();
        while let Some(next) = queue.pop_front() {
            if out.contains(&next) {
                continue;
            }
            queue.extend(self.inputs.get(&next).cloned().unwrap_or_default());
            out.push(next);
        }
        out
    }
}

/// The steps of both builds paired: per platform and stage, in order, the same instruction where
/// both have it, else the same kind of instruction in the same place (a changed line).
fn pair<'s>(older: &'s [Step], newer: &'s [Step]) -> Vec<(Option<&'s Step>, Option<&'s Step>)> {
    type Group<'s> = (Option<&'s str>, Option<&'s str>);
    let group = |s: &'s Step| -> Group<'s> { (s.platform.as_deref(), s.stage.as_deref()) };
    let mut groups: Vec<Group<'s>> = Vec::new();
    for s in newer.iter().chain(older) {
        if !groups.contains(&group(s)) {
            groups.push(group(s));
        }
    }
    let mut pairs = Vec::new();
    for g in groups {
        let mut old: Vec<&Step> = older.iter().filter(|s| group(s) == g).collect();
        let mut new: Vec<&Step> = newer.iter().filter(|s| group(s) == g).collect();
        old.sort_by_key(|s| s.index);
        new.sort_by_key(|s| s.index);
        let old_texts: Vec<&str> = old.iter().map(|s| s.text.as_str()).collect();
        let new_texts: Vec<&str> = new.iter().map(|s| s.text.as_str()).collect();
        for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old_texts, &new_texts) {
            let (_, o, n) = op.as_tag_tuple();
            let (o, n) = (&old[o], &new[n]);
            // A replaced run pairs its steps in order while they are the same kind of instruction.
            let mut at = 0;
            while at < o.len() && at < n.len() && o[at].keyword() == n[at].keyword() {
                pairs.push((Some(o[at]), Some(n[at])));
                at += 1;
            }
            pairs.extend(o[at..].iter().map(|s| (Some(*s), None)));
            pairs.extend(n[at..].iter().map(|s| (None, Some(*s))));
        }
    }
    // A vertex shared with another build running at the same time can carry that build's name
    // (another position, even another stage): a step left alone on each side with the same
    // instruction is one step.
    let mut paired: Vec<(Option<&Step>, Option<&Step>)> = Vec::with_capacity(pairs.len());
    for (old, new) in pairs {
        let alone = paired.iter().position(|p| match (*p, old, new) {
            ((None, Some(n)), Some(o), None) | ((Some(o), None), None, Some(n)) => o.text == n.text,
            _ => false,
        });
        match alone {
            Some(at) => {
                let (o, n) = paired[at];
                paired[at] = (o.or(old), n.or(new));
            }
            None => paired.push((old, new)),
        }
    }
    paired
}

/// The image a FROM step names and its pinned digest: `FROM busybox:latest@sha256:…`.
fn from_image(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("FROM ")?.split_whitespace().next()?;
    rest.rsplit_once('@')
}

fn changed<'m>(
    older: &BTreeMap<&'m str, &'m str>,
    newer: &BTreeMap<&'m str, &'m str>,
) -> Vec<(&'m str, Option<String>, Option<String>)> {
    let names: BTreeSet<&str> = older.keys().chain(newer.keys()).copied().collect();
    names
        .into_iter()
        .filter(|n| older.get(n) != newer.get(n))
        .map(|n| (n, older.get(n).map(|v| v.to_string()), newer.get(n).map(|v| v.to_string())))
        .collect()
}

/// An exec operation's environment as a map.
fn environment(op: &Value) -> BTreeMap<&str, &str> {
    op.pointer("/Op/exec/meta/env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str()?.split_once('='))
        .collect()
}

/// The top-level fields in which two JSON objects differ, but those in `skip`.
fn differing_parts(older: &Value, newer: &Value, skip: &[&str]) -> Vec<String> {
    let (Some(o), Some(n)) = (older.as_object(), newer.as_object()) else {
        return if older == newer { Vec::new() } else { vec!["definition".into()] };
    };
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    keys.into_iter().filter(|k| !skip.contains(&k.as_str()) && o.get(*k) != n.get(*k)).cloned().collect()
}

/// The paths a `COPY`/`ADD` step without `--from` names as its sources (all but the destination).
fn copied_paths(text: &str) -> Option<Vec<String>> {
    let mut words = text.split_whitespace();
    let keyword = words.next()?;
    if !matches!(keyword, "COPY" | "ADD") {
        return None;
    }
    let words: Vec<&str> = words.collect();
    if words.iter().any(|w| w.starts_with("--from")) {
        return None;
    }
    let args: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
    let (_, sources) = args.split_last()?;
    Some(sources.iter().map(|s| s.to_string()).collect())
}

/// Whether the newer step's name is the older's with changed build args' values put in.
fn explained_by_args(older: &str, newer: &str, args: &[(&str, Option<String>, Option<String>)]) -> Vec<MissReason> {
    let mut replaced = older.to_owned();
    let mut used = Vec::new();
    for (name, old, new) in args {
        if let (Some(old), Some(new)) = (old, new) {
            if !old.is_empty() && replaced.contains(old.as_str()) {
                replaced = replaced.replace(old.as_str(), new);
                used.push(MissReason::BuildArgChanged {
                    name: name.to_string(),
                    older: Some(old.clone()),
                    newer: Some(new.clone()),
                });
            }
        }
    }
    if replaced == newer {
        used
    } else {
        Vec::new()
    }
}

/// Frontend attributes that are not build args nor labels (which change no step).
fn other_attrs(entry: &HistoryEntry) -> BTreeMap<&str, &str> {
    entry
        .frontend_attrs
        .iter()
        .filter(|(k, _)| !k.starts_with("build-arg:") && !k.starts_with("label:"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Whether `no-cache` (empty: every stage; else a comma list of stages) covers a step's stage.
fn no_cache_for(entry: &HistoryEntry, stage: Option<&str>) -> bool {
    match entry.frontend_attrs.get("no-cache") {
        None => false,
        Some(stages) if stages.is_empty() => true,
        Some(stages) => stage.is_some_and(|s| stages.split(',').any(|n| n.trim().eq_ignore_ascii_case(s))),
    }
}

/// Why the newer build ran `new` although the older build had `old`'s result.
fn reasons(older: &Read, newer: &Read, old: Option<&Step>, new: &Step) -> Vec<MissReason> {
    if no_cache_for(newer.entry, new.stage.as_deref()) {
        return vec![MissReason::NoCache];
    }
    let Some(old) = old else { return vec![MissReason::NewStep] };
    if !old.source.is_empty() && !new.source.is_empty() && old.source != new.source {
        return vec![MissReason::InstructionChanged { older: old.source.join("\n"), newer: new.source.join("\n") }];
    }
    let args = changed(&older.build_args(), &newer.build_args());
    let mut out = Vec::new();
    match (older.op(&old.digest), newer.op(&new.digest)) {
        (Some(old_op), Some(new_op)) => {
            if let (Some(o), Some(n)) = (from_image(&old.text), from_image(&new.text)) {
                if o.0 == n.0 && o.1 != n.1 {
                    out.push(MissReason::BaseImageChanged {
                        image: n.0.to_owned(),
                        older: o.1.to_owned(),
                        newer: n.1.to_owned(),
                    });
                }
            }
            if new_op.pointer("/Op/exec").is_some() && old_op.pointer("/Op/exec").is_some() {
                let (old_env, new_env) = (environment(old_op), environment(new_op));
                for (name, o, n) in changed(&old_env, &new_env) {
                    match args.iter().find(|(arg, _, _)| *arg == name) {
                        Some((_, ao, an)) => out.push(MissReason::BuildArgChanged {
                            name: name.to_owned(),
                            older: ao.clone(),
                            newer: an.clone(),
                        }),
                        None => out.push(MissReason::EnvironmentChanged { name: name.to_owned(), older: o, newer: n }),
                    }
                }
                let (old_meta, new_meta) = (&old_op["Op"]["exec"]["meta"], &new_op["Op"]["exec"]["meta"]);
                if old_meta.get("args") != new_meta.get("args") {
                    out.push(MissReason::InstructionChanged { older: old.text.clone(), newer: new.text.clone() });
                }
                let mut parts = differing_parts(old_meta, new_meta, &["env", "args"]);
                parts.extend(differing_parts(&old_op["Op"]["exec"], &new_op["Op"]["exec"], &["meta"]));
                parts.extend(differing_parts(old_op, new_op, &["Op"]));
                if !parts.is_empty() {
                    out.push(MissReason::DefinitionChanged { parts });
                }
            } else if old_op != new_op && out.is_empty() {
                if old.text != new.text {
                    let explained = explained_by_args(&old.text, &new.text, &args);
                    if explained.is_empty() {
                        out.push(MissReason::InstructionChanged { older: old.text.clone(), newer: new.text.clone() });
                    }
                    out.extend(explained);
                } else {
                    let mut parts = differing_parts(&old_op["Op"], &new_op["Op"], &[]);
                    parts.extend(differing_parts(old_op, new_op, &["Op"]));
                    out.push(MissReason::DefinitionChanged { parts });
                }
            }
            if out.is_empty() {
                let reads = newer.local_reads(&new.digest);
                let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for (source, path) in reads {
                    by_source.entry(source).or_default().push(path);
                }
                out.extend(
                    by_source.into_iter().map(|(source, paths)| MissReason::ContextFilesChanged { source, paths }),
                );
            }
        }
        _ => {
            // No definitions to compare: what the names and the record's attributes tell.
            if old.text != new.text {
                match (from_image(&old.text), from_image(&new.text)) {
                    (Some(o), Some(n)) if o.0 == n.0 => out.push(MissReason::BaseImageChanged {
                        image: n.0.to_owned(),
                        older: o.1.to_owned(),
                        newer: n.1.to_owned(),
                    }),
                    _ => {
                        let explained = explained_by_args(&old.text, &new.text, &args);
                        if explained.is_empty() {
                            out.push(MissReason::InstructionChanged {
                                older: old.text.clone(),
                                newer: new.text.clone(),
                            });
                        }
                        out.extend(explained);
                    }
                }
            } else if let Some(paths) = copied_paths(&new.text) {
                out.push(MissReason::ContextFilesChanged { source: "context".into(), paths });
            } else if new.keyword() == "RUN" {
                // A RUN sees the build args its stage declares; which those are is in the Dockerfile,
                // which BuildKit kept no copy of here.
                out.extend(args.iter().map(|(name, o, n)| MissReason::BuildArgChanged {
                    name: name.to_string(),
                    older: o.clone(),
                    newer: n.clone(),
                }));
            }
        }
    }
    if out.is_empty() {
        let attrs = changed(&other_attrs(older.entry), &other_attrs(newer.entry));
        out.extend(attrs.into_iter().map(|(name, older, newer)| MissReason::FrontendAttrChanged {
            name: name.to_owned(),
            older,
            newer,
        }));
    }
    if out.is_empty() {
        out.push(MissReason::NotInCache);
    }
    out
}

/// What changed in a step's own definition, for a step that also missed because an earlier one
/// did: it would miss even were that one fixed. Only what the recorded definitions show for
/// certain; a COPY after a missed step runs again whatever its files.
fn own_changes(older: &Read, newer: &Read, old: Option<&Step>, new: &Step) -> Vec<MissReason> {
    let Some(old) = old.filter(|o| older.op(&o.digest).is_some() && newer.op(&new.digest).is_some()) else {
        return Vec::new();
    };
    reasons(older, newer, Some(old), new)
        .into_iter()
        .filter(|r| {
            matches!(
                r,
                MissReason::BuildArgChanged { .. }
                    | MissReason::EnvironmentChanged { .. }
                    | MissReason::InstructionChanged { .. }
                    | MissReason::BaseImageChanged { .. }
                    | MissReason::DefinitionChanged { .. }
            )
        })
        .collect()
}

/// How the two builds differ as a whole.
fn differences(older: &Read, newer: &Read) -> Vec<MissReason> {
    let mut out: Vec<MissReason> = changed(&older.build_args(), &newer.build_args())
        .into_iter()
        .map(|(name, older, newer)| MissReason::BuildArgChanged { name: name.to_owned(), older, newer })
        .collect();
    out.extend(
        changed(&other_attrs(older.entry), &other_attrs(newer.entry))
            .into_iter()
            .map(|(name, older, newer)| MissReason::FrontendAttrChanged { name: name.to_owned(), older, newer }),
    );
    let old_materials: Vec<&Material> = older.provenance.iter().flat_map(|p| &p.materials).collect();
    let mut new_materials: Vec<&Material> = newer.provenance.iter().flat_map(|p| &p.materials).collect();
    new_materials.dedup_by(|a, b| a.uri == b.uri);
    for new in new_materials {
        let old = old_materials.iter().find(|m| m.uri == new.uri);
        if let (Some(old), Some(digest)) = (old, new.digest.get("sha256")) {
            if let Some(was) = old.digest.get("sha256").filter(|was| *was != digest) {
                out.push(MissReason::BaseImageChanged {
                    image: material_image(&new.uri),
                    older: format!("sha256:{was}"),
                    newer: format!("sha256:{digest}"),
                });
            }
        }
    }
    if let (Some((_, old)), Some((filename, new))) = (&older.dockerfile, &newer.dockerfile) {
        if old != new {
            out.push(MissReason::DockerfileChanged { filename: filename.clone() });
        }
    }
    out
}

/// The image a provenance material names, as a Dockerfile names it: `pkg:docker/127.0.0.1%3A5055/busybox@latest?platform=…`
/// is `127.0.0.1:5055/busybox:latest`; any other material as it is.
fn material_image(uri: &str) -> String {
    let Some((name, version)) =
        uri.strip_prefix("pkg:docker/").and_then(|rest| rest.split('?').next()?.rsplit_once('@'))
    else {
        return uri.to_owned();
    };
    let name = percent_encoding::percent_decode_str(name).decode_utf8_lossy();
    let version = percent_encoding::percent_decode_str(version).decode_utf8_lossy();
    let separator = if version.contains(':') { '@' } else { ':' };
    format!("{name}{separator}{version}")
}

fn summary(build: &RecordedBuild, read: &Read) -> ComparedBuild {
    ComparedBuild {
        build_ref: build.entry.build_ref.clone(),
        name: build.entry.name.clone(),
        created_at: build.entry.created_at.clone(),
        status: build.entry.status,
        steps_total: build.entry.steps_total,
        steps_cached: build.entry.steps_cached,
        has_definitions: read.provenance.iter().any(|p| p.build_config.is_some()),
    }
}

/// Compares two recorded builds: `older` is the one whose cache `newer` could have used (the
/// caller orders them by creation).
pub fn compare(older: &RecordedBuild, newer: &RecordedBuild) -> BuildComparison {
    let (old_read, new_read) = (Read::new(older), Read::new(newer));
    let pairs = pair(&old_read.steps, &new_read.steps);
    // A miss: it ran in the newer build, and the older build had its result (or had no such step).
    // A FROM of the same pinned image is no miss: an image is fetched, not cached, and BuildKit says
    // it ran whenever it unpacked it again.
    let missed = |o: Option<&Step>, n: Option<&Step>| match (o, n) {
        (_, None) => false,
        (Some(o), Some(n)) if n.keyword() == "FROM" && o.text == n.text => false,
        (old, Some(n)) => {
            matches!(n.run, StepRun::Ran | StepRun::Failed)
                && old.is_none_or(|o| matches!(o.run, StepRun::Cached | StepRun::Ran))
        }
    };
    let missed_digests: HashMap<&str, &Step> =
        pairs.iter().filter(|(o, n)| missed(*o, *n)).filter_map(|(_, n)| n.map(|n| (n.digest.as_str(), n))).collect();
    let mut steps: Vec<(ComparedStep, Option<i128>, bool)> = pairs
        .iter()
        .map(|&(old, new)| {
            let shown = new.or(old).expect("a pair has a step");
            let is_miss = missed(old, new);
            // The nearest step it builds on that missed first, if any.
            let earlier = new.filter(|_| is_miss).and_then(|n| {
                let ancestors = new_read.ancestors(&n.digest);
                let found = ancestors.iter().find_map(|d| missed_digests.get(d.as_str()).copied());
                // Without inputs recorded, the step before it in its stage.
                found.or_else(|| {
                    (ancestors.is_empty() && n.index > 1)
                        .then(|| {
                            missed_digests
                                .values()
                                .copied()
                                .find(|m| m.platform == n.platform && m.stage == n.stage && m.index + 1 == n.index)
                        })
                        .flatten()
                })
            });
            let reasons = match (is_miss, earlier, new) {
                (false, _, _) | (_, _, None) => Vec::new(),
                (true, Some(e), Some(n)) => {
                    let mut reasons = vec![MissReason::EarlierStepMissed { step: e.label(), dockerfile_line: e.lines }];
                    reasons.extend(own_changes(&old_read, &new_read, old, n));
                    reasons
                }
                (true, None, Some(n)) => reasons(&old_read, &new_read, old, n),
            };
            let root = is_miss && earlier.is_none();
            let step = ComparedStep {
                platform: shown.platform.clone(),
                stage: shown.stage.clone(),
                instruction: shown.text.clone(),
                position: shown.position.clone(),
                dockerfile_line: shown.lines,
                source: shown.source.clone(),
                older: old.map(|s| s.run),
                newer: new.map(|s| s.run),
                missed: is_miss,
                reasons,
            };
            (step, new.and_then(|n| n.started), root)
        })
        .collect();
    steps.sort_by(|(a, _, _), (b, _, _)| {
        let line = |s: &ComparedStep| s.dockerfile_line.map_or(u32::MAX, |l| l.start);
        (&a.platform, line(a), &a.stage, &a.position).cmp(&(&b.platform, line(b), &b.stage, &b.position))
    });
    // The first miss: of those with no missed step before them, the one that started first.
    let first_miss = steps
        .iter()
        .enumerate()
        .filter(|(_, (_, _, root))| *root)
        .min_by_key(|(i, (_, started, _))| (started.unwrap_or(i128::MAX), *i))
        .map(|(i, _)| i as u32);
    BuildComparison {
        older: summary(older, &old_read),
        newer: summary(newer, &new_read),
        steps: steps.into_iter().map(|(s, _, _)| s).collect(),
        first_miss,
        differences: differences(&old_read, &new_read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::entry::Origin;
    use bollard::moby::buildkit::v1::{BuildHistoryRecord, Vertex};
    use bollard_buildkit_proto::google::protobuf::Timestamp;

    fn at(ms: i64) -> Option<Timestamp> {
        Some(Timestamp { seconds: 1_800_000_000 + ms / 1000, nanos: (ms % 1000) as i32 * 1_000_000 })
    }

    /// A vertex that finished at `ms`, from the cache or not, built on `inputs`.
    fn vertex(digest: &str, name: &str, cached: bool, ms: i64, inputs: &[&str]) -> Vertex {
        Vertex {
            digest: digest.into(),
            name: name.into(),
            cached,
            started: at(ms),
            completed: at(ms + 1),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    fn recorded(build_ref: &str, attrs: &[(&str, &str)], vertexes: Vec<Vertex>) -> RecordedBuild {
        let record = BuildHistoryRecord {
            r#ref: build_ref.into(),
            frontend_attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            created_at: at(0),
            completed_at: at(1000),
            ..Default::default()
        };
        let origin = Origin { builder: "default", node: "default", local: None, recorded: None, server_time: None };
        RecordedBuild {
            entry: HistoryEntry::from_record(&record, origin),
            statuses: vec![StatusResponse { vertexes, ..Default::default() }],
            provenance: Vec::new(),
        }
    }

    const FROM: &str = "FROM 127.0.0.1:5055/busybox:latest@sha256:aaaa";

    fn named(c: &BuildComparison, instruction: &str) -> ComparedStep {
        c.steps
            .iter()
            .find(|s| s.instruction == instruction)
            .cloned()
            .unwrap_or_else(|| panic!("{instruction}: {c:#?}"))
    }

    #[test]
    fn an_identical_rebuild_missed_nothing() {
        let older = recorded(
            "a",
            &[],
            vec![
                vertex("f", &format!("[1/2] {FROM}"), false, 0, &[]),
                vertex("r", "[2/2] RUN make", false, 10, &["f"]),
            ],
        );
        let newer = recorded(
            "b",
            &[],
            vec![
                // BuildKit says an image it unpacked again ran: no cache is involved.
                vertex("f", &format!("[1/2] {FROM}"), false, 0, &[]),
                vertex("r", "[2/2] RUN make", true, 10, &["f"]),
            ],
        );
        let c = compare(&older, &newer);
        assert_eq!(c.first_miss, None);
        assert_eq!(c.steps.len(), 2);
        assert!(c.steps.iter().all(|s| !s.missed), "{c:#?}");
        assert!(c.differences.is_empty());
    }

    #[test]
    fn without_definitions_a_run_that_ran_again_names_the_changed_build_args_and_later_steps_follow_it() {
        let older = recorded(
            "a",
            &[("build-arg:GREETING", "hello")],
            vec![
                vertex("f", &format!("[1/3] {FROM}"), true, 0, &[]),
                vertex("r1", "[2/3] RUN make", false, 10, &["f"]),
                vertex("r2", "[3/3] RUN make test", false, 20, &["r1"]),
            ],
        );
        let newer = recorded(
            "b",
            &[("build-arg:GREETING", "goodbye")],
            vec![
                vertex("f", &format!("[1/3] {FROM}"), true, 0, &[]),
                vertex("r1x", "[2/3] RUN make", false, 10, &["f"]),
                vertex("r2x", "[3/3] RUN make test", false, 20, &["r1x"]),
            ],
        );
        let c = compare(&older, &newer);
        let first = &c.steps[c.first_miss.expect("a step missed") as usize];
        assert_eq!(first.instruction, "RUN make");
        let arg = MissReason::BuildArgChanged {
            name: "GREETING".into(),
            older: Some("hello".into()),
            newer: Some("goodbye".into()),
        };
        assert_eq!(first.reasons, std::slice::from_ref(&arg));
        assert_eq!(
            named(&c, "RUN make test").reasons,
            [MissReason::EarlierStepMissed { step: "[2/3] RUN make".into(), dockerfile_line: None }]
        );
        assert!(!named(&c, FROM).missed);
        assert_eq!(c.differences, [arg]);
        assert_eq!(
            first.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["build arg GREETING changed: \"hello\" -> \"goodbye\""]
        );
    }

    #[test]
    fn steps_are_paired_by_instruction_not_digest_and_an_inserted_step_is_new() {
        let older = recorded(
            "a",
            &[],
            vec![
                vertex("f", &format!("[1/3] {FROM}"), false, 0, &[]),
                vertex("c", "[2/3] COPY app.txt /app.txt", false, 10, &["f"]),
                vertex("r", "[3/3] RUN cat /app.txt", false, 20, &["c"]),
            ],
        );
        let newer = recorded(
            "b",
            &[],
            vec![
                vertex("f", &format!("[1/4] {FROM}"), true, 0, &[]),
                vertex("n", "[2/4] RUN echo new", false, 5, &["f"]),
                vertex("c2", "[3/4] COPY app.txt /app.txt", false, 10, &["n"]),
                vertex("r2", "[4/4] RUN cat /app.txt", false, 20, &["c2"]),
            ],
        );
        let c = compare(&older, &newer);
        let first = &c.steps[c.first_miss.unwrap() as usize];
        assert_eq!((first.instruction.as_str(), first.older, first.newer), ("RUN echo new", None, Some(StepRun::Ran)));
        assert_eq!(first.reasons, [MissReason::NewStep]);
        let copy = named(&c, "COPY app.txt /app.txt");
        assert_eq!((copy.older, copy.newer), (Some(StepRun::Ran), Some(StepRun::Ran)));
        assert!(
            matches!(&copy.reasons[..], [MissReason::EarlierStepMissed { step, .. }] if step == "[2/4] RUN echo new")
        );
    }

    #[test]
    fn a_copy_that_ran_again_with_nothing_else_changed_read_changed_files() {
        let steps = |cached_copy: bool, d: &str| {
            vec![
                vertex("f", &format!("[1/2] {FROM}"), true, 0, &[]),
                vertex(&format!("c{d}"), "[2/2] COPY --chmod=644 app.txt lib/ /srv/", cached_copy, 10, &["f", "ctx"]),
                vertex("ctx", "[internal] load build context", false, 5, &[]),
            ]
        };
        let c = compare(&recorded("a", &[], steps(false, "1")), &recorded("b", &[], steps(false, "2")));
        assert_eq!(c.steps.len(), 2, "internal steps are not compared: {c:#?}");
        let first = &c.steps[c.first_miss.unwrap() as usize];
        assert_eq!(
            first.reasons,
            [MissReason::ContextFilesChanged {
                source: "context".into(),
                paths: vec!["app.txt".into(), "lib/".into()]
            }]
        );
    }

    #[test]
    fn a_base_image_pinned_to_another_digest_and_no_cache_are_said() {
        let from = |digest: &str, cached: bool| {
            vertex(digest, &format!("[1/1] FROM 127.0.0.1:5055/busybox:latest@{digest}"), cached, 0, &[])
        };
        let c = compare(
            &recorded("a", &[], vec![from("sha256:aaaa", false)]),
            &recorded("b", &[], vec![from("sha256:bbbb", false)]),
        );
        assert_eq!(
            c.steps[c.first_miss.unwrap() as usize].reasons,
            [MissReason::BaseImageChanged {
                image: "127.0.0.1:5055/busybox:latest".into(),
                older: "sha256:aaaa".into(),
                newer: "sha256:bbbb".into()
            }]
        );
        let run = |cached: bool| vertex("r", "[2/2] RUN make", cached, 10, &[]);
        let c = compare(
            &recorded("a", &[], vec![from("sha256:aaaa", false), run(true)]),
            &recorded("b", &[("no-cache", "")], vec![from("sha256:aaaa", false), run(false)]),
        );
        assert_eq!(c.steps[c.first_miss.unwrap() as usize].reasons, [MissReason::NoCache]);
        assert!(
            matches!(&c.differences[..], [MissReason::FrontendAttrChanged { name, older: None, newer: Some(v) }] if name == "no-cache" && v.is_empty())
        );
    }

    #[test]
    fn a_step_named_after_another_build_sharing_it_is_still_paired() {
        // Seen on the engine: a FROM shared with a two-step build running beside it, named as there.
        let older = recorded(
            "a",
            &[],
            vec![
                vertex("f", &format!("[other 1/2] {FROM}"), false, 0, &[]),
                vertex("c", "[2/3] COPY app.txt /app.txt", false, 10, &["f"]),
                vertex("r", "[3/3] RUN echo 1", false, 20, &["c"]),
            ],
        );
        let newer = recorded(
            "b",
            &[],
            vec![
                vertex("f", &format!("[1/3] {FROM}"), false, 0, &[]),
                vertex("c2", "[2/3] COPY app.txt /app.txt", true, 10, &["f"]),
                vertex("r2", "[3/3] RUN echo 1", true, 20, &["c2"]),
            ],
        );
        let c = compare(&older, &newer);
        assert_eq!(c.first_miss, None, "{c:#?}");
        assert_eq!(c.steps.len(), 3, "{c:#?}");
        assert!(c.steps.iter().all(|s| s.older.is_some() && s.newer.is_some()), "{c:#?}");
    }

    #[test]
    fn a_material_is_named_as_a_dockerfile_names_its_image() {
        assert_eq!(
            material_image("pkg:docker/127.0.0.1%3A5055/busybox@latest?platform=linux%2Famd64"),
            "127.0.0.1:5055/busybox:latest"
        );
        assert_eq!(material_image("pkg:docker/alpine@sha256%3Aab"), "alpine@sha256:ab");
        assert_eq!(material_image("https://example.com/x.tgz"), "https://example.com/x.tgz");
    }

    #[test]
    fn each_platform_is_compared_in_its_own_lane_and_the_earliest_miss_comes_first() {
        let build = |cached: bool, d: &str| {
            vec![
                vertex(&format!("a{d}"), "[linux/amd64 2/2] RUN make", cached, 30, &[]),
                vertex(&format!("b{d}"), "[linux/arm64 2/2] RUN make", cached, 20, &[]),
            ]
        };
        let c = compare(&recorded("a", &[], build(false, "1")), &recorded("b", &[], build(false, "2")));
        assert_eq!(c.steps.len(), 2);
        assert_eq!(c.steps[c.first_miss.unwrap() as usize].platform.as_deref(), Some("linux/arm64"));
    }

    /// Two builds BuildKit 0.13 recorded (core/tests/fixtures/compare, read back with
    /// `BuildHistory::recorded`) of a three-stage Dockerfile, the second with build arg GREETING
    /// changed and the context's app.txt rewritten.
    fn recorded_fixture(which: &str, greeting: &str) -> RecordedBuild {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/compare/stage-arg-and-file");
        let status = std::fs::read(format!("{dir}.{which}.status")).unwrap();
        let provenance = std::fs::read(format!("{dir}.{which}.provenance.json")).unwrap();
        let mut build = recorded(which, &[("build-arg:GREETING", greeting), ("filename", "Dockerfile")], Vec::new());
        build.statuses = crate::history::blobs::statuses("fixture", &status).unwrap();
        build.provenance = vec![serde_json::from_slice(&provenance).unwrap()];
        build
    }

    #[test]
    fn recorded_builds_name_the_arg_at_its_stage_and_the_file_at_its_copy() {
        let c = compare(&recorded_fixture("older", "hello"), &recorded_fixture("newer", "goodbye"));
        let at = |line: u32| {
            c.steps
                .iter()
                .find(|s| s.dockerfile_line.is_some_and(|l| l.start == line))
                .unwrap_or_else(|| panic!("{c:#?}"))
        };
        // The base stage came from the cache; the image is the same.
        assert!(!at(1).missed && !at(2).missed, "{c:#?}");
        assert_eq!(at(2).newer, Some(StepRun::Cached));
        // The build stage's RUN reads the arg: its name shows the value, the Dockerfile's line does not.
        let arg = at(6);
        assert_eq!(
            (arg.stage.as_deref(), arg.instruction.as_str()),
            (Some("build"), "RUN echo \"goodbye\" > /greeting")
        );
        assert_eq!(arg.source, ["RUN echo \"$GREETING\" > /greeting"]);
        let changed = MissReason::BuildArgChanged {
            name: "GREETING".into(),
            older: Some("hello".into()),
            newer: Some("goodbye".into()),
        };
        assert_eq!(arg.reasons, std::slice::from_ref(&changed));
        assert_eq!(c.first_miss, Some(2), "the arg's RUN started first: {c:#?}");
        // The last stage's COPY read the changed file; what follows it missed because of it.
        assert_eq!(
            at(9).reasons,
            [MissReason::ContextFilesChanged { source: "context".into(), paths: vec!["app.txt".into()] }]
        );
        for line in [10, 11] {
            assert!(matches!(&at(line).reasons[..], [MissReason::EarlierStepMissed { .. }]), "{c:#?}");
        }
        assert_eq!(c.steps.iter().filter(|s| s.missed).count(), 4);
        assert_eq!(c.differences, [changed]);
    }
}
