//! `docker buildx imagetools inspect --format TEMPLATE` for the templates scripts write:
//! `{{json .}}`, `{{json .Manifest}}`, `{{json .Image}}`, `{{json .Name}}`, `{{json .Provenance}}`,
//! `{{json .SBOM}}` (and their `.SLSA`, `.SPDX`, `.AdditionalSPDXs`) and `{{.Name}}` among other
//! text, and buildx's own rule that a format starting `{{.Manifest` prints the plain listing.
//! Values are marshalled as buildx marshals them (image-spec's Go structs, predicates as Go decodes
//! them into `interface{}`, two-space indent, Go's escapes), so the bytes are buildx's. Any other
//! action is refused by name rather than guessed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::attestation::{self, Attestation};
use super::inspect::{Inspection, Predicates};
use super::listing::buildx_text;
use super::ManifestKind;
use crate::go_json::{decoded, marshal_indent};
use crate::images::compose::index::{go_json, Descriptor, IndexDocument};
use crate::platform::Platform;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("unsupported --format action \"{{{{{0}}}}}\": Buildlane renders {{{{json .}}}}, {{{{json .Manifest}}}}, {{{{json .Image}}}}, {{{{json .Name}}}}, {{{{json .Provenance}}}}, {{{{json .SBOM}}}}, {{{{.Name}}}} and formats starting {{{{.Manifest}}; --format json has the rest")]
    Unsupported(String),
    #[error("unclosed action in --format \"{0}\"")]
    Unclosed(String),
    #[error("attestation {digest} could not be read: {reason}")]
    Attestation { digest: String, reason: String },
    /// Only a statement over the inspector's size limit is left unread without an error of its own.
    #[error("in-toto statement {0} was not read: it is larger than Buildlane reads")]
    StatementNotRead(String),
}

/// The text `template` makes of `inspection`, which `name` named (buildx's `.Name` is the
/// reference as given), with the `predicates` it read for `.Provenance` and `.SBOM`.
pub fn render(
    template: &str,
    name: &str,
    inspection: &Inspection,
    predicates: &Predicates,
) -> Result<String, TemplateError> {
    if template.starts_with("{{.Manifest") {
        return Ok(buildx_text(inspection));
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| TemplateError::Unclosed(template.to_owned()))?;
        out.push_str(&evaluate(after[..close].trim(), name, inspection, predicates)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn evaluate(
    action: &str,
    name: &str,
    inspection: &Inspection,
    predicates: &Predicates,
) -> Result<String, TemplateError> {
    let words: Vec<&str> = action.split_whitespace().collect();
    let attested = |kind: Attested| attested(kind, inspection, predicates);
    // Several platforms make a map by platform, where buildx's field lookup finds no such key and
    // prints `null`; one platform's stub has the field, `null` when left empty.
    let field = |kind: Attested, key: &str| {
        let stub = attested(kind)?;
        let value = if several_platforms(inspection) { None } else { stub.get(key) };
        Ok::<_, TemplateError>(value.cloned().unwrap_or(Value::Null))
    };
    Ok(match words[..] {
        ["json", ".Provenance"] => marshal_indent(&attested(Attested::Provenance)?),
        ["json", ".SBOM"] => marshal_indent(&attested(Attested::Sbom)?),
        ["json", ".Provenance.SLSA"] => marshal_indent(&field(Attested::Provenance, "SLSA")?),
        ["json", ".SBOM.SPDX"] => marshal_indent(&field(Attested::Sbom, "SPDX")?),
        ["json", ".SBOM.AdditionalSPDXs"] => marshal_indent(&field(Attested::Sbom, "AdditionalSPDXs")?),
        [".Name"] => name.to_owned(),
        ["json", ".Name"] => go_json(&name),
        ["json", ".Manifest"] => go_json(&manifest(inspection)),
        ["json", ".Image"] => match image(inspection) {
            Some(image) => go_json(&image),
            None => "null".to_owned(),
        },
        ["json", "."] => go_json(&Input { name, manifest: manifest(inspection), image: image(inspection) }),
        _ => return Err(TemplateError::Unsupported(action.to_owned())),
    })
}

/// What buildx's `.Provenance` and `.SBOM` read of each platform's attestations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attested {
    /// `provenanceStub`: `SLSA`, the predicate of the first SLSA statement of an attestation.
    Provenance,
    /// `sbomStub`: `SPDX`, the first SPDX statement's predicate, and `AdditionalSPDXs`, the others'.
    Sbom,
}

/// `.Provenance` or `.SBOM`: the stubs by platform when there are several, else the one's (an empty
/// stub when it has none).
fn attested(kind: Attested, inspection: &Inspection, predicates: &Predicates) -> Result<Value, TemplateError> {
    let mut stubs = BTreeMap::new();
    for platform in &inspection.platforms {
        if let Some(stub) = stub(kind, &platform.attestations, predicates)? {
            stubs.insert(platform.platform.clone(), Value::Object(stub));
        }
    }
    if several_platforms(inspection) {
        return Ok(Value::Object(stubs.into_iter().collect()));
    }
    Ok(stubs.into_values().next().unwrap_or_else(|| Value::Object(Map::new())))
}

/// buildx's choice between `tplInputs` and `tplInput`, as `.Image` makes it.
fn several_platforms(inspection: &Inspection) -> bool {
    inspection.platforms.len() > 1
}

/// One platform's stub, with Go's struct field order and `omitempty`; `None` where buildx finds no
/// statement and leaves the platform out.
fn stub(
    kind: Attested,
    attestations: &[Attestation],
    predicates: &Predicates,
) -> Result<Option<Map<String, Value>>, TemplateError> {
    // buildx reads layers of an in-toto media type only, whatever their predicate type says.
    let wanted = |media_type: &str, predicate_type: &str| {
        (media_type == attestation::IN_TOTO || attestation::is_in_toto_dsse(media_type))
            && match kind {
                Attested::Provenance => attestation::is_provenance(predicate_type),
                Attested::Sbom => attestation::is_sbom(predicate_type),
            }
    };
    let mut found = Vec::new();
    for attestation in attestations {
        if let Some(reason) = &attestation.error {
            let digest = attestation.digest.clone();
            return Err(TemplateError::Attestation { digest, reason: reason.clone() });
        }
        let mut read = attestation.statements.iter().filter(|s| wanted(&s.media_type, &s.predicate_type)).map(|s| {
            predicates
                .of_statement(&s.digest)
                .map(decoded)
                .ok_or_else(|| TemplateError::StatementNotRead(s.digest.clone()))
        });
        match kind {
            // Each attestation's first SLSA statement; a later attestation's replaces it.
            Attested::Provenance => {
                if let Some(predicate) = read.next() {
                    found = vec![predicate?];
                }
            }
            Attested::Sbom => found.extend(read.collect::<Result<Vec<_>, _>>()?),
        }
    }
    let mut found = found.into_iter();
    let Some(first) = found.next() else { return Ok(None) };
    let mut stub = Map::new();
    // An `interface{}` is omitted only when nil, a slice only when empty.
    let key = if kind == Attested::Provenance { "SLSA" } else { "SPDX" };
    if !first.is_null() {
        stub.insert(key.to_owned(), first);
    }
    let additional: Vec<Value> = found.collect();
    if !additional.is_empty() {
        stub.insert("AdditionalSPDXs".to_owned(), Value::Array(additional));
    }
    Ok(Some(stub))
}

/// buildx's template input: `tplInput` (one platform's image) or `tplInputs` (a map by platform).
#[derive(Serialize)]
struct Input<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    manifest: Manifest,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Image>,
}

