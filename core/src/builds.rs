//! A Dockerfile build as the Build view and `buildlane build` start it: validate the request, pick
//! the builder, open a session that serves the context, solve, fold the progress into lanes, and
//! say how it ended (digest, or which platform and step failed, or that it was cancelled).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::instrument;
use ts_rs::TS;

use crate::builders::{BuilderError, Builders, NodePlatform};
use crate::buildkit::error_details::ErrorDetails;
use crate::buildkit::solve::{CacheEntry, DockerfileSolve, Exporter};
use crate::buildkit::{BuildkitError, Control};
use crate::credentials::CredentialStore;
use crate::drivers::Driver;
use crate::engine::{Engine, EngineError};
use crate::platform::{Platform, PlatformError};
use crate::progress::{ProgressModel, ProgressUpdate, Step, StepState};
use crate::records::{BuildRecord, History};
use crate::reference::{ImageReference, ReferenceError};
use crate::session::content::{self, LayoutError, OciLayout};
use crate::session::filesend::TarballDestination;
use crate::session::secrets::{SecretSource, SecretStore, MAX_SECRET_BYTES};
use crate::session::{self, Session, SessionServices};

/// How often progress is handed to the UI at most: BuildKit can send thousands of updates a second.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// Where the result goes (`--push`, `--load`, `--output type=oci,dest=…`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "type")]
#[ts(export)]
pub enum BuildOutput {
    /// Build only; the result stays in BuildKit's cache.
    #[default]
    CacheOnly,
    Push,
    Load,
    Oci {
        dest: String,
    },
    Docker {
        dest: String,
    },
    /// The result's filesystem as a tarball.
    Tar {
        dest: String,
    },
    /// The result's filesystem written into a folder.
    Local {
        dest: String,
    },
}

/// Provenance attestation mode (`--provenance`); buildx's default is `min`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ProvenanceMode {
    #[default]
    Min,
    Max,
    Off,
}

/// The Build view's form, and `buildlane build`'s flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct BuildRequest {
    /// The context folder.
    pub context: String,
    /// The Dockerfile; empty means `Dockerfile` in the context, a relative path is taken from the context.
    pub dockerfile: String,
    pub platforms: Vec<String>,
    pub tags: Vec<String>,
    /// `KEY=VALUE`
    pub build_args: Vec<String>,
    /// `KEY=VALUE`
    pub labels: Vec<String>,
    pub target: String,
    pub no_cache: bool,
    pub output: BuildOutput,
    pub provenance: ProvenanceMode,
    /// An SBOM attestation per platform (`--sbom`), made by running a scanner image on the result.
    pub sbom: bool,
    /// The scanner image (`--sbom generator=IMAGE`); empty: BuildKit's default
    /// (`docker/buildkit-syft-scanner`).
    pub sbom_generator: String,
    /// Empty: the current builder.
    pub builder: String,
    /// `id=NAME,src=FILE` or `id=NAME,env=VARIABLE`, as `--secret` takes them.
    pub secrets: Vec<String>,
    /// `--cache-from`: `type=registry,ref=REF` (or just `REF`), or `type=local,src=DIR[,tag=T|digest=D]`.
    pub cache_from: Vec<String>,
    /// `--cache-to`: `type=registry,ref=REF[,mode=max]`, `type=local,dest=DIR[,mode=max]` or `type=inline`.
    pub cache_to: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum BuildState {
    Succeeded,
    Failed,
    Cancelled,
}

