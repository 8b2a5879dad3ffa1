//! The blobs a build record refers to, read back from the content store BuildKit serves beside
//! Control: the logs blob (its status stream, replayed into lanes without asking BuildKit to replay
//! it) and the attestations BuildKit recorded with the result (provenance, SBOM), as
//! `docker buildx history inspect` lists them under Attachments.
//!
//! Every read is bounded per kind of blob: a record is another client's data, and a blob larger than
//! a build's logs or an attestation can be is refused rather than held in memory.

use std::collections::BTreeMap;

use bollard::moby::buildkit::v1::{BuildHistoryRecord, Descriptor, StatusResponse};
use prost::Message;
use serde::Serialize;
use tracing::instrument;
use ts_rs::TS;

use super::{HistoryEntry, HistoryError};
use crate::buildkit::proto::content::ReadContentRequest;
use crate::buildkit::Control;
use crate::images::manifest::attestation::{self, Attestation, AttestationStatement};

/// The media type BuildKit writes a record's status stream with: `[u32 little-endian length][StatusResponse]`…
pub const STATUS_MEDIA_TYPE: &str = "application/vnd.buildkit.status.v0";
/// The annotation BuildKit puts the in-toto predicate type in.
const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";
/// The annotation naming the platform a multi-platform build's result is for.
const PLATFORM_ANNOTATION: &str = "platform";

/// What a blob is, for its size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum BlobKind {
    Logs,
    Attestation,
    /// A build's OpenTelemetry spans.
    Trace,
    /// A result's image manifest or index, or an error's details.
    Manifest,
}

impl BlobKind {
    /// The largest blob of this kind read: a build's full output (or its trace), capped by BuildKit's
    /// own log limits far below this; an attestation, a JSON document (SBOMs of large images run to a
    /// few MiB); a manifest, as a registry's (4 MiB).
    pub fn limit(self) -> u64 {
        match self {
            BlobKind::Logs | BlobKind::Trace => 256 << 20,
            BlobKind::Attestation => 32 << 20,
            BlobKind::Manifest => 4 << 20,
        }
    }
}

/// A blob recorded with a build's result: an in-toto predicate (provenance, SBOM, …), which BuildKit
/// keeps without its statement, the predicate type in the descriptor's annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Attachment {
    pub digest: String,
    pub media_type: String,
    #[ts(type = "number")]
    pub size: u64,
    /// The in-toto predicate type, e.g. `https://slsa.dev/provenance/v0.2`.
    pub predicate_type: Option<String>,
    /// The platform the result it describes is for, when the build made several.
    pub platform: Option<String>,
}

impl Attachment {
    fn from_descriptor(descriptor: &Descriptor, platform: Option<&str>) -> Self {
        Attachment {
            digest: descriptor.digest.clone(),
            media_type: descriptor.media_type.clone(),
            size: descriptor.size.max(0) as u64,
            predicate_type: descriptor.annotations.get(PREDICATE_TYPE).cloned(),
            platform: platform.map(str::to_owned).or_else(|| descriptor.annotations.get(PLATFORM_ANNOTATION).cloned()),
        }
    }

    /// What `docker buildx history inspect` shows as the attachment's type: the predicate type, else
    /// the media type.
    pub fn kind(&self) -> &str {
        self.predicate_type.as_deref().unwrap_or(&self.media_type)
    }

    pub fn is_provenance(&self) -> bool {
        self.kind().starts_with("https://slsa.dev/provenance/")
    }
}

/// A source the build read, as its provenance names it (SLSA v0.2 `materials`, v1 `resolvedDependencies`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ProvenanceMaterial {
    pub uri: String,
    /// `algorithm:hex`, sorted.
    pub digests: Vec<String>,
}

