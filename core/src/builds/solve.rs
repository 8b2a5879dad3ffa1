//! The solve: check the builder can run the platforms, open the session that serves the context,
//! secrets and caches, run BuildKit's Solve while folding its status into lanes, and say how it
//! ended.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::moby::buildkit::v1::StatusResponse;
use futures_util::StreamExt;

use super::connect::connect;
use super::failure::failure;
use super::named_contexts::{self, NamedContext};
use super::request::{
    cache_entries, image_names, key_values, local_caches, network, secrets, ssh_agents, tags, BuildOutput,
    BuildRequest, Checked,
};
use super::split::run_split;
use super::{BuildError, BuildOutcome, BuildState, Target, Watch};
use crate::builders::{routing, BuilderError, Builders};
use crate::buildkit::session::content::{self, LayoutError, OciLayout};
use crate::buildkit::session::filesend::{OutputDestination, TarballDestination};
use crate::buildkit::session::{self, SessionServices};
use crate::buildkit::solve::{CacheEntry, DockerfileSolve, Exporter};
use crate::buildkit::BuildkitError;
use crate::docker_config::credentials::CredentialStore;
use crate::engine::Engine;
use crate::go_text::parse_bool::parse_bool;
use crate::platform::Platform;
use crate::progress::{ProgressModel, ProgressUpdate};

/// How often progress is handed to the UI at most: BuildKit can send thousands of updates a second.
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// How long the rest of a build's statuses may take to arrive once its Solve returned. BuildKit
/// ends the stream as soon as it has sent them; the bound only keeps a builder that never ends it
/// from holding the build open.
const STATUS_END: Duration = Duration::from_secs(60);

/// Hands `on` what is left of a build's status stream once its Solve returned, to the stream's end:
/// behind a busy machine that can be thousands of messages, the last step's logs among them (buildx
/// reads them all too).
pub(super) async fn read_to_end<S>(mut status: S, mut on: impl FnMut(StatusResponse))
where
    S: futures_util::Stream<Item = Result<StatusResponse, BuildkitError>> + Unpin,
{
    let read = async {
        while let Some(Ok(response)) = status.next().await {
            on(response);
        }
    };
    if tokio::time::timeout(STATUS_END, read).await.is_err() {
        tracing::warn!("the builder did not end the build's status stream {}s after the build", STATUS_END.as_secs());
    }
}