/// Why a build failed, failure first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildFailure {
    pub message: String,
    /// The lane of the failed step (`linux/arm64`, or `shared`).
    pub platform: Option<String>,
    pub step: Option<Step>,
    /// 1-based line of the Dockerfile the failure points at, when it can be told: from the source
    /// location BuildKit attaches to the error, else from the message or the step's instruction.
    pub dockerfile_line: Option<u32>,
    /// The last line of that span (an instruction continued over several lines); BuildKit's only.
    pub dockerfile_end_line: Option<u32>,
    /// The file BuildKit's source location names, e.g. `Dockerfile`.
    pub dockerfile_name: Option<String>,
    /// The Dockerfile as the frontend read it, sent by BuildKit with the location.
    pub dockerfile_source: Option<String>,
    /// The failing vertex (step id) BuildKit named.
    pub vertex: Option<String>,
    /// The failing process's exit code, when BuildKit sent it.
    pub exit_code: Option<u32>,
    pub last_lines: Vec<String>,
    /// Platforms whose steps all finished.
    pub succeeded_platforms: Vec<String>,
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildOutcome {
    pub build_ref: String,
    pub builder: String,
    pub state: BuildState,
    /// The image (or index) digest, `containerimage.digest`.
    pub digest: Option<String>,
    pub platforms: Vec<String>,
    /// The tags the result was given: empty when the output makes no image.
    pub tags: Vec<String>,
    pub duration_ms: u64,
    pub failure: Option<BuildFailure>,
    pub steps: Vec<Step>,
    pub exporter_response: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("context folder {0} does not exist")]
    ContextMissing(PathBuf),
    #[error("context {0} is not a folder")]
    ContextNotFolder(PathBuf),
    #[error("context folder {path} is unreadable: {reason}")]
    ContextUnreadable { path: PathBuf, reason: String },
    #[error("Dockerfile {0} does not exist")]
    DockerfileMissing(PathBuf),
    #[error(transparent)]
    Dockerfile(#[from] crate::dockerfile::DockerfileError),
    /// The Dockerfile frontend could not parse the file.
    #[error("syntax error in {}{}: {message}", .file.display(), .line.map(|l| format!(" line {l}")).unwrap_or_default())]
    DockerfileSyntax { file: PathBuf, line: Option<u32>, message: String },
    #[error("invalid platform \"\": a platform is os/arch[/variant], e.g. linux/arm64")]
    EmptyPlatform,
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error("builder {builder} cannot build {platform}: it runs {available}")]
    PlatformUnavailable { builder: String, platform: String, available: String },
    #[error("invalid tag \"{tag}\": {source}")]
    Tag { tag: String, source: ReferenceError },
    #[error("invalid {what} \"{item}\": expected KEY=VALUE")]
    KeyValue { what: &'static str, item: String },
    #[error("invalid secret \"{0}\": expected id=NAME,src=FILE or id=NAME,env=VARIABLE")]
    Secret(String),
    #[error("secret {id}: file {path} does not exist")]
    SecretFileMissing { id: String, path: PathBuf },
    #[error("secret {id}: {path} is not a regular file")]
    SecretFileNotRegular { id: String, path: PathBuf },
    #[error("secret {id}: {path} is larger than {limit} bytes, the most a secret may be")]
    SecretFileTooLarge { id: String, path: PathBuf, limit: u64 },
    #[error("invalid cache {what} \"{item}\": expected type=registry,ref=REF, type=local,{local}=DIR or type=inline", local = if *what == "import" { "src" } else { "dest" })]
    Cache { what: &'static str, item: String },
    #[error("cannot export cache: {0}")]
    CacheDest(LayoutError),
    #[error("cannot import cache: {0}")]
    CacheSource(LayoutError),
    #[error("{0} needs at least one tag (-t)")]
    TagRequired(&'static str),
    #[error("output path {0} is in a folder that does not exist")]
    OutputFolderMissing(PathBuf),
    #[error("the engine at {host} keeps images in its classic store, which cannot load a multi-platform image: load one platform, push, or enable the engine's containerd image store")]
    LoadMultiPlatform { host: String },
    #[error(transparent)]
    Builder(#[from] BuilderError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Buildkit(#[from] BuildkitError),
    #[error("cannot open a build session: {0}")]
    Session(#[from] crate::buildkit::transport::TransportError),
}

/// A request that passed validation.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub context: PathBuf,
    pub dockerfile_dir: PathBuf,
    pub dockerfile_name: String,
    pub dockerfile: PathBuf,
    platforms: Vec<Platform>,
}

fn key_values(items: &[String], what: &'static str) -> Result<Vec<(String, String)>, BuildError> {
    items
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
            _ => Err(BuildError::KeyValue { what, item: item.to_owned() }),
        })
        .collect()
}

pub(crate) fn check(request: &BuildRequest) -> Result<Checked, BuildError> {
    let context = PathBuf::from(request.context.trim());
    let meta = std::fs::metadata(&context).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BuildError::ContextMissing(context.clone()),
        _ => BuildError::ContextUnreadable { path: context.clone(), reason: crate::engine::io_reason(&e) },
    })?;
    if !meta.is_dir() {
        return Err(BuildError::ContextNotFolder(context));
    }
    std::fs::read_dir(&context)
        .map_err(|e| BuildError::ContextUnreadable { path: context.clone(), reason: crate::engine::io_reason(&e) })?;
    let context = context
        .canonicalize()
        .map_err(|e| BuildError::ContextUnreadable { path: context.clone(), reason: e.to_string() })?;
    let dockerfile = crate::dockerfile::path(&context, &request.dockerfile);
    if !dockerfile.is_file() {
        return Err(BuildError::DockerfileMissing(dockerfile));
    }
    let mut platforms = Vec::new();
    for raw in &request.platforms {
        for item in raw.split(',') {
            if item.trim().is_empty() {
                return Err(BuildError::EmptyPlatform);
            }
            let p: Platform = item.parse()?;
            if !platforms.contains(&p) {
                platforms.push(p);
            }
        }
    }
    for tag in request.tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        tag.parse::<ImageReference>().map_err(|source| BuildError::Tag { tag: tag.to_owned(), source })?;
    }
    key_values(&request.build_args, "build arg")?;
    key_values(&request.labels, "label")?;
    secrets(&request.secrets)?;
    cache_entries(&request.cache_from, "import")?;
    cache_entries(&request.cache_to, "export")?;
    match &request.output {
        BuildOutput::Push if tags(request).is_empty() => return Err(BuildError::TagRequired("push")),
        BuildOutput::Oci { dest }
        | BuildOutput::Docker { dest }
        | BuildOutput::Tar { dest }
        | BuildOutput::Local { dest } => {
            let parent = Path::new(dest).parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(BuildError::OutputFolderMissing(PathBuf::from(dest)));
            }
        }
        _ => {}
    }
    Ok(Checked {
        dockerfile_dir: dockerfile.parent().map(Path::to_path_buf).unwrap_or_else(|| context.clone()),
        dockerfile_name: dockerfile
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Dockerfile".into()),
        dockerfile,
        context,
        platforms,
    })
}

