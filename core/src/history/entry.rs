//! One build as BuildKit's history keeps it, in the terms a user reads: its name, status, times,
//! platforms, steps, error with the Dockerfile line, pin, configuration and outputs; joined with
//! what the client that started it remembers (buildx's local state, Buildlane's record).

use std::collections::BTreeMap;

use bollard::moby::buildkit::v1::{BuildHistoryEvent, BuildHistoryEventType, BuildHistoryRecord};
use bollard_buildkit_proto::google::protobuf::Timestamp;
use prost::Message;
use serde::Serialize;
use ts_rs::TS;

use super::name::{build_name, LocalState};
use crate::buildkit::error_details::ErrorDetails;
use crate::builds::records::BuildRecord;
use crate::builds::{BuildOutput, BuildRequest, ProvenanceAttest};

/// gRPC's code for a cancelled call, which BuildKit records for a cancelled build.
const CANCELED: i32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum HistoryStatus {
    Running,
    Completed,
    Failed,
    Canceled,
}

impl HistoryStatus {
    /// The word `docker buildx history ls` prints.
    pub fn ls_word(self) -> &'static str {
        match self {
            HistoryStatus::Running => "Running",
            HistoryStatus::Completed => "Completed",
            HistoryStatus::Failed | HistoryStatus::Canceled => "Error",
        }
    }
}

/// Why a recorded build failed, where in the Dockerfile, as BuildKit recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RecordedError {
    pub message: String,
    /// The gRPC code's name, as buildx prints it (`Unknown`, `Canceled`, …).
    pub code: String,
    /// The file BuildKit's source location names, e.g. `Dockerfile`.
    pub dockerfile_name: Option<String>,
    /// 1-based first and last line of the instruction that failed.
    pub dockerfile_line: Option<u32>,
    pub dockerfile_end_line: Option<u32>,
    /// Those lines, from the Dockerfile as the frontend read it.
    pub lines: Vec<String>,
    pub exit_code: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct KeyValue {
    pub name: String,
    pub value: String,
}

/// An exporter the build wrote its result with (`image`, `moby`, `local`, …) and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct HistoryOutput {
    pub kind: String,
    pub attrs: BTreeMap<String, String>,
}

/// One build BuildKit remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct HistoryEntry {
    pub build_ref: String,
    pub builder: String,
    pub node: String,
    /// As `docker buildx history ls` names it; may be empty.
    pub name: String,
    pub status: HistoryStatus,
    /// RFC 3339.
    pub created_at: String,
    pub completed_at: Option<String>,
    /// To completion; for a running build, to BuildKit's clock when it was listed, if it said.
    pub duration_ms: Option<u64>,
    /// Empty: the builder's default platform.
    pub platforms: Vec<String>,
    pub steps_total: u32,
    pub steps_completed: u32,
    pub steps_cached: u32,
    /// BuildKit 0.16 and later count them; 0 before.
    pub warnings: u32,
    pub pinned: bool,
    pub error: Option<RecordedError>,
    pub frontend: String,
    /// The context folder (or remote context) and Dockerfile, as the client that started it knew them.
    pub context: String,
    pub dockerfile: String,
    pub target: String,
    pub build_args: Vec<KeyValue>,
    pub labels: Vec<KeyValue>,
    pub named_contexts: Vec<KeyValue>,
    /// Secret ids (never values): known for builds Buildlane started, BuildKit does not record them.
    pub secrets: Vec<String>,
    pub no_cache: bool,
    pub outputs: Vec<HistoryOutput>,
    pub exporter_response: BTreeMap<String, String>,
    /// Every frontend attribute as recorded, for what has no field above.
    pub frontend_attrs: BTreeMap<String, String>,
    /// The image the build pushed, by digest (`name@sha256:…`), as BuildKit's record or Buildlane's
    /// own tells it (the engine's own BuildKit records no exporter). None when nothing was pushed.
    pub pushed_image: Option<String>,
    /// Whether BuildKit kept the build's status stream to replay.
    pub has_logs: bool,
    /// Whether Buildlane recorded this build (it started it): then `request` is its exact form.
    pub recorded: bool,
    /// The build as a request to show and build again: Buildlane's own when it recorded the build,
    /// else made from what BuildKit and buildx kept (outputs' destinations, secrets and caches are
    /// not among that).
    pub request: BuildRequest,
}

