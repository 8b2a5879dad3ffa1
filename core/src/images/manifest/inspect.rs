//! Inspecting a reference: its manifest, and for an index every platform's manifest and config and
//! every attestation, fetched concurrently. Attestations are folded under the platform named by their
//! `vnd.docker.reference.digest`; nested indexes are followed up to [`MAX_DEPTH`] levels and kept as
//! the tree they are (every entry has a key, its position: `1.0` is the first entry of the index at `1`).
//! Each digest is fetched once, however often it is listed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::future::{join_all, BoxFuture, FutureExt};
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore};
use ts_rs::TS;

use super::attestation::{self, Attestation, AttestationStatement, PREDICATE_TYPE};
use super::compare::{mark_shared_layers, size_matrix, SizeMatrix};
use super::{
    media_type_of, Descriptor, ImageDoc, IndexDoc, ManifestKind, RawPlatform, ATTESTATION_MANIFEST, REFERENCE_DIGEST,
    REFERENCE_TYPE,
};
use crate::images::command_line;
use crate::images::reference::ImageReference;
use crate::images::registry::{FetchedManifest, Referrer, RegistryClient, RegistryError, MAX_BLOB_BYTES};

/// How deep indexes may nest (an index listing indexes listing …).
pub const MAX_DEPTH: usize = 8;
/// In-toto statements larger than this are listed but not read (SBOMs of big images can be huge).
const MAX_STATEMENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("refused index {digest}: it lists itself")]
    SelfListing { digest: String },
    #[error("refused index {digest}: indexes nest deeper than {MAX_DEPTH} levels")]
    TooDeep { digest: String },
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct InspectOptions {
    /// Also ask the registry for OCI referrers of the index and of each platform.
    pub referrers: bool,
    pub depth: Depth,
}

/// How far below the manifests the inspector reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Depth {
    /// Manifests only: platforms, sizes, layers and attestation kinds, in one wave of requests after
    /// the index. Enough for a listing like `imagetools inspect`'s text.
    Manifests,
    /// Also each platform's config (and with it history, and the platform of a bare manifest) and the
    /// provenance and SBOM statements.
    #[default]
    Full,
}

/// Everything the inspector shows for one reference.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Inspection {
    /// The normalised reference, as `imagetools inspect` prints it in `Name:`.
    pub name: String,
    pub reference: ImageReference,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub kind: ManifestKind,
    /// Why the manifest is shown raw only, for schema 1 and unknown kinds.
    pub note: Option<String>,
    /// The exact manifest bytes (UTF-8; manifests are JSON).
    pub raw: String,
    /// The manifest's or index's own annotations.
    pub annotations: BTreeMap<String, String>,
    /// Every platform image, in tree order; nested ones name the index they are in as `parent`.
    pub platforms: Vec<PlatformImage>,
    /// Indexes listed by the index (or by one of those), in tree order.
    pub indexes: Vec<NestedIndex>,
    /// Index entries that are neither a platform image nor an attestation of one.
    pub others: Vec<OtherEntry>,
    /// Entries not followed because of [`MAX_ENTRIES_PER_INDEX`] or [`MAX_ENTRIES_TOTAL`] (named in `note`).
    pub not_followed: usize,
    pub referrers: Vec<Referrer>,
    pub size_matrix: SizeMatrix,
    /// `name@digest`.
    pub pull_by_digest: String,
    /// The `docker buildx imagetools inspect` command for the same reference.
    pub cli: String,
    /// The same with `--raw`: it prints [`Inspection::raw`]; none for the engine's store.
    pub cli_raw: Option<String>,
    /// `docker pull` by digest; none when there is no registry digest to pull by.
    pub pull_cli: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OtherEntry {
    /// Its position in the index tree.
    pub key: String,
    /// The key of the nested index that lists it; none at the top.
    pub parent: Option<String>,
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub annotations: BTreeMap<String, String>,
}

/// An index listed by an index: its entry, its own annotations, and where it sits in the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct NestedIndex {
    pub key: String,
    pub parent: Option<String>,
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    /// The platform its entry names, if it names one.
    pub platform: Option<String>,
    pub os_version: Option<String>,
    /// The entry's (descriptor's) annotations.
    pub annotations: BTreeMap<String, String>,
    /// The nested index's own annotations.
    pub index_annotations: BTreeMap<String, String>,
    /// Its entries left out by the caps.
    pub not_followed: usize,
    pub raw: Option<String>,
    /// Why it could not be read; the rest of the tree is still shown.
    pub error: Option<String>,
}

