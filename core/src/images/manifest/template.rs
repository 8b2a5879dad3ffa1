//! `docker buildx imagetools inspect --format TEMPLATE` for the templates scripts write:
//! `{{json .}}`, `{{json .Manifest}}`, `{{json .Image}}`, `{{json .Name}}` and `{{.Name}}` among
//! other text, and buildx's own rule that a format starting `{{.Manifest` prints the plain listing.
//! Values are marshalled as buildx marshals them (image-spec's Go structs, two-space indent, Go's
//! escapes), so the bytes are buildx's. Any other action is refused by name rather than guessed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::inspect::Inspection;
use super::listing::buildx_text;
use super::ManifestKind;
use crate::images::compose::index::{go_json, Descriptor, IndexDocument};
use crate::platform::Platform;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("unsupported --format action \"{{{{{0}}}}}\": Buildlane renders {{{{json .}}}}, {{{{json .Manifest}}}}, {{{{json .Image}}}}, {{{{json .Name}}}}, {{{{.Name}}}} and formats starting {{{{.Manifest}}; --format json has the rest")]
    Unsupported(String),
    #[error("unclosed action in --format \"{0}\"")]
    Unclosed(String),
}

/// The text `template` makes of `inspection`, which `name` named (buildx's `.Name` is the
/// reference as given).
pub fn render(template: &str, name: &str, inspection: &Inspection) -> Result<String, TemplateError> {
    if template.starts_with("{{.Manifest") {
        return Ok(buildx_text(inspection));
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| TemplateError::Unclosed(template.to_owned()))?;
        out.push_str(&evaluate(after[..close].trim(), name, inspection)?);
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn evaluate(action: &str, name: &str, inspection: &Inspection) -> Result<String, TemplateError> {
    let words: Vec<&str> = action.split_whitespace().collect();
    Ok(match words[..] {
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
    if inspection.platforms.len() > 1 {
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