/// The materials a provenance predicate names, in its order.
pub fn materials(predicate: &serde_json::Value) -> Vec<ProvenanceMaterial> {
    let list = predicate
        .get("materials")
        .or_else(|| predicate.pointer("/buildDefinition/resolvedDependencies"))
        .and_then(|m| m.as_array());
    list.into_iter()
        .flatten()
        .map(|m| {
            let mut digests: Vec<String> = m
                .get("digest")
                .and_then(|d| d.as_object())
                .into_iter()
                .flatten()
                .map(|(alg, hex)| format!("{alg}:{}", hex.as_str().unwrap_or_default()))
                .collect();
            digests.sort();
            ProvenanceMaterial { uri: m.get("uri").and_then(|u| u.as_str()).unwrap_or_default().to_owned(), digests }
        })
        .collect()
}

/// What `docker buildx history inspect` shows of a record's blobs: the provenance's materials and
/// every attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RecordBlobs {
    pub materials: Vec<ProvenanceMaterial>,
    pub attachments: Vec<Attachment>,
    /// The image the build pushed with its attestations (`name@sha256:…`): a registry serves them
    /// there too. None when it pushed nothing, or pushed no attestations.
    pub pushed_image: Option<String>,
}

/// An attachment of a record as the Images inspector shows an attestation: summarised (provenance,
/// SBOM) as one read from a registry is, but read from where the record lives, so that one never
/// pushed (a build whose result stayed in the builder or the engine) opens as well.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RecordAttestation {
    pub build_ref: String,
    /// As the history names the build.
    pub build_name: String,
    pub platform: Option<String>,
    pub attestation: Attestation,
    /// The document as recorded, indented, for the inspector's raw view.
    pub raw: String,
}

/// The attachment `digest` of `record` read as `document`, as the inspector shows it. BuildKit
/// keeps the predicate alone; a document that is a whole in-toto statement is read as one.
pub(crate) fn record_attestation(
    entry: &HistoryEntry,
    record: &BuildHistoryRecord,
    digest: &str,
    document: &serde_json::Value,
) -> Result<RecordAttestation, HistoryError> {
    let attachment = attachments(record)
        .into_iter()
        .find(|a| a.digest == digest)
        .ok_or_else(|| HistoryError::NoSuchAttachment { build_ref: record.r#ref.clone(), digest: digest.to_owned() })?;
    let predicate_type = attachment.kind().to_owned();
    let statement = match document.get("predicate") {
        Some(_) => document.clone(),
        None => serde_json::json!({ "predicateType": predicate_type, "predicate": document }),
    };
    let size = attachment.size as i64;
    let attestation = Attestation {
        digest: attachment.digest.clone(),
        media_type: attachment.media_type.clone(),
        size,
        annotations: [(PREDICATE_TYPE.to_owned(), predicate_type.clone())].into(),
        statements: vec![AttestationStatement {
            predicate_type: predicate_type.clone(),
            media_type: attachment.media_type.clone(),
            digest: attachment.digest.clone(),
            size,
        }],
        provenance: attestation::is_provenance(&predicate_type).then(|| attestation::provenance(&statement)),
        sbom: attestation::is_sbom(&predicate_type).then(|| attestation::sbom(&statement)),
        error: None,
    };
    Ok(RecordAttestation {
        build_ref: entry.build_ref.clone(),
        build_name: entry.name.clone(),
        platform: attachment.platform,
        attestation,
        raw: serde_json::to_string_pretty(document).unwrap_or_default(),
    })
}

/// The attestations a record's result carries: the single result's, then each platform's, by platform.
fn attested(record: &BuildHistoryRecord) -> Vec<(&Descriptor, Option<&str>)> {
    let mut out: Vec<(&Descriptor, Option<&str>)> = Vec::new();
    if let Some(result) = &record.result {
        out.extend(result.attestations.iter().map(|d| (d, None)));
    }
    let by_platform: BTreeMap<&String, _> = record.results.iter().collect();
    for (platform, result) in by_platform {
        out.extend(result.attestations.iter().map(|d| (d, Some(platform.as_str()))));
    }
    out
}

/// The attestations a record's result carries, as a user reads them, in buildx's order: those of
/// the single result first, then by platform, then by type.
pub fn attachments(record: &BuildHistoryRecord) -> Vec<Attachment> {
    let mut out: Vec<Attachment> =
        attested(record).into_iter().map(|(d, platform)| Attachment::from_descriptor(d, platform)).collect();
    out.sort_by(|a, b| {
        (a.platform.is_some(), &a.platform, a.kind()).cmp(&(b.platform.is_some(), &b.platform, b.kind()))
    });
    out
}

/// The descriptors of the attestations a record's result carries, to read them.
pub(crate) fn descriptors(record: &BuildHistoryRecord) -> Vec<Descriptor> {
    attested(record).into_iter().map(|(d, _)| d.clone()).collect()
}

/// Reads the blob `descriptor` names whole, refusing one larger than `kind`'s limit.
#[instrument(skip(control, descriptor), fields(endpoint = %control.endpoint(), digest = %descriptor.digest, size = descriptor.size))]
pub async fn read(control: &Control, descriptor: &Descriptor, kind: BlobKind) -> Result<Vec<u8>, HistoryError> {
    let too_large =
        |size: u64| HistoryError::BlobTooLarge { digest: descriptor.digest.clone(), kind, size, limit: kind.limit() };
    let declared = descriptor.size.max(0) as u64;
    if declared > kind.limit() {
        return Err(too_large(declared));
    }
    let blob_error = |status: tonic::Status| HistoryError::Blob {
        digest: descriptor.digest.clone(),
        code: status.code(),
        message: status.message().to_owned(),
    };
    let request = ReadContentRequest { digest: descriptor.digest.clone(), offset: 0, size: 0 };
    let mut chunks = control.content().read(request).await.map_err(blob_error)?.into_inner();
    let mut blob = Vec::with_capacity(declared as usize);
    while let Some(chunk) = chunks.message().await.map_err(blob_error)? {
        if (blob.len() + chunk.data.len()) as u64 > kind.limit() {
            return Err(too_large((blob.len() + chunk.data.len()) as u64));
        }
        blob.extend_from_slice(&chunk.data);
    }
    Ok(blob)
}

/// The status stream a logs blob holds, in the order BuildKit wrote it.
pub fn statuses(digest: &str, blob: &[u8]) -> Result<Vec<StatusResponse>, HistoryError> {
    let corrupt = |reason: &str| HistoryError::CorruptBlob { digest: digest.to_owned(), reason: reason.to_owned() };
    let mut rest = blob;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt("a length cut short"))?;
        let len = u32::from_le_bytes(*len) as usize;
        let message = tail.get(..len).ok_or_else(|| corrupt("a status cut short"))?;
        out.push(StatusResponse::decode(message).map_err(|e| corrupt(&e.to_string()))?);
        rest = &tail[len..];
    }
    Ok(out)
}