/// One platform's image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlatformImage {
    /// Its position in the index tree (`0`, `1.2`): unique in an inspection, where the digest is not
    /// (one manifest may be listed under two platforms).
    #[serde(default)]
    pub key: String,
    /// The key of the nested index that lists it; none at the top.
    #[serde(default)]
    pub parent: Option<String>,
    /// `linux/arm/v7`; `unknown/unknown` only when neither the index nor the config says.
    pub platform: String,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub os_version: Option<String>,
    pub os_features: Vec<String>,
    pub digest: String,
    pub media_type: String,
    /// Size of the manifest itself, as the index lists it.
    pub manifest_size: i64,
    /// The index entry's (descriptor's) annotations.
    pub annotations: BTreeMap<String, String>,
    /// The manifest's own annotations.
    #[serde(default)]
    pub manifest_annotations: BTreeMap<String, String>,
    /// Sum of the compressed layer sizes.
    pub compressed_size: i64,
    pub config_digest: Option<String>,
    pub config_size: i64,
    pub config: Option<ImageConfig>,
    /// The config's exact bytes.
    pub config_raw: Option<String>,
    pub layers: Vec<Layer>,
    pub history: Vec<HistoryStep>,
    pub attestations: Vec<Attestation>,
    pub referrers: Vec<Referrer>,
    /// The manifest's exact bytes.
    pub raw: Option<String>,
    /// `imagetools inspect --raw` of this manifest by digest, when it is listed by an index.
    #[serde(default)]
    pub cli_raw: Option<String>,
    /// Why this platform could not be read in full; the others are still shown.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Layer {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    /// How many platforms of the index carry this same layer.
    pub shared_by: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImageConfig {
    pub created: Option<String>,
    pub author: Option<String>,
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub exposed_ports: Vec<String>,
    pub volumes: Vec<String>,
    pub stop_signal: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct HistoryStep {
    pub created: Option<String>,
    pub created_by: String,
    pub comment: Option<String>,
    pub empty_layer: bool,
    /// The layer this step made (history and layers pair up in order, skipping empty steps).
    pub layer_digest: Option<String>,
}

/// The image config JSON, the fields the inspector shows.
#[derive(Debug, Default, Deserialize)]
struct ConfigDoc {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(rename = "os.version", default)]
    os_version: Option<String>,
    #[serde(default)]
    config: Option<RunConfig>,
    #[serde(default)]
    history: Vec<HistoryDoc>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig {
    #[serde(default)]
    env: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
    #[serde(default)]
    cmd: Option<Vec<String>>,
    #[serde(default)]
    working_dir: Option<String>,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    volumes: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    stop_signal: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct HistoryDoc {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

fn lossless_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn platform_name(os: &str, arch: &str, variant: Option<&str>) -> String {
    let os = if os.is_empty() { "unknown" } else { os };
    let arch = if arch.is_empty() { "unknown" } else { arch };
    match variant.filter(|v| !v.is_empty()) {
        Some(v) => format!("{os}/{arch}/{v}"),
        None => format!("{os}/{arch}"),
    }
}

fn malformed(what: String, e: serde_json::Error) -> InspectError {
    InspectError::Malformed { what, reason: e.to_string() }
}

/// Inspects `reference` the way `docker buildx imagetools inspect` would, and more.
pub async fn inspect(
    client: &RegistryClient,
    reference: &ImageReference,
    options: InspectOptions,
) -> Result<Inspection, InspectError> {
    Ok(inspect_keeping(client, reference, options, false).await?.0)
}

/// The predicates of the provenance and SBOM statements an inspection read, by statement digest:
/// what `imagetools inspect --format` prints of `.Provenance` and `.SBOM`. The inspection only keeps
/// their summaries, as whole SBOMs would weigh on every view that never prints them.
#[derive(Debug, Default)]
pub struct Predicates(pub(super) HashMap<String, serde_json::Value>);

impl Predicates {
    /// The predicate of the statement `digest`, as buildx reads it; `None` if it was not read.
    pub fn of_statement(&self, digest: &str) -> Option<&serde_json::Value> {
        self.0.get(digest)
    }
}

/// [`inspect`], keeping the predicates of the statements it reads (at [`Depth::Full`]).
pub async fn inspect_with_predicates(
    client: &RegistryClient,
    reference: &ImageReference,
    options: InspectOptions,
) -> Result<(Inspection, Predicates), InspectError> {
    inspect_keeping(client, reference, options, true).await
}

#[tracing::instrument(skip(client), fields(reference = %reference), err)]
async fn inspect_keeping(
    client: &RegistryClient,
    reference: &ImageReference,
    options: InspectOptions,
    keep_predicates: bool,
) -> Result<(Inspection, Predicates), InspectError> {
    let fetched = client.manifest(reference).await?;
    let what = format!("manifest {reference}");
    let media_type =
        media_type_of(&fetched.bytes, fetched.content_type.as_deref()).map_err(|e| malformed(what.clone(), e))?;
    let kind = ManifestKind::of_media_type(&media_type);
    let mut inspection = Inspection {
        name: reference.to_string(),
        reference: reference.clone(),
        digest: fetched.digest.clone(),
        size: fetched.bytes.len() as i64,
        kind,
        note: None,
        raw: lossless_text(&fetched.bytes),
        annotations: BTreeMap::new(),
        platforms: Vec::new(),
        indexes: Vec::new(),
        others: Vec::new(),
        not_followed: 0,
        referrers: Vec::new(),
        size_matrix: SizeMatrix::default(),
        pull_by_digest: reference.pinned(&fetched.digest),
        cli: command_line::imagetools_inspect(&reference.to_string()),
        cli_raw: Some(command_line::imagetools_inspect_raw(&reference.to_string())),
        pull_cli: Some(command_line::pull(&reference.pinned(&fetched.digest))),
        media_type: media_type.clone(),
    };
    let walker = Walker::new(client, reference, options.depth, keep_predicates);
    let referrers = async {
        if options.referrers {
            walker.referrers(&fetched.digest).await
        } else {
            Vec::new()
        }
    };
    match kind {
        ManifestKind::Schema1 => {
            inspection.note = Some("Docker schema 1 manifest: deprecated and not inspected, shown raw".into());
            inspection.referrers = referrers.await;
        }
        ManifestKind::Unknown => {
            inspection.note = Some(format!("unknown media type {media_type}: shown raw"));
            inspection.referrers = referrers.await;
        }
        ManifestKind::Image => {
            let doc: ImageDoc = serde_json::from_slice(&fetched.bytes).map_err(|e| malformed(what, e))?;
            inspection.annotations = doc.annotations.clone();
            let descriptor = Descriptor {
                media_type: media_type.clone(),
                digest: fetched.digest.clone(),
                size: fetched.bytes.len() as i64,
                ..Default::default()
            };
            let image = empty_platform(&descriptor, "0", None);
            let (platform, referrers) = futures_util::join!(
                image_from_doc(&walker, image, &descriptor, doc, lossless_text(&fetched.bytes)),
                referrers
            );
            inspection.platforms.push(platform);
            inspection.referrers = referrers;
        }
        ManifestKind::Index => {
            let doc: IndexDoc = serde_json::from_slice(&fetched.bytes).map_err(|e| malformed(what, e))?;
            inspection.annotations = doc.annotations.clone();
            let chain = vec![fetched.digest.clone()];
            let (walked, referrers) = futures_util::join!(walk_index(&walker, doc, chain, None), referrers);
            let mut walked = walked?;
            walked.platforms.sort_by_cached_key(|p| tree_order(&p.key));
            walked.indexes.sort_by_cached_key(|i| tree_order(&i.key));
            walked.others.sort_by_cached_key(|o| tree_order(&o.key));
            inspection.platforms = walked.platforms;
            inspection.indexes = walked.indexes;
            inspection.others = walked.others;
            inspection.not_followed = walked.not_followed;
            inspection.referrers = referrers;
            if walked.not_followed > 0 {
                inspection.note = Some(format!(
                    "{} entries not followed: Buildlane follows at most {MAX_ENTRIES_PER_INDEX} entries of one index and {MAX_ENTRIES_TOTAL} in all",
                    walked.not_followed
                ));
            }
        }
    }
    if kind == ManifestKind::Index {
        for platform in &mut inspection.platforms {
            let pinned = reference.by_digest(&platform.digest).to_string();
            platform.cli_raw = Some(command_line::imagetools_inspect_raw(&pinned));
        }
    }
    if options.referrers && kind == ManifestKind::Index {
        let mut digests: Vec<&str> = inspection.platforms.iter().map(|p| p.digest.as_str()).collect();
        digests.sort_unstable();
        digests.dedup();
        let found = join_all(digests.iter().map(|d| async { (d.to_string(), walker.referrers(d).await) })).await;
        let found: HashMap<String, Vec<Referrer>> = found.into_iter().collect();
        for platform in &mut inspection.platforms {
            platform.referrers = found.get(&platform.digest).cloned().unwrap_or_default();
        }
    }
    mark_shared_layers(&mut inspection.platforms);
    inspection.size_matrix = size_matrix(&inspection.platforms);
    let predicates = walker.predicates.map(|kept| kept.into_inner().expect("lock is never poisoned"));
    Ok((inspection, Predicates(predicates.unwrap_or_default())))
}

/// Entries of one index that are followed; the rest are counted and named in the inspection's note.
/// Real indexes (a platform per architecture and OS version, an attestation each) stay far below it.
pub const MAX_ENTRIES_PER_INDEX: usize = 256;
/// Entries followed in one inspection, nested indexes included: what a hostile registry can make one
/// inspect fetch is bounded, and what was not followed is counted rather than failing the whole view.
pub const MAX_ENTRIES_TOTAL: usize = 1024;
/// Registry requests one inspection has in flight at once: a busy multi-platform index (a dozen
/// platforms, an attestation each) is still read in one wave, a hostile one cannot open hundreds.
pub const MAX_CONCURRENT_FETCHES: usize = 16;

type Shared<T> = Arc<OnceCell<Result<T, String>>>;

/// One inspection's reads: each digest fetched once however often it is listed, at most
/// [`MAX_CONCURRENT_FETCHES`] requests at a time, and a budget of [`MAX_ENTRIES_TOTAL`] entries.
struct Walker<'a> {
    client: &'a RegistryClient,
    reference: &'a ImageReference,
    depth: Depth,
    permits: Semaphore,
    manifests: Mutex<HashMap<String, Shared<FetchedManifest>>>,
    blobs: Mutex<HashMap<(String, usize), Shared<Bytes>>>,
    budget: Mutex<usize>,
    /// The predicates of the statements read, when the caller wants them whole.
    predicates: Option<Mutex<HashMap<String, serde_json::Value>>>,
}

impl<'a> Walker<'a> {
    fn new(client: &'a RegistryClient, reference: &'a ImageReference, depth: Depth, keep_predicates: bool) -> Self {
        Walker {
            client,
            reference,
            depth,
            permits: Semaphore::new(MAX_CONCURRENT_FETCHES),
            manifests: Mutex::new(HashMap::new()),
            blobs: Mutex::new(HashMap::new()),
            budget: Mutex::new(MAX_ENTRIES_TOTAL),
            predicates: keep_predicates.then(Mutex::default),
        }
    }

    /// Takes up to `wanted` entries from the total budget; returns how many may be followed.
    fn take(&self, wanted: usize) -> usize {
        let mut budget = self.budget.lock().expect("lock is never poisoned");
        let granted = wanted.min(*budget);
        *budget -= granted;
        granted
    }

    async fn manifest(&self, digest: &str) -> Result<FetchedManifest, String> {
        let cell = self.manifests.lock().expect("lock is never poisoned").entry(digest.to_owned()).or_default().clone();
        cell.get_or_init(|| async {
            let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
            self.client.manifest(&self.reference.by_digest(digest)).await.map_err(|e| e.to_string())
        })
        .await
        .clone()
    }

    async fn blob(&self, digest: &str, limit: usize) -> Result<Bytes, String> {
        let key = (digest.to_owned(), limit);
        let cell = self.blobs.lock().expect("lock is never poisoned").entry(key).or_default().clone();
        cell.get_or_init(|| async {
            let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
            self.client.blob(self.reference, digest, limit).await.map_err(|e| e.to_string())
        })
        .await
        .clone()
    }

    /// A registry without the referrers API (or its tag schema) simply has none to show.
    async fn referrers(&self, digest: &str) -> Vec<Referrer> {
        let _permit = self.permits.acquire().await.expect("the semaphore is never closed");
        self.client.referrers(self.reference, digest).await.unwrap_or_default()
    }
}

/// What an index holds, nested indexes included.
#[derive(Default)]
struct Walked {
    platforms: Vec<PlatformImage>,
    indexes: Vec<NestedIndex>,
    others: Vec<OtherEntry>,
    not_followed: usize,
}

fn entry_key(parent: Option<&str>, position: usize) -> String {
    match parent {
        Some(parent) => format!("{parent}.{position}"),
        None => position.to_string(),
    }
}

/// Orders entry keys as the tree lists them: `2` before `10`, `1.3` after `1`.
pub(super) fn tree_order(key: &str) -> Vec<usize> {
    key.split('.').map(|part| part.parse().unwrap_or(usize::MAX)).collect()
}

fn other_entry(descriptor: &Descriptor, key: String, parent: Option<&str>) -> OtherEntry {
    OtherEntry {
        key,
        parent: parent.map(str::to_owned),
        digest: descriptor.digest.clone(),
        media_type: descriptor.media_type.clone(),
        artifact_type: descriptor.artifact_type.clone(),
        size: descriptor.size,
        annotations: descriptor.annotations.clone(),
    }
}

/// The entries of an index as they are: platform images, nested indexes (walked one after another,
/// so which entries the total budget leaves out does not depend on timing), attestations folded under
/// their subject, anything else kept aside.
fn walk_index<'a>(
    walker: &'a Walker<'a>,
    doc: IndexDoc,
    chain: Vec<String>,
    parent: Option<String>,
) -> BoxFuture<'a, Result<Walked, InspectError>> {
    async move {
        let own = chain.last().cloned().unwrap_or_default();
        if chain.len() > MAX_DEPTH {
            return Err(InspectError::TooDeep { digest: own });
        }
        let listed = doc.manifests.len();
        let followed = walker.take(listed.min(MAX_ENTRIES_PER_INDEX));
        let mut walked = Walked { not_followed: listed - followed, ..Walked::default() };
        let (mut images, mut attestations, mut nested) = (Vec::new(), Vec::new(), Vec::new());
        for (position, entry) in doc.manifests.into_iter().take(followed).enumerate() {
            if chain.contains(&entry.digest) {
                return Err(InspectError::SelfListing { digest: entry.digest });
            }
            let key = entry_key(parent.as_deref(), position);
            let is_attestation = entry.annotations.get(REFERENCE_TYPE).map(String::as_str)
                == Some(ATTESTATION_MANIFEST)
                || entry.annotations.contains_key(REFERENCE_DIGEST);
            match ManifestKind::of_media_type(&entry.media_type) {
                _ if is_attestation => attestations.push((key, entry)),
                ManifestKind::Image => images.push((key, entry)),
                ManifestKind::Index => nested.push((key, entry)),
                _ => walked.others.push(other_entry(&entry, key, parent.as_deref())),
            }
        }
        let image_futures = join_all(images.iter().map(|(key, d)| platform_image(walker, d, key, parent.as_deref())));
        let attestation_futures = join_all(attestations.iter().map(|(_, d)| read_attestation(walker, d)));
        let (platforms, read) = futures_util::join!(image_futures, attestation_futures);
        walked.platforms = platforms;
        for ((key, descriptor), attestation) in attestations.iter().zip(read) {
            let subject = descriptor.annotations.get(REFERENCE_DIGEST);
            // One manifest listed under two platforms is attested once, for both.
            let mut owners = walked.platforms.iter_mut().filter(|p| Some(&p.digest) == subject).peekable();
            if owners.peek().is_none() {
                // An attestation whose subject is not in this index is not a platform either.
                walked.others.push(other_entry(descriptor, key.clone(), parent.as_deref()));
            }
            for owner in owners {
                owner.attestations.push(attestation.clone());
            }
        }
        for (key, descriptor) in nested {
            let mut node = nested_index(&descriptor, key.clone(), parent.as_deref());
            let child = walker.manifest(&descriptor.digest).await.and_then(|fetched| {
                node.raw = Some(lossless_text(&fetched.bytes));
                serde_json::from_slice::<IndexDoc>(&fetched.bytes)
                    .map_err(|e| format!("malformed index {}: {e}", descriptor.digest))
            });
            match child {
                Ok(child) => {
                    node.index_annotations = child.annotations.clone();
                    let mut chain = chain.clone();
                    chain.push(descriptor.digest.clone());
                    let below = walk_index(walker, child, chain, Some(key)).await?;
                    node.not_followed = below.not_followed;
                    walked.not_followed += below.not_followed;
                    walked.platforms.extend(below.platforms);
                    walked.indexes.extend(below.indexes);
                    walked.others.extend(below.others);
                }
                Err(e) => node.error = Some(e),
            }
            walked.indexes.push(node);
        }
        Ok(walked)
    }
    .boxed()
}

