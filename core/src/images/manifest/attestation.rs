//! BuildKit attestations: an attestation manifest per platform whose layers are in-toto statements,
//! read into short summaries: SLSA provenance (v0.2 and v1: builder, build args, materials, source)
//! and SPDX SBOMs (packages).

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

pub const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";

/// An attestation manifest folded under the platform it describes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Attestation {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub annotations: BTreeMap<String, String>,
    pub statements: Vec<AttestationStatement>,
    pub provenance: Option<Provenance>,
    pub sbom: Option<Sbom>,
    /// Why (part of) it could not be read; the rest is still shown.
    pub error: Option<String>,
}

/// One in-toto statement (a layer of the attestation manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AttestationStatement {
    pub predicate_type: String,
    pub media_type: String,
    pub digest: String,
    pub size: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Provenance {
    pub predicate_type: String,
    pub builder_id: Option<String>,
    pub build_type: Option<String>,
    pub frontend: Option<String>,
    /// `build-arg:NAME` parameters, by NAME.
    pub build_args: BTreeMap<String, String>,
    pub materials: Vec<Material>,
    /// Where the build definition came from (a git URL, or the Dockerfile's local name).
    pub source: Option<String>,
    pub revision: Option<String>,
    pub started_on: Option<String>,
    pub finished_on: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Material {
    pub uri: String,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Sbom {
    pub spdx_version: Option<String>,
    pub creators: Vec<String>,
    pub packages: Vec<SbomPackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SbomPackage {
    pub name: String,
    pub version: Option<String>,
    pub license: Option<String>,
    pub purl: Option<String>,
}

/// An in-toto statement as a layer of its own.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// Whether `media_type` is a DSSE envelope around an in-toto statement, by buildx's pattern
/// `application/vnd\.in-toto\..*\+dsse`, unanchored as buildx matches it.
pub fn is_in_toto_dsse(media_type: &str) -> bool {
    const PREFIX: &str = "application/vnd.in-toto.";
    media_type.find(PREFIX).is_some_and(|at| media_type[at + PREFIX.len()..].contains("+dsse"))
}

/// The statement a layer holds: a DSSE envelope's base64 payload, else the layer itself.
pub(crate) fn statement_bytes<'a>(layer: &'a [u8], media_type: &str) -> Result<Cow<'a, [u8]>, String> {
    if !is_in_toto_dsse(media_type) {
        return Ok(Cow::Borrowed(layer));
    }
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(default)]
        payload: String,
    }
    let envelope: Envelope = serde_json::from_slice(layer).map_err(|e| format!("malformed DSSE envelope: {e}"))?;
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope.payload)
        .map_err(|e| format!("malformed DSSE payload: {e}"))?;
    Ok(Cow::Owned(payload))
}

/// The predicate as buildx reads it, decoding the statement into a Go struct with a `predicate`
/// field: the member's name matched regardless of case, the last match winning, `null` without one.
pub(crate) fn predicate_as_go_reads_it(statement: &Value) -> Value {
    let mut members = statement.as_object().into_iter().flatten();
    members.rfind(|(name, _)| name.eq_ignore_ascii_case("predicate")).map_or(Value::Null, |(_, p)| p.clone())
}

pub fn is_provenance(predicate_type: &str) -> bool {
    predicate_type.starts_with("https://slsa.dev/provenance/")
}

pub fn is_sbom(predicate_type: &str) -> bool {
    predicate_type == "https://spdx.dev/Document"
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).and_then(Value::as_str).map(str::to_owned).filter(|s| !s.is_empty())
}

fn first_digest(v: &Value) -> Option<String> {
    let map = v.as_object()?;
    map.get("sha256")
        .map(|d| ("sha256", d))
        .or_else(|| map.iter().next().map(|(k, d)| (k.as_str(), d)))
        .and_then(|(algorithm, d)| d.as_str().map(|d| format!("{algorithm}:{d}")))
}