/// A change in a builder's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
#[ts(export)]
pub enum HistoryEvent {
    Started {
        entry: Box<HistoryEntry>,
    },
    Completed {
        entry: Box<HistoryEntry>,
    },
    Deleted {
        node: String,
        build_ref: String,
    },
    /// A node of the builder whose records cannot be listed (or no longer followed), and why;
    /// the other nodes' records still are.
    NodeFailed {
        failure: super::NodeFailure,
    },
}

/// Where an entry comes from beside the record itself.
pub(crate) struct Origin<'a> {
    pub builder: &'a str,
    pub node: &'a str,
    pub local: Option<LocalState>,
    pub recorded: Option<BuildRecord>,
    pub server_time: Option<chrono::DateTime<chrono::Utc>>,
}

impl Origin<'_> {
    /// What the client that started the build remembers of it as buildx's local state: buildx's
    /// own, else Buildlane's record, which knows the context and Dockerfile as buildx's would.
    pub(crate) fn local_state(&self) -> Option<LocalState> {
        self.local.clone().or_else(|| {
            self.recorded.as_ref().map(|r| LocalState {
                target: r.request.target.clone(),
                local_path: r.request.context.clone(),
                dockerfile_path: recorded_dockerfile(&r.request),
            })
        })
    }
}

fn time(ts: &Option<Timestamp>) -> Option<chrono::DateTime<chrono::Utc>> {
    let ts = ts.as_ref()?;
    chrono::DateTime::from_timestamp(ts.seconds, ts.nanos.max(0) as u32)
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The attributes under `prefix`, sorted by name, prefix removed.
fn prefixed(attrs: &BTreeMap<String, String>, prefix: &str) -> Vec<KeyValue> {
    attrs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|name| KeyValue { name: name.to_owned(), value: v.clone() }))
        .collect()
}

/// gRPC's code names, as Go's `codes.Code.String()` prints them.
fn code_name(code: i32) -> String {
    let name = match code {
        0 => "OK",
        1 => "Canceled",
        2 => "Unknown",
        3 => "InvalidArgument",
        4 => "DeadlineExceeded",
        5 => "NotFound",
        6 => "AlreadyExists",
        7 => "PermissionDenied",
        8 => "ResourceExhausted",
        9 => "FailedPrecondition",
        10 => "Aborted",
        11 => "OutOfRange",
        12 => "Unimplemented",
        13 => "Internal",
        14 => "Unavailable",
        15 => "DataLoss",
        16 => "Unauthenticated",
        other => return format!("Code({other})"),
    };
    name.to_owned()
}

/// The error BuildKit recorded, with its typed details (failing vertex, Dockerfile location).
pub(crate) fn recorded_details(record: &BuildHistoryRecord) -> Option<(String, i32, ErrorDetails)> {
    let status = record.error.as_ref()?;
    Some((status.message.clone(), status.code, ErrorDetails::decode(&status.encode_to_vec())))
}