fn nested_index(descriptor: &Descriptor, key: String, parent: Option<&str>) -> NestedIndex {
    let platform = descriptor.platform.as_ref();
    NestedIndex {
        key,
        parent: parent.map(str::to_owned),
        digest: descriptor.digest.clone(),
        media_type: descriptor.media_type.clone(),
        size: descriptor.size,
        platform: platform.map(|p| platform_name(&p.os, &p.architecture, p.variant.as_deref())),
        os_version: platform.and_then(|p| non_empty(p.os_version.clone())),
        annotations: descriptor.annotations.clone(),
        index_annotations: BTreeMap::new(),
        not_followed: 0,
        raw: None,
        error: None,
    }
}

fn empty_platform(descriptor: &Descriptor, key: &str, parent: Option<&str>) -> PlatformImage {
    let p = descriptor.platform.clone().unwrap_or_default();
    PlatformImage {
        key: key.to_owned(),
        parent: parent.map(str::to_owned),
        platform: platform_name(&p.os, &p.architecture, p.variant.as_deref()),
        os: p.os,
        architecture: p.architecture,
        variant: non_empty(p.variant),
        os_version: non_empty(p.os_version),
        os_features: p.os_features,
        digest: descriptor.digest.clone(),
        media_type: descriptor.media_type.clone(),
        manifest_size: descriptor.size,
        annotations: descriptor.annotations.clone(),
        manifest_annotations: BTreeMap::new(),
        compressed_size: 0,
        config_digest: None,
        config_size: 0,
        config: None,
        config_raw: None,
        layers: Vec::new(),
        history: Vec::new(),
        attestations: Vec::new(),
        referrers: Vec::new(),
        raw: None,
        cli_raw: None,
        error: None,
    }
}