pub(super) async fn run_checked(
    builders: &Builders,
    request: &BuildRequest,
    checked: Checked,
    target: Target,
    docker_context: Option<&str>,
    watch: Watch<'_>,
) -> Result<BuildOutcome, BuildError> {
    let Target { builder, mut nodes, .. } = target;
    let routes = routing::resolve(&nodes, &checked.platforms).await?;
    // Keep-going solves each platform on its own: BuildKit cancels a solve's every platform when one fails.
    if routes.len() > 1 || (request.keep_going && checked.platforms.len() > 1) {
        return run_split(builders, request, checked, builder, nodes, routes, docker_context, watch).await;
    }
    let Watch { progress, cancel, observer } = watch;
    let builder = connect(builder, nodes.swap_remove(routes[0].node).driver).await?;
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

    // `--load` elsewhere than on the engine's own BuildKit, as buildx does it: a docker tarball (an
    // OCI one when the engine keeps images in containerd, which takes multi-platform images too)
    // streamed into the image load API of the engine of the build's docker context, or of the
    // one the output names (`-o type=docker,context=NAME`).
    let load = match request.exported().find(|o| o.is_load()) {
        Some(output) if !engine_buildkit => {
            let named = output.attrs().and_then(|a| a.get("context")).map(String::as_str).filter(|c| !c.is_empty());
            let context = builders.contexts().resolve(named.or(docker_context)).map_err(BuilderError::from)?;
            let engine = Engine::connect(&context).await?;
            let oci = engine.containerd_image_store().await?;
            if !oci && checked.platforms.len() > 1 {
                return Err(BuildError::LoadMultiPlatform { host: engine.host().to_owned() });
            }
            Some(Load { engine, format: if oci { "oci" } else { "docker" } })
        }
        _ => None,
    };
    let (exporters, destinations) = exporters(request, engine_buildkit, load.as_ref())?;
    let cache_imports = cache_entries(&request.cache_from, "import")?;
    let cache_exports = cache_entries(&request.cache_to, "export")?;
    let layout = layout_folder(request)?;
    let services =
        session_services(builders, request, &checked, &cache_imports, &cache_exports, destinations, layout.clone())?;
    let session = builder.attach(&checked.context, services).await?;

    let platforms: Vec<String> = checked.platforms.iter().map(ToString::to_string).collect();
    let solve = DockerfileSolve {
        build_ref: session::new_id(),
        session_id: session.id().to_owned(),
        frontend_attrs: frontend_attrs(request, &checked)?,
        exporters,
        entitlements: network(request)?.entitlements(),
        cache_imports,
        cache_exports,
    };
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    // Asked before the observer hears of the solve: a builder that cannot answer is reported by `run`.
    let mut status = Box::pin(control.status(&solve.build_ref).await?);
    observer.started(&solve.build_ref);
    let mut emit = |update: ProgressUpdate| {
        observer.logs(&update.logs);
        progress(update);
    };
    // Read as the frontend reads it, so each step can say where in it it comes from.
    let dockerfile = crate::dockerfile::read_source(&checked.dockerfile)
        .inspect_err(|e| tracing::debug!(error = %e, "steps will not show their Dockerfile lines"))
        .ok();
    let mut model = ProgressModel::new(&platforms);
    if let Some(source) = &dockerfile {
        model = model.with_dockerfile(source);
    }
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
    if result.is_some() {
        read_to_end(status, |response| model.apply(&response)).await;
    } else {
        model.cancel_unfinished();
    }
    drop(session);
    if let Some(update) = model.take_update() {
        emit(update);
    }
    let mut steps = model.steps();
    let mut outcome = BuildOutcome {
        build_ref: solve.build_ref.clone(),
        builder: builder.builder.clone(),
        state: BuildState::Succeeded,
        digest: None,
        platforms,
        tags: image_names(request),
        duration_ms: started.elapsed().as_millis() as u64,
        failure: None,
        steps: Vec::new(),
        exporter_response: BTreeMap::new(),
        platform_results: Vec::new(),
    };
    match result {
        None => outcome.state = BuildState::Cancelled,
        Some(Ok(response)) => {
            // Tagging takes index.json's lock, which may wait on another writer (buildx): off the runtime.
            let (entries, answer) = (solve.cache_exports.clone(), response.clone());
            tokio::task::spawn_blocking(move || {
                tag_local_caches(&entries, &answer)?;
                tag_layout_folder(layout.as_ref(), &answer)
            })
            .await
            .expect("cache tagging does not panic")?;
            outcome.digest = response.get("containerimage.digest").cloned();
            outcome.exporter_response = response;
        }
        Some(Err(BuildkitError::Call { message, details, .. })) => {
            outcome.state = BuildState::Failed;
            outcome.failure = Some(failure(message, &details, &model, &mut steps, dockerfile.as_deref()));
        }
        Some(Err(e)) => return Err(e.into()),
    }
    outcome.steps = steps;
    // A build that did not finish made none of its tags (a push may have failed at the manifest,
    // after its layers went up): the outcome claims none.
    if outcome.state != BuildState::Succeeded {
        outcome.tags.clear();
    }
    if outcome.state != BuildState::Cancelled {
        if let Err(e) = builders.record_activity(&builder.builder).await {
            tracing::warn!(error = %e, "cannot stamp the builder's activity");
        }
    }
    observer.finished(request, &outcome, &started_at);
    Ok(outcome)
}

