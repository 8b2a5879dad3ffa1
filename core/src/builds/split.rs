//! A build split across a builder's nodes, as buildx splits one: the platforms routed to each node
//! ([`crate::builders::routing`]) make one solve there, all solves at once, each node's own
//! session serving the same context. Every solve asks for a manifest list (`multi-platform`), as
//! buildx does. Their progress folds into one set of lanes on one time axis, each step labelled
//! with its node. A node whose solve fails, or that goes away, fails its platforms and is named;
//! unlike buildx, which cancels every node then, the other nodes finish.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bollard::moby::buildkit::v1::StatusResponse;
use futures_util::future::join_all;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connect::connect;
use super::failure::{failure, BuildFailure};
use super::request::{cache_entries, image_names, local_caches, secrets, BuildOutput, BuildRequest, Checked};
use super::solve::{exporter, frontend_attrs, runnable, tag_local_caches, PROGRESS_INTERVAL};
use super::split_output::SplitTarballs;
use super::{BuildError, BuildOutcome, BuildState, Watch};
use crate::builders::routing::{Route, RouteNode};
use crate::builders::Builders;
use crate::buildkit::error_details::ErrorDetails;
use crate::buildkit::session::filesend::TarballDestination;
use crate::buildkit::session::{self, SessionServices};
use crate::buildkit::solve::DockerfileSolve;
use crate::buildkit::BuildkitError;
use crate::docker_config::credentials::CredentialStore;
use crate::images::compose::{self, ComposeError, ComposeRequest};
use crate::images::reference::ImageReference;
use crate::images::registry::RegistryClient;
use crate::platform::Platform;
use crate::progress::{ProgressModel, ProgressUpdate};

/// How one node's solve ended.
enum NodeEnd {
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

/// One node's part: its name, its driver and the platforms routed to it.
struct Share {
    name: String,
    node: RouteNode,
    platforms: Vec<Platform>,
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
    // With --push each node pushes its platforms by digest to the tags' repositories, and the one
    // index is assembled from them afterwards (buildx's `toRepoOnly` and `push-by-digest`).
    let tags = image_names(request);
    let pushed_to: Vec<ImageReference> = match &request.output {
        BuildOutput::Push => tags
            .iter()
            .map(|t| t.parse().map_err(|source| BuildError::Tag { tag: t.clone(), source }))
            .collect::<Result<_, _>>()?,
        _ => Vec::new(),
    };
    let mut repositories: Vec<String> = Vec::new();
    for name in pushed_to.iter().map(ImageReference::name) {
        if !repositories.contains(&name) {
            repositories.push(name);
        }
    }
    let repositories = (!repositories.is_empty()).then(|| repositories.join(","));
    let mut by_index: Vec<Option<RouteNode>> = nodes.into_iter().map(Some).collect();
    let shares: Vec<Share> = routes
        .into_iter()
        .map(|r| {
            let node = by_index[r.node].take().expect("a node has one route");
            Share { name: node.name.clone(), node, platforms: r.platforms }
        })
        .collect();
    // Tarball and load outputs: each node exports into a file of its own, merged once all are done.
    let names = shares.iter().map(|s| s.name.clone()).collect();
    let tarballs = SplitTarballs::prepare(builders, request, docker_context, &builder, names).await?;
    let lanes: Vec<(String, Vec<String>)> =
        shares.iter().map(|s| (s.name.clone(), s.platforms.iter().map(ToString::to_string).collect())).collect();
    let refs: Vec<String> = shares.iter().map(|_| session::new_id()).collect();
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    observer.started(&refs[0]);