/// What buildx gives `.Manifest`: an index with its digest and size, or a manifest's descriptor.
#[derive(Serialize)]
#[serde(untagged)]
enum Manifest {
    Index(IndexView),
    Manifest(Descriptor),
}

#[derive(Serialize)]
struct IndexView {
    #[serde(rename = "schemaVersion")]
    schema_version: i64,
    #[serde(rename = "mediaType", skip_serializing_if = "String::is_empty")]
    media_type: String,
    digest: String,
    size: i64,
    manifests: Vec<Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

fn manifest(inspection: &Inspection) -> Manifest {
    let descriptor = Descriptor::new(&inspection.media_type, &inspection.digest, inspection.size);
    if inspection.kind != ManifestKind::Index {
        return Manifest::Manifest(descriptor);
    }
    match serde_json::from_str::<IndexDocument>(&inspection.raw) {
        Ok(index) => Manifest::Index(IndexView {
            schema_version: index.schema_version,
            media_type: index.media_type,
            digest: descriptor.digest,
            size: descriptor.size,
            manifests: index.manifests,
            annotations: index.annotations,
        }),
        Err(_) => Manifest::Manifest(descriptor),
    }
}

/// `.Image`: the config of each platform by platform when there are several, else the one's.
#[derive(Serialize)]
#[serde(untagged)]
enum Image {
    One(Box<ImageConfigDoc>),
    ByPlatform(BTreeMap<String, ImageConfigDoc>),
}

fn image(inspection: &Inspection) -> Option<Image> {
    let configs: Vec<(&str, ImageConfigDoc)> = inspection
        .platforms
        .iter()
        .filter_map(|p| Some((p.platform.as_str(), serde_json::from_str(p.config_raw.as_deref()?).ok()?)))
        .collect();
    if several_platforms(inspection) {
        let by_platform: BTreeMap<String, ImageConfigDoc> =
            configs.into_iter().map(|(platform, config)| (platform.to_owned(), config)).collect();
        return (!by_platform.is_empty()).then_some(Image::ByPlatform(by_platform));
    }
    configs.into_iter().next().map(|(_, config)| Image::One(Box::new(config)))
}

/// Go's `null` for a slice or map is its empty value.
fn nullable<'de, D: serde::Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `ocispec.Image` (image-spec v1.1.0-rc5, as buildx 0.13.1 vendors it): what the config holds
/// beyond these fields is dropped, as decoding into the Go struct drops it.
#[derive(Serialize, Deserialize)]
struct ImageConfigDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    author: String,
    #[serde(flatten)]
    platform: Platform,
    #[serde(default)]
    config: ImageConfig,
    #[serde(default)]
    rootfs: RootFs,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    history: Vec<History>,
}