/// Parses `--secret` items; a bare `id=X` reads the environment variable X, as buildx does.
fn secrets(items: &[String]) -> Result<SecretStore, BuildError> {
    let mut store = SecretStore::default();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let fields: BTreeMap<&str, &str> = item.split(',').filter_map(|kv| kv.split_once('=')).collect();
        let id = fields.get("id").filter(|id| !id.is_empty()).ok_or_else(|| BuildError::Secret(item.to_owned()))?;
        let source = match (fields.get("src").or(fields.get("source")), fields.get("env")) {
            (Some(src), None) => {
                let (id, path) = (id.to_string(), PathBuf::from(src));
                match std::fs::metadata(&path) {
                    Err(_) => return Err(BuildError::SecretFileMissing { id, path }),
                    Ok(meta) if !meta.is_file() => return Err(BuildError::SecretFileNotRegular { id, path }),
                    Ok(meta) if meta.len() > MAX_SECRET_BYTES => {
                        return Err(BuildError::SecretFileTooLarge { id, path, limit: MAX_SECRET_BYTES })
                    }
                    Ok(_) => SecretSource::File(path),
                }
            }
            (None, Some(env)) => SecretSource::Env(env.to_string()),
            (None, None) => SecretSource::Env(id.to_string()),
            (Some(_), Some(_)) => return Err(BuildError::Secret(item.to_owned())),
        };
        store.0.insert(id.to_string(), source);
    }
    Ok(store)
}

