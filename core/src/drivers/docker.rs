//! The docker driver: the BuildKit embedded in the engine. It always exists while the engine runs and
//! can be neither stopped nor removed.

use tracing::instrument;

use super::{DriverError, NodeStatus};
use crate::buildkit::Control;
use crate::engine::Engine;

/// A reachable engine means a running builder.
#[instrument(skip_all, fields(host = %engine.host()))]
pub async fn status(engine: &Engine) -> Result<NodeStatus, DriverError> {
    engine.ping().await?;
    Ok(NodeStatus::Running)
}

/// The engine's BuildKit Control API, through the `/grpc` upgrade.
pub async fn control(engine: &Engine) -> Result<Control, DriverError> {
    Ok(Control::engine(engine.host()).await?)
}
