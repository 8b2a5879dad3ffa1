//! Image manifests as registries serve them: OCI index and manifest, Docker manifest list v2 and
//! schema 2 (schema 1 and unknown kinds are shown raw with a note), and the inspection built from
//! them: platforms with their attestations folded under them, configs, layers, sizes, comparisons.

pub(crate) mod attestation;
mod compare;
mod inspect;
mod listing;
pub mod template;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use attestation::{Attestation, AttestationStatement, Material, Provenance, Sbom, SbomPackage};
pub(crate) use compare::size_matrix;
pub use compare::{compare, Comparison, FieldDiff, LayerPair, SizeMatrix, SizeRow};
pub use inspect::{
    inspect, inspect_with_predicates, Depth, HistoryStep, ImageConfig, InspectError, InspectOptions, Inspection, Layer,
    NestedIndex, OtherEntry, PlatformImage, Predicates, MAX_CONCURRENT_FETCHES, MAX_ENTRIES_PER_INDEX,
    MAX_ENTRIES_TOTAL,
};
pub use listing::imagetools_text;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// BuildKit's annotations on an attestation manifest in an index.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ManifestKind {
    /// An OCI index or a Docker manifest list: one entry per platform.
    Index,
    /// One image (OCI manifest or Docker schema 2).
    Image,
    /// Docker schema 1: deprecated, shown raw.
    Schema1,
    /// A media type Buildlane does not know: shown raw.
    Unknown,
}

impl ManifestKind {
    pub fn of_media_type(media_type: &str) -> Self {
        match media_type {
            OCI_INDEX | DOCKER_LIST => ManifestKind::Index,
            OCI_MANIFEST | DOCKER_V2 => ManifestKind::Image,
            DOCKER_V1 | DOCKER_V1_SIGNED => ManifestKind::Schema1,
            _ => ManifestKind::Unknown,
        }
    }
}

/// A content descriptor as manifests write it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default)]
    pub platform: Option<RawPlatform>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct RawPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(rename = "os.version", default)]
    pub os_version: Option<String>,
    #[serde(rename = "os.features", default)]
    pub os_features: Vec<String>,
    #[serde(default)]
    pub variant: Option<String>,
}

/// Only what tells the kinds apart; the rest is read per kind.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Versioned {
    #[serde(default)]
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<serde_json::Value>,
    #[serde(default)]
    layers: Option<serde_json::Value>,
    #[serde(default)]
    fs_layers: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndexDoc {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageDoc {
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The media type of a manifest: its own `mediaType`, else the Content-Type it was served as, else
/// what its shape says (OCI makes `mediaType` optional).
pub(crate) fn media_type_of(bytes: &[u8], content_type: Option<&str>) -> Result<String, serde_json::Error> {
    let v: Versioned = serde_json::from_slice(bytes)?;
    if let Some(mt) = v.media_type.filter(|m| !m.is_empty()) {
        return Ok(mt);
    }
    if v.schema_version == Some(1) || v.fs_layers.is_some() {
        return Ok(DOCKER_V1.into());
    }
    if let Some(ct) = content_type.filter(|c| !c.is_empty() && *c != "application/json" && *c != "text/plain") {
        return Ok(ct.to_owned());
    }
    Ok(if v.manifests.is_some() {
        OCI_INDEX.into()
    } else if v.layers.is_some() {
        OCI_MANIFEST.into()
    } else {
        String::from("application/octet-stream")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_comes_from_the_body_then_the_header_then_the_shape() {
        assert_eq!(media_type_of(br#"{"mediaType":"x/y","manifests":[]}"#, Some(OCI_MANIFEST)).unwrap(), "x/y");
        assert_eq!(media_type_of(br#"{"schemaVersion":2,"manifests":[]}"#, None).unwrap(), OCI_INDEX);
        assert_eq!(
            media_type_of(br#"{"schemaVersion":2,"layers":[]}"#, Some("application/json")).unwrap(),
            OCI_MANIFEST
        );
        assert_eq!(media_type_of(br#"{"schemaVersion":1,"fsLayers":[]}"#, None).unwrap(), DOCKER_V1);
        assert!(media_type_of(b"not json", None).is_err());
        assert_eq!(ManifestKind::of_media_type(DOCKER_LIST), ManifestKind::Index);
        assert_eq!(ManifestKind::of_media_type("application/vnd.foo"), ManifestKind::Unknown);
    }
}