/// After a solve, tags the exported cache manifest in each local cache folder's `index.json`
/// (`tag`, default `latest`), as BuildKit's client does.
pub(super) fn tag_local_caches(entries: &[CacheEntry], response: &BTreeMap<String, String>) -> Result<(), BuildError> {
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

/// The Dockerfile frontend's attributes, as buildx sets them.
pub(super) fn frontend_attrs(
    request: &BuildRequest,
    checked: &Checked,
) -> Result<BTreeMap<String, String>, BuildError> {
    let mut attrs = BTreeMap::new();
    attrs.insert("filename".to_owned(), checked.dockerfile_name.clone());
    if !checked.platforms.is_empty() {
        attrs
            .insert("platform".into(), checked.platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(","));
    }
    if !request.target.trim().is_empty() {
        attrs.insert("target".into(), request.target.trim().to_owned());
    }
    if request.no_cache {
        attrs.insert("no-cache".into(), String::new());
    }
    for (k, v) in key_values(&request.build_args, "build arg")? {
        // A manifest list even of one platform, when asked for (buildx asks the frontend so only
        // then; several platforms make one anyway).
        if k == "BUILDKIT_MULTI_PLATFORM" && parse_bool(&v) == Some(true) {
            attrs.insert("multi-platform".into(), "true".into());
        }
        attrs.insert(format!("build-arg:{k}"), v);
    }
    for (k, v) in key_values(&request.labels, "label")? {
        attrs.insert(format!("label:{k}"), v);
    }
    let named = named_contexts::parse(&request.build_contexts)?;
    if !named.is_empty() {
        let (key, value) = named_contexts::CAPABILITY;
        attrs.insert(key.into(), value.into());
    }
    attrs.extend(named.iter().map(NamedContext::attr));
    attrs.extend(network(request)?.attrs());
    if let Some(provenance) = request.provenance.frontend_attr() {
        attrs.insert("attest:provenance".into(), provenance);
    }
    if request.sbom {
        let generator = request.sbom_generator.trim();
        let value = if generator.is_empty() { String::new() } else { format!("generator={generator}") };
        attrs.insert("attest:sbom".into(), value);
    }
    attrs.insert("image-resolve-mode".into(), if request.pull { "pull" } else { "default" }.into());
    // The frontend imports cache only when told through this attribute, not from Solve's cache field.
    let imports = cache_entries(&request.cache_from, "import")?;
    if !imports.is_empty() {
        let json: Vec<serde_json::Value> =
            imports.iter().map(|e| serde_json::json!({ "Type": e.kind, "Attrs": e.attrs })).collect();
        attrs.insert("cache-imports".into(), serde_json::Value::Array(json).to_string());
    }
    Ok(attrs)
}

/// `--load` elsewhere than on the engine's own BuildKit: the engine the tarball is streamed into,
/// and the tarball's format (`oci` or `docker`).
pub(super) struct Load {
    pub engine: Engine,
    pub format: &'static str,
}

/// The exporters, one per output in order, as buildx 0.13 lists them, and where the session sends
/// each one's files, by its id (its index): for the docker driver the engine's own `moby` exporter
/// for images (as buildx rewrites `image` and a load to it), BuildKit's `image` exporter elsewhere,
/// its tarball and folder exporters for files. `--load` on other drivers is a tarball streamed into
/// the engine (`load`; without it, the image exporter). Every exporter carries the annotations, as
/// buildx hands them to every output, and those that make an image the tags as its `name`.
pub(super) fn exporters(
    request: &BuildRequest,
    engine_buildkit: bool,
    load: Option<&Load>,
) -> Result<(Vec<Exporter>, HashMap<usize, OutputDestination>), BuildError> {
    let image = if engine_buildkit { "moby" } else { "image" };
    let names = tags(request).join(",");
    let annotations = super::annotations::exporter_attrs(&request.annotations)?;
    let file = |dest: &str| Some(OutputDestination::Tarball(TarballDestination::File(PathBuf::from(dest))));
    let mut exporters = Vec::new();
    let mut destinations = HashMap::new();
    for output in request.exported() {
        let (kind, destination) = match output {
            // The engine's `moby` exporter keeps what it pushes: a second one naming the same image
            // races the first in its image store ("already exists"), as buildx 0.13's two do.
            BuildOutput::Load { .. } if engine_buildkit && request.pushes() => continue,
            BuildOutput::CacheOnly => continue,
            BuildOutput::Push { .. } | BuildOutput::Image { .. } => (image, None),
            BuildOutput::Load { .. } => match load {
                Some(Load { engine, format }) => {
                    (*format, Some(OutputDestination::Tarball(TarballDestination::Engine(Box::new(engine.clone())))))
                }
                None => (image, None),
            },
            // An OCI layout folder is written through the session's content store (`export`),
            // not sent back as files.
            BuildOutput::Oci { .. } if output.is_layout_folder() => ("oci", None),
            BuildOutput::Docker { .. } if output.is_layout_folder() => ("docker", None),
            BuildOutput::Oci { dest, .. } => ("oci", file(dest)),
            BuildOutput::Docker { dest, .. } => ("docker", file(dest)),
            BuildOutput::Tar { dest, .. } => ("tar", file(dest)),
            BuildOutput::Local { dest, .. } => ("local", Some(OutputDestination::Folder(PathBuf::from(dest)))),
        };
        // In buildx's order: what `-o` gave is the base, `--annotation` and `--push` set theirs
        // over it, and the tags name the image.
        let mut attrs = output.attrs().cloned().unwrap_or_default();
        attrs.extend(annotations.clone());
        if output.is_push() {
            attrs.insert("push".into(), "true".into());
        }
        if output.named() && !names.is_empty() {
            attrs.insert("name".into(), names.clone());
        }
        if let Some(destination) = destination {
            destinations.insert(exporters.len(), destination);
        }
        exporters.push(Exporter { kind: kind.into(), attrs });
    }
    Ok((exporters, destinations))
}

/// The OCI layout folder an output writes through the session's content store (`tar=false`),
/// made ready: BuildKit 0.13's client offers one such store, named `export`, so the request's check
/// allows one at most.
fn layout_folder(request: &BuildRequest) -> Result<Option<OciLayout>, BuildError> {
    let Some(BuildOutput::Oci { dest, .. } | BuildOutput::Docker { dest, .. }) =
        request.exported().find(|o| o.is_layout_folder())
    else {
        return Ok(None);
    };
    OciLayout::create(Path::new(dest)).map(Some).map_err(BuildError::OutputLayout)
}

/// After a solve, tags the image an OCI layout folder received in its `index.json` with the
/// exporter's `image.name` (else `latest`), as BuildKit's client does.
fn tag_layout_folder(layout: Option<&OciLayout>, response: &BTreeMap<String, String>) -> Result<(), BuildError> {
    let (Some(layout), Some(encoded)) = (layout, response.get(content::IMAGE_DESCRIPTOR_KEY)) else {
        return Ok(());
    };
    let bad = |reason: String| BuildError::OutputLayout(LayoutError::Io { path: layout.root().to_path_buf(), reason });
    let decoded = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, encoded)
        .map_err(|e| bad(format!("bad {}: {e}", content::IMAGE_DESCRIPTOR_KEY)))?;
    let descriptor: serde_json::Value =
        serde_json::from_slice(&decoded).map_err(|e| bad(format!("bad {}: {e}", content::IMAGE_DESCRIPTOR_KEY)))?;
    layout.require_blob(descriptor["digest"].as_str().unwrap_or_default()).map_err(BuildError::OutputLayout)?;
    let tag = response.get("image.name").map(String::as_str).unwrap_or("latest");
    layout.put_tag(tag, &descriptor).map_err(BuildError::OutputLayout)
}

