//! Builders as `docker buildx ls` shows them: the store's builders plus one docker-driver builder per
//! docker context, each node inspected through its driver; and the actions on them (create, boot,
//! use, stop, rm) with buildx's semantics.

pub mod cache;
pub mod changes;
pub mod command_line;
pub mod drivers;
pub mod inspect;
mod nodes;
pub mod routing;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use ts_rs::TS;

use crate::buildkit::control::GcPolicy;
use crate::docker_config::contexts::{ContextError, Contexts, DockerContext, DEFAULT_CONTEXT};
use crate::docker_config::credentials::CredentialStore;
use crate::docker_config::Environment;
use crate::engine::EngineError;
use crate::platform::{self, Platform, PlatformError};
use changes::ListStamp;
use drivers::{Driver, DriverError, DriverKind, EndpointSource, NodeStatus, Progress};
use store::{Node, NodeGroup, Store, StoreError, StoredBuilder};

/// A builder, as the Builders view and `buildlane ls` show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Builder {
    pub name: String,
    pub driver: String,
    /// The builder `docker buildx build` would use now.
    pub current: bool,
    /// The docker-driver builder of a context: it exists as long as the context does.
    pub context_builder: bool,
    pub dynamic: bool,
    /// RFC 3339 time of the last save or build, when buildx recorded it.
    pub last_activity: Option<String>,
    pub nodes: Vec<BuilderNode>,
    /// For a builder of several nodes, the node a build of each platform would go to.
    pub routes: Vec<routing::PlatformRoute>,
    /// What the Build view offers to build for ([`routing::offered`]).
    pub offered: Vec<NodePlatform>,
    /// Why the builder could not be read (a corrupt store file, say); its nodes are then empty.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuilderNode {
    pub name: String,
    pub endpoint: String,
    pub status: NodeStatus,
    pub buildkit_version: Option<String>,
    /// Pinned platforms first, then the workers' own; never truncated.
    pub platforms: Vec<NodePlatform>,
    pub flags: Vec<String>,
    pub driver_opts: BTreeMap<String, String>,
    /// Files copied into /etc/buildkit (names only).
    pub files: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub gc_policy: Vec<GcPolicy>,
    pub worker_ids: Vec<String>,
    /// Why its status could not be read (buildx's "Failed to get status"; the status shows `error`).
    pub error: Option<String>,
    /// Why an inactive node is inactive, when its driver knows and buildx says nothing (a remote
    /// daemon that refused the connection, TLS or the call): booting it fails with the same.
    pub inactive_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct NodePlatform {
    /// `linux/arm/v7`
    pub platform: String,
    /// Run through QEMU rather than on the engine's own CPU.
    pub emulated: bool,
    /// Pinned by the user with `--platform` (buildx marks these `*`).
    pub pinned: bool,
}

/// The Builders view's whole list, with what could not be read reported beside it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuilderList {
    pub context: String,
    pub builders: Vec<Builder>,
    pub problems: Vec<String>,
}

/// The create-builder form (`docker buildx create`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct CreateBuilderRequest {
    pub name: String,
    pub driver: String,
    /// The remote driver's daemon address (`tcp://HOST:PORT`, `unix:///PATH`), buildx's ENDPOINT argument.
    pub endpoint: String,
    /// `key=value` items, as `--driver-opt` takes them.
    pub driver_opts: Vec<String>,
    /// `--buildkitd-flags`, one shell-quoted string.
    pub buildkitd_flags: String,
    /// `--buildkitd-config`: a buildkitd.toml to copy into the builder.
    pub buildkitd_config: Option<String>,
    pub platforms: Vec<String>,
    /// `--use`
    pub use_builder: bool,
    /// `--bootstrap`
    pub bootstrap: bool,
    /// `--append`: add a node to the existing builder `name` rather than create one.
    pub append: bool,
    /// `--node`: the node's name; empty: the builder's name and the first free number.
    pub node: String,
}

/// `docker buildx rm` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct RemoveOptions {
    pub keep_state: bool,
    pub keep_daemon: bool,
}

