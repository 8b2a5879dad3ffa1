//! Drivers run a builder node's BuildKit: `docker` (the engine's own), `docker-container`
//! (BuildKit in a container that buildx and Buildlane manage alike) and `remote` (a daemon that
//! something else runs, reached at its address). Each is a [`Driver`], made for a stored node by
//! [`for_node`], as buildx's driver interface and factory: callers ask a node for its BuildKit
//! and never match on the kind, which stays only as the store's tag.

pub mod docker;
pub mod docker_container;
pub mod exec_stdio;
pub mod remote;

use async_trait::async_trait;
use serde::Serialize;
use ts_rs::TS;

use crate::builders::store::Node;
use crate::buildkit::{BuildkitError, Control};
use crate::docker_config::contexts::DockerContext;
use crate::docker_config::credentials::CredentialStore;
use crate::engine::{EngineError, EngineInfo};

pub const DOCKER: &str = "docker";
pub const DOCKER_CONTAINER: &str = "docker-container";
pub const REMOTE: &str = "remote";

/// The drivers Buildlane knows, by buildx's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverKind {
    Docker,
    DockerContainer,
    /// A BuildKit daemon reached at an address (`unix://…`, `tcp://…`) that something else runs.
    Remote,
}

impl DriverKind {
    pub fn parse(name: &str) -> Result<Self, DriverError> {
        match name {
            DOCKER => Ok(DriverKind::Docker),
            DOCKER_CONTAINER => Ok(DriverKind::DockerContainer),
            REMOTE => Ok(DriverKind::Remote),
            other => Err(DriverError::UnknownDriver(other.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Docker => DOCKER,
            DriverKind::DockerContainer => DOCKER_CONTAINER,
            DriverKind::Remote => REMOTE,
        }
    }

    /// What `docker buildx create` accepts for this driver, before any node exists.
    pub fn creation(self) -> Creation {
        match self {
            DriverKind::Docker => docker::CREATION,
            DriverKind::DockerContainer => docker_container::CREATION,
            DriverKind::Remote => remote::CREATION,
        }
    }
}

/// A driver's rules for `docker buildx create`, as buildx's driver factories state them: whether
/// a user may create such a builder, where its node's address comes from, and whether the driver
/// runs the daemon (and so takes buildkitd flags and a config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Creation {
    pub allowed: bool,
    pub endpoint: EndpointSource,
    pub runs_daemon: bool,
}

/// Where a new node's endpoint comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointSource {
    /// The docker context the builder is created in (the engine that runs the node).
    DockerContext,
    /// The address the user gives (`docker buildx create --driver remote ADDRESS`).
    Given,
}

/// A builder node's BuildKit, whatever runs it.
#[async_trait]
pub trait Driver: Send + Sync {
    /// Checks the node's endpoint and driver opts as `docker buildx create` does, before anything is stored.
    fn validate_options(&self) -> Result<(), DriverError>;

    /// The engine's own BuildKit (buildx's moby driver): images go into the engine through its
    /// `moby` exporter, so `--load` needs no tarball.
    fn is_engine_buildkit(&self) -> bool;

    /// Reaches the node's BuildKit for a build, booting it first where the driver can, as buildx
    /// does before a build.
    async fn connect(&self) -> Result<NodeChannel, DriverError>;

    /// Makes the node's BuildKit answer (`docker buildx inspect --bootstrap`).
    async fn boot(&self, progress: Progress<'_>) -> Result<(), DriverError>;

    /// `docker buildx stop`: by default nothing, for a BuildKit that something else runs.
    async fn stop(&self, _progress: Progress<'_>) -> Result<(), DriverError> {
        Ok(())
    }

    /// `docker buildx rm`'s part on the daemon (the store entry is the caller's): by default
    /// nothing, for a BuildKit that something else runs.
    async fn remove(&self, _keep_state: bool, _progress: Progress<'_>) -> Result<(), DriverError> {
        Ok(())
    }

    /// What `docker buildx ls` shows of the node before asking its BuildKit; never boots it.
    async fn describe(&self) -> NodeProbe;

    /// What the driver knows of where the node's BuildKit runs (`buildlane inspect-builder`):
    /// the engine, the container, or the daemon's address and TLS files. Never boots it; what
    /// cannot be read is left out (the node's error from [`Driver::describe`] says why).
    async fn details(&self) -> DriverDetails;
}

/// A driver shared by several solves on one node (a build that keeps going solves each platform on
/// its own): each asks it as it would the node's own.
#[async_trait]
impl<D: Driver + ?Sized> Driver for std::sync::Arc<D> {
    fn validate_options(&self) -> Result<(), DriverError> {
        (**self).validate_options()
    }

    fn is_engine_buildkit(&self) -> bool {
        (**self).is_engine_buildkit()
    }

    async fn connect(&self) -> Result<NodeChannel, DriverError> {
        (**self).connect().await
    }

    async fn boot(&self, progress: Progress<'_>) -> Result<(), DriverError> {
        (**self).boot(progress).await
    }

    async fn stop(&self, progress: Progress<'_>) -> Result<(), DriverError> {
        (**self).stop(progress).await
    }

    async fn remove(&self, keep_state: bool, progress: Progress<'_>) -> Result<(), DriverError> {
        (**self).remove(keep_state, progress).await
    }

    async fn describe(&self) -> NodeProbe {
        (**self).describe().await
    }