/// Encodes `statuses` as BuildKit writes a logs blob.
pub fn encode_statuses(statuses: &[StatusResponse]) -> Vec<u8> {
    let mut out = Vec::new();
    for status in statuses {
        let message = status.encode_to_vec();
        out.extend_from_slice(&(message.len() as u32).to_le_bytes());
        out.extend_from_slice(&message);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{VertexLog, VertexStatus};

    fn sample() -> Vec<StatusResponse> {
        vec![
            StatusResponse {
                statuses: vec![VertexStatus { id: "s".into(), vertex: "sha256:a".into(), ..Default::default() }],
                ..Default::default()
            },
            StatusResponse {
                logs: vec![VertexLog {
                    vertex: "sha256:a".into(),
                    stream: 1,
                    msg: b"hello\n".to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        ]
    }

    #[test]
    fn a_logs_blob_decodes_to_the_statuses_it_was_written_from() {
        let blob = encode_statuses(&sample());
        assert_eq!(statuses("sha256:x", &blob).unwrap(), sample());
        assert_eq!(statuses("sha256:x", &[]).unwrap(), Vec::new());
    }

    #[test]
    fn a_logs_blob_cut_short_is_refused_with_its_digest() {
        let blob = encode_statuses(&sample());
        for cut in [blob.len() - 1, 2] {
            let error = statuses("sha256:x", &blob[..cut]).unwrap_err();
            assert!(matches!(&error, HistoryError::CorruptBlob { digest, .. } if digest == "sha256:x"), "{error}");
        }
    }

    /// An attestation's descriptor as BuildKit records it: the predicate type in its annotations.
    fn descriptor(digest: &str, predicate: &str) -> Descriptor {
        Descriptor {
            media_type: "application/vnd.in-toto+json".into(),
            digest: digest.into(),
            size: 10,
            annotations: [(PREDICATE_TYPE.to_owned(), predicate.to_owned())].into(),
        }
    }

    #[test]
    fn attachments_are_named_by_their_predicate_type() {
        let record = BuildHistoryRecord {
            result: Some(bollard::moby::buildkit::v1::BuildResultInfo {
                attestations: vec![descriptor("sha256:p", "https://slsa.dev/provenance/v0.2")],
                ..Default::default()
            }),
            results: [(
                "linux/arm64".to_owned(),
                bollard::moby::buildkit::v1::BuildResultInfo {
                    attestations: vec![descriptor("sha256:s", "https://spdx.dev/Document")],
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        };
        let found = attachments(&record);
        let kinds: Vec<(&str, Option<&str>)> = found.iter().map(|a| (a.kind(), a.platform.as_deref())).collect();
        assert_eq!(
            kinds,
            [("https://slsa.dev/provenance/v0.2", None), ("https://spdx.dev/Document", Some("linux/arm64"))]
        );
        assert!(found[0].is_provenance());
    }

    #[test]
    fn a_recorded_attachment_reads_as_the_inspector_reads_an_attestation() {
        let record = BuildHistoryRecord {
            r#ref: "r1".into(),
            result: Some(bollard::moby::buildkit::v1::BuildResultInfo {
                attestations: vec![
                    descriptor("sha256:p", "https://slsa.dev/provenance/v0.2"),
                    descriptor("sha256:s", "https://spdx.dev/Document"),
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let origin =
            super::super::entry::Origin { builder: "b", node: "n", local: None, recorded: None, server_time: None };
        let entry = HistoryEntry::from_record(&record, origin);
        // BuildKit's form: the predicate alone.
        let provenance = serde_json::json!({"buildType": "https://mobyproject.org/buildkit@v1", "materials": [{"uri": "pkg:docker/busybox@latest", "digest": {"sha256": "ab"}}]});
        let read = record_attestation(&entry, &record, "sha256:p", &provenance).unwrap();
        let summary = read.attestation.provenance.expect("provenance");
        assert_eq!(summary.build_type.as_deref(), Some("https://mobyproject.org/buildkit@v1"));
        assert_eq!(summary.materials[0].digest.as_deref(), Some("sha256:ab"));
        assert_eq!(read.attestation.statements[0].predicate_type, "https://slsa.dev/provenance/v0.2");
        assert!(read.attestation.sbom.is_none());
        // A whole statement is read as one.
        let sbom = serde_json::json!({"predicateType": "https://spdx.dev/Document", "predicate": {"spdxVersion": "SPDX-2.3", "packages": [{"name": "busybox"}]}});
        let read = record_attestation(&entry, &record, "sha256:s", &sbom).unwrap();
        assert_eq!(read.attestation.sbom.expect("sbom").packages[0].name, "busybox");
        let missing = record_attestation(&entry, &record, "sha256:x", &sbom).unwrap_err();
        assert!(matches!(missing, HistoryError::NoSuchAttachment { .. }), "{missing}");
    }

    #[test]
    fn materials_are_read_from_slsa_v02_and_v1_provenance() {
        let v02 = serde_json::json!({"materials": [{"uri": "pkg:docker/busybox@latest", "digest": {"sha256": "ab"}}]});
        let v1 = serde_json::json!({"buildDefinition": {"resolvedDependencies": [{"uri": "pkg:docker/busybox@latest", "digest": {"sha256": "ab"}}]}});
        let expected =
            vec![ProvenanceMaterial { uri: "pkg:docker/busybox@latest".into(), digests: vec!["sha256:ab".into()] }];
        assert_eq!(materials(&v02), expected);
        assert_eq!(materials(&v1), expected);
    }
}