/// `docker buildx use` options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct UseOptions {
    pub global: bool,
    pub default: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum BuilderError {
    #[error("builder name \"default\" is reserved for the engine's own builder")]
    ReservedName,
    #[error("a builder name is required")]
    MissingName,
    #[error("builder \"{0}\" already exists")]
    AlreadyExists(String),
    #[error("builder \"{0}\" not found")]
    NotFound(String),
    #[error("builder \"{builder}\" uses the {driver} driver: a node appended to it uses the same driver")]
    DriverMismatch { builder: String, driver: String },
    #[error("builder \"{builder}\" already has a node at {endpoint}: each node of a builder is another BuildKit")]
    DuplicateEndpoint { builder: String, endpoint: String },
    #[error("builder \"{builder}\" already has a node named \"{node}\"")]
    NodeExists { builder: String, node: String },
    #[error("builder \"{builder}\" has no node named \"{node}\"")]
    NodeNotFound { builder: String, node: String },
    #[error("\"{node}\" is the last node of builder \"{builder}\": remove the builder instead")]
    LastNode { builder: String, node: String },
    #[error("a node name is required to remove a node from a builder")]
    MissingNodeName,
    #[error("builder \"{0}\" is dynamic: its nodes come from its driver, not from the store")]
    DynamicBuilder(String),
    #[error("\"{0}\" is the docker builder of a context: it exists as long as the engine does and cannot be {1}")]
    ContextBuilder(String, &'static str),
    #[error(
        "the docker driver is the engine's own builder, one per context; create a docker-container builder instead"
    )]
    CannotCreateDockerDriver,
    #[error("a remote builder needs the address of its BuildKit daemon (tcp://HOST:PORT or unix:///PATH)")]
    MissingEndpoint,
    #[error("an endpoint is taken by the remote driver only; a {0} builder runs on the selected context's engine")]
    UnexpectedEndpoint(String),
    #[error("setting {0} is not supported for the remote driver: the daemon's own configuration applies")]
    RemoteDaemonSettings(&'static str),
    #[error("\"{0}\" is the builder of docker context \"{0}\": switch to that context to use it")]
    OtherContext(String),
    #[error("invalid buildkitd flags: {0}")]
    InvalidFlags(String),
    #[error("cannot read buildkitd config {path}: {reason}")]
    BuildkitdConfig { path: PathBuf, reason: String },
    #[error(transparent)]
    Platform(#[from] PlatformError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Context(#[from] ContextError),
    #[error(transparent)]
    Driver(#[from] DriverError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// How long a node has to answer when a list inspects it: `docker buildx ls` gives its whole
/// listing 20 s, then shows what it has.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Builders of one docker environment (config folder, contexts, buildx store).
#[derive(Debug, Clone)]
pub struct Builders {
    contexts: Contexts,
    store: Store,
    probe_timeout: Duration,
}

impl Builders {
    pub fn new(env: Environment) -> Self {
        let store = Store::new(env.buildx_store_dir());
        Self { contexts: Contexts::new(env), store, probe_timeout: PROBE_TIMEOUT }
    }

    /// The same builders, inspecting each node for at most `timeout` (tests shorten it).
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// How long a node has to answer a list, or a history's first question.
    pub fn probe_timeout(&self) -> Duration {
        self.probe_timeout
    }

    pub fn contexts(&self) -> &Contexts {
        &self.contexts
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// `docker buildx ls` for the given (or current) context: every builder, every node inspected
    /// concurrently. An unreachable engine makes its nodes `error`, never the whole list fail.
    #[instrument(skip(self))]
    pub async fn list(&self, context: Option<&str>) -> Result<BuilderList, BuilderError> {
        self.list_showing_partial(context, None, &|_| {}).await
    }

    /// [`Builders::list`], which also hands `partial` the list as it stands if some node is still
    /// being asked once `after` has passed (those nodes `unknown`): a view shows every other
    /// builder at once rather than wait up to [`PROBE_TIMEOUT`] for the slowest node.
    pub async fn list_showing_partial(
        &self,
        context: Option<&str>,
        after: Option<Duration>,
        partial: &(dyn Fn(BuilderList) + Send + Sync),
    ) -> Result<BuilderList, BuilderError> {
        let partial = |_: &ListStamp, list| partial(list);
        Ok(self.list_stamped(context, after, &partial).await?.1)
    }

    /// [`Builders::list_showing_partial`], with the store's stamp ([`Builders::stamp`]) as the list
    /// read it, for a list kept to hand out later: one whose stamp has moved since is out of date.
    /// (Stamped after the read: a first list in a fresh store writes `current`, as buildx does.)
    #[instrument(skip(self, partial))]
    pub async fn list_stamped(
        &self,
        context: Option<&str>,
        after: Option<Duration>,
        partial: &(dyn Fn(&ListStamp, BuilderList) + Send + Sync),
    ) -> Result<(ListStamp, BuilderList), BuilderError> {
        let current_ctx = self.contexts.resolve(context)?;
        let (contexts, context_problems) = self.contexts.list(Some(&current_ctx.name))?;
        let mut problems: Vec<String> = context_problems.iter().map(ToString::to_string).collect();

        let (stored, current_name, context_activity) = {
            let store = self.store.clone();
            let key = current_ctx.store_key().to_owned();
            let context_names: Vec<String> = contexts.iter().map(|c| c.name.clone()).collect();
            tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
                let txn = store.txn()?;
                let when = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                // A context's own builder has its activity under the context's name, as buildx stamps it.
                let context_activity: HashMap<String, String> = context_names
                    .into_iter()
                    .filter_map(|name| Some((name.clone(), when(txn.activity(&name)?))))
                    .collect();
                let stored: Vec<(StoredBuilder, Option<String>)> = txn
                    .list()?
                    .into_iter()
                    .map(|b| {
                        let activity = match &b {
                            StoredBuilder::Ok(ng) => txn.activity(&ng.name).map(when),
                            StoredBuilder::Corrupt { .. } => None,
                        };
                        (b, activity)
                    })
                    .collect();
                Ok((stored, txn.current(&key)?, context_activity))
            })
            .await
            .expect("store task does not panic")?
        };
        let stamp = self.stamp();

        let mut listing = Listing { context: current_ctx.name.clone(), ..Listing::default() };
        for (entry, activity) in stored {
            match entry {
                StoredBuilder::Ok(ng) => {
                    let current = current_name.as_deref() == Some(ng.name.as_str());
                    listing.groups.push(ListedGroup { group: ng, activity, current, context_builder: false });
                }
                StoredBuilder::Corrupt { name, error } => {
                    problems.push(error.to_string());
                    listing.unreadable.push(Builder {
                        name,
                        driver: String::new(),
                        current: false,
                        context_builder: false,
                        dynamic: false,
                        last_activity: None,
                        nodes: Vec::new(),
                        routes: Vec::new(),
                        offered: Vec::new(),
                        error: Some(error.to_string()),
                    });
                }
            }
        }
        listing.problems = problems;
        for ctx in &contexts {
            if listing.groups.iter().any(|g| g.group.name == ctx.name) {
                continue;
            }
            let current = current_name.is_none() && ctx.name == current_ctx.name;
            let group = context_node_group(ctx);
            let activity = context_activity.get(&ctx.name).cloned();
            listing.groups.push(ListedGroup { group, activity, current, context_builder: true });
        }

        let mut inspected: Vec<Vec<Option<BuilderNode>>> =
            listing.groups.iter().map(|g| vec![None; g.group.nodes.len()]).collect();
        let mut asking: FuturesUnordered<_> = listing
            .groups
            .iter()
            .enumerate()
            .flat_map(|(g, listed)| {
                let contexts = &contexts;
                listed.group.nodes.iter().enumerate().map(move |(n, node)| async move {
                    (g, n, self.inspect_node(&listed.group.driver, node, contexts).await)
                })
            })
            .collect();
        let show_partial = tokio::time::sleep(after.unwrap_or(PROBE_TIMEOUT));
        tokio::pin!(show_partial);
        let mut shown = after.is_none();
        loop {
            tokio::select! {
                answered = asking.next() => match answered {
                    Some((g, n, node)) => inspected[g][n] = Some(node),
                    None => break,
                },
                () = &mut show_partial, if !shown => {
                    shown = true;
                    partial(&stamp, listing.assemble(|g, n| inspected[g][n].clone()));
                }
            }
        }
        drop(asking);
        Ok((stamp, listing.assemble(|g, n| inspected[g][n].clone())))
    }

    async fn inspect_group(&self, ng: &NodeGroup, contexts: &[DockerContext]) -> Vec<BuilderNode> {
        join_all(ng.nodes.iter().map(|node| self.inspect_node(&ng.driver, node, contexts))).await
    }

    async fn inspect_node(&self, driver: &str, node: &Node, contexts: &[DockerContext]) -> BuilderNode {
        let mut out = unprobed(node);
        // The status stays what the driver reported (or `error` when even that failed), as in buildx.
        match tokio::time::timeout(self.probe_timeout, self.fill_node(driver, node, contexts, &mut out)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => out.error = Some(e.to_string()),
            // buildx's remote driver is running only once its daemon answers ListWorkers, and its
            // `ls` shows one that has not by the deadline as inactive, without an error.
            Err(_) if DriverKind::parse(driver).ok() == Some(DriverKind::Remote) => {
                out = BuilderNode { status: NodeStatus::Inactive, ..unprobed(node) };
            }
            Err(_) => {
                out.status = NodeStatus::Error;
                out.error =
                    Some(format!("BuildKit at {} did not answer within {:?}", node.endpoint, self.probe_timeout));
            }
        }
        out
    }

    async fn fill_node(
        &self,
        driver: &str,
        node: &Node,
        contexts: &[DockerContext],
        out: &mut BuilderNode,
    ) -> Result<(), BuilderError> {
        let probe = self.driver(driver, node, contexts)?.describe().await;
        out.status = probe.status;
        out.inactive_reason = probe.inactive_reason;
        if let Some(e) = probe.error {
            return Err(e.into());
        }
        let Some(control) = probe.control else {
            return Ok(());
        };
        // The machine BuildKit runs on decides which platforms are native; for a remote daemon
        // only its first (native) worker platform tells.
        let host = probe.host;
        let (workers, version) = tokio::join!(control.list_workers(), control.version());
        let workers = workers.map_err(DriverError::from)?;
        out.buildkit_version = match version.map_err(DriverError::from)? {
            Some(v) => Some(v),
            None => host.as_ref().map(|info| info.version.clone()),
        };
        let native = workers.first().and_then(|w| w.platforms.first()).map(|p| p.clone().normalized());
        let (host_os, host_arch) = match (&host, &native) {
            (Some(info), _) => (info.os.clone(), info.arch.clone()),
            (None, Some(p)) => (p.os.clone(), p.architecture.clone()),
            (None, None) => (String::new(), String::new()),
        };
        let mut seen: Vec<Platform> = node.declared_platforms().to_vec();
        for p in &mut out.platforms {
            let parsed: Platform = p.platform.parse()?;
            p.emulated = !parsed.is_native_on(&host_os, &host_arch);
        }
        for worker in &workers {
            out.worker_ids.push(worker.id.clone());
            out.labels.extend(worker.labels.clone());
            out.gc_policy.extend(worker.gc_policy.clone());
            for p in &worker.platforms {
                let p = p.clone().normalized();
                if !seen.contains(&p) {
                    out.platforms.push(NodePlatform {
                        platform: p.to_string(),
                        emulated: !p.is_native_on(&host_os, &host_arch),
                        pinned: false,
                    });
                    seen.push(p);
                }
            }
        }
        Ok(())
    }

    /// `docker buildx create`: validates everything first, writes the store entry (byte-compatible
    /// with buildx), optionally makes it current and boots it.
    #[instrument(skip(self, request, progress), fields(name = %request.name))]
    pub async fn create(
        &self,
        request: &CreateBuilderRequest,
        context: Option<&str>,
        progress: Progress<'_>,
    ) -> Result<String, BuilderError> {
        if request.append {
            return self.append_node(request, context, progress).await;
        }
        let ctx = self.contexts.resolve(context)?;
        let ng = self.node_group_for(request, &ctx)?;
        let name = ng.name.clone();
        let key = ctx.store_key().to_owned();
        let use_builder = request.use_builder;
        let store = self.store.clone();
        let to_save = ng.clone();
        tokio::task::spawn_blocking(move || -> Result<(), BuilderError> {
            let txn = store.txn()?;
            if txn.exists(&to_save.name)? {
                return Err(BuilderError::AlreadyExists(to_save.name.clone()));
            }
            txn.save(&to_save)?;
            if use_builder {
                txn.set_current(&key, &to_save.name, false, false)?;
            }
            Ok(())
        })
        .await
        .expect("store task does not panic")?;
        if request.bootstrap {
            self.boot_group(&ng, progress).await?;
        }
        Ok(name)
    }

    /// Checks a create request and turns it into the store entry buildx would write.
    pub fn node_group_for(
        &self,
        request: &CreateBuilderRequest,
        ctx: &DockerContext,
    ) -> Result<NodeGroup, BuilderError> {
        let raw_name = request.name.trim();
        if raw_name.is_empty() {
            return Err(BuilderError::MissingName);
        }
        let name = crate::builders::store::validate_name(raw_name)?;
        if name == DEFAULT_CONTEXT {
            return Err(BuilderError::ReservedName);
        }
        let driver = if request.driver.is_empty() { drivers::DOCKER_CONTAINER } else { request.driver.as_str() };
        let creation = DriverKind::parse(driver)?.creation();
        if !creation.allowed {
            return Err(BuilderError::CannotCreateDockerDriver);
        }
        let endpoint = request.endpoint.trim();
        let mut driver_opts = BTreeMap::new();
        for item in request.driver_opts.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            let (k, v) = item.split_once('=').ok_or_else(|| DriverError::MalformedOption(item.to_owned()))?;
            if k.trim().is_empty() {
                return Err(DriverError::MalformedOption(item.to_owned()).into());
            }
            driver_opts.insert(k.trim().to_owned(), v.to_owned());
        }
        let mut flags =
            shell_words::split(&request.buildkitd_flags).map_err(|e| BuilderError::InvalidFlags(e.to_string()))?;
        let config = request.buildkitd_config.as_deref().filter(|p| !p.trim().is_empty());
        let node_endpoint = match (creation.endpoint, endpoint.is_empty()) {
            (EndpointSource::Given, true) => return Err(BuilderError::MissingEndpoint),
            (EndpointSource::Given, false) => endpoint.to_owned(),
            (EndpointSource::DockerContext, true) => ctx.node_endpoint().to_owned(),
            (EndpointSource::DockerContext, false) => return Err(BuilderError::UnexpectedEndpoint(driver.to_owned())),
        };
        let node_name = match request.node.trim() {
            "" => format!("{name}0"),
            given => crate::builders::store::validate_name(given)?,
        };
        let mut node = Node {
            name: node_name,
            endpoint: node_endpoint,
            platforms: None,
            driver_opts,
            flags: Vec::new(),
            files: BTreeMap::new(),
        };
        drivers::for_node(
            driver,
            &node,
            ctx.clone(),
            CredentialStore::new(self.contexts.environment()),
            self.probe_timeout,
        )?
        .validate_options()?;
        if !creation.runs_daemon {
            if !flags.is_empty() {
                return Err(BuilderError::RemoteDaemonSettings("buildkitd flags"));
            }
            if config.is_some() {
                return Err(BuilderError::RemoteDaemonSettings("a buildkitd config file"));
            }
        } else if !flags.iter().any(|f| f.starts_with("--allow-insecure-entitlement")) {
            // Since buildx 0.13 new container builders allow `--network host` RUN steps unless the user set entitlements.
            flags.push("--allow-insecure-entitlement=network.host".into());
        }
        let mut files = BTreeMap::new();
        if let Some(path) = config {
            let bytes = std::fs::read(path).map_err(|e| BuilderError::BuildkitdConfig {
                path: path.into(),
                reason: crate::io_error::reason(&e),
            })?;
            files.insert("buildkitd.toml".to_owned(), bytes);
        }
        // As buildx's platformutil.Parse: no platforms is a nil list, written `null`.
        let platforms = platform::parse_list(request.platforms.iter().map(String::as_str))?;
        node.platforms = (!platforms.is_empty()).then_some(platforms);
        node.flags = flags;
        node.files = files;
        Ok(NodeGroup { name, driver: driver.to_owned(), nodes: vec![node], dynamic: false })
    }

    /// `docker buildx create --append --name NAME [--node NODE] …`: the node the request describes,
    /// added to the stored builder in one store transaction; then, as for a new builder, made
    /// current and booted if asked.
    async fn append_node(
        &self,
        request: &CreateBuilderRequest,
        context: Option<&str>,
        progress: Progress<'_>,
    ) -> Result<String, BuilderError> {
        let ctx = self.contexts.resolve(context)?;
        let stored = self.stored(request.name.trim()).await?;
        let driver = match request.driver.as_str() {
            "" => stored.driver.clone(),
            d if d == stored.driver => stored.driver.clone(),
            _ => return Err(BuilderError::DriverMismatch { builder: stored.name, driver: stored.driver }),
        };
        let mut node = self.node_group_for(&CreateBuilderRequest { driver, ..request.clone() }, &ctx)?.nodes.remove(0);
        let named = !request.node.trim().is_empty();
        let (store, key, use_builder) = (self.store.clone(), ctx.store_key().to_owned(), request.use_builder);
        let ng = tokio::task::spawn_blocking(move || -> Result<NodeGroup, BuilderError> {
            let txn = store.txn()?;
            let mut ng = txn.node_group(&stored.name).map_err(|e| match e {
                StoreError::NotFound(n) => BuilderError::NotFound(n),
                e => e.into(),
            })?;
            if !named {
                node.name = nodes::next_node_name(&ng);
            }
            nodes::append(&mut ng, node)?;
            txn.save(&ng)?;
            if use_builder {
                txn.set_current(&key, &ng.name, false, false)?;
            }
            Ok(ng)
        })
        .await
        .expect("store task does not panic")?;
        if request.bootstrap {
            self.boot_group(&ng, progress).await?;
        }
        Ok(ng.name)
    }

    /// `docker buildx create --leave --name NAME --node NODE`: the node leaves the store entry (and
    /// its local build state goes); its daemon is left as it is, as buildx leaves it.
    #[instrument(skip(self))]
    pub async fn leave(&self, name: &str, node: &str) -> Result<(), BuilderError> {
        let (name, node) = (name.trim(), node.trim());
        if name.is_empty() {
            return Err(BuilderError::MissingName);
        }
        if node.is_empty() {
            return Err(BuilderError::MissingNodeName);
        }
        let stored = self.stored(name).await?;
        let (store, node) = (self.store.clone(), node.to_owned());
        tokio::task::spawn_blocking(move || -> Result<(), BuilderError> {
            let txn = store.txn()?;
            let mut ng = txn.node_group(&stored.name)?;
            nodes::leave(&mut ng, &node)?;
            txn.remove_node_state(&ng.name, &node)?;
            Ok(txn.save(&ng)?)
        })
        .await
        .expect("store task does not panic")
    }

    /// `docker buildx inspect --bootstrap NAME`.
    #[instrument(skip(self, progress))]
    pub async fn boot(&self, name: &str, progress: Progress<'_>) -> Result<(), BuilderError> {
        let ng = self.stored(name).await?;
        self.boot_group(&ng, progress).await
    }

    async fn boot_group(&self, ng: &NodeGroup, progress: Progress<'_>) -> Result<(), BuilderError> {
        let (contexts, _) = self.contexts.list(None)?;
        for node in &ng.nodes {
            self.driver(&ng.driver, node, &contexts)?.boot(progress).await?;
        }
        Ok(())
    }

    /// `docker buildx stop NAME`.
    #[instrument(skip(self, progress))]
    pub async fn stop(&self, name: &str, progress: Progress<'_>) -> Result<(), BuilderError> {
        let ng = match self.stored(name).await {
            Err(BuilderError::NotFound(_)) if self.is_context(name)? => return Ok(()),
            other => other?,
        };
        let (contexts, _) = self.contexts.list(None)?;
        for node in &ng.nodes {
            self.driver(&ng.driver, node, &contexts)?.stop(progress).await?;
        }
        Ok(())
    }

    /// `docker buildx rm [--keep-state] [--keep-daemon] NAME`: the daemon first, then the store entry.
    #[instrument(skip(self, progress))]
    pub async fn remove(&self, name: &str, options: RemoveOptions, progress: Progress<'_>) -> Result<(), BuilderError> {
        let ng = match self.stored(name).await {
            Err(BuilderError::NotFound(n)) if self.is_context(&n)? => {
                return Err(BuilderError::ContextBuilder(n, "removed"))
            }
            other => other?,
        };
        if !options.keep_daemon {
            let (contexts, _) = self.contexts.list(None)?;
            for node in &ng.nodes {
                self.driver(&ng.driver, node, &contexts)?.remove(options.keep_state, progress).await?;
            }
        }
        let store = self.store.clone();
        let name = ng.name.clone();
        tokio::task::spawn_blocking(move || store.txn()?.remove(&name)).await.expect("store task does not panic")?;
        Ok(())
    }

    /// `docker buildx use [--global] [--default] NAME` for the given (or current) context.
    #[instrument(skip(self))]
    pub async fn use_builder(
        &self,
        name: &str,
        options: UseOptions,
        context: Option<&str>,
    ) -> Result<(), BuilderError> {
        let ctx = self.contexts.resolve(context)?;
        let key = ctx.store_key().to_owned();
        let store = self.store.clone();
        let name = name.to_owned();
        let is_context = self.is_context(&name)?;
        let ctx_name = ctx.name.clone();
        tokio::task::spawn_blocking(move || -> Result<(), BuilderError> {
            let txn = store.txn()?;
            match txn.node_group(&name) {
                Ok(ng) => Ok(txn.set_current(&key, &ng.name, options.global, options.default)?),
                Err(StoreError::NotFound(_)) | Err(StoreError::InvalidName(_)) if is_context => {
                    if name != ctx_name {
                        return Err(BuilderError::OtherContext(name));
                    }
                    Ok(txn.set_current(&key, "", false, false)?)
                }
                Err(StoreError::NotFound(n)) => Err(BuilderError::NotFound(n)),
                Err(e) => Err(e.into()),
            }
        })
        .await
        .expect("store task does not panic")
    }

    /// Stamps `activity/<name>` after a build, as buildx does.
    pub async fn record_activity(&self, name: &str) -> Result<(), BuilderError> {
        let store = self.store.clone();
        let name = name.to_owned();
        // A context's own builder is stamped under the context's name, as buildx stamps it.
        let context_builder =
            self.contexts.list(None).is_ok_and(|(contexts, _)| contexts.iter().any(|c| c.name == name));
        tokio::task::spawn_blocking(move || -> Result<(), BuilderError> {
            let txn = store.txn()?;
            if context_builder || txn.exists(&name)? {
                txn.update_activity(&name)?;
            }
            Ok(())
        })
        .await
        .expect("store task does not panic")
    }

    /// The builder a build goes to (the named one, else the current one) and the driver of its
    /// first node, the one builds use.
    pub async fn for_build(
        &self,
        name: Option<&str>,
        context: Option<&str>,
    ) -> Result<(NodeGroup, Box<dyn Driver>), BuilderError> {
        let (ng, contexts) = self.chosen(name, context).await?;
        let driver = self.driver(&ng.driver, &ng.nodes[0], &contexts)?;
        Ok((ng, driver))
    }

    /// The builder a build goes to (the named one, else the current one) and each of its nodes
    /// with its pinned platforms and driver, for the build to route its platforms.
    pub async fn nodes_for_build(
        &self,
        name: Option<&str>,
        context: Option<&str>,
    ) -> Result<(NodeGroup, Vec<routing::RouteNode>), BuilderError> {
        let (ng, contexts) = self.chosen(name, context).await?;
        let mut nodes = Vec::with_capacity(ng.nodes.len());
        for node in &ng.nodes {
            nodes.push(routing::RouteNode {
                name: node.name.clone(),
                pinned: node.declared_platforms().to_vec(),
                driver: self.driver(&ng.driver, node, &contexts)?,
            });
        }
        Ok((ng, nodes))
    }

    /// The platforms a build on the named builder (else the current one) is offered
    /// ([`routing::offered`]), its nodes inspected as a list inspects them: only that builder's
    /// nodes are asked, so another builder's slow or absent node does not hold the Build view up.
    #[instrument(skip(self))]
    pub async fn offered_for_build(
        &self,
        name: Option<&str>,
        context: Option<&str>,
    ) -> Result<Vec<NodePlatform>, BuilderError> {
        let (ng, contexts) = self.chosen(name, context).await?;
        Ok(routing::offered(&self.inspect_group(&ng, &contexts).await))
    }

    /// The named builder, else the current one (with a node), and the contexts its nodes' endpoints may name.
    async fn chosen(
        &self,
        name: Option<&str>,
        context: Option<&str>,
    ) -> Result<(NodeGroup, Vec<DockerContext>), BuilderError> {
        let ctx = self.contexts.resolve(context)?;
        let (contexts, _) = self.contexts.list(Some(&ctx.name))?;
        let chosen = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(n.to_owned()),
            None => {
                let store = self.store.clone();
                let key = ctx.store_key().to_owned();
                tokio::task::spawn_blocking(move || store.txn()?.current(&key))
                    .await
                    .expect("store task does not panic")?
            }
        };
        let ng = match chosen {
            None => context_node_group(&ctx),
            Some(n) => match self.stored(&n).await {
                Err(BuilderError::NotFound(_)) if contexts.iter().any(|c| c.name == n) => {
                    context_node_group(contexts.iter().find(|c| c.name == n).expect("checked above"))
                }
                other => other?,
            },
        };
        if ng.nodes.is_empty() {
            return Err(BuilderError::NotFound(ng.name));
        }
        Ok((ng, contexts))
    }

    /// The driver of a node of a builder whose driver is `driver`, on the engine its endpoint names.
    fn driver(&self, driver: &str, node: &Node, contexts: &[DockerContext]) -> Result<Box<dyn Driver>, DriverError> {
        let engine = endpoint_context(&node.endpoint, contexts);
        drivers::for_node(driver, node, engine, CredentialStore::new(self.contexts.environment()), self.probe_timeout)
    }

    async fn stored(&self, name: &str) -> Result<NodeGroup, BuilderError> {
        let store = self.store.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || match store.txn()?.node_group(&name) {
            Ok(ng) => Ok(ng),
            Err(StoreError::NotFound(n)) => Err(BuilderError::NotFound(n)),
            Err(StoreError::InvalidName(n)) => Err(BuilderError::NotFound(n)),
            Err(e) => Err(e.into()),
        })
        .await
        .expect("store task does not panic")
    }

    fn is_context(&self, name: &str) -> Result<bool, BuilderError> {
        let (contexts, _) = self.contexts.list(None)?;
        Ok(contexts.iter().any(|c| c.name == name))
    }
}

