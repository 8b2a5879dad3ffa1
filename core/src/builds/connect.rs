//! Reaching the builder a build goes to: the node's driver connects its BuildKit (booting a
//! docker-container builder first), and a session for the solve rides the way the driver says.

use std::path::Path;

use super::BuildError;
use crate::builders::drivers::Driver;
use crate::builders::routing::RouteNode;
use crate::builders::{BuilderError, Builders};
use crate::buildkit::session::{Session, SessionServices};
use crate::buildkit::Control;

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

/// The builder a build goes to and every node of it, for the build to route its platforms.
pub(crate) struct Target {
    pub builder: String,
    pub nodes: Vec<RouteNode>,
}

/// The builder `builder` (empty: the current one) of the docker context, with all its nodes.
pub(crate) async fn target_nodes(
    builders: &Builders,
    builder: &str,
    docker_context: Option<&str>,
) -> Result<Target, BuildError> {
    let (group, nodes) = builders.nodes_for_build(Some(builder.trim()), docker_context).await?;
    Ok(Target { builder: group.name, nodes })
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
