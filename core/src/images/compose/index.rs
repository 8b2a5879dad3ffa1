//! The index document exactly as buildx writes it: image-spec's Go structs (v1.1.0-rc5, what buildx
//! 0.13.1 vendors) marshalled by Go's encoding/json with a two-space indent. Fields come in the
//! structs' order, empty optional ones are left out, map keys are sorted, and `<`, `>`, `&`, U+2028
//! and U+2029 are escaped as `\u003c`… as Go does by default, so the bytes, and the digest, are buildx's.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::platform::Platform;

/// Go's `null` for a slice or map is its empty value.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `ocispec.Index`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct IndexDocument {
    #[serde(rename = "schemaVersion", default)]
    pub schema_version: i64,
    #[serde(rename = "mediaType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    #[serde(rename = "artifactType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// `ocispec.Descriptor`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Descriptor {
    #[serde(rename = "mediaType", default, deserialize_with = "nullable")]
    pub media_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Base64, as Go writes a `[]byte`.
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(rename = "artifactType", default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
}

impl Descriptor {
    pub fn new(media_type: &str, digest: &str, size: i64) -> Self {
        Descriptor {
            media_type: media_type.to_owned(),
            digest: digest.to_owned(),
            size,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: String::new(),
            platform: None,
            artifact_type: String::new(),
        }
    }
}

/// `json.MarshalIndent(v, "", "  ")`.
pub(crate) fn go_json(value: &impl Serialize) -> String {
    crate::go_json::html_escaped(
        &serde_json::to_string_pretty(value).expect("documents of strings and numbers always serialise"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_marshals_as_go_marshals_it() {
        let mut d = Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:ab", 476);
        d.annotations.insert("z".into(), "a<b>&c".into());
        d.annotations.insert("a".into(), "\u{2028}".into());
        d.platform = Some(Platform::new("linux", "arm", "v7"));
        let index = IndexDocument {
            schema_version: 2,
            media_type: "application/vnd.oci.image.index.v1+json".into(),
            artifact_type: String::new(),
            manifests: vec![d],
            subject: None,
            annotations: BTreeMap::new(),
        };
        let expected = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:ab",
      "size": 476,
      "annotations": {
        "a": "\u2028",
        "z": "a\u003cb\u003e\u0026c"
      },
      "platform": {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7"
      }
    }
  ]
}"#;
        assert_eq!(go_json(&index), expected);
    }

    #[test]
    fn go_nulls_and_unknown_fields_read_as_empty() {
        let doc: IndexDocument =
            serde_json::from_str(r#"{"schemaVersion":2,"manifests":null,"annotations":null,"extra":1}"#).unwrap();
        assert!(doc.manifests.is_empty() && doc.annotations.is_empty());
        assert_eq!(go_json(&doc), "{\n  \"schemaVersion\": 2,\n  \"manifests\": []\n}");
    }
}
