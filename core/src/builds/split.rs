//! A build split into several solves, all at once: across a builder's nodes as buildx splits one
//! (the platforms routed to each node, [`crate::builders::routing`], make one solve there), or,
//! with keep-going, one solve per platform, since BuildKit cancels every platform of a solve when
//! one of them fails (moby/buildkit#2402). Each solve has its own session serving the same context
//! and asks for a manifest list (`multi-platform`), as buildx does. Their progress folds into one
//! set of lanes on one time axis, each step labelled with its node. A solve that fails, or whose
//! node goes away, fails its platforms, named; unlike buildx, which cancels every node then, the
//! others finish. With push each solve pushes by digest and one index is assembled under the tags
//! from the platforms [`super::keep_going`] says go in.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::moby::buildkit::v1::StatusResponse;
use futures_util::future::join_all;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::command_line;
use super::connect::connect;
use super::failure::{failure, BuildFailure};
use super::keep_going::{self, PlatformResult};
use super::request::{cache_entries, image_names, network, BuildOutput, BuildRequest, Checked};
use super::solve::{
    exporters, frontend_attrs, read_to_end, runnable, session_services, tag_local_caches, PROGRESS_INTERVAL,
};
use super::split_output::SplitTarballs;
use super::{BuildError, BuildObserver, BuildOutcome, BuildState, Watch};
use crate::builders::drivers::Driver;
use crate::builders::routing::{Route, RouteNode};
use crate::builders::Builders;
use crate::buildkit::error_details::ErrorDetails;
use crate::buildkit::session;
use crate::buildkit::session::filesend::{OutputDestination, TarballDestination};
use crate::buildkit::solve::DockerfileSolve;
use crate::buildkit::BuildkitError;
use crate::docker_config::credentials::CredentialStore;
use crate::images::compose::{self, ComposeError, ComposeRequest};
use crate::images::reference::ImageReference;
use crate::images::registry::RegistryClient;
use crate::platform::Platform;
use crate::progress::{ProgressModel, ProgressUpdate, SolvePart, Step};

/// How one solve ended.
enum SolveEnd {
    Solved(BTreeMap<String, String>),
    /// BuildKit failed the solve (a step failed).
    Failed {
        message: String,
        details: ErrorDetails,
    },
    /// The node could not be reached, or went away mid-build.
    Gone(BuildError),
    Cancelled,
}

/// One solve of a split build: the node it runs on, its platforms, and which attempt at them it
/// is; `key` starts its steps' ids (two solves can run the same vertex digests).
pub(super) struct Part {
    key: String,
    node: String,
    driver: Box<dyn Driver>,
    platforms: Vec<Platform>,
    attempt: u32,
}

impl Part {
    /// The solve of `platform` alone on `node`: its first attempt, or a retry.
    pub(super) fn platform(node: &str, driver: Box<dyn Driver>, platform: Platform, attempt: u32) -> Self {
        let key = match attempt {
            1 => format!("{node}/{platform}"),
            n => format!("{node}/{platform}#{n}"),
        };
        Part { key, node: node.to_owned(), driver, platforms: vec![platform], attempt }
    }

    pub(super) fn label(&self) -> SolvePart {
        SolvePart {
            key: self.key.clone(),
            node: self.node.clone(),
            platforms: self.platforms.iter().map(ToString::to_string).collect(),
            attempt: self.attempt,
        }
    }
}

/// The solves of a build: one per node as buildx splits it, or with `keep_going` one per
/// platform (several on a node that builds several platforms).
fn parts(nodes: Vec<RouteNode>, routes: Vec<Route>, keep_going: bool) -> Vec<Part> {
    let nodes: Vec<(String, Arc<dyn Driver>)> = nodes.into_iter().map(|n| (n.name, Arc::from(n.driver))).collect();
    let mut parts = Vec::new();
    for route in routes {
        let (node, driver) = &nodes[route.node];
        if keep_going {
            for platform in route.platforms {
                parts.push(Part::platform(node, Box::new(driver.clone()), platform, 1));
            }
        } else {
            let driver = Box::new(driver.clone());
            parts.push(Part { key: node.clone(), node: node.clone(), driver, platforms: route.platforms, attempt: 1 });
        }
    }
    parts
}

/// Where a split build's images go with --push: each solve pushes by digest to the tags'
/// repositories (buildx's `toRepoOnly` and `push-by-digest`), and the one index goes under the
/// tags, read from the first one's repository.
pub(super) struct PushTargets {
    pub tags: Vec<String>,
    pub first: Option<ImageReference>,
    /// The repositories, comma-separated as the image exporter's `name` takes them.
    pub repositories: Option<String>,
}