fn materials(list: Option<&Value>) -> Vec<Material> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|m| {
                    let uri = m.get("uri").and_then(Value::as_str)?.to_owned();
                    Some(Material { uri, digest: m.get("digest").and_then(first_digest) })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn build_args(args: Option<&Value>) -> BTreeMap<String, String> {
    args.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.strip_prefix("build-arg:")?.to_owned(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Summarises an in-toto statement carrying SLSA provenance (v0.2 as BuildKit writes by default, or v1).
pub fn provenance(statement: &Value) -> Provenance {
    let predicate_type = text(statement, "/predicateType").unwrap_or_default();
    let p = statement.get("predicate").cloned().unwrap_or(Value::Null);
    let vcs = "/metadata/https:~1~1mobyproject.org~1buildkit@v1#metadata/vcs";
    if predicate_type.ends_with("/v1") {
        Provenance {
            builder_id: text(&p, "/runDetails/builder/id"),
            build_type: text(&p, "/buildDefinition/buildType"),
            frontend: text(&p, "/buildDefinition/externalParameters/request/frontend"),
            build_args: build_args(p.pointer("/buildDefinition/externalParameters/request/args")),
            materials: materials(p.pointer("/buildDefinition/resolvedDependencies")),
            source: text(&p, "/buildDefinition/externalParameters/configSource/uri")
                .or_else(|| text(&p, &format!("/runDetails{vcs}/source"))),
            revision: text(&p, &format!("/runDetails{vcs}/revision")),
            started_on: text(&p, "/runDetails/metadata/startedOn"),
            finished_on: text(&p, "/runDetails/metadata/finishedOn"),
            predicate_type,
        }
    } else {
        Provenance {
            builder_id: text(&p, "/builder/id"),
            build_type: text(&p, "/buildType"),
            frontend: text(&p, "/invocation/parameters/frontend"),
            build_args: build_args(p.pointer("/invocation/parameters/args")),
            materials: materials(p.get("materials")),
            source: text(&p, "/invocation/configSource/uri").or_else(|| text(&p, &format!("{vcs}/source"))),
            revision: text(&p, &format!("{vcs}/revision")),
            started_on: text(&p, "/metadata/buildStartedOn"),
            finished_on: text(&p, "/metadata/buildFinishedOn"),
            predicate_type,
        }
    }
}

/// Summarises an in-toto statement carrying an SPDX document.
pub fn sbom(statement: &Value) -> Sbom {
    let p = statement.get("predicate").cloned().unwrap_or(Value::Null);
    let creators = p
        .pointer("/creationInfo/creators")
        .and_then(Value::as_array)
        .map(|c| c.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let packages = p
        .get("packages")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|pkg| {
                    let name = pkg.get("name").and_then(Value::as_str)?.to_owned();
                    let purl = pkg.get("externalRefs").and_then(Value::as_array).and_then(|refs| {
                        refs.iter()
                            .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                            .and_then(|r| r.get("referenceLocator").and_then(Value::as_str))
                            .map(str::to_owned)
                    });
                    Some(SbomPackage {
                        name,
                        version: text(pkg, "/versionInfo"),
                        license: text(pkg, "/licenseConcluded")
                            .or_else(|| text(pkg, "/licenseDeclared"))
                            .filter(|l| l != "NOASSERTION"),
                        purl,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Sbom { spdx_version: text(&p, "/spdxVersion"), creators, packages }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slsa_v02_as_buildkit_writes_it() {
        let statement = serde_json::json!({
            "predicateType": "https://slsa.dev/provenance/v0.2",
            "predicate": {
                "builder": {"id": ""},
                "buildType": "https://mobyproject.org/buildkit@v1",
                "materials": [{"uri": "pkg:docker/busybox@latest", "digest": {"sha256": "ab"}}],
                "invocation": {
                    "configSource": {"entryPoint": "Dockerfile"},
                    "parameters": {"frontend": "dockerfile.v0", "args": {"build-arg:V": "1", "label:x": "y"}}
                },
                "metadata": {"buildStartedOn": "t0", "https://mobyproject.org/buildkit@v1#metadata": {"vcs": {"source": "https://g/r", "revision": "abc"}}}
            }
        });
        let p = provenance(&statement);
        assert_eq!(p.builder_id, None);
        assert_eq!(p.build_type.as_deref(), Some("https://mobyproject.org/buildkit@v1"));
        assert_eq!(p.frontend.as_deref(), Some("dockerfile.v0"));
        assert_eq!(p.build_args, BTreeMap::from([("V".to_owned(), "1".to_owned())]));
        assert_eq!(
            p.materials,
            [Material { uri: "pkg:docker/busybox@latest".into(), digest: Some("sha256:ab".into()) }]
        );
        assert_eq!((p.source.as_deref(), p.revision.as_deref()), (Some("https://g/r"), Some("abc")));
        assert_eq!(p.started_on.as_deref(), Some("t0"));
    }

    #[test]
    fn slsa_v1_and_spdx() {
        let v1 = serde_json::json!({
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "bt", "externalParameters": {"request": {"frontend": "f", "args": {"build-arg:A": "b"}}},
                          "resolvedDependencies": [{"uri": "u"}]}, "runDetails": {"builder": {"id": "me"}}}
        });
        let p = provenance(&v1);
        assert_eq!((p.builder_id.as_deref(), p.frontend.as_deref()), (Some("me"), Some("f")));
        assert_eq!(p.materials, [Material { uri: "u".into(), digest: None }]);
        let doc = serde_json::json!({"predicate": {"spdxVersion": "SPDX-2.3", "creationInfo": {"creators": ["Tool: syft"]},
            "packages": [{"name": "busybox", "versionInfo": "1.36", "licenseConcluded": "NOASSERTION",
                          "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:deb/busybox"}]}]}});
        let s = sbom(&doc);
        assert_eq!(s.creators, ["Tool: syft"]);
        assert_eq!(
            s.packages,
            [SbomPackage {
                name: "busybox".into(),
                version: Some("1.36".into()),
                license: None,
                purl: Some("pkg:deb/busybox".into())
            }]
        );
        assert!(is_sbom("https://spdx.dev/Document") && is_provenance("https://slsa.dev/provenance/v0.2"));
    }

    #[test]
    fn a_dsse_envelope_is_opened_and_the_predicate_read_as_go_decodes_it() {
        assert!(is_in_toto_dsse("application/vnd.in-toto.provenance+dsse"));
        assert!(is_in_toto_dsse("x-application/vnd.in-toto.spdx+dsse; v=1"), "buildx's pattern is unanchored");
        assert!(!is_in_toto_dsse(IN_TOTO) && !is_in_toto_dsse("application/vnd.in-toto+dsse"));
        let envelope = br#"{"payloadType":"application/vnd.in-toto+json","payload":"eyJQcmVkaWNhdGUiOjF9"}"#;
        let statement = statement_bytes(envelope, "application/vnd.in-toto.spdx+dsse").unwrap();
        assert_eq!(&*statement, br#"{"Predicate":1}"#);
        assert_eq!(statement_bytes(b"{}", IN_TOTO).unwrap(), Cow::Borrowed(b"{}".as_slice()));
        assert!(statement_bytes(br#"{"payload":"!"}"#, "application/vnd.in-toto.spdx+dsse").is_err());

        let read = |json: &str| predicate_as_go_reads_it(&serde_json::from_str(json).unwrap());
        assert_eq!(read(r#"{"Predicate":1}"#), serde_json::json!(1));
        assert_eq!(read(r#"{"predicate":1,"PREDICATE":2}"#), serde_json::json!(2));
        assert_eq!(read(r#"{"predicateType":"x"}"#), Value::Null);
        assert_eq!(read("null"), Value::Null);
    }
}