/// A builder of a list being taken, before its nodes are inspected.
struct ListedGroup {
    group: NodeGroup,
    activity: Option<String>,
    current: bool,
    context_builder: bool,
}

/// What a list knows before its nodes answer.
#[derive(Default)]
struct Listing {
    context: String,
    groups: Vec<ListedGroup>,
    /// Builders whose store entry cannot be read.
    unreadable: Vec<Builder>,
    problems: Vec<String>,
}

impl Listing {
    /// The list with each node as `inspected(group, node)` has it; a node not answered yet is `unknown`.
    fn assemble(&self, inspected: impl Fn(usize, usize) -> Option<BuilderNode>) -> BuilderList {
        let mut builders = self.unreadable.clone();
        for (g, listed) in self.groups.iter().enumerate() {
            let ng = &listed.group;
            let nodes: Vec<BuilderNode> = (ng.nodes.iter().enumerate())
                .map(|(n, node)| {
                    inspected(g, n).unwrap_or_else(|| BuilderNode { status: NodeStatus::Unknown, ..unprobed(node) })
                })
                .collect();
            builders.push(Builder {
                name: ng.name.clone(),
                driver: ng.driver.clone(),
                current: listed.current,
                context_builder: listed.context_builder,
                dynamic: ng.dynamic,
                last_activity: listed.activity.clone(),
                routes: routing::view_routes(&nodes),
                offered: routing::offered(&nodes),
                nodes,
                error: None,
            });
        }
        // As buildx lists them: stored builders by name, then the contexts' builders by name.
        builders.sort_by(|a, b| (a.context_builder, &a.name).cmp(&(b.context_builder, &b.name)));
        BuilderList { context: self.context.clone(), builders, problems: self.problems.clone() }
    }
}