    let (statuses, mut received) = mpsc::unbounded_channel::<(usize, StatusResponse)>();
    let mut parts = Vec::with_capacity(shares.len());
    for (i, share) in shares.into_iter().enumerate() {
        let part = NodeSolve {
            name: share.name,
            node: share.node,
            platforms: share.platforms,
            build_ref: refs[i].clone(),
            index: i,
            repositories: repositories.clone(),
            tarball: tarballs.as_ref().map(|t| (t.node_file(i), t.node_exporter())),
        };
        parts.push(solve_on_node(builders, request, &checked, builder.clone(), part, statuses.clone(), cancel.clone()));
    }
    let solves = join_all(parts);
    drop(statuses);
    tokio::pin!(solves);
    // Read as the frontend reads it, so each step can say where in it it comes from.
    let dockerfile = crate::dockerfile::read_source(&checked.dockerfile)
        .inspect_err(|e| tracing::debug!(error = %e, "steps will not show their Dockerfile lines"))
        .ok();
    let mut model = ProgressModel::split(&lanes);
    if let Some(source) = &dockerfile {
        model = model.with_dockerfile(source);
    }
    let mut tick = tokio::time::interval(PROGRESS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let ends = loop {
        tokio::select! {
            ends = &mut solves => break ends,
            Some((node, response)) = received.recv() => model.apply_node(node, &response),
            _ = tick.tick() => emit(&mut model, &mut *observer, progress),
        }
    };
    while let Ok((node, response)) = received.try_recv() {
        model.apply_node(node, &response);
    }

    let mut state = BuildState::Succeeded;
    let mut first_failure: Option<BuildFailure> = None;
    let mut exporter_response = BTreeMap::new();
    let mut digests = Vec::new();
    for (i, (name, platforms, end)) in ends.into_iter().enumerate() {
        let named = |message: String| format!("node {name} ({}): {message}", join(&platforms));
        match end {
            NodeEnd::Solved(response) => {
                digests.extend(response.get("containerimage.digest").cloned());
                exporter_response.extend(response.into_iter().map(|(k, v)| (format!("{name}/{k}"), v)));
            }
            NodeEnd::Cancelled => {
                model.cancel_unfinished();
                if state == BuildState::Succeeded {
                    state = BuildState::Cancelled;
                }
            }
            NodeEnd::Failed { message, mut details } => {
                state = BuildState::Failed;
                details.vertex = details.vertex.map(|v| model.step_id(Some(i), &v));
                let mut steps = model.steps();
                let mut f = failure(named(message), &details, &model, &mut steps, dockerfile.as_deref());
                f.node = Some(name.clone());
                first_failure.get_or_insert(f);
            }
            NodeEnd::Gone(error) => {
                state = BuildState::Failed;
                let message = named(format!("went away: {error}"));
                model.fail_node(i, &message);
                let mut steps = model.steps();
                let mut f = failure(message, &ErrorDetails::default(), &model, &mut steps, dockerfile.as_deref());
                f.node = Some(name.clone());
                f.platform = f.platform.or_else(|| platforms.first().map(ToString::to_string));
                first_failure.get_or_insert(f);
            }
        }
    }
    emit(&mut model, &mut *observer, progress);
    let mut digest = None;
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
    if let (Some(first), BuildState::Succeeded) = (pushed_to.first(), state) {
        match merge(builders, first, &digests, &tags).await {
            Ok(index) => digest = Some(index),
            Err(e) => {
                state = BuildState::Failed;
                let mut steps = model.steps();
                let message = format!("merging the nodes' images into one index for {}: {e}", tags.join(", "));
                first_failure =
                    Some(failure(message, &ErrorDetails::default(), &model, &mut steps, dockerfile.as_deref()));
            }
        }
    }
    let steps = model.steps();
    let outcome = BuildOutcome {
        build_ref: refs[0].clone(),
        builder: builder.clone(),
        state,
        digest,
        platforms: checked.platforms.iter().map(ToString::to_string).collect(),
        tags: if state == BuildState::Succeeded { tags } else { Vec::new() },
        duration_ms: started.elapsed().as_millis() as u64,
        failure: first_failure,
        steps,
        exporter_response,
    };
    if outcome.state != BuildState::Cancelled {
        if let Err(e) = builders.record_activity(&builder).await {
            tracing::warn!(error = %e, "cannot stamp the builder's activity");
        }
    }
    observer.finished(request, &outcome, &started_at);
    Ok(outcome)
}

/// Hands what changed since the last time to the UI and the observer.
fn emit(
    model: &mut ProgressModel,
    observer: &mut dyn super::BuildObserver,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
) {
    if let Some(update) = model.take_update() {
        observer.logs(&update.logs);
        progress(update);
    }
}

/// Assembles the index of the images the nodes pushed by digest (each a manifest list of its
/// platforms and their attestations) and pushes it under every tag, as buildx's "merging
/// manifest list" step does, through the same code as `imagetools create`. Returns its digest.
#[tracing::instrument(skip_all, fields(repository = %first.name()))]
async fn merge(
    builders: &Builders,
    first: &ImageReference,
    digests: &[String],
    tags: &[String],
) -> Result<String, ComposeError> {
    let environment = builders.contexts().environment().clone();
    let sources: Vec<String> = digests.iter().map(|d| first.pinned(d)).collect();
    let tags = tags.to_vec();
    // Driven on a blocking thread of its own: compose's futures hold closures over borrows that
    // rustc cannot prove `Send` for every lifetime (rust-lang/rust#102211), and the build's future
    // must stay `Send` for the window to spawn it.
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(async move {
            let client = RegistryClient::new(CredentialStore::new(&environment));
            let composition = compose::plan(&client, &ComposeRequest::new(sources, tags)).await?;
            compose::push(&client, &composition, &|_| {}).await?;
            Ok(composition.digest)
        })
    })
    .await
    .expect("the merge does not panic")
}

