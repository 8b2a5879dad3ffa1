//! A build record as a bundle holds it (the manifest's config, `application/vnd.buildkit.historyrecord.v0`):
//! buildx's `bundle.Record`, which embeds BuildKit's protobuf-go `BuildHistoryRecord` and adds
//! `DefaultPlatform`, `localState` and `stateGroup` (a bake run's; Buildlane reads no bake groups and
//! writes none), marshalled by Go's encoding/json. So the JSON is
//! the Go structs' and not protobuf's JSON mapping: keys are the Go `json` tags (the proto field names:
//! `Ref`, `FrontendAttrs`, `error`, `logs`, `numCachedSteps`…), every empty field is left out
//! (`omitempty`) but `DefaultPlatform`, timestamps are `{"seconds":…,"nanos":…}`, bytes are base64, the
//! `Results` map's int64 keys are strings, and map keys come sorted.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use bollard::moby::buildkit::v1::{BuildHistoryRecord, BuildResultInfo, Descriptor, Exporter};
use bollard_buildkit_proto::google::protobuf::{Any, Timestamp};
use bollard_buildkit_proto::google::rpc::Status;
use serde::{Deserialize, Serialize};

use crate::history::name::LocalState;

/// The media type of a record's JSON in a bundle.
pub const HISTORY_RECORD_MEDIA_TYPE: &str = "application/vnd.buildkit.historyrecord.v0";

fn zero_i32(n: &i32) -> bool {
    *n == 0
}

fn zero_i64(n: &i64) -> bool {
    *n == 0
}

fn not(b: &bool) -> bool {
    !*b
}

/// `bundle.Record`: the record's fields at the top level (Go promotes an embedded struct's), then buildx's own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecordDocument {
    #[serde(rename = "Ref", default, skip_serializing_if = "String::is_empty")]
    pub build_ref: String,
    #[serde(rename = "Frontend", default, skip_serializing_if = "String::is_empty")]
    pub frontend: String,
    #[serde(rename = "FrontendAttrs", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub frontend_attrs: BTreeMap<String, String>,
    #[serde(rename = "Exporters", default, skip_serializing_if = "Vec::is_empty")]
    pub exporters: Vec<ExporterDocument>,
    #[serde(rename = "error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StatusDocument>,
    #[serde(rename = "CreatedAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<TimestampDocument>,
    #[serde(rename = "CompletedAt", default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<TimestampDocument>,
    #[serde(rename = "logs", default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<DescriptorDocument>,
    #[serde(rename = "ExporterResponse", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub exporter_response: BTreeMap<String, String>,
    #[serde(rename = "Result", default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultDocument>,
    #[serde(rename = "Results", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub results: BTreeMap<String, ResultDocument>,
    #[serde(rename = "Generation", default, skip_serializing_if = "zero_i32")]
    pub generation: i32,
    #[serde(rename = "trace", default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<DescriptorDocument>,
    #[serde(rename = "pinned", default, skip_serializing_if = "not")]
    pub pinned: bool,
    #[serde(rename = "numCachedSteps", default, skip_serializing_if = "zero_i32")]
    pub num_cached_steps: i32,
    #[serde(rename = "numTotalSteps", default, skip_serializing_if = "zero_i32")]
    pub num_total_steps: i32,
    #[serde(rename = "numCompletedSteps", default, skip_serializing_if = "zero_i32")]
    pub num_completed_steps: i32,
    #[serde(rename = "externalError", default, skip_serializing_if = "Option::is_none")]
    pub external_error: Option<DescriptorDocument>,
    #[serde(rename = "numWarnings", default, skip_serializing_if = "zero_i32")]
    pub num_warnings: i32,
    /// The node's first platform (`platforms.FormatAll`), what a build that named none was built for.
    #[serde(rename = "DefaultPlatform", default)]
    pub default_platform: String,
    #[serde(rename = "localState", default, skip_serializing_if = "Option::is_none")]
    pub local_state: Option<LocalStateDocument>,
}

/// buildx's `localstate.State`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LocalStateDocument {
    #[serde(rename = "Target", default)]
    pub target: String,
    #[serde(rename = "LocalPath", default)]
    pub local_path: String,
    #[serde(rename = "DockerfilePath", default)]
    pub dockerfile_path: String,
}

/// `controlapi.Exporter`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ExporterDocument {
    #[serde(rename = "Type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(rename = "Attrs", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attrs: BTreeMap<String, String>,
}

