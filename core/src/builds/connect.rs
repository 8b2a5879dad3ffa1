//! Reaching the builder a build goes to: the node's driver connects its BuildKit (booting a
//! docker-container builder first), and a session for the solve rides the way the driver says.

use std::path::Path;

use super::{BuildError, BuildOutput};
use crate::builders::drivers::Driver;
use crate::builders::routing::RouteNode;
use crate::builders::{BuilderError, Builders};
use crate::buildkit::session::{Session, SessionServices};
use crate::buildkit::Control;
use crate::go_text::parse_bool::parse_bool;

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

/// The builder a build goes to and every node of it, for the build to route its platforms; read
/// from the store once, also for what a command line says before it builds.
pub struct Target {
    pub(crate) builder: String,
    pub(crate) driver: String,
    pub(crate) nodes: Vec<RouteNode>,
}

impl Target {
    pub fn builder(&self) -> &str {
        &self.builder
    }

    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// The node a build of one node goes to, as buildx names it in `--metadata-file`.
    pub fn first_node(&self) -> &str {
        self.nodes.first().map_or("", |n| n.name.as_str())
    }

    /// What buildx builds into without an output flag: on the docker driver the engine's images
    /// (named by the tags; not with `BUILDX_NO_DEFAULT_LOAD`), elsewhere nothing but the build
    /// cache, with the warning buildx prints then.
    pub fn default_output(&self) -> (BuildOutput, Option<String>) {
        let no_default_load = std::env::var("BUILDX_NO_DEFAULT_LOAD").is_ok_and(|v| parse_bool(&v) == Some(true));
        if self.driver == "docker" && !no_default_load {
            return (BuildOutput::load(), None);
        }
        let warning = format!(
            "No output specified with {} driver. Build result will only remain in the build cache. \
             To push result image into registry use --push or to load image into docker use --load",
            self.driver
        );
        (BuildOutput::CacheOnly, Some(warning))
    }
}

/// The builder `builder` (empty: the current one) of the docker context, with all its nodes.
pub async fn resolve_target(
    builders: &Builders,
    builder: &str,
    docker_context: Option<&str>,
) -> Result<Target, BuildError> {
    let (group, nodes) = builders.nodes_for_build(Some(builder.trim()), docker_context).await?;
    Ok(Target { builder: group.name, driver: group.driver, nodes })
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