/// Platforms a worker can run: the ones it lists, and 32-bit arm where it lists arm64 (arm64
/// machines and QEMU's arm handler run it though BuildKit does not list it).
pub(super) fn runnable(workers: &[crate::buildkit::WorkerInfo], wanted: &Platform) -> bool {
    workers.iter().flat_map(|w| &w.platforms).any(|p| {
        let p = p.clone().normalized();
        p == *wanted
            || (p.os == wanted.os && p.architecture == wanted.architecture && wanted.architecture == "amd64")
            || (p.os == wanted.os && p.architecture == "arm64" && wanted.architecture == "arm")
    })
}

/// What a build's session serves BuildKit: the context and Dockerfile folders, where each exported
/// tarball or folder goes, registry credentials, secrets, ssh-agents, and the local cache folders to import
/// from and export to, with the OCI layout folder an output writes (`layout`).
pub(super) fn session_services(
    builders: &Builders,
    request: &BuildRequest,
    checked: &Checked,
    cache_imports: &[CacheEntry],
    cache_exports: &[CacheEntry],
    outputs: HashMap<usize, OutputDestination>,
    layout: Option<OciLayout>,
) -> Result<SessionServices, BuildError> {
    let mut dirs = HashMap::from([
        ("context".to_owned(), checked.context.clone()),
        ("dockerfile".to_owned(), checked.dockerfile_dir.clone()),
    ]);
    for named in named_contexts::parse(&request.build_contexts)? {
        if let named_contexts::Source::Folder { path, session_name } = named.source {
            dirs.insert(session_name, path);
        }
    }
    Ok(SessionServices {
        dirs,
        outputs,
        credentials: Some(CredentialStore::new(builders.contexts().environment())),
        secrets: secrets(&request.secrets)?,
        ssh: ssh_agents(request)?,
        content: local_caches(cache_imports, "import")?
            .into_iter()
            .chain(local_caches(cache_exports, "export")?)
            .chain(layout.map(|layout| (content::EXPORT_STORE_ID.to_owned(), layout)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builds::{command_line, ProvenanceAttest};

    fn checked(platforms: &[&str]) -> Checked {
        Checked {
            context: PathBuf::from("/src"),
            dockerfile_dir: PathBuf::from("/src"),
            dockerfile_name: "Dockerfile".into(),
            dockerfile: PathBuf::from("/src/Dockerfile"),
            platforms: platforms.iter().map(|p| p.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn each_output_is_one_exporter_in_order_and_its_files_go_to_its_own_destination() {
        let request = BuildRequest {
            tags: vec!["127.0.0.1:5055/app:1".into()],
            outputs: vec![
                BuildOutput::CacheOnly,
                BuildOutput::local("out"),
                BuildOutput::tar("fs.tar"),
                BuildOutput::push(),
            ],
            ..Default::default()
        };
        let (exporters, destinations) = exporters(&request, false, None).unwrap();
        let kinds: Vec<_> = exporters.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["local", "tar", "image"], "cacheonly runs no exporter, as buildx drops it");
        assert!(!exporters[0].attrs.contains_key("name") && !exporters[1].attrs.contains_key("name"));
        assert_eq!(exporters[2].attrs.get("name").map(String::as_str), Some("127.0.0.1:5055/app:1"));
        assert_eq!(exporters[2].attrs.get("push").map(String::as_str), Some("true"));
        assert_eq!(destinations.len(), 2, "the pushed image comes back to no one");
        assert!(matches!(&destinations[&0], OutputDestination::Folder(p) if p == Path::new("out")));
        assert!(matches!(
            &destinations[&1],
            OutputDestination::Tarball(TarballDestination::File(p)) if p == Path::new("fs.tar")
        ));
    }

    #[test]
    fn on_the_engine_a_push_keeps_the_image_so_a_load_beside_it_adds_no_exporter() {
        let outputs = |outputs: Vec<BuildOutput>| {
            let request = BuildRequest { tags: vec!["r/a:1".into()], outputs, ..Default::default() };
            let (exporters, _) = exporters(&request, true, None).unwrap();
            exporters.into_iter().map(|e| (e.kind, e.attrs.get("push").cloned())).collect::<Vec<_>>()
        };
        assert_eq!(outputs(vec![BuildOutput::load(), BuildOutput::push()]), [("moby".into(), Some("true".into()))]);
        assert_eq!(outputs(vec![BuildOutput::load()]), [("moby".into(), None)]);
    }

    #[test]
    fn what_an_output_was_given_is_its_exporters_base_and_the_request_sets_its_own_over_it_as_buildx_does() {
        let given = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let pushed = BuildOutput::push().with_attrs(given(&[
            ("name", "r/from-output:1"),
            ("compression", "zstd"),
            ("annotation.org.opencontainers.image.title", "given"),
        ]));
        let layout = BuildOutput::oci("layout").with_attrs(given(&[("tar", "false")]));
        let request = BuildRequest {
            outputs: vec![pushed, layout, BuildOutput::image()],
            annotations: vec!["org.opencontainers.image.title=annotated".into()],
            ..Default::default()
        };
        let (exporters, destinations) = exporters(&request, false, None).unwrap();
        let attrs = |i: usize, key: &str| exporters[i].attrs.get(key).map(String::as_str);
        assert_eq!(attrs(0, "compression"), Some("zstd"));
        assert_eq!(attrs(0, "push"), Some("true"));
        assert_eq!(attrs(0, "annotation.org.opencontainers.image.title"), Some("annotated"), "--annotation wins");
        assert_eq!(attrs(0, "name"), Some("r/from-output:1"), "without tags, the output's own name");
        assert_eq!((exporters[1].kind.as_str(), attrs(1, "tar")), ("oci", Some("false")));
        assert!(destinations.is_empty(), "a layout folder is written through the content store, an image stays");
        assert_eq!((exporters[2].kind.as_str(), attrs(2, "push")), ("image", None), "kept in the builder");

        let tagged = BuildRequest { tags: vec!["r/tagged:2".into()], ..request };
        let (on_the_engine, _) = super::exporters(&tagged, true, None).unwrap();
        assert_eq!(on_the_engine[0].attrs.get("name").map(String::as_str), Some("r/tagged:2"), "the tags name it");
        assert_eq!(on_the_engine[2].kind, "moby", "the engine keeps it in its images");
    }

    #[test]
    fn pull_asks_the_frontend_to_resolve_every_image_in_its_registry() {
        let resolve =
            |request: &BuildRequest| frontend_attrs(request, &checked(&[])).unwrap()["image-resolve-mode"].clone();
        assert_eq!(resolve(&BuildRequest::default()), "default");
        let pulled = BuildRequest { pull: true, ..Default::default() };
        assert_eq!(resolve(&pulled), "pull");
        assert_eq!(command_line(&pulled), "docker buildx build --pull .");
    }

    #[test]
    fn a_manifest_list_is_asked_for_only_by_the_build_argument_as_buildx_asks() {
        let two = checked(&["linux/amd64", "linux/arm64"]);
        let attrs = frontend_attrs(&BuildRequest::default(), &two).unwrap();
        assert_eq!(attrs.get("platform").map(String::as_str), Some("linux/amd64,linux/arm64"));
        assert!(!attrs.contains_key("multi-platform"), "several platforms make one without it: {attrs:?}");
        let asked = BuildRequest { build_args: vec!["BUILDKIT_MULTI_PLATFORM=1".into()], ..Default::default() };
        let attrs = frontend_attrs(&asked, &checked(&["linux/amd64"])).unwrap();
        assert_eq!(attrs.get("multi-platform").map(String::as_str), Some("true"));
        let declined = BuildRequest { build_args: vec!["BUILDKIT_MULTI_PLATFORM=false".into()], ..Default::default() };
        assert!(!frontend_attrs(&declined, &two).unwrap().contains_key("multi-platform"));
    }

    #[test]
    fn an_sbom_is_asked_of_the_frontend_and_named_in_the_cli() {
        let checked = checked(&[]);
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
    fn a_provenance_asked_for_reaches_the_frontend_whole_and_the_cli_as_buildx_reads_it() {
        let provenance =
            |request: &BuildRequest| frontend_attrs(request, &checked(&[])).unwrap().remove("attest:provenance");
        let mut request = BuildRequest::default();
        assert_eq!(provenance(&request).as_deref(), Some("mode=min,inline-only=true"), "buildx's default");
        assert_eq!(command_line(&request), "docker buildx build .");
        request.provenance = ProvenanceAttest::Attrs("type=provenance,disabled=false".into());
        assert_eq!(provenance(&request).as_deref(), Some("type=provenance,disabled=false"), "BuildKit's max");
        assert_eq!(command_line(&request), "docker buildx build --provenance 'disabled=false' .");
        request.provenance = ProvenanceAttest::Off;
        assert_eq!(provenance(&request), None);
        assert_eq!(command_line(&request), "docker buildx build --provenance false .");
    }
}
