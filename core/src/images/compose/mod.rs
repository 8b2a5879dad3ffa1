//! Composing an index from images already in registries, as `docker buildx imagetools create` does
//! (buildx 0.13.1's commands/imagetools/create.go and util/imagetools/create.go): sources are tags,
//! digests or indexes; a single-platform source is described with the platform its config names;
//! an index source brings all its entries; entries met twice are merged by digest; the result is a
//! Docker manifest list when every entry is a Docker manifest, else an OCI index with the
//! `index:` and `manifest-descriptor:` annotations asked for; one index source without annotations
//! is kept byte for byte. Beyond 0.13.1, as later buildx does: `--prefer-index=false` (one
//! single-platform source stays a manifest), a platform filter (`--platform`; attestations follow
//! the platform they describe). Beyond buildx: entries removed by digest, and two sources bringing
//! the same platform are a conflict to resolve rather than an index a puller reads one way.
//! [`plan`] makes the document (the dry run); [`push`] copies what each tag's repository lacks and
//! then puts the index under each tag.

mod annotations;
pub(crate) mod index;
mod push;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

pub use push::{push, PushEvent};

use crate::images::command_line;
use crate::images::manifest::{
    media_type_of, ImageDoc, ManifestKind, ATTESTATION_MANIFEST, DOCKER_LIST, MAX_CONCURRENT_FETCHES,
    MAX_ENTRIES_TOTAL, OCI_INDEX, REFERENCE_DIGEST, REFERENCE_TYPE,
};
use crate::images::reference::ImageReference;
use crate::images::registry::{RegistryClient, RegistryError, MAX_BLOB_BYTES};
use crate::platform::{Platform, PlatformError};
use annotations::{Annotation, Level};
use index::{go_json, Descriptor, IndexDocument};

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("no sources specified")]
    NoSources,
    #[error("can't push with no tags specified, please set --tag or --dry-run")]
    NoTags,
    #[error("invalid tag \"{tag}\": {reason}")]
    InvalidTag { tag: String, reason: String },
    #[error("invalid source \"{input}\": {reason}")]
    InvalidSource { input: String, reason: String },
    #[error("multiple repositories specified, cannot infer repository for \"{input}\"")]
    CannotInferRepository { input: String },
    #[error("no repositories specified, please set a reference in tag or source")]
    NoRepository,
    #[error(transparent)]
    InvalidAnnotation(#[from] crate::annotation::AnnotationError),
    #[error("annotation \"{annotation}\": {why}")]
    UnsupportedAnnotation { annotation: String, why: &'static str },
    #[error(transparent)]
    InvalidPlatform(#[from] PlatformError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{reference} is a schema 1 manifest: schema1 manifests are not allowed in manifest lists")]
    Schema1 { reference: String },
    #[error("malformed {what} {reference}: {reason}")]
    Malformed { what: &'static str, reference: String, reason: String },
    #[error("{platform} comes from more than one source ({sources}): remove all but one of them")]
    ConflictingPlatforms { platform: String, sources: String },
    #[error("none of the manifests match the platforms {platforms}")]
    NoPlatformMatches { platforms: String },
    #[error("nothing left to compose: every entry was removed")]
    NothingLeft,
    #[error("{count} entries in one index: Buildlane composes at most {MAX_ENTRIES_TOTAL}")]
    TooManyEntries { count: usize },
}

/// What to compose, as `imagetools create`'s flags say it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ComposeRequest {
    /// References (`repo:tag`, `repo@sha256:…`, indexes too), or bare digests in the one repository named.
    pub sources: Vec<String>,
    /// Where the result goes (`-t`).
    pub tags: Vec<String>,
    /// `index:KEY=VALUE`, `manifest-descriptor[PLATFORM]:KEY=VALUE` (`--annotation`).
    pub annotations: Vec<String>,
    /// Add to the index the first tag holds (`--append`).
    pub append: bool,
    /// With one single-platform source: an index of one (buildx's default) rather than the manifest itself.
    pub prefer_index: bool,
    /// Keep only these platforms and their attestations; none keeps all (`--platform`).
    pub platforms: Vec<String>,
    /// Entries left out by digest, with their attestations.
    pub exclude: Vec<String>,
}

impl ComposeRequest {
    /// `docker buildx imagetools create -t TAG… SOURCE…` with buildx's defaults.
    pub fn new(sources: Vec<String>, tags: Vec<String>) -> Self {
        ComposeRequest {
            sources,
            tags,
            annotations: Vec::new(),
            append: false,
            prefer_index: true,
            platforms: Vec::new(),
            exclude: Vec::new(),
        }
    }
}

/// A source as it was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ComposedSource {
    /// As given (for `--append`, the first tag).
    pub input: String,
    /// The full reference it was read from.
    pub reference: String,
    pub digest: String,
    pub media_type: String,
    /// The platforms it brings (`unknown/unknown` entries, attestations, not counted).
    pub platforms: Vec<String>,
}

/// One entry of the composed index (or the one manifest, without `--prefer-index`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ComposedEntry {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    /// `os/arch[/variant]`, when the descriptor names one.
    pub platform: Option<String>,
    /// The digest of the manifest this attestation describes.
    pub attests: Option<String>,
    /// Which of [`Composition::sources`] brought it.
    pub source: usize,
    pub annotations: BTreeMap<String, String>,
}