/// One index entry's image; a failure is kept on the platform so the other platforms still show.
async fn platform_image(
    walker: &Walker<'_>,
    descriptor: &Descriptor,
    key: &str,
    parent: Option<&str>,
) -> PlatformImage {
    let fetched = match walker.manifest(&descriptor.digest).await {
        Ok(f) => f,
        Err(e) => {
            let mut image = empty_platform(descriptor, key, parent);
            image.error = Some(e);
            return image;
        }
    };
    let image = empty_platform(descriptor, key, parent);
    match serde_json::from_slice::<ImageDoc>(&fetched.bytes) {
        Ok(doc) => image_from_doc(walker, image, descriptor, doc, lossless_text(&fetched.bytes)).await,
        Err(e) => {
            let mut image = image;
            image.raw = Some(lossless_text(&fetched.bytes));
            image.error = Some(format!("malformed manifest {}: {e}", descriptor.digest));
            image
        }
    }
}

async fn image_from_doc(
    walker: &Walker<'_>,
    mut image: PlatformImage,
    descriptor: &Descriptor,
    doc: ImageDoc,
    raw: String,
) -> PlatformImage {
    image.raw = Some(raw);
    image.manifest_annotations = doc.annotations.clone();
    image.compressed_size = doc.layers.iter().map(|l| l.size).sum();
    image.config_digest = Some(doc.config.digest.clone());
    image.config_size = doc.config.size;
    image.layers = doc
        .layers
        .iter()
        .map(|l| Layer { digest: l.digest.clone(), media_type: l.media_type.clone(), size: l.size, shared_by: 1 })
        .collect();
    if walker.depth == Depth::Manifests {
        return image;
    }
    let config_bytes = match walker.blob(&doc.config.digest, MAX_BLOB_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => {
            image.error = Some(e);
            return image;
        }
    };
    image.config_raw = Some(lossless_text(&config_bytes));
    let config: ConfigDoc = match serde_json::from_slice(&config_bytes) {
        Ok(c) => c,
        Err(e) => {
            image.error = Some(format!("malformed config {}: {e}", doc.config.digest));
            return image;
        }
    };
    // A manifest without a platform in its index entry (or no index at all) takes it from its config.
    if descriptor.platform.is_none() {
        let p = RawPlatform {
            architecture: config.architecture.clone(),
            os: config.os.clone(),
            os_version: config.os_version.clone(),
            os_features: Vec::new(),
            variant: config.variant.clone(),
        };
        image.platform = platform_name(&p.os, &p.architecture, p.variant.as_deref());
        image.os = p.os;
        image.architecture = p.architecture;
        image.variant = non_empty(p.variant);
        image.os_version = non_empty(p.os_version);
    }
    let mut layer_digests = doc.layers.iter().map(|l| l.digest.clone());
    image.history = config
        .history
        .iter()
        .map(|h| HistoryStep {
            created: h.created.clone(),
            created_by: h.created_by.clone().unwrap_or_default(),
            comment: non_empty(h.comment.clone()),
            empty_layer: h.empty_layer,
            layer_digest: if h.empty_layer { None } else { layer_digests.next() },
        })
        .collect();
    let run = config.config.unwrap_or_default();
    image.config = Some(ImageConfig {
        created: config.created,
        author: non_empty(config.author),
        env: run.env.unwrap_or_default(),
        entrypoint: run.entrypoint.unwrap_or_default(),
        cmd: run.cmd.unwrap_or_default(),
        working_dir: non_empty(run.working_dir),
        user: non_empty(run.user),
        labels: run.labels.unwrap_or_default(),
        exposed_ports: run.exposed_ports.map(|p| p.into_keys().collect()).unwrap_or_default(),
        volumes: run.volumes.map(|v| v.into_keys().collect()).unwrap_or_default(),
        stop_signal: non_empty(run.stop_signal),
    });
    image
}

