//! The remote driver: a BuildKit daemon that something else runs, reached at its address. Buildlane
//! neither starts nor stops it; running means it answers.

use super::{DriverError, NodeStatus};
use crate::buildkit::{transport, BuildkitError, Control};

/// The daemon's Control API at `address`.
pub async fn control(address: &str) -> Result<Control, DriverError> {
    let channel = transport::remote_channel(address).await.map_err(BuildkitError::from)?;
    Ok(Control::new(address, channel))
}

/// `running` when the daemon answers, `inactive` when nothing listens at the address.
pub async fn status(address: &str) -> Result<(NodeStatus, Option<Control>), DriverError> {
    match control(address).await {
        Ok(control) => Ok((NodeStatus::Running, Some(control))),
        Err(DriverError::Buildkit(BuildkitError::Transport(transport::TransportError::BuildkitUnreachable {
            ..
        }))) => Ok((NodeStatus::Inactive, None)),
        Err(e) => Err(e),
    }
}