/// One platform brought by more than one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlatformConflict {
    pub platform: String,
    pub digests: Vec<String>,
    pub sources: Vec<usize>,
}

/// The composed document, what it holds and where it goes: the dry run, and what [`push`] pushes.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Composition {
    /// The exact document (what `--dry-run` prints).
    pub json: String,
    pub media_type: String,
    pub digest: String,
    pub size: i64,
    pub tags: Vec<String>,
    pub sources: Vec<ComposedSource>,
    pub entries: Vec<ComposedEntry>,
    /// Entries the sources brought that the platform filter or the exclusions left out.
    pub dropped: Vec<ComposedEntry>,
    /// Platforms brought by several sources: [`push`] refuses until one of each is removed.
    pub conflicts: Vec<PlatformConflict>,
    /// The `docker buildx imagetools create` line for the same request.
    pub command_line: String,
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) plan: PushPlan,
}

/// What pushing needs beyond the document: the parsed tags, what to copy from where (a source
/// index that brings every entry it has is copied whole, as buildx copies each source, so its own
/// index lands in the tag's repository too; other entries one by one), and the entries whose
/// referrers come along.
#[derive(Debug, Clone, Default)]
pub(crate) struct PushPlan {
    tags: Vec<ImageReference>,
    copies: Vec<EntryCopy>,
    referred: Vec<EntryCopy>,
}

#[derive(Debug, Clone)]
pub(crate) struct EntryCopy {
    from: ImageReference,
    descriptor: Descriptor,
}

/// A source read from its registry.
struct Resolved {
    input: String,
    reference: ImageReference,
    bytes: Bytes,
    /// As buildx's resolver describes it: media type, digest, size, and for one image its platform.
    descriptor: Descriptor,
}