pub(super) fn push_targets(request: &BuildRequest) -> Result<PushTargets, BuildError> {
    let tags = image_names(request);
    let pushed_to: Vec<ImageReference> = match request.pushes() {
        true => tags
            .iter()
            .map(|t| t.parse().map_err(|source| BuildError::Tag { tag: t.clone(), source }))
            .collect::<Result<_, _>>()?,
        false => Vec::new(),
    };
    let mut repositories: Vec<String> = Vec::new();
    for name in pushed_to.iter().map(ImageReference::name) {
        if !repositories.contains(&name) {
            repositories.push(name);
        }
    }
    Ok(PushTargets {
        tags,
        first: pushed_to.into_iter().next(),
        repositories: (!repositories.is_empty()).then(|| repositories.join(",")),
    })
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn run_split(
    builders: &Builders,
    request: &BuildRequest,
    checked: Checked,
    builder: String,
    nodes: Vec<RouteNode>,
    routes: Vec<Route>,
    docker_context: Option<&str>,
    watch: Watch<'_>,
) -> Result<BuildOutcome, BuildError> {
    let Watch { progress, cancel, observer } = watch;
    let merged = |output: &BuildOutput| match output {
        BuildOutput::CacheOnly | BuildOutput::Local { .. } | BuildOutput::Push { .. } | BuildOutput::Image { .. } => {
            None
        }
        BuildOutput::Load { .. } => Some("load"),
        BuildOutput::Oci { .. } => Some("oci"),
        BuildOutput::Docker { .. } => Some("docker"),
        BuildOutput::Tar { .. } => Some("tar"),
    };
    if let (Some(output), true) = (request.exported().find_map(merged), request.keep_going) {
        return Err(BuildError::KeepGoingOutput { output });
    }
    if request.exported().nth(1).is_some() {
        return Err(BuildError::SplitOutputs { builder, outputs: command_line::outputs(request).join(" ") });
    }
    // Each solve's exporter is Buildlane's own (pushed by digest, tarballs merged after): what
    // `--output` adds to it is not carried to the merged result yet.
    let given: Vec<&str> =
        request.exported().filter_map(BuildOutput::attrs).flatten().map(|(k, _)| k.as_str()).collect();
    if !given.is_empty() {
        return Err(BuildError::SplitOutputAttrs { builder, attrs: given.join(", ") });
    }
    let push = push_targets(request)?;
    let parts = parts(nodes, routes, request.keep_going);
    // Tarball and load outputs: each solve exports into a file of its own, merged once all are done.
    let names = parts.iter().map(|p| p.node.clone()).collect();
    let tarballs = SplitTarballs::prepare(builders, request, docker_context, names).await?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let build_ref = session::new_id();
    observer.started(&build_ref);
    let dockerfile = read_dockerfile(&checked);
    let labels: Vec<SolvePart> = parts.iter().map(Part::label).collect();
    let mut model = ProgressModel::split(&labels);
    if let Some(source) = &dockerfile {
        model = model.with_dockerfile(source);
    }
    let solving = Solving {
        builders,
        request,
        checked: &checked,
        builder: &builder,
        repositories: push.repositories.clone(),
        tarballs: tarballs.as_ref(),
    };
    let ends = solving.run(parts, &build_ref, &mut model, progress, &mut *observer, &cancel).await;
    let mut ended = conclude(ends, &mut model, dockerfile.as_deref());
    ended.results.sort_by_key(|r| checked.platforms.iter().position(|p| p.to_string() == r.platform));
    emit(&mut model, &mut *observer, progress);

    let mut state = keep_going::overall(&ended.results);
    let mut first_failure = ended.failure;
    let mut digest = match index(builders, request, &push, &ended.results, &cancel).await {
        Ok(digest) => digest,
        Err(message) => {
            state = BuildState::Failed;
            let mut steps = model.steps();
            first_failure = Some(failure(message, &ErrorDetails::default(), &model, &mut steps, dockerfile.as_deref()));
            None
        }
    };
    if let (Some(tarballs), BuildState::Succeeded) = (tarballs, state) {
        let destination = tarballs.destination();
        match tarballs.finish().await {
            Ok(index) => digest = index,
            Err(e) => {
                state = BuildState::Failed;
                let mut steps = model.steps();
                let message = format!("merging the nodes' results into {destination}: {e}");
                first_failure =
                    Some(failure(message, &ErrorDetails::default(), &model, &mut steps, dockerfile.as_deref()));
            }
        }
    }
    if let Some(f) = first_failure.as_mut() {
        f.succeeded_platforms = keep_going::succeeded(&ended.results);
    }
    let outcome = BuildOutcome {
        build_ref,
        builder: builder.clone(),
        state,
        digest: digest.clone(),
        platforms: checked.platforms.iter().map(ToString::to_string).collect(),
        tags: if digest.is_some() { push.tags } else { Vec::new() },
        duration_ms: started.elapsed().as_millis() as u64,
        failure: first_failure,
        steps: model.steps(),
        exporter_response: ended.exporter_response,
        platform_results: ended.results,
    };
    if outcome.state != BuildState::Cancelled {
        if let Err(e) = builders.record_activity(&builder).await {
            tracing::warn!(error = %e, "cannot stamp the builder's activity");
        }
    }
    observer.finished(request, &outcome, &started_at);
    Ok(outcome)
}

/// The Dockerfile read as the frontend reads it, so each step can say where in it it comes from.
pub(super) fn read_dockerfile(checked: &Checked) -> Option<String> {
    crate::dockerfile::read_source(&checked.dockerfile)
        .inspect_err(|e| tracing::debug!(error = %e, "steps will not show their Dockerfile lines"))
        .ok()
}

/// With --push, assembles and pushes under the tags the index of the platforms
/// [`keep_going::index_sources`] lets in (none after a cancel); its digest, or why it failed.
pub(super) async fn index(
    builders: &Builders,
    request: &BuildRequest,
    push: &PushTargets,
    results: &[PlatformResult],
    cancel: &CancellationToken,
) -> Result<Option<String>, String> {
    let (Some(first), false) = (&push.first, cancel.is_cancelled()) else { return Ok(None) };
    let Some(sources) = keep_going::index_sources(results, request.push_partial) else { return Ok(None) };
    merge(builders, first, &sources, &push.tags)
        .await
        .map(Some)
        .map_err(|e| format!("merging the platforms' images into one index for {}: {e}", push.tags.join(", ")))
}

/// Hands what changed since the last time to the UI and the observer.
pub(super) fn emit(
    model: &mut ProgressModel,
    observer: &mut dyn BuildObserver,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
) {
    if let Some(update) = model.take_update() {
        observer.logs(&update.logs);
        progress(update);
    }
}

/// Runs `work` with a registry client of the builders' environment, driven on a blocking thread of
/// its own: the registry and compose futures hold closures over borrows that rustc cannot prove
/// `Send` for every lifetime (rust-lang/rust#102211), and the build's future must stay `Send` for
/// the window to spawn it.
pub(super) async fn on_registry<T, F, W>(builders: &Builders, work: W) -> T
where
    T: Send + 'static,
    F: Future<Output = T>,
    W: FnOnce(RegistryClient) -> F + Send + 'static,
{
    let environment = builders.contexts().environment().clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(work(RegistryClient::new(CredentialStore::new(&environment)))))
        .await
        .expect("registry work does not panic")
}