/// Parses `--cache-from`/`--cache-to` items as buildx does: `key=value` fields, a bare reference
/// meaning a registry cache. Registry, inline and local caches are supported. A local export's
/// `dest` is made (BuildKit's client does so too) and must be writable; a local import's `src` must
/// be an OCI layout whose `index.json` tags the cache (`tag`, default `latest`) unless `digest` names
/// it, and the digest is filled in as BuildKit's client does. BuildKit's client skips a missing
/// `src` with a warning; here it is an error before the build.
fn cache_entries(items: &[String], what: &'static str) -> Result<Vec<CacheEntry>, BuildError> {
    let mut entries = Vec::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        let bad = || BuildError::Cache { what, item: item.to_owned() };
        let mut attrs: BTreeMap<String, String> = BTreeMap::new();
        if !item.contains('=') {
            attrs.insert("type".into(), "registry".into());
            attrs.insert("ref".into(), item.to_owned());
        } else {
            for field in item.split(',') {
                let (k, v) = field.split_once('=').ok_or_else(bad)?;
                attrs.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        let kind = attrs.remove("type").unwrap_or_else(|| "registry".into());
        match kind.as_str() {
            "registry" if attrs.get("ref").is_some_and(|r| r.parse::<ImageReference>().is_ok()) => {}
            "inline" if what == "export" => {}
            "local" if what == "export" && attrs.get("dest").is_some_and(|d| !d.is_empty()) => {
                OciLayout::create(Path::new(&attrs["dest"])).map_err(BuildError::CacheDest)?;
            }
            "local" if what == "import" && attrs.get("src").is_some_and(|s| !s.is_empty()) => {
                let layout = OciLayout::open(Path::new(&attrs["src"])).map_err(BuildError::CacheSource)?;
                match attrs.get("digest").filter(|d| !d.is_empty()) {
                    Some(digest) => {
                        layout.require_blob(digest).map_err(BuildError::CacheSource)?;
                    }
                    None => {
                        let tag = attrs.get("tag").map(String::as_str).unwrap_or("latest");
                        let found = layout.tagged(tag).map_err(BuildError::CacheSource)?;
                        let digest = found["digest"].as_str().unwrap_or_default().to_owned();
                        attrs.insert("digest".into(), digest);
                    }
                }
            }
            _ => return Err(bad()),
        }
        entries.push(CacheEntry { kind, attrs });
    }
    Ok(entries)
}

/// The session's content stores for the local caches among `entries`, by the id BuildKit asks for
/// (`local:` + `dest` or `src` as given). The entries passed [`cache_entries`].
fn local_caches(entries: &[CacheEntry], what: &'static str) -> Result<HashMap<String, OciLayout>, BuildError> {
    let mut stores = HashMap::new();
    for entry in entries.iter().filter(|e| e.kind == "local") {
        let (dir, layout) = if what == "export" {
            let dir = entry.attrs["dest"].clone();
            let layout = OciLayout::create(Path::new(&dir)).map_err(BuildError::CacheDest)?;
            (dir, layout)
        } else {
            let dir = entry.attrs["src"].clone();
            let layout = OciLayout::open(Path::new(&dir)).map_err(BuildError::CacheSource)?;
            (dir, layout)
        };
        stores.insert(format!("{}{dir}", content::STORE_ID_PREFIX), layout);
    }
    Ok(stores)
}

/// After a solve, tags the exported cache manifest in each local cache folder's `index.json`
/// (`tag`, default `latest`), as BuildKit's client does.
fn tag_local_caches(entries: &[CacheEntry], response: &BTreeMap<String, String>) -> Result<(), BuildError> {
    let Some(manifest) = response.get(content::CACHE_MANIFEST_KEY) else {
        return Ok(());
    };
    for entry in entries.iter().filter(|e| e.kind == "local") {
        let dest = Path::new(&entry.attrs["dest"]);
        let descriptor: serde_json::Value = serde_json::from_str(manifest).map_err(|e| {
            BuildError::CacheDest(LayoutError::Io {
                path: dest.to_path_buf(),
                reason: format!("bad {}: {e}", content::CACHE_MANIFEST_KEY),
            })
        })?;
        let layout = OciLayout::create(dest).map_err(BuildError::CacheDest)?;
        layout.require_blob(descriptor["digest"].as_str().unwrap_or_default()).map_err(BuildError::CacheDest)?;
        let tag = entry.attrs.get("tag").map(String::as_str).unwrap_or("latest");
        layout.put_tag(tag, &descriptor).map_err(BuildError::CacheDest)?;
    }
    Ok(())
}

fn tags(request: &BuildRequest) -> Vec<String> {
    request.tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect()
}

/// The tags this build's output gives an image: none when it makes no image (build only, a
/// filesystem tar or folder), however many the form still holds from an earlier build.
fn image_names(request: &BuildRequest) -> Vec<String> {
    match request.output {
        BuildOutput::Push | BuildOutput::Load | BuildOutput::Oci { .. } | BuildOutput::Docker { .. } => tags(request),
        BuildOutput::CacheOnly | BuildOutput::Tar { .. } | BuildOutput::Local { .. } => Vec::new(),
    }
}

/// The Dockerfile frontend's attributes, as buildx sets them.
fn frontend_attrs(request: &BuildRequest, checked: &Checked) -> Result<BTreeMap<String, String>, BuildError> {
    let mut attrs = BTreeMap::new();
    attrs.insert("filename".to_owned(), checked.dockerfile_name.clone());
    if !checked.platforms.is_empty() {
        attrs
            .insert("platform".into(), checked.platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    }
    if checked.platforms.len() > 1 {
        attrs.insert("multi-platform".into(), "true".into());
    }
    if !request.target.trim().is_empty() {
        attrs.insert("target".into(), request.target.trim().to_owned());
    }
    if request.no_cache {
        attrs.insert("no-cache".into(), String::new());
    }
    for (k, v) in key_values(&request.build_args, "build arg")? {
        attrs.insert(format!("build-arg:{k}"), v);
    }
    for (k, v) in key_values(&request.labels, "label")? {
        attrs.insert(format!("label:{k}"), v);
    }
    match request.provenance {
        ProvenanceMode::Min => attrs.insert("attest:provenance".into(), "mode=min,inline-only=true".into()),
        ProvenanceMode::Max => attrs.insert("attest:provenance".into(), "mode=max,inline-only=true".into()),
        ProvenanceMode::Off => None,
    };
    if request.sbom {
        let generator = request.sbom_generator.trim();
        let value = if generator.is_empty() { String::new() } else { format!("generator={generator}") };
        attrs.insert("attest:sbom".into(), value);
    }
    attrs.insert("image-resolve-mode".into(), "default".into());
    // The frontend imports cache only when told through this attribute, not from Solve's cache field.
    let imports = cache_entries(&request.cache_from, "import")?;
    if !imports.is_empty() {
        let json: Vec<serde_json::Value> =
            imports.iter().map(|e| serde_json::json!({ "Type": e.kind, "Attrs": e.attrs })).collect();
        attrs.insert("cache-imports".into(), serde_json::Value::Array(json).to_string());
    }
    Ok(attrs)
}

/// The exporter: for the docker driver the engine's own `moby` exporter for images (as buildx
/// rewrites `image` to it), BuildKit's `image` exporter elsewhere, its tarball exporters for files.
/// `--load` on other drivers is a tarball (`loaded_as`: `oci` or `docker`) streamed into the engine.
fn exporter(request: &BuildRequest, engine_buildkit: bool, loaded_as: Option<&str>) -> Option<Exporter> {
    let image = if engine_buildkit { "moby" } else { "image" };
    let names = image_names(request).join(",");
    let with = |kind: &str, pairs: &[(&str, &str)]| {
        let mut attrs: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !names.is_empty() {
            attrs.insert("name".into(), names.clone());
        }
        Some(Exporter { kind: kind.into(), attrs })
    };
    match &request.output {
        BuildOutput::CacheOnly => None,
        BuildOutput::Push => with(image, &[("push", "true")]),
        BuildOutput::Load => with(loaded_as.unwrap_or(image), &[]),
        BuildOutput::Oci { .. } => with("oci", &[]),
        BuildOutput::Docker { .. } => with("docker", &[]),
        BuildOutput::Tar { .. } => Some(Exporter { kind: "tar".into(), attrs: BTreeMap::new() }),
        BuildOutput::Local { .. } => Some(Exporter { kind: "local".into(), attrs: BTreeMap::new() }),
    }
}

/// Platforms a worker can run: the ones it lists, and 32-bit arm where it lists arm64 (arm64
/// machines and QEMU's arm handler run it though BuildKit does not list it).
fn runnable(workers: &[crate::buildkit::WorkerInfo], wanted: &Platform) -> bool {
    workers.iter().flat_map(|w| &w.platforms).any(|p| {
        let p = p.clone().normalized();
        p == *wanted
            || (p.os == wanted.os && p.architecture == wanted.architecture && wanted.architecture == "amd64")
            || (p.os == wanted.os && p.architecture == "arm64" && wanted.architecture == "arm")
    })
}

/// The Dockerfile line of a failure BuildKit sent no source location for: a `line N` in the
/// message, else the first line whose text is the failed step's instruction.
fn guessed_line(message: &str, step: Option<&Step>, dockerfile: &Path) -> Option<u32> {
    if let Some(n) = crate::dockerfile::line_in(message) {
        return Some(n);
    }
    let step = step?;
    let source = std::fs::read_to_string(dockerfile).ok()?;
    let wanted = step.name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    source
        .lines()
        .position(|line| line.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase() == wanted)
        .map(|i| i as u32 + 1)
}

fn failure(
    message: String,
    details: &ErrorDetails,
    model: &ProgressModel,
    steps: &[Step],
    dockerfile: &Path,
) -> BuildFailure {
    // The vertex BuildKit names is the failed step; without it, the first step marked failed.
    let failed = details
        .vertex
        .as_ref()
        .and_then(|v| steps.iter().find(|s| &s.id == v))
        .or_else(|| steps.iter().find(|s| s.state == StepState::Failed))
        .cloned();
    let mut lanes: Vec<&str> =
        steps.iter().map(|s| s.lane.as_str()).filter(|l| *l != crate::progress::SHARED_LANE).collect();
    lanes.sort();
    lanes.dedup();
    let succeeded_platforms = lanes
        .into_iter()
        .filter(|lane| {
            steps.iter().filter(|s| s.lane == *lane).all(|s| matches!(s.state, StepState::Done | StepState::Cached))
        })
        .map(str::to_owned)
        .collect();
    let last_lines = failed
        .as_ref()
        .map(|s| {
            model.log(&s.id).lines().rev().take(10).collect::<Vec<_>>().into_iter().rev().map(str::to_owned).collect()
        })
        .unwrap_or_default();
    let location = details.location();
    let range = location.and_then(|l| l.span());
    BuildFailure {
        dockerfile_line: match &range {
            Some(r) => Some(r.start),
            None => guessed_line(&message, failed.as_ref(), dockerfile),
        },
        dockerfile_end_line: range.as_ref().map(|r| r.end),
        dockerfile_name: location.map(|l| l.filename.clone()).filter(|f| !f.is_empty()),
        dockerfile_source: location.and_then(|l| l.data.clone()),
        vertex: details.vertex.clone(),
        exit_code: details.exit_code,
        platform: failed.as_ref().map(|s| s.lane.clone()),
        step: failed,
        last_lines,
        succeeded_platforms,
        message,
    }
}

/// A builder node reached for a solve: its builder's name, its driver, and its BuildKit.
pub(crate) struct Connected {
    pub builder: String,
    pub driver: Box<dyn Driver>,
    pub control: Control,
    /// The docker driver's session rides the engine's /session upgrade; the others' rides Control.Session.
    session_host: Option<String>,
}

/// The builder `builder` (empty: the current one) of the docker context, and the driver of the
/// node a build goes to.
pub(crate) async fn target(
    builders: &Builders,
    builder: &str,
    docker_context: Option<&str>,
) -> Result<(String, Box<dyn Driver>), BuildError> {
    let (group, driver) = builders.for_build(Some(builder.trim()), docker_context).await?;
    Ok((group.name, driver))
}

/// Reaches the node's BuildKit through its driver, which boots a docker-container builder that is
/// not running, as buildx does. Builds and the Dockerfile outline both start here.
pub(crate) async fn connect(builder: String, driver: Box<dyn Driver>) -> Result<Connected, BuildError> {
    let channel = driver.connect().await.map_err(BuilderError::from)?;
    Ok(Connected { builder, driver, control: channel.control, session_host: channel.session_host })
}

impl Connected {
    /// Opens the session a solve of the context folder `context` uses, serving `services`.
    pub(crate) async fn attach(&self, context: &Path, services: SessionServices) -> Result<Session, BuildError> {
        // BuildKit keys the context's transfer cache by this, as buildx does.
        let shared_key = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(context.to_string_lossy().as_bytes()));
        let name = context.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(match &self.session_host {
            Some(host) => Session::attach_engine(host, &name, &shared_key, services).await?,
            None => Session::attach_control(&self.control, &name, &shared_key, services).await?,
        })
    }
}

/// Runs a build to its end. Progress goes to `progress` at most every [`PROGRESS_INTERVAL`];
/// cancelling `cancel` stops the solve and returns a `Cancelled` outcome with what was seen. Every
/// build that gets past checking its request is recorded, also one whose engine or builder could
/// not be reached or went away.
#[instrument(skip_all, fields(context = %request.context))]
pub async fn run(
    builders: &Builders,
    request: &BuildRequest,
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
) -> Result<BuildOutcome, BuildError> {
    let target = target(builders, &request.builder, docker_context);
    run_on(builders, request, target, docker_context, progress, cancel).await
}

/// [`run`] on the node `target` resolves to: a test can hand it a driver of its own.
async fn run_on(
    builders: &Builders,
    request: &BuildRequest,
    target: impl std::future::Future<Output = Result<(String, Box<dyn Driver>), BuildError>>,
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
) -> Result<BuildOutcome, BuildError> {
    let checked = check(request)?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let result = match target.await {
        Ok(target) => run_checked(builders, request, checked, target, docker_context, progress, cancel).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        if e.is_unreachable() {
            record_unreachable(builders, request, started_at, started, e);
        }
    }
    result
}

impl BuildError {
    /// The engine, the builder or the connection to it failed, rather than the request.
    fn is_unreachable(&self) -> bool {
        matches!(
            self,
            BuildError::Engine(_)
                | BuildError::Buildkit(_)
                | BuildError::Session(_)
                | BuildError::Builder(BuilderError::Engine(_) | BuilderError::Driver(_))
        )
    }
}

/// Records a build that ended before or during the solve because its engine or builder could not
/// be reached: failed, with the error.
fn record_unreachable(
    builders: &Builders,
    request: &BuildRequest,
    started_at: String,
    started: Instant,
    e: &BuildError,
) {
    let build_ref = session::new_id();
    let failure = BuildFailure {
        message: e.to_string(),
        platform: None,
        step: None,
        dockerfile_line: None,
        dockerfile_end_line: None,
        dockerfile_name: None,
        dockerfile_source: None,
        vertex: None,
        exit_code: None,
        last_lines: Vec::new(),
        succeeded_platforms: Vec::new(),
    };
    let outcome = BuildOutcome {
        build_ref: build_ref.clone(),
        builder: request.builder.trim().to_owned(),
        state: BuildState::Failed,
        digest: None,
        platforms: request.platforms.iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
        tags: tags(request),
        duration_ms: started.elapsed().as_millis() as u64,
        failure: Some(failure),
        steps: Vec::new(),
        exporter_response: BTreeMap::new(),
    };
    let record = BuildRecord { request: request.clone(), outcome, started_at };
    let history = History::new(builders.contexts().environment());
    if let Err(e) = history.start(&build_ref).and_then(|recorder| recorder.finish(&record)) {
        tracing::warn!(error = %e, "cannot record the build");
    }
}

async fn run_checked(
    builders: &Builders,
    request: &BuildRequest,
    checked: Checked,
    target: (String, Box<dyn Driver>),
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
) -> Result<BuildOutcome, BuildError> {
    let builder = connect(target.0, target.1).await?;
    let control = &builder.control;
    let engine_buildkit = builder.driver.is_engine_buildkit();
    let workers = control.list_workers().await?;
    for platform in &checked.platforms {
        if !runnable(&workers, platform) {
            let available =
                workers.iter().flat_map(|w| &w.platforms).map(ToString::to_string).collect::<Vec<_>>().join(", ");
            return Err(BuildError::PlatformUnavailable {
                builder: builder.builder.clone(),
                platform: platform.to_string(),
                available,
            });
        }
    }

    let mut dirs = std::collections::HashMap::new();
    dirs.insert("context".to_owned(), checked.context.clone());
    dirs.insert("dockerfile".to_owned(), checked.dockerfile_dir.clone());
    // `--load` elsewhere than on the engine's own BuildKit, as buildx does it: a docker tarball (an
    // OCI one when the engine keeps images in containerd, which takes multi-platform images too)
    // streamed into the image load API of the engine of the build's docker context.
    let load = match &request.output {
        BuildOutput::Load if !engine_buildkit => {
            let context = builders.contexts().resolve(docker_context).map_err(BuilderError::from)?;
            let engine = Engine::connect(&context).await?;
            let oci = engine.containerd_image_store().await?;
            if !oci && checked.platforms.len() > 1 {
                return Err(BuildError::LoadMultiPlatform { host: engine.host().to_owned() });
            }
            Some((engine, if oci { "oci" } else { "docker" }))
        }
        _ => None,
    };
    let (tarball, folder) = match &request.output {
        BuildOutput::Oci { dest } | BuildOutput::Docker { dest } | BuildOutput::Tar { dest } => {
            (Some(TarballDestination::File(PathBuf::from(dest))), None)
        }
        BuildOutput::Local { dest } => (None, Some(PathBuf::from(dest))),
        BuildOutput::Load => {
            (load.as_ref().map(|(engine, _)| TarballDestination::Engine(Box::new(engine.clone()))), None)
        }
        _ => (None, None),
    };
    let cache_imports = cache_entries(&request.cache_from, "import")?;
    let cache_exports = cache_entries(&request.cache_to, "export")?;
    let services = SessionServices {
        dirs,
        tarball,
        folder,
        credentials: Some(CredentialStore::new(builders.contexts().environment())),
        secrets: secrets(&request.secrets)?,
        content: local_caches(&cache_imports, "import")?
            .into_iter()
            .chain(local_caches(&cache_exports, "export")?)
            .collect(),
    };
    let session = builder.attach(&checked.context, services).await?;

    let platforms: Vec<String> = checked.platforms.iter().map(ToString::to_string).collect();
    let solve = DockerfileSolve {
        build_ref: session::new_id(),
        session_id: session.id().to_owned(),
        frontend_attrs: frontend_attrs(request, &checked)?,
        exporter: exporter(request, engine_buildkit, load.as_ref().map(|(_, format)| *format)),
        entitlements: Vec::new(),
        cache_imports,
        cache_exports,
    };
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Asked before the record starts: a builder that cannot answer is recorded by `run`.
    let mut status = Box::pin(control.status(&solve.build_ref).await?);
    let history = History::new(builders.contexts().environment());
    let mut recorder = match history.start(&solve.build_ref) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(error = %e, "this build will not be recorded");
            None
        }
    };
    let mut emit = |update: ProgressUpdate| {
        if let Some(r) = recorder.as_mut() {
            r.logs(&update.logs);
        }
        progress(update);
    };
    let mut model = ProgressModel::new(&platforms);
    let solving = control.solve(&solve);
    tokio::pin!(solving);
    let mut status_open = true;
    let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let result = loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break None,
            result = &mut solving => break Some(result),
            item = status.next(), if status_open => match item {
                Some(Ok(response)) => model.apply(&response),
                Some(Err(_)) | None => status_open = false,
            },
            _ = tick.tick() => {
                if let Some(update) = model.take_update() {
                    emit(update);
                }
            }
        }
    };
    // The last statuses arrive just after Solve returns; wait briefly for the stream to end.
    if result.is_some() {
        let drain = async {
            while let Some(Ok(response)) = status.next().await {
                model.apply(&response);
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    } else {
        model.cancel_unfinished();
    }
    drop(session);
    if let Some(update) = model.take_update() {
        emit(update);
    }
    let steps = model.steps();
    let mut outcome = BuildOutcome {
        build_ref: solve.build_ref.clone(),
        builder: builder.builder.clone(),
        state: BuildState::Succeeded,
        digest: None,
        platforms,
        tags: image_names(request),
        duration_ms: started.elapsed().as_millis() as u64,
        failure: None,
        steps: steps.clone(),
        exporter_response: BTreeMap::new(),
    };
    match result {
        None => outcome.state = BuildState::Cancelled,
        Some(Ok(response)) => {
            tag_local_caches(&solve.cache_exports, &response)?;
            outcome.digest = response.get("containerimage.digest").cloned();
            outcome.exporter_response = response;
        }
        Some(Err(BuildkitError::Call { message, details, .. })) => {
            outcome.state = BuildState::Failed;
            outcome.failure = Some(failure(message, &details, &model, &steps, &checked.dockerfile));
        }
        Some(Err(e)) => return Err(e.into()),
    }
    if outcome.state != BuildState::Cancelled {
        if let Err(e) = builders.record_activity(&builder.builder).await {
            tracing::warn!(error = %e, "cannot stamp the builder's activity");
        }
    }
    if let Some(recorder) = recorder {
        let record = BuildRecord { request: request.clone(), outcome: outcome.clone(), started_at };
        if let Err(e) = recorder.finish(&record) {
            tracing::warn!(error = %e, "cannot record the build");
        }
    }
    Ok(outcome)
}

/// The platforms the Build view offers for a builder: its nodes' own (pinned first, never
/// truncated) plus 32-bit arm where arm64 runs, which BuildKit runs without listing it.
#[instrument(skip(builders))]
pub async fn offered_platforms(
    builders: &Builders,
    builder: &str,
    docker_context: Option<&str>,
) -> Result<Vec<NodePlatform>, BuildError> {
    let group = builders.chosen_for_build(Some(builder.trim()), docker_context).await?;
    let list = builders.list(docker_context).await?;
    let mut offered: Vec<NodePlatform> = Vec::new();
    let nodes = list.builders.into_iter().filter(|b| b.name == group.name).flat_map(|b| b.nodes);
    for platform in nodes.flat_map(|n| n.platforms) {
        if !offered.iter().any(|p| p.platform == platform.platform) {
            offered.push(platform);
        }
    }
    if let Some(arm64) = offered.iter().find(|p| p.platform == "linux/arm64").cloned() {
        for extra in ["linux/arm/v7", "linux/arm/v6"] {
            if !offered.iter().any(|p| p.platform == extra) {
                offered.push(NodePlatform { platform: extra.into(), emulated: arm64.emulated, pinned: false });
            }
        }
    }
    Ok(offered)
}

/// The `docker buildx build …` command equivalent to a request.
pub fn command_line(request: &BuildRequest) -> String {
    let mut args: Vec<String> = vec!["docker".into(), "buildx".into(), "build".into()];
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    if !request.builder.trim().is_empty() {
        push(&["--builder", request.builder.trim()]);
    }
    let platforms: Vec<&str> = request.platforms.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    if !platforms.is_empty() {
        push(&["--platform", &platforms.join(",")]);
    }
    if !request.dockerfile.trim().is_empty() {
        push(&["-f", request.dockerfile.trim()]);
    }
    for tag in tags(request) {
        push(&["-t", &tag]);
    }
    for arg in request.build_args.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--build-arg", arg.trim()]);
    }
    for label in request.labels.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--label", label.trim()]);
    }
    for secret in request.secrets.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--secret", secret.trim()]);
    }
    for cache in request.cache_from.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--cache-from", cache.trim()]);
    }
    for cache in request.cache_to.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--cache-to", cache.trim()]);
    }
    if !request.target.trim().is_empty() {
        push(&["--target", request.target.trim()]);
    }
    if request.no_cache {
        push(&["--no-cache"]);
    }
    match request.provenance {
        ProvenanceMode::Min => {}
        ProvenanceMode::Max => push(&["--provenance", "mode=max"]),
        ProvenanceMode::Off => push(&["--provenance", "false"]),
    }
    if request.sbom {
        let generator = request.sbom_generator.trim();
        push(&["--sbom", &if generator.is_empty() { "true".to_owned() } else { format!("generator={generator}") }]);
    }
    match &request.output {
        BuildOutput::CacheOnly => {}
        BuildOutput::Push => push(&["--push"]),
        BuildOutput::Load => push(&["--load"]),
        BuildOutput::Oci { dest } => push(&["--output", &format!("type=oci,dest={dest}")]),
        BuildOutput::Docker { dest } => push(&["--output", &format!("type=docker,dest={dest}")]),
        BuildOutput::Tar { dest } => push(&["--output", &format!("type=tar,dest={dest}")]),
        BuildOutput::Local { dest } => push(&["--output", &format!("type=local,dest={dest}")]),
    }
    push(&[if request.context.trim().is_empty() { "." } else { request.context.trim() }]);
    shell_words::join(args)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::docker_config::Environment;
    use crate::drivers::{DriverError, NodeChannel, NodeProbe, NodeStatus, Progress};

    /// A driver whose BuildKit never boots, counting how often a build asked for it.
    struct FakeDriverNeverBoots {
        connects: Arc<AtomicU32>,
    }

    #[async_trait]
    impl Driver for FakeDriverNeverBoots {
        fn validate_options(&self) -> Result<(), DriverError> {
            Ok(())
        }

        fn is_engine_buildkit(&self) -> bool {
            false
        }

        async fn connect(&self) -> Result<NodeChannel, DriverError> {
            self.connects.fetch_add(1, Ordering::SeqCst);
            Err(DriverError::BootFailed {
                node: "fake0".into(),
                container: "buildx_buildkit_fake0".into(),
                reason: "connection refused".into(),
                logs: String::new(),
            })
        }

        async fn boot(&self, _progress: Progress<'_>) -> Result<(), DriverError> {
            unreachable!("a build boots through connect")
        }

        async fn stop(&self, _progress: Progress<'_>) -> Result<(), DriverError> {
            unreachable!("a build never stops its builder")
        }

        async fn remove(&self, _keep_state: bool, _progress: Progress<'_>) -> Result<(), DriverError> {
            unreachable!("a build never removes its builder")
        }

        async fn describe(&self) -> NodeProbe {
            NodeProbe { status: NodeStatus::Error, control: None, host: None, error: None }
        }
    }

    /// A folder of its own for records, and a context holding a Dockerfile.
    fn fake_driver_world() -> (tempfile::TempDir, Builders, Environment, BuildRequest) {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment {
            home: Some(dir.path().into()),
            docker_config: Some(dir.path().join("docker")),
            xdg_data_home: Some(dir.path().join("data")),
            docker_host: Some(format!("unix://{}", dir.path().join("no-engine.sock").display())),
            ..Default::default()
        };
        let context = dir.path().join("app");
        std::fs::create_dir(&context).unwrap();
        std::fs::write(context.join("Dockerfile"), "FROM scratch\n").unwrap();
        let request = BuildRequest {
            context: context.to_string_lossy().into_owned(),
            tags: vec!["app:1".into()],
            ..Default::default()
        };
        (dir, Builders::new(env.clone()), env, request)
    }

    async fn fake_driver_build(builders: &Builders, request: &BuildRequest, connects: &Arc<AtomicU32>) -> BuildError {
        let driver = FakeDriverNeverBoots { connects: connects.clone() };
        let target = async { Ok(("fake".to_owned(), Box::new(driver) as Box<dyn Driver>)) };
        run_on(builders, request, target, None, &|_| {}, CancellationToken::new()).await.unwrap_err()
    }

    #[tokio::test]
    async fn fake_driver_that_cannot_boot_fails_the_build_and_is_recorded() {
        let (_dir, builders, env, request) = fake_driver_world();
        let connects = Arc::new(AtomicU32::new(0));
        let error = fake_driver_build(&builders, &request, &connects).await;
        assert!(matches!(error, BuildError::Builder(BuilderError::Driver(DriverError::BootFailed { .. }))), "{error}");
        assert_eq!(connects.load(Ordering::SeqCst), 1);

        let records = crate::records::History::new(&env).recent(10);
        assert_eq!(records.len(), 1, "the build is recorded");
        assert_eq!(records[0].request, request);
        assert_eq!(records[0].outcome.state, BuildState::Failed);
        assert_eq!(records[0].outcome.tags, ["app:1"]);
        assert_eq!(records[0].outcome.failure.as_ref().map(|f| f.message.clone()), Some(error.to_string()));
    }

    #[tokio::test]
    async fn fake_driver_is_not_asked_for_a_request_that_fails_its_checks() {
        let (_dir, builders, env, request) = fake_driver_world();
        let connects = Arc::new(AtomicU32::new(0));
        let bad = BuildRequest { platforms: vec!["linux/".into()], ..request };
        let error = fake_driver_build(&builders, &bad, &connects).await;
        assert!(matches!(error, BuildError::Platform(_)), "{error}");
        assert_eq!(connects.load(Ordering::SeqCst), 0);
        assert!(crate::records::History::new(&env).recent(10).is_empty(), "a refused request is not a build");
    }

    #[test]
    fn the_cli_equivalent_names_every_option() {
        let request = BuildRequest {
            context: "/src/app".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec!["127.0.0.1:5055/app:1".into()],
            build_args: vec!["GREETING=hi there".into()],
            target: "final".into(),
            output: BuildOutput::Push,
            ..Default::default()
        };
        assert_eq!(
            command_line(&request),
            "docker buildx build --platform linux/amd64,linux/arm64 -t 127.0.0.1:5055/app:1 --build-arg 'GREETING=hi there' --target final --push /src/app"
        );
    }

    #[test]
    fn an_sbom_is_asked_of_the_frontend_and_named_in_the_cli() {
        let checked = Checked {
            context: PathBuf::from("/src"),
            dockerfile_dir: PathBuf::from("/src"),
            dockerfile_name: "Dockerfile".into(),
            dockerfile: PathBuf::from("/src/Dockerfile"),
            platforms: Vec::new(),
        };
        let mut request = BuildRequest { sbom: true, ..Default::default() };
        assert_eq!(frontend_attrs(&request, &checked).unwrap().get("attest:sbom").map(String::as_str), Some(""));
        assert_eq!(command_line(&request), "docker buildx build --sbom true .");
        request.sbom_generator = " 127.0.0.1:5055/scanner:1 ".into();
        assert_eq!(
            frontend_attrs(&request, &checked).unwrap().get("attest:sbom").map(String::as_str),
            Some("generator=127.0.0.1:5055/scanner:1")
        );
        assert_eq!(command_line(&request), "docker buildx build --sbom 'generator=127.0.0.1:5055/scanner:1' .");
        request.sbom = false;
        assert!(!frontend_attrs(&request, &checked).unwrap().contains_key("attest:sbom"));
    }

    #[test]
    fn a_syntax_error_points_at_its_line() {
        let line = guessed_line(
            "dockerfile parse error on line 3: unknown instruction: FORM",
            None,
            Path::new("/nonexistent"),
        );
        assert_eq!(line, Some(3));
    }
}
