//! A Dockerfile build as the Build view and `buildlane build` start it, by stage: the request is
//! checked ([`request`]), the builder reached through its node's driver ([`connect`]), the solve run
//! with its progress folded into lanes ([`solve`]), a failure analysed ([`failure`]); and the
//! `docker buildx build` equivalent ([`command_line`]). Who keeps a build (Buildlane's records)
//! follows it as a [`BuildObserver`].

mod annotations;
mod attest;
mod command_line;
mod connect;
mod failure;
pub mod keep_going;
pub mod metadata;
mod named_contexts;
mod output_flag;
pub mod records;
mod request;
mod retry;
mod solve;
mod split;
mod split_output;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::instrument;
use ts_rs::TS;

pub use attest::{AttestError, Attestations, ProvenanceAttest};
pub use command_line::command_line;
pub(crate) use connect::{connect, target};
pub use connect::{resolve_target, Target};
pub(crate) use failure::failure;
pub use failure::BuildFailure;
pub use keep_going::PlatformResult;
pub use output_flag::{OutputFlag, OutputFlagError};
pub(crate) use request::{check, Checked};
pub use request::{BuildOutput, BuildRequest, ExporterAttrs};
pub use retry::{retry, PlatformRetry};
use solve::run_checked;
pub use solve::PROGRESS_INTERVAL;
pub use split_output::SplitOutputError;

use crate::builders::{BuilderError, Builders};
use crate::buildkit::session;
use crate::buildkit::session::content::LayoutError;
use crate::buildkit::BuildkitError;
use crate::engine::EngineError;
use crate::images::reference::ReferenceError;
use crate::platform::PlatformError;
use crate::progress::{LogChunk, ProgressUpdate, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum BuildState {
    Succeeded,
    Failed,
    Cancelled,
}

/// Follows a build from outside, so that builds need not know who keeps what (Buildlane's own
/// records keep one through [`crate::builds::records::Recording`]).
pub trait BuildObserver: Send {
    /// The solve starts under `build_ref`.
    fn started(&mut self, build_ref: &str);
    /// Output, as it is handed to `progress`.
    fn logs(&mut self, chunks: &[LogChunk]);
    /// How the build ended: after its solve (also cancelled), or before it under a ref of its own
    /// when its engine or builder could not be reached or went away. `started_at` is RFC 3339.
    fn finished(&mut self, request: &BuildRequest, outcome: &BuildOutcome, started_at: &str);
}

/// Who follows a running solve: the UI's progress, the observer, and the cancel.
struct Watch<'a> {
    progress: &'a (dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
    observer: &'a mut dyn BuildObserver,
}