/// Reads an attestation manifest and its in-toto statements (provenance and SBOM summarised).
async fn read_attestation(walker: &Walker<'_>, descriptor: &Descriptor) -> Attestation {
    let mut attestation = Attestation {
        digest: descriptor.digest.clone(),
        media_type: descriptor.media_type.clone(),
        size: descriptor.size,
        annotations: descriptor.annotations.clone(),
        statements: Vec::new(),
        provenance: None,
        sbom: None,
        error: None,
    };
    let doc = walker.manifest(&descriptor.digest).await.and_then(|f| {
        serde_json::from_slice::<ImageDoc>(&f.bytes).map_err(|e| format!("malformed attestation manifest: {e}"))
    });
    let doc = match doc {
        Ok(doc) => doc,
        Err(e) => {
            attestation.error = Some(e);
            return attestation;
        }
    };
    attestation.statements = doc
        .layers
        .iter()
        .map(|l| AttestationStatement {
            predicate_type: l.annotations.get(PREDICATE_TYPE).cloned().unwrap_or_default(),
            media_type: l.media_type.clone(),
            digest: l.digest.clone(),
            size: l.size,
        })
        .collect();
    if walker.depth == Depth::Manifests {
        return attestation;
    }
    let wanted = attestation.statements.iter().filter(|s| {
        (attestation::is_provenance(&s.predicate_type) || attestation::is_sbom(&s.predicate_type))
            && s.size <= MAX_STATEMENT_BYTES as i64
    });
    let read = join_all(wanted.map(|s| async move {
        let bytes = walker.blob(&s.digest, MAX_STATEMENT_BYTES).await?;
        let bad = |e: String| format!("malformed in-toto statement {}: {e}", s.digest);
        let bytes = attestation::statement_bytes(&bytes, &s.media_type).map_err(bad)?;
        let statement: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if let Some(kept) = &walker.predicates {
            let predicate = attestation::predicate_as_go_reads_it(&statement);
            kept.lock().expect("lock is never poisoned").insert(s.digest.clone(), predicate);
        }
        Ok::<_, String>((s.predicate_type.clone(), statement))
    }))
    .await;
    for result in read {
        match result {
            Ok((predicate_type, statement)) if attestation::is_provenance(&predicate_type) => {
                attestation.provenance = Some(attestation::provenance(&statement));
            }
            Ok((_, statement)) => attestation.sbom = Some(attestation::sbom(&statement)),
            Err(e) => attestation.error = Some(e),
        }
    }
    attestation
}