/// Assembles the index of the images the solves pushed by digest (each a manifest list of its
/// platforms and their attestations) and pushes it under every tag, as buildx's "merging
/// manifest list" step does, through the same code as `imagetools create`. Returns its digest.
#[tracing::instrument(skip_all, fields(repository = %first.name()))]
async fn merge(
    builders: &Builders,
    first: &ImageReference,
    digests: &[String],
    tags: &[String],
) -> Result<String, ComposeError> {
    let sources: Vec<String> = digests.iter().map(|d| first.pinned(d)).collect();
    let tags = tags.to_vec();
    on_registry(builders, move |client| async move {
        let composition = compose::plan(&client, &ComposeRequest::new(sources, tags)).await?;
        compose::push(&client, &composition, &|_| {}).await?;
        Ok(composition.digest)
    })
    .await
}

fn join(platforms: &[Platform]) -> String {
    platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// How one solve ended, with what it was.
pub(super) struct Ended {
    key: String,
    node: String,
    platforms: Vec<Platform>,
    attempt: u32,
    end: SolveEnd,
}

/// What the solves left: each platform's result, the first failure, and the exporters' answers
/// (each key prefixed with its solve's).
pub(super) struct Concluded {
    pub results: Vec<PlatformResult>,
    pub failure: Option<BuildFailure>,
    pub exporter_response: BTreeMap<String, String>,
}

/// Reads how each solve ended into per-platform results; the model's steps of a solve whose node
/// went away are failed with it, and after a cancel the unfinished ones are cancelled.
pub(super) fn conclude(ends: Vec<Ended>, model: &mut ProgressModel, dockerfile: Option<&str>) -> Concluded {
    let mut results = Vec::new();
    let mut first_failure: Option<BuildFailure> = None;
    let mut exporter_response = BTreeMap::new();
    for (i, Ended { key, node, platforms, attempt, end }) in ends.into_iter().enumerate() {
        let named = |message: String| format!("node {node} ({}): {message}", join(&platforms));
        // A failure is looked for among its own solve's steps: another solve may have failed too.
        let prefix = format!("{key}/");
        let own_steps = |model: &ProgressModel| -> Vec<Step> {
            model.steps().into_iter().filter(|s| s.id.starts_with(&prefix)).collect()
        };
        match end {
            SolveEnd::Solved(response) => {
                let digest = response.get("containerimage.digest").cloned();
                results.extend(platforms.iter().map(|p| PlatformResult::succeeded(p, &node, digest.clone(), attempt)));
                exporter_response.extend(response.into_iter().map(|(k, v)| (format!("{key}/{k}"), v)));
            }
            SolveEnd::Cancelled => {
                model.cancel_unfinished();
                results.extend(platforms.iter().map(|p| PlatformResult::cancelled(p, &node, attempt)));
            }
            SolveEnd::Failed { message, mut details } => {
                details.vertex = details.vertex.map(|v| model.step_id(Some(i), &v));
                let mut steps = own_steps(model);
                let mut f = failure(named(message), &details, model, &mut steps, dockerfile);
                f.node = Some(node.clone());
                if let [only] = platforms.as_slice() {
                    f.platform = f.platform.or_else(|| Some(only.to_string()));
                }
                // The platform whose step failed; BuildKit cancelled the rest of the solve. A shared
                // step (the context, a parse) fails them all.
                let lane = f.platform.clone().filter(|lane| platforms.iter().any(|p| p.to_string() == *lane));
                for p in &platforms {
                    results.push(match lane.as_ref().is_none_or(|lane| *lane == p.to_string()) {
                        true => PlatformResult::failed(p, &node, &f, attempt),
                        false => PlatformResult::cancelled(p, &node, attempt),
                    });
                }
                first_failure.get_or_insert(f);
            }
            SolveEnd::Gone(error) => {
                let message = named(format!("went away: {error}"));
                model.fail_node(i, &message);
                let mut steps = own_steps(model);
                let mut f = failure(message, &ErrorDetails::default(), model, &mut steps, dockerfile);
                f.node = Some(node.clone());
                f.platform = f.platform.or_else(|| platforms.first().map(ToString::to_string));
                results.extend(platforms.iter().map(|p| PlatformResult::failed(p, &node, &f, attempt)));
                first_failure.get_or_insert(f);
            }
        }
    }
    Concluded { results, failure: first_failure, exporter_response }
}

/// What every solve of one split build shares.
pub(super) struct Solving<'a> {
    pub builders: &'a Builders,
    pub request: &'a BuildRequest,
    pub checked: &'a Checked,
    pub builder: &'a str,
    /// With push: where each solve pushes by digest.
    pub repositories: Option<String>,
    /// With a tarball or load output: the files each solve exports into, merged afterwards.
    pub tarballs: Option<&'a SplitTarballs>,
}