fn join(platforms: &[Platform]) -> String {
    platforms.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// What one node solves: `platforms` under `build_ref`, its Status tagged with `index`; with
/// `repositories`, the image is pushed there by digest; with `tarball`, exported (`oci` or `tar`)
/// into that file.
struct NodeSolve {
    name: String,
    node: RouteNode,
    platforms: Vec<Platform>,
    build_ref: String,
    index: usize,
    repositories: Option<String>,
    tarball: Option<(PathBuf, &'static str)>,
}

#[tracing::instrument(skip_all, fields(node = %part.name, platforms = %join(&part.platforms)))]
async fn solve_on_node(
    builders: &Builders,
    request: &BuildRequest,
    checked: &Checked,
    builder: String,
    part: NodeSolve,
    statuses: mpsc::UnboundedSender<(usize, StatusResponse)>,
    cancel: CancellationToken,
) -> (String, Vec<Platform>, NodeEnd) {
    let NodeSolve { name, node, platforms, build_ref, index, repositories, tarball } = part;
    let run = async {
        let connected = connect(builder, node.driver).await?;
        let control = &connected.control;
        let workers = control.list_workers().await?;
        if let Some(platform) = platforms.iter().find(|p| !runnable(&workers, p)) {
            let available =
                workers.iter().flat_map(|w| &w.platforms).map(ToString::to_string).collect::<Vec<_>>().join(", ");
            return Err(BuildError::PlatformUnavailable {
                builder: format!("{} (node {})", connected.builder, node.name),
                platform: platform.to_string(),
                available,
            });
        }
        let cache_imports = cache_entries(&request.cache_from, "import")?;
        let cache_exports = cache_entries(&request.cache_to, "export")?;
        let folder = match &request.output {
            BuildOutput::Local { dest } => Some(dest.into()),
            _ => None,
        };
        let services = SessionServices {
            dirs: HashMap::from([
                ("context".to_owned(), checked.context.clone()),
                ("dockerfile".to_owned(), checked.dockerfile_dir.clone()),
            ]),
            tarball: tarball.as_ref().map(|(file, _)| TarballDestination::File(file.clone())),
            folder,
            credentials: Some(CredentialStore::new(builders.contexts().environment())),
            secrets: secrets(&request.secrets)?,
            content: local_caches(&cache_imports, "import")?
                .into_iter()
                .chain(local_caches(&cache_exports, "export")?)
                .collect(),
        };
        let session = connected.attach(&checked.context, services).await?;
        let mut attrs = frontend_attrs(request, &Checked { platforms: platforms.to_vec(), ..checked.clone() })?;
        attrs.insert("multi-platform".into(), "true".into());
        let mut exporter = exporter(request, connected.driver.is_engine_buildkit(), None);
        if let (Some((_, kind)), Some(export)) = (&tarball, exporter.as_mut()) {
            export.kind = kind.to_string();
        }
        if let (Some(names), Some(image)) = (repositories, exporter.as_mut()) {
            image.attrs.insert("name".into(), names.to_owned());
            image.attrs.insert("push-by-digest".into(), "true".into());
        }
        let solve = DockerfileSolve {
            build_ref: build_ref.to_owned(),
            session_id: session.id().to_owned(),
            frontend_attrs: attrs,
            exporter,
            entitlements: Vec::new(),
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
            // The last statuses arrive just after Solve returns.
            let drain = async {
                while let Some(Ok(response)) = status.next().await {
                    let _ = statuses.send((index, response));
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        }
        drop(session);
        Ok(match result {
            None => NodeEnd::Cancelled,
            Some(Ok(response)) => {
                tag_local_caches(&solve.cache_exports, &response)?;
                NodeEnd::Solved(response)
            }
            Some(Err(e @ BuildkitError::Call { .. })) => {
                // A broken connection also ends Solve with a status: the node went away when it no
                // longer answers, rather than a step failing on it.
                let answers = tokio::time::timeout(Duration::from_secs(5), control.list_workers()).await;
                match (e, answers) {
                    (BuildkitError::Call { message, details, .. }, Ok(Ok(_))) => {
                        NodeEnd::Failed { message, details: *details }
                    }
                    (e, _) => NodeEnd::Gone(e.into()),
                }
            }
            Some(Err(e)) => NodeEnd::Gone(e.into()),
        })
    };
    let end = run.await.unwrap_or_else(NodeEnd::Gone);
    (name, platforms, end)
}
