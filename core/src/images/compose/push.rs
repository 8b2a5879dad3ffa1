//! Pushing a composed index: first everything each tag's repository lacks (each entry's manifest
//! and blobs, mounted from the source repository on the same registry, streamed from another
//! registry, manifests put by digest), then the index under each tag. No tag is written before every
//! copy has succeeded, so a failure leaves each tag as it was. Each copied entry's referrers
//! (signatures, SBOMs attached through `subject`) come along into the tag's repository.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use ts_rs::TS;

use super::index::{go_json, Descriptor, IndexDocument};
use super::{ComposeError, Composition, EntryCopy};
use crate::images::manifest::{media_type_of, ImageDoc, ManifestKind, MAX_CONCURRENT_FETCHES, OCI_INDEX};
use crate::images::reference::ImageReference;
use crate::images::registry::{BlobTransfer, RegistryClient};

/// What a push is doing, for a progress display (buildx prints the same steps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", tag = "kind")]
#[ts(export)]
pub enum PushEvent {
    /// `digest` (with what it refers to) is being copied from `from` into `to`'s repository.
    #[serde(rename_all = "camelCase")]
    Copying { digest: String, from: String, to: String },
    /// It is there: `mounted` blobs came by cross-repository mount, `uploaded` ones were streamed.
    #[serde(rename_all = "camelCase")]
    Copied { digest: String, to: String, mounted: u32, uploaded: u32 },
    /// The index is being put under the tag `to`.
    #[serde(rename_all = "camelCase")]
    Pushing { digest: String, to: String },
    #[serde(rename_all = "camelCase")]
    Pushed { digest: String, to: String },
}

#[derive(Debug, Default, Clone, Copy)]
struct Moved {
    mounted: u32,
    uploaded: u32,
}

impl std::ops::Add for Moved {
    type Output = Moved;
    fn add(self, other: Moved) -> Moved {
        Moved { mounted: self.mounted + other.mounted, uploaded: self.uploaded + other.uploaded }
    }
}

/// Pushes `composition` under its tags, telling `on_event` each step. Refuses a composition with
/// platform conflicts, or without tags.
#[tracing::instrument(skip_all, fields(digest = %composition.digest), err)]
pub async fn push(
    client: &RegistryClient,
    composition: &Composition,
    on_event: &(dyn Fn(PushEvent) + Send + Sync),
) -> Result<(), ComposeError> {
    if let Some(conflict) = composition.conflicts.first() {
        let sources = conflict
            .sources
            .iter()
            .map(|&i| composition.sources.get(i).map_or_else(String::new, |s| s.input.clone()))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ComposeError::ConflictingPlatforms { platform: conflict.platform.clone(), sources });
    }
    let tags = &composition.plan.tags;
    if tags.is_empty() {
        return Err(ComposeError::NoTags);
    }
    let mut repositories: Vec<ImageReference> = Vec::new();
    for tag in tags {
        if !repositories.iter().any(|r| same_repository(r, tag)) {
            repositories.push(tag.clone());
        }
    }
    // What is already in a tag's repository needs no copy (buildx skips sources of that repository too).
    let copies = into_repositories(&repositories, &composition.plan.copies);
    let once = BlobsOnce::default();
    let blobs = &once;
    // Futures made up front, not in a stream's closure, so that push()'s future is Send for callers that spawn it.
    let carrying: Vec<BoxFuture<'_, Result<Moved, ComposeError>>> =
        into_repositories(&repositories, &composition.plan.referred)
            .into_iter()
            .map(|(to, entry)| carry_referrers(client, blobs, &entry.from, &entry.descriptor.digest, to))
            .collect();
    let copying: Vec<BoxFuture<'_, Result<Moved, ComposeError>>> = copies
        .into_iter()
        .map(|(to, copy)| -> BoxFuture<'_, Result<Moved, ComposeError>> {
            Box::pin(async move {
                let (digest, to_name) = (copy.descriptor.digest.clone(), to.to_string());
                let from = copy.from.to_string();
                on_event(PushEvent::Copying { digest: digest.clone(), from, to: to_name.clone() });
                let moved = copy_chain(client, blobs, &copy.from, &copy.descriptor, to).await?;
                on_event(PushEvent::Copied { digest, to: to_name, mounted: moved.mounted, uploaded: moved.uploaded });
                Ok(moved)
            })
        })
        .collect();
    all(copying).await?;
    all(carrying).await?;
    let bytes = bytes::Bytes::from(composition.json.clone().into_bytes());
    for tag in tags {
        let (digest, to) = (composition.digest.clone(), tag.to_string());
        on_event(PushEvent::Pushing { digest: digest.clone(), to: to.clone() });
        client.put_manifest(tag, &composition.media_type, bytes.clone()).await?;
        on_event(PushEvent::Pushed { digest, to });
    }
    Ok(())
}

/// Each of `entries` into each of `repositories` it is not already in.
fn into_repositories<'a>(
    repositories: &'a [ImageReference],
    entries: &'a [EntryCopy],
) -> Vec<(&'a ImageReference, &'a EntryCopy)> {
    repositories
        .iter()
        .flat_map(|to| entries.iter().filter(move |c| !same_repository(&c.from, to)).map(move |c| (to, c)))
        .collect()
}

/// Runs `copies` a bounded number at a time, adding up what they moved.
async fn all(copies: Vec<BoxFuture<'_, Result<Moved, ComposeError>>>) -> Result<Moved, ComposeError> {
    let moved: Vec<Moved> =
        futures_util::stream::iter(copies).buffer_unordered(MAX_CONCURRENT_FETCHES).try_collect().await?;
    Ok(moved.into_iter().fold(Moved::default(), |sum, m| sum + m))
}