fn recorded_error(record: &BuildHistoryRecord) -> Option<RecordedError> {
    let (message, code, details) = recorded_details(record)?;
    let location = details.location();
    let span = location.and_then(|l| l.span());
    let lines = match (location.and_then(|l| l.data.as_deref()), &span) {
        (Some(data), Some(span)) => data
            .lines()
            .skip(span.start.saturating_sub(1) as usize)
            .take((span.end + 1).saturating_sub(span.start) as usize)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    Some(RecordedError {
        message,
        code: code_name(code),
        dockerfile_name: location.map(|l| l.filename.clone()).filter(|f| !f.is_empty()),
        dockerfile_line: span.as_ref().map(|s| s.start),
        dockerfile_end_line: span.as_ref().map(|s| s.end),
        lines,
        exit_code: details.exit_code,
    })
}

fn status(record: &BuildHistoryRecord) -> HistoryStatus {
    match (&record.completed_at, &record.error) {
        (None, _) => HistoryStatus::Running,
        (Some(_), None) => HistoryStatus::Completed,
        (Some(_), Some(e)) if e.code == CANCELED || e.message.contains("context canceled") => HistoryStatus::Canceled,
        (Some(_), Some(_)) => HistoryStatus::Failed,
    }
}

impl HistoryEntry {
    pub(crate) fn from_record(record: &BuildHistoryRecord, origin: Origin<'_>) -> Self {
        let attrs: BTreeMap<String, String> =
            record.frontend_attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let created = time(&record.created_at);
        let completed = time(&record.completed_at);
        let end = completed.or(origin.server_time);
        let duration_ms = match (created, end) {
            (Some(c), Some(e)) => Some((e - c).num_milliseconds().max(0) as u64),
            _ => None,
        };
        let request = origin.recorded.as_ref().map(|r| &r.request);
        let local = origin.local_state();
        let context = match &local {
            Some(l) if !l.local_path.is_empty() && l.local_path != "-" => l.local_path.clone(),
            _ => attrs.get("context").cloned().unwrap_or_default(),
        };
        let dockerfile = match &local {
            Some(l) if !matches!(l.dockerfile_path.as_str(), "" | "-") => l.dockerfile_path.clone(),
            _ => {
                let file = attrs.get("filename").cloned().unwrap_or_default();
                match attrs.get("vcs:localdir:dockerfile") {
                    Some(dir) if !file.is_empty() => format!("{}/{file}", dir.trim_end_matches('/')),
                    _ => file,
                }
            }
        };
        let platforms = attrs
            .get("platform")
            .map(|p| p.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        let secrets = request
            .map(|r| {
                r.secrets
                    .iter()
                    .filter_map(|s| s.split(',').find_map(|kv| kv.trim().strip_prefix("id=")).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let mut entry = HistoryEntry {
            build_ref: record.r#ref.clone(),
            builder: origin.builder.to_owned(),
            node: origin.node.to_owned(),
            name: build_name(&attrs, local.as_ref()),
            status: status(record),
            created_at: created.map(rfc3339).unwrap_or_default(),
            completed_at: completed.map(rfc3339),
            duration_ms,
            platforms,
            steps_total: record.num_total_steps.max(0) as u32,
            steps_completed: record.num_completed_steps.max(0) as u32,
            steps_cached: record.num_cached_steps.max(0) as u32,
            warnings: record.num_warnings.max(0) as u32,
            pinned: record.pinned,
            error: recorded_error(record),
            frontend: record.frontend.clone(),
            context,
            dockerfile,
            target: attrs.get("target").cloned().unwrap_or_default(),
            build_args: prefixed(&attrs, "build-arg:"),
            labels: prefixed(&attrs, "label:"),
            named_contexts: prefixed(&attrs, "context:"),
            secrets,
            no_cache: attrs.get("no-cache").is_some_and(String::is_empty),
            outputs: record
                .exporters
                .iter()
                .map(|e| HistoryOutput {
                    kind: e.r#type.clone(),
                    attrs: e.attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                })
                .collect(),
            exporter_response: record.exporter_response.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            pushed_image: None,
            has_logs: record.logs.is_some(),
            recorded: origin.recorded.is_some(),
            request: BuildRequest::default(),
            frontend_attrs: attrs,
        };
        entry.pushed_image = entry.exported_image().or_else(|| origin.recorded.as_ref().and_then(recorded_image));
        entry.request = match origin.recorded {
            Some(record) => record.request,
            None => entry.made_request(),
        };
        entry
    }

    /// The request BuildKit's record and buildx's local state tell of.
    fn made_request(&self) -> BuildRequest {
        let pairs = |kvs: &[KeyValue]| kvs.iter().map(|kv| format!("{}={}", kv.name, kv.value)).collect();
        let pushing = |o: &HistoryOutput| o.attrs.get("push").is_some_and(|p| p == "true");
        let pushed = self.outputs.iter().any(|o| matches!(o.kind.as_str(), "image" | "moby") && pushing(o));
        let loaded = self.outputs.iter().any(|o| o.kind == "moby" && !pushing(o));
        // Files and folders were written where the record does not say: building again only pushes
        // and loads what it did, else builds only.
        let mut outputs: Vec<BuildOutput> = [(pushed, BuildOutput::push()), (loaded, BuildOutput::load())]
            .into_iter()
            .filter_map(|(b, o)| b.then_some(o))
            .collect();
        if outputs.is_empty() {
            outputs.push(BuildOutput::CacheOnly);
        }
        BuildRequest {
            context: self.context.clone(),
            dockerfile: self.dockerfile.clone(),
            platforms: self.platforms.clone(),
            tags: self.tags(),
            build_args: pairs(&self.build_args),
            labels: pairs(&self.labels),
            target: self.target.clone(),
            no_cache: self.no_cache,
            pull: self.frontend_attrs.get("image-resolve-mode").is_some_and(|mode| mode == "pull"),
            // A folder was served as `local:NAME`, its path not recorded: only the others come back.
            build_contexts: self
                .named_contexts
                .iter()
                .filter(|kv| !kv.value.starts_with("local:"))
                .map(|kv| format!("{}={}", kv.name, kv.value))
                .collect(),
            network: self.frontend_attrs.get("force-network-mode").cloned().unwrap_or_default(),
            add_hosts: self
                .frontend_attrs
                .get("add-hosts")
                .map(|hosts| hosts.split(',').filter(|h| !h.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            outputs,
            provenance: ProvenanceAttest::from_frontend_attr(
                self.frontend_attrs.get("attest:provenance").map(String::as_str),
            ),
            sbom: self.frontend_attrs.contains_key("attest:sbom"),
            sbom_generator: self.sbom_generator(),
            builder: self.builder.clone(),
            ..Default::default()
        }
    }

    /// The SBOM scanner a recorded `attest:sbom` named (empty: BuildKit's default).
    fn sbom_generator(&self) -> String {
        let fields = self.frontend_attrs.get("attest:sbom").map(|attrs| attrs.split(',')).into_iter().flatten();
        fields
            .filter_map(|field| field.split_once('='))
            .find(|(key, _)| *key == "generator")
            .map(|(_, image)| image.to_owned())
            .unwrap_or_default()
    }

    /// The names the build gave its image (its image exporters' `name`).
    pub fn tags(&self) -> Vec<String> {
        self.outputs
            .iter()
            .filter(|o| matches!(o.kind.as_str(), "image" | "moby"))
            .filter_map(|o| o.attrs.get("name"))
            .flat_map(|names| names.split(','))
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// The image BuildKit's record says the build pushed: an image exporter's first name, by digest.
    fn exported_image(&self) -> Option<String> {
        let pushed = self
            .outputs
            .iter()
            .any(|o| matches!(o.kind.as_str(), "image" | "moby") && o.attrs.get("push").is_some_and(|p| p == "true"));
        let digest = self.exporter_response.get("containerimage.digest").filter(|_| pushed)?;
        pinned(self.tags().first()?, digest)
    }

    /// Whether the build asked for attestations (provenance, SBOM) to go with its image
    /// (`attest:*` frontend attributes), rather than only into BuildKit's record of it.
    pub fn attests_image(&self) -> bool {
        self.frontend_attrs.iter().any(|(k, v)| {
            k.starts_with("attest:") && !v.split(',').any(|kv| matches!(kv.trim(), "disabled=true" | "false"))
        })
    }

    /// The remote a build came from: its VCS source, else a git context's remote (buildx's
    /// `repository` filter).
    pub fn repository(&self) -> String {
        if let Some(source) = self.frontend_attrs.get("vcs:source") {
            return source.clone();
        }
        self.frontend_attrs
            .get("context")
            .and_then(|c| super::name::parse_git_ref(c))
            .map(|g| g.remote)
            .unwrap_or_default()
    }

    pub fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(&self.created_at).ok().map(|t| t.with_timezone(&chrono::Utc))
    }

    pub fn completed(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        chrono::DateTime::parse_from_rfc3339(self.completed_at.as_deref()?).ok().map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// `name@digest` for the image named `name`.
fn pinned(name: &str, digest: &str) -> Option<String> {
    let name: crate::images::reference::ImageReference = name.parse().ok()?;
    Some(name.pinned(digest))
}

/// The image Buildlane's record of a build says it pushed: its first tag, by the digest it answered.
fn recorded_image(record: &BuildRecord) -> Option<String> {
    let digest = record.outcome.digest.as_deref().filter(|_| record.request.pushes())?;
    pinned(record.request.tags.first()?, digest)
}

/// The Dockerfile a recorded request used, absolute as buildx keeps it.
fn recorded_dockerfile(request: &BuildRequest) -> String {
    let file = request.dockerfile.trim();
    if file.is_empty() {
        return format!("{}/Dockerfile", request.context.trim_end_matches('/'));
    }
    if file.starts_with('/') {
        file.to_owned()
    } else {
        format!("{}/{file}", request.context.trim_end_matches('/'))
    }
}

/// The event BuildKit sent, as a user reads it; `None` for an event without a record.
pub(crate) fn event<'a>(
    event: BuildHistoryEvent,
    node: &str,
    origin: impl FnOnce(&BuildHistoryRecord) -> Origin<'a>,
) -> Option<HistoryEvent> {
    let record = event.record?;
    Some(match BuildHistoryEventType::try_from(event.r#type).ok()? {
        BuildHistoryEventType::Deleted => HistoryEvent::Deleted { node: node.to_owned(), build_ref: record.r#ref },
        BuildHistoryEventType::Started => {
            HistoryEvent::Started { entry: Box::new(HistoryEntry::from_record(&record, origin(&record))) }
        }
        BuildHistoryEventType::Complete => {
            HistoryEvent::Completed { entry: Box::new(HistoryEntry::from_record(&record, origin(&record))) }
        }
    })
}

#[cfg(test)]
mod tests {
    use bollard::moby::buildkit::v1::Exporter;

    use super::*;

    fn entry(push: &str, response: &[(&str, &str)]) -> HistoryEntry {
        let record = BuildHistoryRecord {
            r#ref: "r1".into(),
            exporters: vec![Exporter {
                r#type: "image".into(),
                attrs: [
                    ("name".to_owned(), "127.0.0.1:5055/app:1,127.0.0.1:5055/app:latest".to_owned()),
                    ("push".to_owned(), push.to_owned()),
                ]
                .into(),
            }],
            exporter_response: response.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        };
        HistoryEntry::from_record(
            &record,
            Origin { builder: "b", node: "n", local: None, recorded: None, server_time: None },
        )
    }

    #[test]
    fn a_pushed_build_names_its_image_by_digest_and_one_kept_in_the_builder_names_none() {
        let digest = [("containerimage.digest", "sha256:ab")];
        assert_eq!(entry("true", &digest).pushed_image.as_deref(), Some("127.0.0.1:5055/app@sha256:ab"));
        assert_eq!(entry("false", &digest).pushed_image, None);
        assert_eq!(entry("true", &[]).pushed_image, None, "no digest answered: nothing was pushed");
    }

    #[test]
    fn a_terminal_builds_pull_network_and_hosts_are_asked_again_when_it_is_run_again() {
        let record = |mode: &str| BuildHistoryRecord {
            r#ref: "r1".into(),
            frontend_attrs: [("image-resolve-mode".to_owned(), mode.to_owned())].into(),
            ..Default::default()
        };
        let origin = || Origin { builder: "b", node: "n", local: None, recorded: None, server_time: None };
        assert!(HistoryEntry::from_record(&record("pull"), origin()).request.pull);
        assert!(!HistoryEntry::from_record(&record("default"), origin()).request.pull);
        let mut networked = record("default");
        networked.frontend_attrs.insert("force-network-mode".into(), "host".into());
        networked.frontend_attrs.insert("add-hosts".into(), "db=10.0.0.5,cache=10.0.0.6".into());
        let request = HistoryEntry::from_record(&networked, origin()).request;
        assert_eq!(
            (request.network.as_str(), request.add_hosts),
            ("host", vec!["db=10.0.0.5".to_owned(), "cache=10.0.0.6".to_owned()])
        );
    }

    #[test]
    fn a_re_run_asks_for_the_attestations_the_record_sent() {
        let rerun = |attrs: &[(&str, &str)]| {
            let record = BuildHistoryRecord {
                frontend_attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                ..Default::default()
            };
            let origin = Origin { builder: "b", node: "n", local: None, recorded: None, server_time: None };
            let request = HistoryEntry::from_record(&record, origin).request;
            (request.provenance, request.sbom, request.sbom_generator)
        };
        let defaulted = rerun(&[("attest:provenance", "mode=min,inline-only=true")]);
        assert_eq!(defaulted, (ProvenanceAttest::Default, false, String::new()), "buildx's default");
        let max = ProvenanceAttest::Attrs("type=provenance,mode=max".into());
        let asked =
            rerun(&[("attest:provenance", "type=provenance,mode=max"), ("attest:sbom", "type=sbom,generator=s:1")]);
        assert_eq!(asked, (max, true, "s:1".to_owned()));
        assert_eq!(rerun(&[]), (ProvenanceAttest::Off, false, String::new()), "none sent: none asked for");
    }

    #[test]
    fn attestations_go_with_the_image_only_when_the_build_asked_for_them() {
        let mut e = entry("true", &[]);
        assert!(!e.attests_image());
        e.frontend_attrs.insert("attest:provenance".into(), "mode=max".into());
        assert!(e.attests_image());
        e.frontend_attrs.insert("attest:provenance".into(), "disabled=true".into());
        assert!(!e.attests_image());
    }
}