/// No one follows the build.
impl BuildObserver for () {
    fn started(&mut self, _build_ref: &str) {}
    fn logs(&mut self, _chunks: &[LogChunk]) {}
    fn finished(&mut self, _request: &BuildRequest, _outcome: &BuildOutcome, _started_at: &str) {}
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
    /// The tags the build gave an image: empty when it did not succeed or its output makes no image.
    pub tags: Vec<String>,
    pub duration_ms: u64,
    pub failure: Option<BuildFailure>,
    pub steps: Vec<Step>,
    pub exporter_response: BTreeMap<String, String>,
    /// How each platform ended, when it was solved apart from others (keep-going, or a build split
    /// across nodes); empty when one solve built every platform.
    #[serde(default)]
    pub platform_results: Vec<PlatformResult>,
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
    #[error("keep-going solves each platform on its own, and Buildlane does not yet merge their results for --{output}: push, write a local folder, build only, or turn keep-going off")]
    KeepGoingOutput { output: &'static str },
    #[error("--push-partial needs {0}: it pushes the platforms that succeeded when others failed")]
    PushPartialNeeds(&'static str),
    #[error("build {build_ref} has no failed {platform} to retry: a platform can be retried when it failed or was stopped in a build that kept going (or was split across nodes)")]
    NotRetryable { build_ref: String, platform: String },
    #[error("cannot retry {retried}: the {platform} image {digest} the build pushed is no longer in {repository}; build every platform again")]
    RetryImageGone { retried: String, platform: String, digest: String, repository: String },
    #[error("cannot retry: the build's images in {repository} cannot be checked: {source}")]
    RetryRegistry { repository: String, source: crate::images::registry::RegistryError },
    #[error("builder {builder} builds this in several solves (one per node, or per platform to keep going), and Buildlane gives such a build one output, not several yet ({outputs}): build once per output, or push it, then pull it")]
    SplitOutputs { builder: String, outputs: String },
    #[error("builder {builder} builds this in several solves (one per node, or per platform to keep going), and Buildlane does not yet pass output attributes to such a build ({attrs}): build on one node without keep-going, or leave them out")]
    SplitOutputAttrs { builder: String, attrs: String },
    #[error("cannot write the OCI layout folder: {0}")]
    OutputLayout(LayoutError),
    #[error("BuildKit's client writes one OCI layout folder (tar=false) per build: give the others tar=true, or build once per folder")]
    LayoutFolders,
    #[error("cannot write beside {path}: {reason}")]
    OutputUnwritable { path: PathBuf, reason: String },
    #[error(transparent)]
    Routing(#[from] crate::builders::routing::RoutingError),
    #[error("docker exporter does not support exporting manifest lists, use the oci exporter instead")]
    DockerTarballList,
    #[error(transparent)]
    Attest(#[from] AttestError),
    /// buildx's words: a push without a tag, nor a name given to its output.
    #[error("tag is needed when pushing to registry")]
    TagRequired,
    #[error("output path {0} is in a folder that does not exist")]
    OutputFolderMissing(PathBuf),
    #[error("destination directory {} is a file", .0.display())]
    OutputIsFile(PathBuf),
    #[error("destination file {} is a directory", .0.display())]
    OutputIsFolder(PathBuf),
    #[error("invalid build context \"{item}\": {reason}")]
    NamedContext { item: String, reason: String },
    #[error("network mode \"{0}\" not supported by buildkit - you can define a custom network for your builder using the network driver-opt in buildx create")]
    NetworkMode(String),
    #[error("invalid --add-host \"{0}\": expected HOST:IP")]
    AddHost(String),
    #[error(transparent)]
    Annotation(#[from] crate::annotation::AnnotationError),
    #[error(transparent)]
    Ssh(#[from] crate::buildkit::session::ssh_agent::SshSpecError),
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

/// Checks a request as [`run`] does before it reaches for a builder: what a command line should
/// refuse before it says anything about the build.
pub fn validate(request: &BuildRequest) -> Result<(), BuildError> {
    check(request).map(|_| ())
}

/// Runs a build to its end. Progress goes to `progress` at most every [`PROGRESS_INTERVAL`];
/// cancelling `cancel` stops the solve and returns a `Cancelled` outcome with what was seen. Every
/// build that gets past checking its request reaches `observer`, also one whose engine or builder
/// could not be reached or went away.
#[instrument(skip_all, fields(context = %request.context))]
pub async fn run(
    builders: &Builders,
    request: &BuildRequest,
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
    observer: &mut dyn BuildObserver,
) -> Result<BuildOutcome, BuildError> {
    let target = resolve_target(builders, &request.builder, docker_context);
    run_on(builders, request, target, docker_context, progress, cancel, observer).await
}

/// [`run`] on a builder already resolved ([`resolve_target`]): a command line that named the
/// builder and its driver before building reads the store once.
pub async fn run_on_target(
    builders: &Builders,
    request: &BuildRequest,
    target: Target,
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
    observer: &mut dyn BuildObserver,
) -> Result<BuildOutcome, BuildError> {
    run_on(builders, request, std::future::ready(Ok(target)), docker_context, progress, cancel, observer).await
}

/// [`run`] on the nodes `target` resolves to: a test can hand it a driver of its own.
async fn run_on(
    builders: &Builders,
    request: &BuildRequest,
    target: impl std::future::Future<Output = Result<Target, BuildError>>,
    docker_context: Option<&str>,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: CancellationToken,
    observer: &mut dyn BuildObserver,
) -> Result<BuildOutcome, BuildError> {
    let checked = check(request)?;
    let started = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let result = match target.await {
        Ok(target) => {
            let watch = Watch { progress, cancel, observer: &mut *observer };
            run_checked(builders, request, checked, target, docker_context, watch).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        if e.is_unreachable() {
            observer.finished(request, &unreachable_outcome(request, started, e), &started_at);
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
                | BuildError::Routing(_)
                | BuildError::Session(_)
                | BuildError::Builder(BuilderError::Engine(_) | BuilderError::Driver(_))
        )
    }
}

/// The outcome of a build that ended before or during the solve because its engine or builder
/// could not be reached: failed, with the error, under a ref of its own.
fn unreachable_outcome(request: &BuildRequest, started: Instant, e: &BuildError) -> BuildOutcome {
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
        node: None,
    };
    BuildOutcome {
        build_ref: session::new_id(),
        builder: request.builder.trim().to_owned(),
        state: BuildState::Failed,
        digest: None,
        platforms: request.platforms.iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
        tags: Vec::new(),
        duration_ms: started.elapsed().as_millis() as u64,
        failure: Some(failure),
        steps: Vec::new(),
        exporter_response: BTreeMap::new(),
        platform_results: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::builders::drivers::Driver;
    use crate::builders::drivers::{DriverDetails, DriverError, NodeChannel, NodeProbe, Progress};
    use crate::builders::routing::RouteNode;
    use crate::docker_config::Environment;

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
            NodeProbe::new()
        }

        async fn details(&self) -> DriverDetails {
            unreachable!("a build never inspects its builder")
        }
    }

    /// Keeps what it hears, as the records would.
    #[derive(Default)]
    struct FakeObserverKeeps {
        started: Vec<String>,
        finished: Vec<(BuildRequest, BuildOutcome)>,
    }

    impl BuildObserver for FakeObserverKeeps {
        fn started(&mut self, build_ref: &str) {
            self.started.push(build_ref.to_owned());
        }

        fn logs(&mut self, _chunks: &[LogChunk]) {}

        fn finished(&mut self, request: &BuildRequest, outcome: &BuildOutcome, _started_at: &str) {
            self.finished.push((request.clone(), outcome.clone()));
        }
    }

    /// A context holding a Dockerfile, and builders whose engine is nowhere.
    fn fake_driver_world() -> (tempfile::TempDir, Builders, BuildRequest) {
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
        (dir, Builders::new(env), request)
    }

    async fn fake_driver_build(
        builders: &Builders,
        request: &BuildRequest,
        connects: &Arc<AtomicU32>,
        observer: &mut FakeObserverKeeps,
    ) -> BuildError {
        let driver = FakeDriverNeverBoots { connects: connects.clone() };
        let node = RouteNode { name: "fake0".into(), pinned: Vec::new(), driver: Box::new(driver) };
        let target = async {
            Ok(Target { builder: "fake".to_owned(), driver: "docker-container".to_owned(), nodes: vec![node] })
        };
        run_on(builders, request, target, None, &|_| {}, CancellationToken::new(), observer).await.unwrap_err()
    }

    /// The window runs a build on a spawned task, borrowing its state: the build's future must be
    /// `Send` for any lifetime of those borrows.
    #[test]
    fn a_build_can_run_on_a_spawned_task() {
        fn spawnable<F: std::future::Future + Send>(_: F) {}
        fn borrowing(builders: &Builders, request: &BuildRequest, context: Option<&str>) {
            spawnable(async move {
                let mut observer = FakeObserverKeeps::default();
                let _ = run(builders, request, context, &|_| {}, CancellationToken::new(), &mut observer).await;
            });
        }
        let (_dir, builders, request) = fake_driver_world();
        borrowing(&builders, &request, None);
    }

    #[tokio::test]
    async fn fake_driver_that_cannot_boot_fails_the_build_and_the_observer_hears_why() {
        let (_dir, builders, request) = fake_driver_world();
        let (connects, mut observer) = (Arc::new(AtomicU32::new(0)), FakeObserverKeeps::default());
        let error = fake_driver_build(&builders, &request, &connects, &mut observer).await;
        assert!(matches!(error, BuildError::Builder(BuilderError::Driver(DriverError::BootFailed { .. }))), "{error}");
        assert_eq!(connects.load(Ordering::SeqCst), 1);

        assert!(observer.started.is_empty(), "no solve started");
        assert_eq!(observer.finished.len(), 1, "the build is reported");
        let (seen, outcome) = &observer.finished[0];
        assert_eq!(seen, &request);
        assert_eq!(outcome.state, BuildState::Failed);
        assert!(outcome.tags.is_empty(), "a build that never ran claims no tags");
        assert_eq!(outcome.failure.as_ref().map(|f| f.message.clone()), Some(error.to_string()));
    }

    #[tokio::test]
    async fn fake_driver_is_not_asked_for_a_request_that_fails_its_checks() {
        let (_dir, builders, request) = fake_driver_world();
        let (connects, mut observer) = (Arc::new(AtomicU32::new(0)), FakeObserverKeeps::default());
        let bad = BuildRequest { platforms: vec!["linux/".into()], ..request };
        let error = fake_driver_build(&builders, &bad, &connects, &mut observer).await;
        assert!(matches!(error, BuildError::Platform(_)), "{error}");
        assert_eq!(connects.load(Ordering::SeqCst), 0);
        assert!(observer.finished.is_empty(), "a refused request is not a build");
    }
}
