//! What `docker buildx build` writes about a finished build for scripts: `--iidfile` (the image's
//! ID) and `--metadata-file` (BuildKit's exporter response, each value that is base64 of a JSON
//! object given as that object, and the build's record as `builder/node/ref`), byte for byte.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::BuildOutcome;

/// The image's ID as buildx writes it: its config's digest when the exporter names one, else the
/// image's (or index's) digest.
pub fn image_id(outcome: &BuildOutcome) -> Option<&str> {
    let response = &outcome.exporter_response;
    response.get("containerimage.config.digest").or_else(|| response.get("containerimage.digest")).map(String::as_str)
}

/// `--metadata-file`'s JSON for `outcome`, built on `node` of its builder: keys sorted and indented
/// by two spaces as Go's `MarshalIndent` writes a map, without a final newline.
pub fn metadata_json(outcome: &BuildOutcome, node: &str) -> String {
    let mut metadata: BTreeMap<&str, Value> = outcome
        .exporter_response
        .iter()
        .map(|(key, value)| (key.as_str(), decoded(value).unwrap_or_else(|| Value::String(value.clone()))))
        .collect();
    let record = format!("{}/{node}/{}", outcome.builder, outcome.build_ref);
    metadata.insert("buildx.build.ref", Value::String(record));
    let json = serde_json::to_string_pretty(&metadata).expect("JSON values serialise");
    crate::go_json::html_escaped(&json)
}

/// A value that is base64 of a non-empty JSON object, as that object.
fn decoded(value: &str) -> Option<Value> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(object) if !object.is_empty() => Some(Value::Object(object)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(response: &[(&str, &str)]) -> BuildOutcome {
        BuildOutcome {
            build_ref: "z9x2wy4nrn3ggmkbufsv10per".into(),
            builder: "default".into(),
            state: super::super::BuildState::Succeeded,
            digest: None,
            platforms: Vec::new(),
            tags: Vec::new(),
            duration_ms: 0,
            failure: None,
            steps: Vec::new(),
            exporter_response: response.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            platform_results: Vec::new(),
        }
    }

    #[test]
    fn the_exporter_response_is_written_as_buildx_writes_it() {
        let descriptor = r#"{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:13f6","size":855}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(descriptor);
        let built = outcome(&[
            ("containerimage.digest", "sha256:13f6"),
            ("containerimage.descriptor", &encoded),
            ("image.name", "moby-dangling@sha256:13f6"),
        ]);
        // What buildx 0.13.1 wrote for the same response (its digests shortened).
        let expected = r#"{
  "buildx.build.ref": "default/default/z9x2wy4nrn3ggmkbufsv10per",
  "containerimage.descriptor": {
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "digest": "sha256:13f6",
    "size": 855
  },
  "containerimage.digest": "sha256:13f6",
  "image.name": "moby-dangling@sha256:13f6"
}"#;
        assert_eq!(metadata_json(&built, "default"), expected);
        assert_eq!(image_id(&built), Some("sha256:13f6"));
        let pushed = outcome(&[("containerimage.digest", "sha256:a"), ("containerimage.config.digest", "sha256:c")]);
        assert_eq!(image_id(&pushed), Some("sha256:c"), "the config's digest first");
        assert_eq!(image_id(&outcome(&[])), None);
    }
}