/// `status.Status` (google.rpc): the recorded error with its typed details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatusDocument {
    #[serde(default, skip_serializing_if = "zero_i32")]
    pub code: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<AnyDocument>,
}

/// `anypb.Any`: `value` is base64, as Go writes a `[]byte`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct AnyDocument {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub type_url: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// `timestamppb.Timestamp`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TimestampDocument {
    #[serde(default, skip_serializing_if = "zero_i64")]
    pub seconds: i64,
    #[serde(default, skip_serializing_if = "zero_i32")]
    pub nanos: i32,
}

/// `controlapi.Descriptor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct DescriptorDocument {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
    #[serde(default, skip_serializing_if = "zero_i64")]
    pub size: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `controlapi.BuildResultInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResultDocument {
    #[serde(rename = "ResultDeprecated", default, skip_serializing_if = "Option::is_none")]
    pub result_deprecated: Option<DescriptorDocument>,
    #[serde(rename = "Attestations", default, skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<DescriptorDocument>,
    #[serde(rename = "Results", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub results: BTreeMap<String, DescriptorDocument>,
}

fn sorted(map: &HashMap<String, String>) -> BTreeMap<String, String> {
    map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl From<&Descriptor> for DescriptorDocument {
    fn from(d: &Descriptor) -> Self {
        DescriptorDocument {
            media_type: d.media_type.clone(),
            digest: d.digest.clone(),
            size: d.size,
            annotations: sorted(&d.annotations),
        }
    }
}

impl From<&DescriptorDocument> for Descriptor {
    fn from(d: &DescriptorDocument) -> Self {
        Descriptor {
            media_type: d.media_type.clone(),
            digest: d.digest.clone(),
            size: d.size,
            annotations: d.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        }
    }
}

impl From<&Timestamp> for TimestampDocument {
    fn from(t: &Timestamp) -> Self {
        TimestampDocument { seconds: t.seconds, nanos: t.nanos }
    }
}

impl From<&TimestampDocument> for Timestamp {
    fn from(t: &TimestampDocument) -> Self {
        Timestamp { seconds: t.seconds, nanos: t.nanos }
    }
}

impl From<&BuildResultInfo> for ResultDocument {
    fn from(r: &BuildResultInfo) -> Self {
        ResultDocument {
            result_deprecated: r.result_deprecated.as_ref().map(Into::into),
            attestations: r.attestations.iter().map(Into::into).collect(),
            results: r.results.iter().map(|(k, d)| (k.to_string(), d.into())).collect(),
        }
    }
}

impl ResultDocument {
    fn to_proto(&self) -> Result<BuildResultInfo, String> {
        let mut results = HashMap::new();
        for (key, d) in &self.results {
            let index: i64 = key.parse().map_err(|_| format!("result key \"{key}\" is not a number"))?;
            results.insert(index, d.into());
        }
        Ok(BuildResultInfo {
            result_deprecated: self.result_deprecated.as_ref().map(Into::into),
            attestations: self.attestations.iter().map(Into::into).collect(),
            results,
        })
    }
}

impl From<&LocalState> for LocalStateDocument {
    fn from(l: &LocalState) -> Self {
        LocalStateDocument {
            target: l.target.clone(),
            local_path: l.local_path.clone(),
            dockerfile_path: l.dockerfile_path.clone(),
        }
    }
}

impl From<&LocalStateDocument> for LocalState {
    fn from(l: &LocalStateDocument) -> Self {
        LocalState {
            target: l.target.clone(),
            local_path: l.local_path.clone(),
            dockerfile_path: l.dockerfile_path.clone(),
        }
    }
}

impl RecordDocument {
    pub fn new(record: &BuildHistoryRecord, default_platform: &str, local: Option<&LocalState>) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        RecordDocument {
            build_ref: record.r#ref.clone(),
            frontend: record.frontend.clone(),
            frontend_attrs: sorted(&record.frontend_attrs),
            exporters: record
                .exporters
                .iter()
                .map(|e| ExporterDocument { kind: e.r#type.clone(), attrs: sorted(&e.attrs) })
                .collect(),
            error: record.error.as_ref().map(|s| StatusDocument {
                code: s.code,
                message: s.message.clone(),
                details: s
                    .details
                    .iter()
                    .map(|a| AnyDocument { type_url: a.type_url.clone(), value: b64.encode(&a.value) })
                    .collect(),
            }),
            created_at: record.created_at.as_ref().map(Into::into),
            completed_at: record.completed_at.as_ref().map(Into::into),
            logs: record.logs.as_ref().map(Into::into),
            exporter_response: sorted(&record.exporter_response),
            result: record.result.as_ref().map(Into::into),
            results: record.results.iter().map(|(k, r)| (k.clone(), r.into())).collect(),
            generation: record.generation,
            trace: record.trace.as_ref().map(Into::into),
            pinned: record.pinned,
            num_cached_steps: record.num_cached_steps,
            num_total_steps: record.num_total_steps,
            num_completed_steps: record.num_completed_steps,
            external_error: record.external_error.as_ref().map(Into::into),
            num_warnings: record.num_warnings,
            default_platform: default_platform.to_owned(),
            local_state: local.map(Into::into),
        }
    }

    /// BuildKit's record again; `Err` says what in the JSON cannot be one.
    pub fn to_proto(&self) -> Result<BuildHistoryRecord, String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let error = match &self.error {
            None => None,
            Some(s) => {
                let mut details = Vec::with_capacity(s.details.len());
                for d in &s.details {
                    let value =
                        b64.decode(&d.value).map_err(|e| format!("an error detail's value is not base64: {e}"))?;
                    details.push(Any { type_url: d.type_url.clone(), value });
                }
                Some(Status { code: s.code, message: s.message.clone(), details })
            }
        };
        let mut results = HashMap::new();
        for (platform, r) in &self.results {
            results.insert(platform.clone(), r.to_proto()?);
        }
        Ok(BuildHistoryRecord {
            r#ref: self.build_ref.clone(),
            frontend: self.frontend.clone(),
            frontend_attrs: self.frontend_attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            exporters: self
                .exporters
                .iter()
                .map(|e| Exporter {
                    r#type: e.kind.clone(),
                    attrs: e.attrs.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                })
                .collect(),
            error,
            created_at: self.created_at.as_ref().map(Into::into),
            completed_at: self.completed_at.as_ref().map(Into::into),
            logs: self.logs.as_ref().map(Into::into),
            exporter_response: self.exporter_response.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            result: self.result.as_ref().map(ResultDocument::to_proto).transpose()?,
            results,
            generation: self.generation,
            trace: self.trace.as_ref().map(Into::into),
            pinned: self.pinned,
            num_cached_steps: self.num_cached_steps,
            num_total_steps: self.num_total_steps,
            num_completed_steps: self.num_completed_steps,
            external_error: self.external_error.as_ref().map(Into::into),
            num_warnings: self.num_warnings,
        })
    }

    /// `json.MarshalIndent(record, "", "  ")`.
    pub fn to_json(&self) -> Vec<u8> {
        crate::go_json::html_escaped(
            &serde_json::to_string_pretty(self).expect("records of strings and numbers serialise"),
        )
        .into_bytes()
    }
}

/// buildx's `sanitizeRecord`: of each cache import, only its `scope` and `ref` are kept (the others may
/// carry tokens or paths); an attribute that cannot be read is emptied.
pub(crate) fn sanitize(record: &mut BuildHistoryRecord) {
    if let Some(imports) = record.frontend_attrs.get_mut("cache-imports") {
        *imports = sanitized_cache_imports(imports).unwrap_or_default();
    }
}

/// One `cache-imports` entry as buildx reads and writes it: `Type` then `Attrs` (Go's field order).
#[derive(Serialize, Deserialize)]
struct CacheImport {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Attrs", default)]
    attrs: Option<BTreeMap<String, String>>,
}

fn sanitized_cache_imports(value: &str) -> Option<String> {
    let mut imports: Option<Vec<CacheImport>> = serde_json::from_str(value).ok()?;
    for import in imports.iter_mut().flatten() {
        let kept = import.attrs.take().unwrap_or_default().into_iter().filter(|(k, _)| k == "scope" || k == "ref");
        import.attrs = Some(kept.collect());
    }
    Some(crate::go_json::html_escaped(&serde_json::to_string(&imports).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(media_type: &str, digest: &str) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: digest.into(),
            size: 42,
            annotations: [("in-toto.io/predicate-type".to_owned(), "https://slsa.dev/provenance/v0.2".to_owned())]
                .into(),
        }
    }

    fn record() -> BuildHistoryRecord {
        BuildHistoryRecord {
            r#ref: "k3egthy0o0m15dymh734qf2ep".into(),
            frontend: "dockerfile.v0".into(),
            frontend_attrs: [("build-arg:A".to_owned(), "<b>&".to_owned()), ("context".to_owned(), "/ctx".to_owned())]
                .into(),
            exporters: vec![Exporter {
                r#type: "image".into(),
                attrs: [("push".to_owned(), "true".to_owned())].into(),
            }],
            error: Some(Status {
                code: 2,
                message: "process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3".into(),
                details: vec![Any {
                    type_url: "type.googleapis.com/moby.buildkit.v1.errdefs.Source".into(),
                    value: vec![0, 1, 255],
                }],
            }),
            created_at: Some(Timestamp { seconds: 1_764_590_000, nanos: 120 }),
            completed_at: Some(Timestamp { seconds: 1_764_590_002, nanos: 0 }),
            logs: Some(Descriptor {
                annotations: HashMap::new(),
                ..descriptor("application/vnd.buildkit.status.v0", "sha256:aa")
            }),
            exporter_response: [("containerimage.digest".to_owned(), "sha256:bb".to_owned())].into(),
            result: Some(BuildResultInfo {
                result_deprecated: Some(descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:cc")),
                attestations: vec![descriptor("application/vnd.in-toto+json", "sha256:dd")],
                results: [(0, descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:cc"))].into(),
            }),
            results: [("linux/arm64".to_owned(), BuildResultInfo::default())].into(),
            generation: 3,
            trace: None,
            pinned: true,
            num_cached_steps: 1,
            num_total_steps: 4,
            num_completed_steps: 4,
            external_error: None,
            num_warnings: 0,
        }
    }

    #[test]
    fn a_record_reads_back_from_its_bundle_json_as_it_was() {
        let local =
            LocalState { target: "t".into(), local_path: "/ctx".into(), dockerfile_path: "/ctx/Dockerfile".into() };
        let doc = RecordDocument::new(&record(), "linux/amd64", Some(&local));
        let read: RecordDocument = serde_json::from_slice(&doc.to_json()).unwrap();
        assert_eq!(read, doc);
        assert_eq!(read.to_proto().unwrap(), record());
        assert_eq!(LocalState::from(read.local_state.as_ref().unwrap()), local);
    }

    #[test]
    fn the_json_is_what_go_marshals_from_the_protobuf_structs() {
        let json = String::from_utf8(RecordDocument::new(&record(), "", None).to_json()).unwrap();
        // The Go field names, HTML-safe escapes, timestamps as objects, bytes as base64, int64 keys as strings.
        for part in [
            "{\n  \"Ref\": \"k3egthy0o0m15dymh734qf2ep\",\n  \"Frontend\": \"dockerfile.v0\",",
            "\"build-arg:A\": \"\\u003cb\\u003e\\u0026\"",
            "\"error\": {\n    \"code\": 2,",
            "\"value\": \"AAH/\"",
            "\"CreatedAt\": {\n    \"seconds\": 1764590000,\n    \"nanos\": 120\n  },",
            "\"CompletedAt\": {\n    \"seconds\": 1764590002\n  },",
            "\"logs\": {\n    \"media_type\": \"application/vnd.buildkit.status.v0\",\n    \"digest\": \"sha256:aa\",\n    \"size\": 42\n  },",
            "\"Results\": {\n      \"0\": {",
            "\"linux/arm64\": {}",
            "\"Generation\": 3,",
            "\"pinned\": true,",
            "\"numTotalSteps\": 4,",
            "\"DefaultPlatform\": \"\"\n}",
        ] {
            assert!(json.contains(part), "{part} in {json}");
        }
        for absent in ["trace", "externalError", "numWarnings", "localState", "stateGroup"] {
            assert!(!json.contains(absent), "{absent} in {json}");
        }
    }

    #[test]
    fn cache_imports_keep_only_their_scope_and_ref() {
        let mut r = BuildHistoryRecord::default();
        r.frontend_attrs.insert(
            "cache-imports".into(),
            r#"[{"Type":"gha","Attrs":{"scope":"main","token":"ghs_secret","url":"https://x"}},{"Type":"registry","Attrs":{"ref":"r/c"}}]"#.into(),
        );
        sanitize(&mut r);
        assert_eq!(
            r.frontend_attrs["cache-imports"],
            r#"[{"Type":"gha","Attrs":{"scope":"main"}},{"Type":"registry","Attrs":{"ref":"r/c"}}]"#
        );
        r.frontend_attrs.insert("cache-imports".into(), "not json".into());
        sanitize(&mut r);
        assert_eq!(r.frontend_attrs["cache-imports"], "");
    }
}