    async fn details(&self) -> DriverDetails {
        (**self).details().await
    }
}

/// Where a node's BuildKit runs, as its driver knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
#[ts(export)]
pub enum DriverDetails {
    /// The engine's own BuildKit (docker driver).
    Engine { host: String, engine_version: Option<String> },
    /// BuildKit in a container on the engine at `host` (docker-container driver).
    Container {
        host: String,
        container: String,
        /// The container's image, else the one it would be created from.
        image: String,
        /// The engine's word for the container's state (`running`, `exited`, …); `None` when there
        /// is no such container, or the engine did not say.
        state: Option<String>,
        /// The volume that keeps BuildKit's state (`/var/lib/buildkit`) across container re-creation.
        state_volume: String,
    },
    /// A BuildKit daemon reached at its address (remote driver).
    Remote { address: String, tls: Option<RemoteTls> },
}

/// The TLS settings a remote node is dialled with (its driver opts, the server name defaulted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RemoteTls {
    /// The name the daemon's certificate is checked against; `None` when the options do not give one.
    pub server_name: Option<String>,
    pub ca_cert: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// A node's BuildKit, reached: its Control client and where a build's session rides.
pub struct NodeChannel {
    pub control: Control,
    /// The engine whose `/session` upgrade carries sessions (the docker driver); `None`: they ride
    /// Control.Session.
    pub session_host: Option<String>,
}

/// A node as its driver sees it without booting it.
#[derive(Debug)]
pub struct NodeProbe {
    /// What the driver reported, `error` when even that failed.
    pub status: NodeStatus,
    /// The running node's Control client.
    pub control: Option<Control>,
    /// The engine BuildKit runs on, which tells which platforms are native; `None` for a daemon
    /// elsewhere (its first worker platform tells).
    pub host: Option<EngineInfo>,
    /// Why the probe stopped short; the status stays what was seen before.
    pub error: Option<DriverError>,
    /// Why the node is inactive, when the driver knows.
    pub inactive_reason: Option<String>,
}

impl NodeProbe {
    pub(crate) fn new() -> Self {
        Self { status: NodeStatus::Error, control: None, host: None, error: None, inactive_reason: None }
    }
}

/// The driver of a stored node. `engine` is the docker context the node's endpoint names (the
/// engine that runs a docker or docker-container node); `credentials` pull a container's image;
/// a remote node's boot waits `answer_within` for its daemon.
pub fn for_node(
    driver: &str,
    node: &Node,
    engine: DockerContext,
    credentials: CredentialStore,
    answer_within: std::time::Duration,
) -> Result<Box<dyn Driver>, DriverError> {
    Ok(match DriverKind::parse(driver)? {
        DriverKind::Docker => Box::new(docker::DockerDriver::new(engine)),
        DriverKind::DockerContainer => {
            Box::new(docker_container::DockerContainerDriver::new(node.clone(), engine, credentials))
        }
        DriverKind::Remote => {
            Box::new(remote::RemoteDriver::new(node.endpoint.clone(), node.driver_opts.clone(), answer_within))
        }
    })
}

/// A node's state, as `docker buildx ls` words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "lowercase")]
#[ts(export)]
pub enum NodeStatus {
    Inactive,
    Running,
    Stopped,
    Error,
    /// Not answered yet: a partial list, shown before every node has answered
    /// ([`crate::builders::Builders::list_showing_partial`]).
    Unknown,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Inactive => "inactive",
            NodeStatus::Running => "running",
            NodeStatus::Stopped => "stopped",
            NodeStatus::Error => "error",
            NodeStatus::Unknown => "unknown",
        }
    }
}

/// One step of booting, stopping or removing a node, reported as it happens.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "step")]
#[ts(export)]
pub enum LifecycleEvent {
    PullingImage { image: String, status: String, current: Option<u64>, total: Option<u64> },
    UsingLocalImage { image: String, pull_error: String },
    CreatingContainer { container: String },
    StartingContainer { container: String },
    WaitingForBuildkit { attempt: u32 },
    Ready,
    StoppingContainer { container: String },
    RemovingContainer { container: String },
    RemovingVolume { volume: String },
    Log { line: String },
}

/// Where lifecycle events go (the UI's progress channel, a CLI printer, a test's recorder).
pub type Progress<'a> = &'a (dyn Fn(LifecycleEvent) + Send + Sync);

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("unknown driver \"{0}\": Buildlane manages docker, docker-container and remote builders")]
    UnknownDriver(String),
    #[error("invalid driver option \"{0}\": expected key=value")]
    MalformedOption(String),
    #[error("invalid driver option \"{key}\" for the {driver} driver{hint}")]
    UnsupportedOption { driver: &'static str, key: String, hint: String },
    #[error("invalid value for driver option {key}: {reason}")]
    InvalidOptionValue { key: String, reason: String },
    #[error("TLS is on (driver-opts cacert, cert, key, servername), but missing driver-opt {0}")]
    TlsOptionsMissing(String),
    #[error("invalid remote endpoint \"{endpoint}\": {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    #[error("image {image} is not available: {reason}")]
    ImageUnavailable { image: String, reason: String },
    #[error("builder node {node} did not boot: BuildKit in container {container} never answered (`buildctl debug workers`: {reason}){logs}")]
    BootFailed { node: String, container: String, reason: String, logs: String },
    #[error("BuildKit at {endpoint} did not answer within {within:?}")]
    NoAnswer { endpoint: String, within: std::time::Duration },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Buildkit(#[from] BuildkitError),
}