/// Makes the index `request` describes, reading every source (and a single-platform source's config);
/// nothing is written.
#[tracing::instrument(skip(client), err)]
pub async fn plan(client: &RegistryClient, request: &ComposeRequest) -> Result<Composition, ComposeError> {
    let tags = parse_tags(&request.tags)?;
    let mut inputs: Vec<String> =
        request.sources.iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    if request.append {
        if let Some(first) = request.tags.first() {
            inputs.insert(0, first.trim().to_owned());
        }
    }
    if inputs.is_empty() {
        return Err(ComposeError::NoSources);
    }
    let annotations = request.annotations.iter().map(|a| annotations::parse(a)).collect::<Result<Vec<_>, _>>()?;
    let platforms = parse_platforms(&request.platforms)?;
    let references = source_references(&inputs, &tags)?;
    // Futures made up front, not in a stream's closure: the closure's borrow would keep plan()'s
    // future from being Send for any lifetime, and callers spawn it.
    let resolving: Vec<BoxFuture<'_, Result<Resolved, ComposeError>>> = inputs
        .iter()
        .zip(references)
        .map(|(input, reference)| Box::pin(resolve(client, input, reference)) as BoxFuture<'_, _>)
        .collect();
    let resolved: Vec<Resolved> =
        futures_util::stream::iter(resolving).buffered(MAX_CONCURRENT_FETCHES).try_collect().await?;

    let draft = combine(&resolved, &annotations, request.annotations.is_empty(), request.prefer_index)?;
    let exclude: BTreeSet<&str> = request.exclude.iter().map(|d| d.trim()).collect();
    let composition = filter(draft, &platforms, &exclude)?;
    let sources = resolved
        .iter()
        .map(|r| ComposedSource {
            input: r.input.clone(),
            reference: r.reference.to_string(),
            digest: r.descriptor.digest.clone(),
            media_type: r.descriptor.media_type.clone(),
            platforms: brought_platforms(r),
        })
        .collect();
    let entry = |(d, source): &(Descriptor, usize)| ComposedEntry {
        digest: d.digest.clone(),
        media_type: d.media_type.clone(),
        size: d.size,
        platform: d.platform.as_ref().map(ToString::to_string),
        attests: attested(d).map(str::to_owned),
        source: *source,
        annotations: d.annotations.clone(),
    };
    let entries: Vec<ComposedEntry> = composition.kept.iter().map(entry).collect();
    let conflicts = if resolved.len() > 1 { conflicts(&entries) } else { Vec::new() };
    let whole: Vec<bool> = (0..resolved.len())
        .map(|i| {
            ManifestKind::of_media_type(&resolved[i].descriptor.media_type) == ManifestKind::Index
                && composition.kept.iter().any(|(_, source)| *source == i)
                && !composition.dropped.iter().any(|(_, source)| *source == i)
        })
        .collect();
    let from_source = |(d, source): &(Descriptor, usize)| EntryCopy {
        from: resolved[*source].reference.clone(),
        descriptor: d.clone(),
    };
    let referred: Vec<EntryCopy> = composition.kept.iter().map(from_source).collect();
    let copies = resolved
        .iter()
        .zip(&whole)
        .filter(|(_, whole)| **whole)
        .map(|(r, _)| EntryCopy { from: r.reference.clone(), descriptor: r.descriptor.clone() })
        .chain(composition.kept.iter().filter(|(_, source)| !whole[*source]).map(from_source))
        .collect();
    let json = String::from_utf8(composition.bytes.to_vec()).map_err(|e| ComposeError::Malformed {
        what: "manifest",
        reference: resolved[0].reference.to_string(),
        reason: e.to_string(),
    })?;
    Ok(Composition {
        json,
        media_type: composition.media_type,
        digest: sha256(&composition.bytes),
        size: composition.bytes.len() as i64,
        tags: tags.iter().map(ToString::to_string).collect(),
        sources,
        entries,
        dropped: composition.dropped.iter().map(entry).collect(),
        conflicts,
        command_line: command_line::imagetools_create(request),
        plan: PushPlan { tags, copies, referred },
    })
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Tags as pushed: a name without a tag is `:latest`; a digest cannot be pushed to.
fn parse_tags(tags: &[String]) -> Result<Vec<ImageReference>, ComposeError> {
    tags.iter()
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(|text| {
            let invalid = |reason: String| ComposeError::InvalidTag { tag: text.to_owned(), reason };
            let mut reference: ImageReference =
                text.parse().map_err(|e: crate::images::reference::ReferenceError| invalid(e.to_string()))?;
            if reference.digest.is_some() {
                return Err(invalid("a tag names where to push: give it a tag, not a digest".into()));
            }
            reference.tag.get_or_insert_with(|| "latest".to_owned());
            Ok(reference)
        })
        .collect()
}

/// `--platform` values, each a platform or a comma-separated list of them.
fn parse_platforms(platforms: &[String]) -> Result<Vec<Platform>, ComposeError> {
    let mut out = Vec::new();
    for p in platforms.iter().flat_map(|p| p.split(',')).map(str::trim).filter(|p| !p.is_empty()) {
        out.push(p.parse::<Platform>()?);
    }
    Ok(out)
}

/// go-digest's `Parse`: a registered algorithm and its hex of the right length.
fn is_digest(text: &str) -> bool {
    let Some((algorithm, hex)) = text.split_once(':') else { return false };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == length && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Each source's reference: as written, or a bare digest in the one repository the tags and other
/// sources name (buildx's rule: with two repositories there is no telling which).
fn source_references(inputs: &[String], tags: &[ImageReference]) -> Result<Vec<ImageReference>, ComposeError> {
    enum Parsed {
        Reference(ImageReference),
        Digest(String),
    }
    let parsed = inputs
        .iter()
        .map(|input| {
            let invalid = |reason: String| ComposeError::InvalidSource { input: input.clone(), reason };
            if is_digest(input) {
                Ok(Parsed::Digest(input.clone()))
            } else if input.starts_with("sha256") {
                Err(invalid("invalid checksum digest format".into()))
            } else if input.starts_with('{') {
                Err(invalid("descriptor sources are not supported: name the image by reference or digest".into()))
            } else {
                input.parse::<ImageReference>().map(Parsed::Reference).map_err(|e| invalid(e.to_string()))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut repositories: BTreeMap<String, ImageReference> = tags.iter().map(|t| (t.name(), t.clone())).collect();
    for p in &parsed {
        if let Parsed::Reference(r) = p {
            repositories.entry(r.name()).or_insert_with(|| r.clone());
        }
    }
    if repositories.is_empty() {
        return Err(ComposeError::NoRepository);
    }
    let only = (repositories.len() == 1).then(|| repositories.into_values().next().expect("one repository"));
    parsed
        .into_iter()
        .zip(inputs)
        .map(|(p, input)| match p {
            Parsed::Reference(r) => Ok(r),
            Parsed::Digest(digest) => only
                .as_ref()
                .map(|r| r.by_digest(&digest))
                .ok_or_else(|| ComposeError::CannotInferRepository { input: input.clone() }),
        })
        .collect()
}

/// Reads a source as buildx's resolver does: its media type (as served, else from its shape), digest
/// and size; a single image also gets the platform its config names.
async fn resolve(client: &RegistryClient, input: &str, reference: ImageReference) -> Result<Resolved, ComposeError> {
    let fetched = client.manifest(&reference).await?;
    let malformed =
        |what: &'static str, reason: String| ComposeError::Malformed { what, reference: reference.to_string(), reason };
    let media_type = match fetched.content_type.as_deref() {
        Some(ct) if ManifestKind::of_media_type(ct) != ManifestKind::Unknown => ct.to_owned(),
        ct => media_type_of(&fetched.bytes, ct).map_err(|e| malformed("manifest", e.to_string()))?,
    };
    let mut descriptor = Descriptor::new(&media_type, &fetched.digest, fetched.bytes.len() as i64);
    match ManifestKind::of_media_type(&media_type) {
        ManifestKind::Image => {
            let image: ImageDoc =
                serde_json::from_slice(&fetched.bytes).map_err(|e| malformed("manifest", e.to_string()))?;
            let config = client.blob(&reference, &image.config.digest, MAX_BLOB_BYTES).await?;
            descriptor.platform = Some(config_platform(&config).map_err(|e| malformed("image config", e.to_string()))?);
        }
        ManifestKind::Schema1 => return Err(ComposeError::Schema1 { reference: reference.to_string() }),
        ManifestKind::Index => {
            serde_json::from_slice::<IndexDocument>(&fetched.bytes).map_err(|e| malformed("index", e.to_string()))?;
        }
        ManifestKind::Unknown => {}
    }
    Ok(Resolved { input: input.to_owned(), reference, bytes: fetched.bytes, descriptor })
}

/// The platform an image config names, normalised as containerd does (os, architecture, variant).
fn config_platform(config: &[u8]) -> Result<Platform, serde_json::Error> {
    #[derive(Deserialize)]
    struct Named {
        #[serde(default)]
        architecture: Option<String>,
        #[serde(default)]
        os: Option<String>,
        #[serde(default)]
        variant: Option<String>,
    }
    let named: Named = serde_json::from_slice(config)?;
    let text = |v: Option<String>| v.unwrap_or_default();
    Ok(Platform::new(&text(named.os), &text(named.architecture), &text(named.variant)).normalized())
}

/// The subject of an attestation entry (BuildKit's annotations).
fn attested(d: &Descriptor) -> Option<&str> {
    (d.annotations.get(REFERENCE_TYPE).map(String::as_str) == Some(ATTESTATION_MANIFEST))
        .then(|| d.annotations.get(REFERENCE_DIGEST).map(String::as_str))
        .flatten()
}

fn brought_platforms(source: &Resolved) -> Vec<String> {
    let platform_names = |descriptors: &[Descriptor]| {
        descriptors
            .iter()
            .filter(|d| attested(d).is_none())
            .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
            .collect()
    };
    match ManifestKind::of_media_type(&source.descriptor.media_type) {
        ManifestKind::Index => serde_json::from_slice::<IndexDocument>(&source.bytes)
            .map(|i| platform_names(&i.manifests))
            .unwrap_or_default(),
        _ => platform_names(std::slice::from_ref(&source.descriptor)),
    }
}

/// The document before filtering: one source kept as it is, or the combined index.
enum Draft {
    /// One source's own bytes: an index, or one image without `--prefer-index`.
    Kept {
        bytes: Bytes,
        descriptor: Box<Descriptor>,
        index: Option<IndexDocument>,
    },
    Combined {
        index: IndexDocument,
        sources: HashMap<String, usize>,
    },
}

fn combine(
    resolved: &[Resolved],
    annotations: &[Annotation],
    no_annotations: bool,
    prefer_index: bool,
) -> Result<Draft, ComposeError> {
    if let ([only], true) = (resolved, no_annotations) {
        let kind = ManifestKind::of_media_type(&only.descriptor.media_type);
        if kind == ManifestKind::Index || !prefer_index {
            let index = match kind {
                ManifestKind::Index => {
                    Some(serde_json::from_slice(&only.bytes).map_err(|e| ComposeError::Malformed {
                        what: "index",
                        reference: only.reference.to_string(),
                        reason: e.to_string(),
                    })?)
                }
                _ => None,
            };
            return Ok(Draft::Kept { bytes: only.bytes.clone(), descriptor: Box::new(only.descriptor.clone()), index });
        }
    }
    let mut entries: Vec<Descriptor> = Vec::new();
    let mut position: HashMap<String, usize> = HashMap::new();
    let mut sources: HashMap<String, usize> = HashMap::new();
    for (i, source) in resolved.iter().enumerate() {
        let brought = match ManifestKind::of_media_type(&source.descriptor.media_type) {
            ManifestKind::Index => {
                let index: IndexDocument =
                    serde_json::from_slice(&source.bytes).map_err(|e| ComposeError::Malformed {
                        what: "index",
                        reference: source.reference.to_string(),
                        reason: e.to_string(),
                    })?;
                index.manifests
            }
            _ => vec![source.descriptor.clone()],
        };
        for d in brought {
            sources.entry(d.digest.clone()).or_insert(i);
            add_entry(&mut entries, &mut position, d);
        }
        if entries.len() > MAX_ENTRIES_TOTAL {
            return Err(ComposeError::TooManyEntries { count: entries.len() });
        }
    }
    let mut index = index_of(entries);
    // A Docker manifest list has no annotations: buildx leaves them out without a word.
    if index.media_type == OCI_INDEX {
        for a in annotations {
            match &a.level {
                Level::Index => {
                    index.annotations.insert(a.key.clone(), a.value.clone());
                }
                Level::ManifestDescriptor(platform) => {
                    for d in &mut index.manifests {
                        let applies = match (platform, &d.platform) {
                            (None, _) => true,
                            (Some(wanted), Some(p)) => wanted.to_string() == p.to_string(),
                            (Some(_), None) => false,
                        };
                        if applies {
                            d.annotations.insert(a.key.clone(), a.value.clone());
                        }
                    }
                }
            }
        }
    }
    Ok(Draft::Combined { index, sources })
}

/// buildx's addDesc: an entry met again keeps its first media type, takes the last platform, and
/// merges annotations.
fn add_entry(entries: &mut Vec<Descriptor>, position: &mut HashMap<String, usize>, d: Descriptor) {
    match position.get(&d.digest) {
        Some(&at) => {
            let old = &mut entries[at];
            if old.media_type.is_empty() {
                old.media_type = d.media_type;
            }
            if d.platform.is_some() {
                old.platform = d.platform;
            }
            old.annotations.extend(d.annotations);
        }
        None => {
            position.insert(d.digest.clone(), entries.len());
            entries.push(d);
        }
    }
}

/// The index of `entries`: a Docker manifest list when every entry is a Docker manifest, else an OCI index.
fn index_of(entries: Vec<Descriptor>) -> IndexDocument {
    let docker_only = entries.iter().all(|d| d.media_type.starts_with("application/vnd.docker."));
    IndexDocument {
        schema_version: 2,
        media_type: if docker_only { DOCKER_LIST } else { OCI_INDEX }.to_owned(),
        artifact_type: String::new(),
        manifests: entries,
        subject: None,
        annotations: BTreeMap::new(),
    }
}

/// The index `imagetools create` makes of several indexes' entries when no annotation is asked:
/// how a split build's nodes' own indexes become one, pushed ([`plan`]) or written locally.
pub(crate) fn combined_index(indexes: Vec<Vec<Descriptor>>) -> Result<IndexDocument, ComposeError> {
    let (mut entries, mut position) = (Vec::new(), HashMap::new());
    for d in indexes.into_iter().flatten() {
        add_entry(&mut entries, &mut position, d);
        if entries.len() > MAX_ENTRIES_TOTAL {
            return Err(ComposeError::TooManyEntries { count: entries.len() });
        }
    }
    Ok(index_of(entries))
}

/// The final document and its entries, each with the source it came from.
#[derive(Debug)]
struct Filtered {
    bytes: Bytes,
    media_type: String,
    kept: Vec<(Descriptor, usize)>,
    dropped: Vec<(Descriptor, usize)>,
}

/// containerd's platform matcher: normalised os, architecture and variant equal.
fn matches(wanted: &[Platform], platform: &Platform) -> bool {
    let p = platform.clone().normalized();
    wanted.iter().any(|w| w.os == p.os && w.architecture == p.architecture && w.variant == p.variant)
}

/// Applies the platform filter (later buildx's rule: entries without a platform stay, attestations
/// stay with their subject) and the exclusions; an index left unchanged keeps its bytes.
fn filter(draft: Draft, platforms: &[Platform], exclude: &BTreeSet<&str>) -> Result<Filtered, ComposeError> {
    let (index, sources, original) = match draft {
        Draft::Kept { bytes, descriptor, index: None } => {
            if !platforms.is_empty() && !descriptor.platform.as_ref().is_some_and(|p| matches(platforms, p)) {
                return Err(no_match(platforms));
            }
            if exclude.contains(descriptor.digest.as_str()) {
                return Err(ComposeError::NothingLeft);
            }
            let media_type = descriptor.media_type.clone();
            return Ok(Filtered { bytes, media_type, kept: vec![(*descriptor, 0)], dropped: Vec::new() });
        }
        Draft::Kept { bytes, index: Some(index), .. } => (index, HashMap::new(), Some(bytes)),
        Draft::Combined { index, sources } => (index, sources, None),
    };
    let by_digest: HashMap<&str, &Descriptor> = index.manifests.iter().map(|d| (d.digest.as_str(), d)).collect();
    let passes = |d: &Descriptor| platforms.is_empty() || d.platform.as_ref().is_none_or(|p| matches(platforms, p));
    let keep = |d: &Descriptor| match attested(d).and_then(|s| by_digest.get(s)) {
        Some(subject) => {
            passes(subject) && !exclude.contains(subject.digest.as_str()) && !exclude.contains(d.digest.as_str())
        }
        None => passes(d) && !exclude.contains(d.digest.as_str()),
    };
    let source_of = |d: &Descriptor| sources.get(&d.digest).copied().unwrap_or(0);
    let (kept, dropped): (Vec<&Descriptor>, Vec<&Descriptor>) = index.manifests.iter().partition(|d| keep(d));
    if kept.is_empty() {
        return Err(if platforms.is_empty() { ComposeError::NothingLeft } else { no_match(platforms) });
    }
    let kept_pairs: Vec<(Descriptor, usize)> = kept.iter().map(|d| ((*d).clone(), source_of(d))).collect();
    let dropped_pairs: Vec<(Descriptor, usize)> = dropped.iter().map(|d| ((*d).clone(), source_of(d))).collect();
    let media_type = index.media_type.clone();
    let bytes = match original {
        Some(bytes) if dropped_pairs.is_empty() => bytes,
        _ => {
            let document = IndexDocument { manifests: kept_pairs.iter().map(|(d, _)| d.clone()).collect(), ..index };
            Bytes::from(go_json(&document))
        }
    };
    Ok(Filtered { bytes, media_type, kept: kept_pairs, dropped: dropped_pairs })
}

fn no_match(platforms: &[Platform]) -> ComposeError {
    ComposeError::NoPlatformMatches {
        platforms: platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    }
}

/// Platforms that more than one source brings (attestations and entries without a platform aside).
fn conflicts(entries: &[ComposedEntry]) -> Vec<PlatformConflict> {
    let mut by_platform: BTreeMap<&str, Vec<&ComposedEntry>> = BTreeMap::new();
    for e in entries.iter().filter(|e| e.attests.is_none()) {
        if let Some(p) = &e.platform {
            by_platform.entry(p.as_str()).or_default().push(e);
        }
    }
    by_platform
        .into_iter()
        .filter(|(_, es)| es.iter().map(|e| e.source).collect::<BTreeSet<_>>().len() > 1)
        .map(|(platform, es)| PlatformConflict {
            platform: platform.to_owned(),
            digests: es.iter().map(|e| e.digest.clone()).collect(),
            sources: es.iter().map(|e| e.source).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(s: &str) -> ImageReference {
        s.parse().unwrap()
    }

    #[test]
    fn a_bare_digest_is_read_in_the_one_repository_named() {
        let d = format!("sha256:{}", "a".repeat(64));
        let tags = parse_tags(&["r.io/app:v2".into()]).unwrap();
        let refs = source_references(&["r.io/app:v1".into(), d.clone()], &tags).unwrap();
        assert_eq!(refs[1], reference(&format!("r.io/app@{d}")));
        let err = source_references(&["r.io/other:v1".into(), d.clone()], &tags).unwrap_err();
        assert_eq!(err.to_string(), format!("multiple repositories specified, cannot infer repository for \"{d}\""));
        assert!(matches!(source_references(&[d], &[]).unwrap_err(), ComposeError::NoRepository));
        let bad = source_references(&["sha256:abc".into()], &tags).unwrap_err();
        assert_eq!(bad.to_string(), "invalid source \"sha256:abc\": invalid checksum digest format");
    }

    #[test]
    fn tags_default_to_latest_and_refuse_digests() {
        assert_eq!(parse_tags(&["r.io/app".into()]).unwrap()[0].to_string(), "r.io/app:latest");
        let d = format!("r.io/app@sha256:{}", "a".repeat(64));
        assert!(matches!(parse_tags(&[d]).unwrap_err(), ComposeError::InvalidTag { .. }));
    }

    #[test]
    fn platforms_in_a_config_are_normalised() {
        let p = config_platform(br#"{"architecture":"aarch64","os":"Linux","variant":"v8","rootfs":{}}"#).unwrap();
        assert_eq!(p.to_string(), "linux/arm64");
        assert_eq!(config_platform(br#"{"architecture":"arm","os":"linux"}"#).unwrap().to_string(), "linux/arm/v7");
    }

    fn entry(digest: &str, platform: Option<&str>, source: usize, attests: Option<&str>) -> ComposedEntry {
        ComposedEntry {
            digest: digest.into(),
            media_type: String::new(),
            size: 1,
            platform: platform.map(str::to_owned),
            attests: attests.map(str::to_owned),
            source,
            annotations: BTreeMap::new(),
        }
    }

    #[test]
    fn only_a_platform_two_sources_bring_is_a_conflict() {
        let entries = [
            entry("a", Some("linux/amd64"), 0, None),
            entry("b", Some("linux/amd64"), 1, None),
            entry("c", Some("linux/arm64"), 1, None),
            entry("d", Some("unknown/unknown"), 0, Some("a")),
            entry("e", Some("unknown/unknown"), 1, Some("b")),
        ];
        let found = conflicts(&entries);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].platform.as_str(), &found[0].sources), ("linux/amd64", &vec![0, 1]));
    }

    fn descriptor(digest: &str, platform: &str, attests: Option<&str>) -> Descriptor {
        let mut d = Descriptor::new(crate::images::manifest::OCI_MANIFEST, digest, 10);
        let (os, rest) = platform.split_once('/').unwrap();
        let (arch, variant) = rest.split_once('/').unwrap_or((rest, ""));
        d.platform = Some(Platform::new(os, arch, variant));
        if let Some(subject) = attests {
            d.annotations.insert(REFERENCE_TYPE.into(), ATTESTATION_MANIFEST.into());
            d.annotations.insert(REFERENCE_DIGEST.into(), subject.into());
        }
        d
    }

    fn kept_index(manifests: Vec<Descriptor>) -> (Draft, Bytes) {
        let index = IndexDocument {
            schema_version: 2,
            media_type: OCI_INDEX.into(),
            artifact_type: String::new(),
            manifests,
            subject: None,
            annotations: BTreeMap::from([("a".to_owned(), "b".to_owned())]),
        };
        // Bytes of its own, not Go's: an unchanged index must come back as it was.
        let bytes = Bytes::from(serde_json::to_vec(&index).unwrap());
        (
            Draft::Kept {
                bytes: bytes.clone(),
                descriptor: Box::new(Descriptor::new(OCI_INDEX, "sha256:i", 1)),
                index: Some(index),
            },
            bytes,
        )
    }

    #[test]
    fn the_platform_filter_keeps_attestations_with_their_subject_and_untouched_bytes_when_all_match() {
        let manifests = vec![
            descriptor("amd", "linux/amd64", None),
            descriptor("arm", "linux/arm64", None),
            descriptor("att-amd", "unknown/unknown", Some("amd")),
            descriptor("att-arm", "unknown/unknown", Some("arm")),
        ];
        let arm = [Platform::new("linux", "arm64", "")];
        let (draft, _) = kept_index(manifests.clone());
        let filtered = filter(draft, &arm, &BTreeSet::new()).unwrap();
        let kept: Vec<&str> = filtered.kept.iter().map(|(d, _)| d.digest.as_str()).collect();
        assert_eq!(kept, ["arm", "att-arm"]);
        let doc: IndexDocument = serde_json::from_slice(&filtered.bytes).unwrap();
        assert_eq!(doc.annotations["a"], "b", "the index keeps its own annotations");
        assert_eq!(doc.manifests.len(), 2);

        let (draft, original) = kept_index(manifests.clone());
        let all = [Platform::new("linux", "arm64", ""), Platform::new("linux", "amd64", "")];
        assert_eq!(filter(draft, &all, &BTreeSet::new()).unwrap().bytes, original);

        let (draft, _) = kept_index(manifests.clone());
        let removed = filter(draft, &[], &BTreeSet::from(["amd"])).unwrap();
        let kept: Vec<&str> = removed.kept.iter().map(|(d, _)| d.digest.as_str()).collect();
        assert_eq!(kept, ["arm", "att-arm"], "removing a platform removes its attestation");

        let (draft, _) = kept_index(manifests);
        let none = filter(draft, &[Platform::new("linux", "s390x", "")], &BTreeSet::new()).unwrap_err();
        assert_eq!(none.to_string(), "none of the manifests match the platforms linux/s390x");
    }

    #[test]
    fn one_image_kept_as_it_is_must_match_the_filter() {
        let d = descriptor("amd", "linux/amd64", None);
        let kept = || Draft::Kept { bytes: Bytes::from_static(b"{}"), descriptor: Box::new(d.clone()), index: None };
        assert!(filter(kept(), &[Platform::new("linux", "amd64", "")], &BTreeSet::new()).is_ok());
        assert!(matches!(
            filter(kept(), &[Platform::new("linux", "arm64", "")], &BTreeSet::new()),
            Err(ComposeError::NoPlatformMatches { .. })
        ));
        assert!(matches!(filter(kept(), &[], &BTreeSet::from(["amd"])), Err(ComposeError::NothingLeft)));
    }
}