/// `ocispec.ImageConfig`.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ImageConfig {
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    env: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    entrypoint: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
    cmd: Vec<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    volumes: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    working_dir: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    stop_signal: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    args_escaped: bool,
}

/// `ocispec.RootFS`: both fields always written, an absent list as `null`.
#[derive(Default, Serialize, Deserialize)]
struct RootFs {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default)]
    diff_ids: Option<Vec<String>>,
}

/// `ocispec.History`.
#[derive(Serialize, Deserialize)]
struct History {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    created_by: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    author: String,
    #[serde(default, deserialize_with = "nullable", skip_serializing_if = "String::is_empty")]
    comment: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::images::manifest::attestation::IN_TOTO;
    use crate::images::manifest::AttestationStatement;

    fn attestation(digest: &str, statements: &[(&str, &str, &str)]) -> Attestation {
        Attestation {
            digest: digest.into(),
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            size: 1,
            annotations: BTreeMap::new(),
            statements: statements
                .iter()
                .map(|(digest, media_type, predicate_type)| AttestationStatement {
                    predicate_type: (*predicate_type).into(),
                    media_type: (*media_type).into(),
                    digest: (*digest).into(),
                    size: 1,
                })
                .collect(),
            provenance: None,
            sbom: None,
            error: None,
        }
    }

    const SLSA: &str = "https://slsa.dev/provenance/v0.2";
    const SPDX: &str = "https://spdx.dev/Document";
    const DSSE: &str = "application/vnd.in-toto.spdx+dsse";

    #[test]
    fn stubs_take_the_statements_buildx_reads_in_its_order() {
        let predicates = Predicates(HashMap::from([
            ("p1".to_owned(), json!({"b": 1, "a": 2})),
            ("p2".to_owned(), json!({"second": true})),
            ("p3".to_owned(), json!({"not": "read by buildx"})),
            ("s1".to_owned(), json!({"name": "first"})),
            ("s2".to_owned(), Value::Null),
            ("s3".to_owned(), json!({"name": "third"})),
        ]));
        let attestations = [
            attestation("a1", &[("p1", IN_TOTO, SLSA), ("p3", IN_TOTO, SLSA), ("s1", IN_TOTO, SPDX)]),
            attestation("a2", &[("p3", "application/json", SLSA), ("s2", DSSE, SPDX), ("s3", IN_TOTO, SPDX)]),
        ];
        let provenance = stub(Attested::Provenance, &attestations, &predicates).unwrap().unwrap();
        // The first attestation's first SLSA statement: the second has none of an in-toto type.
        assert_eq!(marshal_indent(&Value::Object(provenance)), "{\n  \"SLSA\": {\n    \"a\": 2,\n    \"b\": 1\n  }\n}");
        let sbom = stub(Attested::Sbom, &attestations, &predicates).unwrap().unwrap();
        assert_eq!(
            Value::Object(sbom),
            json!({"SPDX": {"name": "first"}, "AdditionalSPDXs": [null, {"name": "third"}]})
        );

        let later = [attestations[0].clone(), attestation("a3", &[("p2", IN_TOTO, SLSA)])];
        let provenance = stub(Attested::Provenance, &later, &predicates).unwrap().unwrap();
        assert_eq!(Value::Object(provenance), json!({"SLSA": {"second": true}}), "a later attestation's replaces it");

        assert!(stub(Attested::Sbom, &[], &predicates).unwrap().is_none(), "no attestation, no stub");
        let only_null = [attestation("a4", &[("s2", IN_TOTO, SPDX)])];
        assert_eq!(stub(Attested::Sbom, &only_null, &predicates).unwrap(), Some(Map::new()), "a nil SPDX is omitted");
    }

    #[test]
    fn a_statement_buildx_would_print_but_buildlane_did_not_read_is_an_error_not_an_empty_stub() {
        let unread = [attestation("a1", &[("big", IN_TOTO, SLSA)])];
        let refused = stub(Attested::Provenance, &unread, &Predicates::default()).unwrap_err();
        assert_eq!(refused.to_string(), "in-toto statement big was not read: it is larger than Buildlane reads");
        let mut broken = attestation("a2", &[]);
        broken.error = Some("malformed attestation manifest".into());
        let refused = stub(Attested::Sbom, &[broken], &Predicates::default()).unwrap_err();
        assert_eq!(refused.to_string(), "attestation a2 could not be read: malformed attestation manifest");
    }
}
