//! `buildlane inspect REF`: the inspector on stdout, for scripts and the benchmark. Text is what
//! `docker buildx imagetools inspect` prints, then the index's annotations and its platform tree with
//! sizes and attestations; `--raw` prints the exact manifest bytes; `--format json` adds per-entry
//! keys, sizes, annotations, attestations, configs and nested indexes.

use std::io::Write;
use std::process::ExitCode;

use buildlane_core::docker_config::credentials::CredentialStore;
use buildlane_core::docker_config::Environment;
use buildlane_core::images::manifest::{self, Depth, InspectOptions, Inspection, Predicates};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registry::RegistryClient;
use serde_json::{json, Map, Value};

use crate::exit_status::fail;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// Image reference (`alpine`, `ghcr.io/o/r:tag`, `…@sha256:…`).
    reference: String,
    /// `text` (default), `json`, or a template as buildx's: `{{json .}}`, `{{json .Manifest}}`,
    /// `{{json .Image}}`, `{{json .Provenance}}`, `{{json .SBOM}}`, `{{.Name}}`, or one starting
    /// `{{.Manifest` (the plain listing).
    #[arg(long, default_value = "text")]
    format: String,
    /// Print the manifest's exact bytes.
    #[arg(long, conflicts_with = "format")]
    raw: bool,
    /// Use plain http for this registry (loopback registries already do).
    #[arg(long)]
    insecure: bool,
    /// Also list OCI referrers.
    #[arg(long)]
    referrers: bool,
}

enum Format {
    Text,
    Json,
    Template(String),
}

fn format(given: &str) -> Result<Format, crate::format::FormatError> {
    Ok(match crate::format::checked(given, &["text", "json"])? {
        "text" => Format::Text,
        "json" => Format::Json,
        template => Format::Template(template.to_owned()),
    })
}

pub fn run(env: Environment, args: InspectArgs) -> ExitCode {
    let format = match format(&args.format) {
        Ok(format) => format,
        Err(e) => return fail(&e),
    };
    let reference: ImageReference = match args.reference.parse() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    // One reference, a handful of concurrent requests: a single thread starts fastest.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime starts");
    let client = RegistryClient::new(CredentialStore::new(&env));
    if args.insecure {
        client.set_plain_http(&reference.registry, true);
    }
    let out = if args.raw {
        match runtime.block_on(client.manifest(&reference)) {
            Ok(fetched) => fetched.bytes.to_vec(),
            Err(e) => return fail(&e),
        }
    } else {
        // The text lists what manifests say; configs and statements are only read for json.
        let depth = match format {
            Format::Text => Depth::Manifests,
            Format::Json | Format::Template(_) => Depth::Full,
        };
        let options = InspectOptions { referrers: args.referrers, depth };
        // Only a template prints statements' predicates whole; the rest shows their summaries.
        let inspected = match format {
            Format::Template(_) => runtime.block_on(manifest::inspect_with_predicates(&client, &reference, options)),
            _ => runtime.block_on(manifest::inspect(&client, &reference, options)).map(|i| (i, Predicates::default())),
        };
        let (inspection, predicates) = match inspected {
            Ok(inspected) => inspected,
            Err(e) => return fail(&e),
        };
        match format {
            Format::Text => manifest::imagetools_text(&inspection).into_bytes(),
            Format::Json => {
                let mut s = serde_json::to_string_pretty(&json_view(&inspection)).expect("plain data serialises");
                s.push('\n');
                s.into_bytes()
            }
            Format::Template(template) => {
                match manifest::template::render(&template, &args.reference, &inspection, &predicates) {
                    Ok(text) => text.into_bytes(),
                    Err(e) => return fail(&e),
                }
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(&out).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `{"name","manifest","image"}` as imagetools' `{{json .}}` has them, plus `platforms` with sizes,
/// annotations and attestations. As there, `manifest` is an index with its digest and size, or a
/// manifest's descriptor alone; `image` maps each platform to its config when there are several,
/// is the one platform's config otherwise, and is left out when there is none.
fn json_view(i: &Inspection) -> Value {
    let manifest = match i.kind {
        manifest::ManifestKind::Index => {
            let index = serde_json::from_str::<Value>(&i.raw).unwrap_or_else(|_| Value::String(i.raw.clone()));
            let Value::Object(mut index) = index else {
                return json!({"name": i.name, "manifest": index});
            };
            index.insert("digest".into(), json!(i.digest));
            index.insert("size".into(), json!(i.size));
            Value::Object(index)
        }
        _ => json!({"mediaType": i.media_type, "digest": i.digest, "size": i.size}),
    };
    let config = |raw: &Option<String>| raw.as_deref().and_then(|c| serde_json::from_str::<Value>(c).ok());
    let image = if i.platforms.len() > 1 {
        let images: Map<String, Value> =
            i.platforms.iter().filter_map(|p| Some((p.platform.clone(), config(&p.config_raw)?))).collect();
        (!images.is_empty()).then_some(Value::Object(images))
    } else {
        i.platforms.first().and_then(|p| config(&p.config_raw))
    };
    let platforms: Vec<Value> = i
        .platforms
        .iter()
        .map(|p| {
            json!({
                "key": p.key,
                "parent": p.parent,
                "platform": p.platform,
                "osVersion": p.os_version,
                "digest": p.digest,
                "mediaType": p.media_type,
                "manifestSize": p.manifest_size,
                "compressedSize": p.compressed_size,
                "annotations": p.annotations,
                "manifestAnnotations": p.manifest_annotations,
                "layers": p.layers,
                "attestations": p.attestations,
                "error": p.error,
            })
        })
        .collect();
    let mut view = Map::new();
    view.insert("name".into(), json!(i.name));
    view.insert("manifest".into(), manifest);
    if let Some(image) = image {
        view.insert("image".into(), image);
    }
    view.insert("platforms".into(), json!(platforms));
    view.insert("indexes".into(), json!(i.indexes));
    view.insert("notFollowed".into(), json!(i.not_followed));
    view.insert("sizeMatrix".into(), json!(i.size_matrix));
    view.insert("note".into(), json!(i.note));
    Value::Object(view)
}