impl Solving<'_> {
    /// Runs `parts` at once, the first under `build_ref`, folding their progress into `model` and
    /// handing it on at most every [`PROGRESS_INTERVAL`]; how each ended, in order.
    pub(super) async fn run(
        &self,
        parts: Vec<Part>,
        build_ref: &str,
        model: &mut ProgressModel,
        progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
        observer: &mut dyn BuildObserver,
        cancel: &CancellationToken,
    ) -> Vec<Ended> {
        let (statuses, mut received) = mpsc::unbounded_channel::<(usize, StatusResponse)>();
        let mut solves = Vec::with_capacity(parts.len());
        for (index, part) in parts.into_iter().enumerate() {
            let solve_ref = if index == 0 { build_ref.to_owned() } else { session::new_id() };
            solves.push(self.solve(part, solve_ref, index, statuses.clone(), cancel.clone()));
        }
        let solves = join_all(solves);
        drop(statuses);
        tokio::pin!(solves);
        let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ends = loop {
            tokio::select! {
                ends = &mut solves => break ends,
                Some((part, response)) = received.recv() => model.apply_node(part, &response),
                _ = tick.tick() => emit(model, &mut *observer, progress),
            }
        };
        while let Ok((part, response)) = received.try_recv() {
            model.apply_node(part, &response);
        }
        ends
    }

    /// One solve: `part`'s platforms under `build_ref`, its Status tagged with `index`.
    #[tracing::instrument(skip_all, fields(node = %part.node, platforms = %join(&part.platforms)))]
    async fn solve(
        &self,
        part: Part,
        build_ref: String,
        index: usize,
        statuses: mpsc::UnboundedSender<(usize, StatusResponse)>,
        cancel: CancellationToken,
    ) -> Ended {
        let Part { key, node, driver, platforms, attempt } = part;
        let (request, checked, builders) = (self.request, self.checked, self.builders);
        let tarball: Option<(PathBuf, &str)> = self.tarballs.map(|t| (t.node_file(index), t.node_exporter()));
        let run = async {
            let connected = connect(self.builder.to_owned(), driver).await?;
            let control = &connected.control;
            let workers = control.list_workers().await?;
            if let Some(platform) = platforms.iter().find(|p| !runnable(&workers, p)) {
                let available =
                    workers.iter().flat_map(|w| &w.platforms).map(ToString::to_string).collect::<Vec<_>>().join(", ");
                return Err(BuildError::PlatformUnavailable {
                    builder: format!("{} (node {node})", connected.builder),
                    platform: platform.to_string(),
                    available,
                });
            }
            let cache_imports = cache_entries(&request.cache_from, "import")?;
            let cache_exports = cache_entries(&request.cache_to, "export")?;
            // One exporter at most: a split build has one output (`run_split`). A tarball or load
            // is this node's file, merged with the others' afterwards.
            let (mut exporters, mut destinations) = exporters(request, connected.driver.is_engine_buildkit(), None)?;
            if let (Some((file, kind)), Some(export)) = (&tarball, exporters.first_mut()) {
                export.kind = kind.to_string();
                destinations.insert(0, OutputDestination::Tarball(TarballDestination::File(file.clone())));
            }
            // No OCI layout folder: a split build refuses output attributes (`tar=false`) up front.
            let services =
                session_services(builders, request, checked, &cache_imports, &cache_exports, destinations, None)?;
            let session = connected.attach(&checked.context, services).await?;
            let mut attrs = frontend_attrs(request, &Checked { platforms: platforms.to_vec(), ..checked.clone() })?;
            attrs.insert("multi-platform".into(), "true".into());
            if let (Some(names), Some(image)) = (&self.repositories, exporters.first_mut()) {
                // The engine's `moby` exporter names its image `repo:latest`, which cannot be pushed
                // by digest; BuildKit's own image exporter, which the engine also runs, can.
                image.kind = "image".into();
                image.attrs.insert("name".into(), names.to_owned());
                image.attrs.insert("push-by-digest".into(), "true".into());
                // Not kept in the node's image store: solves on one daemon (keep-going's per-platform
                // solves, or nodes that share a daemon) all name the same repository there, and
                // BuildKit's update-or-create of that image races ("already exists").
                image.attrs.insert("store".into(), "false".into());
            }
            let solve = DockerfileSolve {
                build_ref,
                session_id: session.id().to_owned(),
                frontend_attrs: attrs,
                exporters,
                entitlements: network(request)?.entitlements(),
                cache_imports,
                cache_exports,
            };
            let mut status = Box::pin(control.status(&solve.build_ref).await?);
            let solving = control.solve(&solve);
            tokio::pin!(solving);
            let mut status_open = true;
            let result = loop {
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break None,
                    result = &mut solving => break Some(result),
                    item = status.next(), if status_open => match item {
                        Some(Ok(response)) => { let _ = statuses.send((index, response)); }
                        Some(Err(_)) | None => status_open = false,
                    },
                }
            };
            if result.is_some() {
                read_to_end(status, |response| {
                    let _ = statuses.send((index, response));
                })
                .await;
            }
            drop(session);
            Ok(match result {
                None => SolveEnd::Cancelled,
                Some(Ok(response)) => {
                    tag_local_caches(&solve.cache_exports, &response)?;
                    SolveEnd::Solved(response)
                }
                Some(Err(e @ BuildkitError::Call { .. })) => {
                    // A broken connection also ends Solve with a status: the node went away when it no
                    // longer answers, rather than a step failing on it.
                    let answers = tokio::time::timeout(Duration::from_secs(5), control.list_workers()).await;
                    match (e, answers) {
                        (BuildkitError::Call { message, details, .. }, Ok(Ok(_))) => {
                            SolveEnd::Failed { message, details: *details }
                        }
                        (e, _) => SolveEnd::Gone(e.into()),
                    }
                }
                Some(Err(e)) => SolveEnd::Gone(e.into()),
            })
        };
        let end = run.await.unwrap_or_else(SolveEnd::Gone);
        Ended { key, node, platforms, attempt, end }
    }
}