/// A node as the store describes it, before its driver is asked: its pinned platforms, `error`
/// until a status is known.
fn unprobed(node: &Node) -> BuilderNode {
    BuilderNode {
        name: node.name.clone(),
        endpoint: node.endpoint.clone(),
        status: NodeStatus::Error,
        buildkit_version: None,
        platforms: node
            .declared_platforms()
            .iter()
            .map(|p| NodePlatform { platform: p.to_string(), emulated: false, pinned: true })
            .collect(),
        flags: node.flags.clone(),
        driver_opts: node.driver_opts.clone(),
        files: node.files.keys().cloned().collect(),
        labels: BTreeMap::new(),
        gc_policy: Vec::new(),
        worker_ids: Vec::new(),
        error: None,
        inactive_reason: None,
    }
}

/// The docker-driver builder every context has: one node named after the context.
fn context_node_group(ctx: &DockerContext) -> NodeGroup {
    NodeGroup {
        name: ctx.name.clone(),
        driver: drivers::DOCKER.to_owned(),
        nodes: vec![Node {
            name: ctx.name.clone(),
            endpoint: ctx.name.clone(),
            platforms: None,
            driver_opts: BTreeMap::new(),
            flags: Vec::new(),
            files: BTreeMap::new(),
        }],
        dynamic: false,
    }
}

/// A node's endpoint is a context name, or an engine address (what buildx writes for `default`).
fn endpoint_context(endpoint: &str, contexts: &[DockerContext]) -> DockerContext {
    if let Some(ctx) = contexts.iter().find(|c| c.name == endpoint) {
        return ctx.clone();
    }
    DockerContext {
        name: DEFAULT_CONTEXT.to_owned(),
        description: String::new(),
        host: endpoint.to_owned(),
        tls: None,
        current: false,
    }
}
