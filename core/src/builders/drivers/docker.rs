//! The docker driver: the BuildKit embedded in the engine. It always exists while the engine runs and
//! can be neither stopped nor removed.

use async_trait::async_trait;
use tracing::instrument;

use super::{
    Creation, Driver, DriverDetails, DriverError, EndpointSource, NodeChannel, NodeProbe, NodeStatus, Progress,
};
use crate::buildkit::Control;
use crate::docker_config::contexts::DockerContext;
use crate::engine::Engine;

/// The engine's own builder exists once per docker context; buildx refuses to create one.
pub(super) const CREATION: Creation =
    Creation { allowed: false, endpoint: EndpointSource::DockerContext, runs_daemon: false };

/// A context's engine and its BuildKit.
pub struct DockerDriver {
    engine: DockerContext,
}

impl DockerDriver {
    pub fn new(engine: DockerContext) -> Self {
        Self { engine }
    }

    async fn probe(&self, probe: &mut NodeProbe) -> Result<(), DriverError> {
        let engine = Engine::connect(&self.engine).await?;
        // Negotiating the API version was a round trip the engine answered: it runs, no ping needed.
        probe.status = NodeStatus::Running;
        let (control, host) = tokio::join!(control(&engine), engine.info());
        probe.control = Some(control?);
        probe.host = Some(host?);
        Ok(())
    }
}

#[async_trait]
impl Driver for DockerDriver {
    /// The engine configures its own BuildKit, and Buildlane never creates a docker builder: nothing to check.
    fn validate_options(&self) -> Result<(), DriverError> {
        Ok(())
    }

    fn is_engine_buildkit(&self) -> bool {
        true
    }

    async fn connect(&self) -> Result<NodeChannel, DriverError> {
        let engine = Engine::connect(&self.engine).await?;
        Ok(NodeChannel { control: control(&engine).await?, session_host: Some(engine.host().to_owned()) })
    }

    async fn boot(&self, _progress: Progress<'_>) -> Result<(), DriverError> {
        status(&Engine::connect(&self.engine).await?).await?;
        Ok(())
    }

    async fn describe(&self) -> NodeProbe {
        let mut probe = NodeProbe::new();
        if let Err(e) = self.probe(&mut probe).await {
            probe.error = Some(e);
        }
        probe
    }

    async fn details(&self) -> DriverDetails {
        let engine_version = match Engine::connect(&self.engine).await {
            Ok(engine) => engine.info().await.ok().map(|info| info.version),
            Err(_) => None,
        };
        DriverDetails::Engine { host: self.engine.host.clone(), engine_version }
    }
}

/// A reachable engine means a running builder.
#[instrument(skip_all, fields(host = %engine.host()))]
async fn status(engine: &Engine) -> Result<NodeStatus, DriverError> {
    engine.ping().await?;
    Ok(NodeStatus::Running)
}

/// The engine's BuildKit Control API, through the `/grpc` upgrade.
async fn control(engine: &Engine) -> Result<Control, DriverError> {
    Ok(Control::engine(engine.host()).await?)
}