/// One copy of each blob per repository: entries share layers, and two uploads of one blob at once
/// make the registry refuse one (buildx's pusher locks per digest for the same reason).
#[derive(Default)]
struct BlobsOnce(std::sync::Mutex<HashMap<(String, String), Once>>);

/// Set once a blob is in a repository.
type Once = Arc<tokio::sync::OnceCell<()>>;

impl BlobsOnce {
    fn cell(&self, to: &ImageReference, digest: &str) -> Once {
        let mut cells = self.0.lock().expect("lock is never poisoned");
        cells.entry((to.name(), digest.to_owned())).or_default().clone()
    }
}

fn copy_blob<'a>(
    client: &'a RegistryClient,
    blobs: &'a BlobsOnce,
    from: &'a ImageReference,
    to: &'a ImageReference,
    digest: &'a str,
    size: i64,
) -> BoxFuture<'a, Result<Moved, ComposeError>> {
    Box::pin(async move {
        let mut moved = Moved::default();
        // Whoever comes second waits for the first copy; a failed one is tried again by the next.
        blobs
            .cell(to, digest)
            .get_or_try_init(|| async {
                moved = match client.copy_blob(from, to, digest, u64::try_from(size).unwrap_or(0)).await? {
                    BlobTransfer::AlreadyThere => Moved::default(),
                    BlobTransfer::Mounted => Moved { mounted: 1, uploaded: 0 },
                    BlobTransfer::Uploaded => Moved { mounted: 0, uploaded: 1 },
                };
                Ok::<_, ComposeError>(())
            })
            .await?;
        Ok(moved)
    })
}

/// Copies the referrers of `subject` in `from`'s repository into `to`'s, and lists them there under
/// the referrers tag schema (`sha256-<hex>`, merged with what that tag listed): OCI 1.1's fallback,
/// which a registry without the referrers API (distribution 2.8) needs for them to be found. The
/// source's referrers are read as the inspector reads them: a registry that cannot list them has none.
fn carry_referrers<'a>(
    client: &'a RegistryClient,
    blobs: &'a BlobsOnce,
    from: &'a ImageReference,
    subject: &'a str,
    to: &'a ImageReference,
) -> BoxFuture<'a, Result<Moved, ComposeError>> {
    Box::pin(async move {
        let found = client.referrers(from, subject).await.unwrap_or_default();
        if found.is_empty() {
            return Ok(Moved::default());
        }
        let mut listed = client.referrers(to, subject).await.unwrap_or_default();
        let mut moved = Moved::default();
        for referrer in found {
            let descriptor = Descriptor::new(&referrer.media_type, &referrer.digest, referrer.size);
            moved = moved + copy_chain(client, blobs, from, &descriptor, to).await?;
            if !listed.iter().any(|l| l.digest == referrer.digest) {
                listed.push(referrer);
            }
        }
        let manifests = listed
            .into_iter()
            .map(|r| Descriptor {
                artifact_type: r.artifact_type.unwrap_or_default(),
                annotations: r.annotations,
                ..Descriptor::new(&r.media_type, &r.digest, r.size)
            })
            .collect();
        let index = IndexDocument {
            schema_version: 2,
            media_type: OCI_INDEX.to_owned(),
            artifact_type: String::new(),
            manifests,
            subject: None,
            annotations: Default::default(),
        };
        let tag = ImageReference { tag: Some(subject.replacen(':', "-", 1)), digest: None, ..to.clone() };
        client.put_manifest(&tag, OCI_INDEX, bytes::Bytes::from(go_json(&index))).await?;
        Ok(moved)
    })
}

fn same_repository(a: &ImageReference, b: &ImageReference) -> bool {
    a.registry == b.registry && a.repository == b.repository
}

/// Puts the manifest `descriptor` names, and all it refers to, from `from`'s repository into `to`'s.
/// A manifest already there is complete (a registry accepts a manifest only once what it refers to is in).
fn copy_chain<'a>(
    client: &'a RegistryClient,
    blobs: &'a BlobsOnce,
    from: &'a ImageReference,
    descriptor: &'a Descriptor,
    to: &'a ImageReference,
) -> BoxFuture<'a, Result<Moved, ComposeError>> {
    Box::pin(async move {
        let digest = descriptor.digest.as_str();
        if client.has_manifest(to, digest).await? {
            return Ok(Moved::default());
        }
        let source = from.by_digest(digest);
        let fetched = client.manifest(&source).await?;
        let malformed =
            |reason: String| ComposeError::Malformed { what: "manifest", reference: source.to_string(), reason };
        let media_type = match descriptor.media_type.as_str() {
            "" => {
                media_type_of(&fetched.bytes, fetched.content_type.as_deref()).map_err(|e| malformed(e.to_string()))?
            }
            known => known.to_owned(),
        };
        let moved = match ManifestKind::of_media_type(&media_type) {
            ManifestKind::Index => {
                let index: IndexDocument =
                    serde_json::from_slice(&fetched.bytes).map_err(|e| malformed(e.to_string()))?;
                let children: Vec<_> =
                    index.manifests.iter().map(|child| copy_chain(client, blobs, from, child, to)).collect();
                all(children).await?
            }
            ManifestKind::Image => {
                let image: ImageDoc = serde_json::from_slice(&fetched.bytes).map_err(|e| malformed(e.to_string()))?;
                let layers = std::iter::once(&image.config).chain(image.layers.iter());
                all(layers.map(|blob| copy_blob(client, blobs, from, to, &blob.digest, blob.size)).collect()).await?
            }
            ManifestKind::Schema1 | ManifestKind::Unknown => {
                return Err(malformed(format!("cannot copy a manifest of media type {media_type}")))
            }
        };
        client.put_manifest(&to.by_digest(digest), &media_type, fetched.bytes).await?;
        Ok(moved)
    })
}
