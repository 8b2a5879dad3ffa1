//! `.dockerbuild` bundles: build records exported as `docker buildx history export` (buildx 0.23+)
//! writes them, for Docker Desktop or anyone to open, and opened here read-only.
//!
//! The format, as read in buildx's `commands/history/export.go`, `util/desktop/bundle/export.go` and
//! `trace.go`, and containerd's `core/images/archive/exporter.go`, which writes the tar:
//!
//! - The file is a gzip stream (Go's `gzip.NewWriter`, default level) of a tar holding an OCI image
//!   layout: `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`, mode 0444), `index.json` (compact JSON,
//!   0644), the folders `blobs/` and `blobs/sha256/` (0755) and each blob once as
//!   `blobs/sha256/<hex>` (0444), all sorted by name; no docker `manifest.json`
//!   (`WithSkipDockerManifest`).
//! - Each record is an OCI image manifest (`application/vnd.oci.image.manifest.v1+json`) whose config is
//!   the record itself, `application/vnd.buildkit.historyrecord.v0` (see [`record`] for its JSON), and
//!   whose layers are, each blob once per record and with the annotations BuildKit recorded: the trace
//!   (re-encoded with credentials masked, see [`trace`]; the record names the masked one), the logs
//!   (`application/vnd.buildkit.status.v0`), the result's attestations, the result's own descriptors
//!   (image manifests or indexes, whose blobs are those documents alone) typed `application/json`
//!   with their media type in the annotation `vnd.export-build.descriptor.mediatype` (so that a
//!   reader does not look for the images' layers), the external error, then each platform's result
//!   likewise. Made documents are `json.MarshalIndent(v, "", "  ")`.
//! - One record: `index.json` names its manifest. Several: `index.json` names one OCI index whose
//!   manifests are the records', each annotated `vnd.buildkit.history.reference: <ref>`.
//! - Only completed records are exported: by ref, `^N` (the N-th newest completed one), all, or the
//!   newest when none is named. `--finalize` first asks BuildKit to finish the trace of records that have
//!   none (BuildKit 0.15+; Buildlane sends the record's pin with it, so an older BuildKit, which reads
//!   the request as a pin update, leaves the record as it was).
//!
//! `docker buildx history import` posts a bundle to Docker Desktop; BuildKit cannot take a record back,
//! so Buildlane opens one instead ([`Bundle`]): its records listed as a builder's history lists them,
//! replayed from the bundle's logs blob through the same replay as a live record, attachments read
//! from it.

mod export;
mod open;
mod record;
mod trace;

use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};
use ts_rs::TS;

pub use open::{Bundle, FILE_LIMIT};

use super::filter::BuildSpec;
use super::HistoryError;

/// The annotation naming a record's ref on its manifest's entry in a bundle of several.
pub const REF_ANNOTATION: &str = "vnd.buildkit.history.reference";
/// The annotation keeping a result descriptor's own media type (the layer is typed `application/json`).
pub const RESULT_MEDIA_TYPE_ANNOTATION: &str = "vnd.export-build.descriptor.mediatype";
/// `oci-layout`, as containerd writes it.
const OCI_LAYOUT: &str = r#"{"imageLayoutVersion":"1.0.0"}"#;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    History(#[from] HistoryError),
    #[error("build {build_ref} is still running: it can be exported once it ends")]
    Running { build_ref: String },
    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("export cancelled")]
    Cancelled,
    #[error("cannot read {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{} is not a file", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: {what} is {size} bytes, more than the {limit} a bundle may hold", path.display())]
    TooLarge { path: PathBuf, what: String, size: u64, limit: u64 },
    #[error("{} is not a .dockerbuild bundle: {reason}", path.display())]
    Foreign { path: PathBuf, reason: String },
    #[error("{} is damaged: {reason}", path.display())]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot open {}: no scratch space to unpack it: {reason}", path.display())]
    Scratch { path: PathBuf, reason: String },
    #[error("{} holds no build {build_ref}", path.display())]
    NotFound { path: PathBuf, build_ref: String },
    #[error("{} holds no build at offset {offset} (it holds {count})", path.display())]
    NoSuchOffset { path: PathBuf, offset: usize, count: usize },
    #[error("build {build_ref} in {} has no logs to replay", path.display())]
    NoLogs { path: PathBuf, build_ref: String },
}

/// Which records an export takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportSelection {
    /// Those named (by ref or `^N`); none named: the newest.
    Builds(Vec<BuildSpec>),
    /// Every completed record.
    All,
}

/// How far an export is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportProgress {
    pub records: u32,
    pub blobs_written: u32,
    pub blobs_total: u32,
    #[ts(type = "number")]
    pub bytes_written: u64,
    #[ts(type = "number")]
    pub bytes_total: u64,
}

/// A finished export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ExportSummary {
    pub path: String,
    pub build_refs: Vec<String>,
    /// The bundle's size on disk.
    #[ts(type = "number")]
    pub bytes: u64,
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// The hex of a `sha256:` digest, when it is one.
fn digest_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(hex)
}
