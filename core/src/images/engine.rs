//! The engine's own image store, browsed like a registry: its repositories and tags from the image
//! list, and an image opened from `docker image inspect` and `docker image history`. What the engine
//! says of an image differs from what a registry holds: one platform (the engine's), layers named by
//! their uncompressed diff IDs, sizes from the history (uncompressed) when the engine can give it.

use std::collections::BTreeSet;

use bollard::models::{ImageHistoryResponseItem, ImageInspect};
use bollard::query_parameters::ListImagesOptionsBuilder;
use tracing::instrument;

use crate::engine::{Engine, EngineError};
use crate::images::command_line;
use crate::images::manifest::{size_matrix, HistoryStep, ImageConfig, Inspection, Layer, ManifestKind, PlatformImage};
use crate::images::reference::{ImageReference, ReferenceError};
use crate::images::registry::Page;

/// An uncompressed layer, as the engine names them (by diff ID).
const DIFF_ID_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";

#[derive(Debug, thiserror::Error)]
pub enum EngineImagesError {
    #[error("no image {reference} in the engine at {host}")]
    NotFound { reference: String, host: String },
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// `repository` and `tag` of every tagged image (`<none>` ones have neither).
#[instrument(skip_all, fields(host = %engine.host()), err)]
async fn tagged(engine: &Engine) -> Result<BTreeSet<(String, String)>, EngineError> {
    let options = ListImagesOptionsBuilder::default().all(false).build();
    let images =
        engine.docker().list_images(Some(options)).await.map_err(|e| EngineError::from_bollard(engine.host(), e))?;
    Ok(images
        .iter()
        .flat_map(|image| &image.repo_tags)
        .filter_map(|repo_tag| {
            let (repository, tag) = repo_tag.rsplit_once(':').filter(|(_, tag)| !tag.contains('/'))?;
            (repository != "<none>" && tag != "<none>").then(|| (repository.to_owned(), tag.to_owned()))
        })
        .collect())
}

/// The repositories of tagged images, sorted; the engine lists them all at once (one page).
pub async fn repositories(engine: &Engine) -> Result<Page, EngineImagesError> {
    let tagged = tagged(engine).await?;
    let mut items: Vec<String> = tagged.into_iter().map(|(repository, _)| repository).collect();
    items.dedup();
    Ok(Page { items, next: None })
}

/// The tags of `repository` in the engine, sorted.
pub async fn tags(engine: &Engine, repository: &str) -> Result<Page, EngineImagesError> {
    let tagged = tagged(engine).await?;
    let items = tagged.into_iter().filter(|(r, _)| r == repository).map(|(_, tag)| tag).collect();
    Ok(Page { items, next: None })
}

/// The engine's image `reference` (`repo:tag` as `docker images` shows it).
#[instrument(skip(engine), fields(host = %engine.host()), err)]
pub async fn inspect(engine: &Engine, reference: &str) -> Result<Inspection, EngineImagesError> {
    let image = engine.docker().inspect_image(reference).await.map_err(|e| match e {
        bollard::errors::Error::DockerResponseServerError { status_code: 404, .. } => {
            EngineImagesError::NotFound { reference: reference.to_owned(), host: engine.host().to_owned() }
        }
        other => EngineError::from_bollard(engine.host(), other).into(),
    })?;
    // An image the engine cannot give the history of (its layers not unpacked, say) still shows.
    let history = engine
        .docker()
        .image_history(reference)
        .await
        .map_err(|e| format!("no history: {}", EngineError::from_bollard(engine.host(), e)));
    let parsed: ImageReference = reference.parse()?;
    Ok(inspection(reference, parsed, image, history))
}

fn inspection(
    name: &str,
    reference: ImageReference,
    image: ImageInspect,
    history: Result<Vec<ImageHistoryResponseItem>, String>,
) -> Inspection {
    let id = image.id.clone().unwrap_or_default();
    let raw = serde_json::to_string_pretty(&image).expect("the engine's own JSON serialises");
    let platform = platform_image(&id, image, history);
    let note = "from the engine's image store (docker image inspect): the engine's platform only; layers are \
                uncompressed, named by diff ID";
    let platforms = vec![platform];
    Inspection {
        name: name.to_owned(),
        cli: command_line::image_inspect(name),
        cli_raw: None,
        pull_cli: None,
        pull_by_digest: String::new(),
        reference,
        digest: id,
        media_type: String::new(),
        size: raw.len() as i64,
        kind: ManifestKind::Image,
        note: Some(note.into()),
        raw,
        annotations: Default::default(),
        size_matrix: size_matrix(&platforms),
        platforms,
        indexes: Vec::new(),
        others: Vec::new(),
        not_followed: 0,
        referrers: Vec::new(),
    }
}

fn platform_image(
    id: &str,
    image: ImageInspect,
    history: Result<Vec<ImageHistoryResponseItem>, String>,
) -> PlatformImage {
    let os = image.os.unwrap_or_default();
    let architecture = image.architecture.unwrap_or_default();
    let variant = image.variant.filter(|v| !v.is_empty());
    let mut platform = format!("{os}/{architecture}");
    if let Some(v) = &variant {
        platform = format!("{platform}/{v}");
    }
    let diff_ids = image.root_fs.and_then(|fs| fs.layers).unwrap_or_default();
    // The engine lists history newest first; the image's own order is oldest first.
    let (history, error) = match history {
        Ok(mut items) => {
            items.reverse();
            (items, None)
        }
        Err(e) => (Vec::new(), Some(e)),
    };
    // Steps that made a layer pair with the diff IDs in order; the engine marks none as empty, so a
    // step of size 0 is taken as one that made no layer when there are more steps than layers.
    let spare = history.len().saturating_sub(diff_ids.len());
    let mut empties_left = spare;
    let mut diff_id_iter = diff_ids.iter();
    let mut layer_sizes = Vec::new();
    let steps: Vec<HistoryStep> = history
        .iter()
        .map(|h| {
            let empty_layer = h.size == 0 && empties_left > 0;
            if empty_layer {
                empties_left -= 1;
            }
            let layer_digest = if empty_layer { None } else { diff_id_iter.next().cloned() };
            if layer_digest.is_some() {
                layer_sizes.push(h.size);
            }
            HistoryStep {
                created: chrono::DateTime::from_timestamp(h.created, 0).map(|t| t.to_rfc3339()),
                created_by: h.created_by.clone(),
                comment: Some(h.comment.clone()).filter(|c| !c.is_empty()),
                empty_layer,
                layer_digest,
            }
        })
        .collect();
    let layers: Vec<Layer> = diff_ids
        .iter()
        .enumerate()
        .map(|(i, diff_id)| Layer {
            digest: diff_id.clone(),
            media_type: DIFF_ID_MEDIA_TYPE.into(),
            size: layer_sizes.get(i).copied().unwrap_or(0),
            shared_by: 1,
        })
        .collect();
    let run = image.config.unwrap_or_default();
    PlatformImage {
        key: "0".into(),
        parent: None,
        platform,
        os,
        architecture,
        variant,
        os_version: image.os_version.filter(|v| !v.is_empty()),
        os_features: Vec::new(),
        digest: id.to_owned(),
        media_type: String::new(),
        manifest_size: 0,
        annotations: Default::default(),
        manifest_annotations: Default::default(),
        compressed_size: image.size.unwrap_or(0),
        config_digest: None,
        config_size: 0,
        config: Some(ImageConfig {
            created: image.created.map(|t| t.to_rfc3339()),
            author: image.author.filter(|a| !a.is_empty()),
            env: run.env.unwrap_or_default(),
            entrypoint: run.entrypoint.unwrap_or_default(),
            cmd: run.cmd.unwrap_or_default(),
            working_dir: run.working_dir.filter(|w| !w.is_empty()),
            user: run.user.filter(|u| !u.is_empty()),
            labels: run.labels.unwrap_or_default().into_iter().collect(),
            exposed_ports: run.exposed_ports.unwrap_or_default(),
            volumes: run.volumes.unwrap_or_default(),
            stop_signal: run.stop_signal.filter(|s| !s.is_empty()),
        }),
        config_raw: None,
        layers,
        history: steps,
        attestations: Vec::new(),
        referrers: Vec::new(),
        raw: None,
        cli_raw: None,
        error,
    }
}
