//! Drivers run a builder node's BuildKit: `docker` (the engine's own), `docker-container`
//! (BuildKit in a container that buildx and Buildlane manage alike) and `remote` (a daemon that
//! something else runs, reached at its address).

pub mod docker;
pub mod docker_container;
pub mod exec_stdio;
pub mod remote;

use serde::Serialize;
use ts_rs::TS;

use crate::buildkit::BuildkitError;
use crate::engine::EngineError;

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
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Inactive => "inactive",
            NodeStatus::Running => "running",
            NodeStatus::Stopped => "stopped",
            NodeStatus::Error => "error",
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
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Buildkit(#[from] BuildkitError),
}
