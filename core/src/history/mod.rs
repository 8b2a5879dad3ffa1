//! BuildKit's own build history: every build a builder's BuildKit remembers, whoever started it
//! (`docker buildx build`, CI, an IDE, Buildlane), finished and live; pinning and deleting records;
//! and replaying a recorded build's progress into the same lanes a live build fills. Buildlane's
//! own records ([`crate::builds::records`]) are joined by build ref: they keep what BuildKit does not
//! (the exact form, to build it again; secret ids).
//!
//! A builder's history is every node's ([`nodes`]): each record says which node keeps it.

pub mod blobs;
pub mod bundle;
pub mod capabilities;
pub mod compare;
pub mod entry;
pub mod filter;
pub mod name;
pub mod nodes;
pub mod project;
mod replay;
pub mod source;
mod timing;

use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

pub use capabilities::{BuilderHistorySupport, CapabilityNote, HistoryCapability, HistorySupport};
pub use entry::{HistoryEntry, HistoryEvent, HistoryOutput, HistoryStatus, KeyValue, RecordedError};
pub use filter::{BuildSpec, Filter};
pub use name::{build_name, LocalState, LocalStates};
pub use nodes::NodeFailure;

use crate::builders::cache::BuildkitRelease;
use crate::builders::{BuilderError, Builders};
use crate::buildkit::BuildkitError;
use crate::builds::records::Records;
use crate::builds::BuildOutcome;
use crate::progress::ProgressUpdate;
use bollard::moby::buildkit::v1::{BuildHistoryRecord, StatusResponse};
use nodes::{NodeHistory, NodeRecords};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Builder(#[from] BuilderError),
    #[error(transparent)]
    Buildkit(#[from] BuildkitError),
    #[error("builder {builder}'s BuildKit keeps no build history (BuildKit 0.11 or later does)")]
    Unsupported { builder: String },
    #[error("builder {builder} has no build record {build_ref}")]
    NotFound { builder: String, build_ref: String },
    #[error("builder {builder} has no node {node}")]
    NoSuchNode { builder: String, node: String },
    /// A node asked for by name that could not be reached when the history was opened.
    #[error("{}", .0.message)]
    Unreachable(NodeFailure),
    #[error("node {node}: {source}")]
    Node { node: String, source: Box<HistoryError> },
    #[error("{missing} on the nodes that answered; {nodes} could not be asked")]
    NodesUnasked { missing: Box<HistoryError>, nodes: String },
    #[error("builder {builder} has no build records")]
    Empty { builder: String },
    #[error("builder {builder} has no build record at offset {offset} (it keeps {count})")]
    NoSuchOffset { builder: String, offset: usize, count: usize },
    #[error("invalid offset \"{0}\": expected ^N, e.g. ^1")]
    InvalidOffset(String),
    #[error("invalid build ref \"{0}\": a ref is letters and digits")]
    InvalidRef(String),
    #[error("invalid filter \"{filter}\": {reason}")]
    InvalidFilter { filter: String, reason: String },
    #[error("BuildKit did not answer within {within:?}")]
    NoAnswer { within: std::time::Duration },
    #[error("replay cancelled")]
    Cancelled,
    #[error("cannot read blob {digest} from BuildKit's content store: {message} ({code:?})")]
    Blob { digest: String, code: tonic::Code, message: String },
    #[error("blob {digest} is {size} bytes, more than the {limit} a {kind:?} blob may be")]
    BlobTooLarge { digest: String, kind: blobs::BlobKind, size: u64, limit: u64 },
    #[error("blob {digest} is not what its media type says: {reason}")]
    CorruptBlob { digest: String, reason: String },
    #[error("build {build_ref} has no attachment {digest}")]
    NoSuchAttachment { build_ref: String, digest: String },
    #[error("build {build_ref} has no recorded steps to compare: it is still running, or BuildKit kept no logs of it")]
    NoSteps { build_ref: String },
}

/// Where a replay read the build's status stream from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ReplaySource {
    /// The record's logs blob, read from BuildKit's content store (a finished build).
    LogsBlob,
    /// `Control.Status`, which follows a running build live.
    Status,
}

/// A recorded build replayed: the record as listed, and how it ended as a live build's outcome.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, ts_rs::TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Replay {
    pub entry: HistoryEntry,
    pub outcome: BuildOutcome,
    pub source: ReplaySource,
}

/// The order `docker buildx history ls` lists records in: running builds first, then newest first.
pub fn ls_order(a: &HistoryEntry, b: &HistoryEntry) -> std::cmp::Ordering {
    let running = |e: &HistoryEntry| e.status != HistoryStatus::Running;
    running(a).cmp(&running(b)).then_with(|| b.created_at.cmp(&a.created_at))
}

/// One builder's history, over every node of it that could be reached.
pub struct BuildHistory {
    builder: String,
    /// The nodes reached, in the builder's order.
    nodes: Vec<NodeHistory>,
    /// Why the others could not be.
    unreachable: Vec<NodeFailure>,
    /// Whether the builder has several nodes (then each error names its node).
    several: bool,
    records: Records,
}

/// A builder's records and the nodes whose records could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryListing {
    pub entries: Vec<HistoryEntry>,
    pub unreachable: Vec<NodeFailure>,
}

/// A record found, with BuildKit's own form of it and the node that keeps it.
struct Found<'a> {
    entry: HistoryEntry,
    record: BuildHistoryRecord,
    node: &'a NodeHistory,
}

impl BuildHistory {
    /// The history of `builder` (empty: the current one) of the docker context, every node reached
    /// at once, booting docker-container nodes that are not running, as buildx does. Fails only when
    /// no node can be reached; the others are named by [`BuildHistory::unreachable`].
    #[instrument(skip(builders))]
    pub async fn connect(
        builders: &Builders,
        builder: &str,
        docker_context: Option<&str>,
    ) -> Result<Self, HistoryError> {
        let (group, route) = builders.nodes_for_build(Some(builder.trim()), docker_context).await?;
        let several = route.len() > 1;
        let env = builders.contexts().environment();
        let (nodes, failed) =
            nodes::connect(&env.buildx_store_dir(), &group.name, route, builders.probe_timeout()).await;
        if nodes.is_empty() {
            return Err(failed.into_iter().next().unwrap_or(HistoryError::Empty { builder: group.name }));
        }
        Ok(Self {
            unreachable: failed.iter().map(NodeFailure::new).collect(),
            records: Records::new(env),
            builder: group.name,
            nodes,
            several,
        })
    }

    pub fn builder(&self) -> &str {
        &self.builder
    }

    /// The same history narrowed to node `node`'s records: what a row of the list, which names its
    /// node, opens. Fails with the node's own error when it could not be reached.
    pub fn only_node(mut self, node: &str) -> Result<Self, HistoryError> {
        if let Some(failure) = self.unreachable.iter().find(|f| f.node == node) {
            return Err(HistoryError::Unreachable(failure.clone()));
        }
        self.nodes.retain(|n| n.name == node);
        if self.nodes.is_empty() {
            return Err(HistoryError::NoSuchNode { builder: self.builder, node: node.to_owned() });
        }
        self.unreachable.clear();
        Ok(self)
    }

    /// The nodes reached, in the builder's order.
    pub fn nodes(&self) -> Vec<&str> {
        self.nodes.iter().map(|n| n.name.as_str()).collect()
    }

    /// The nodes that could not be reached, and why.
    pub fn unreachable(&self) -> &[NodeFailure] {
        &self.unreachable
    }

    /// What each node's BuildKit lacks of what the History view shows, from its release (for the
    /// engine's own BuildKit, which Debian does not stamp, from the engine's), and the nodes that
    /// could not be asked.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn support(&self) -> Result<BuilderHistorySupport, HistoryError> {
        let asked = futures_util::future::join_all(self.nodes.iter().map(|node| async move {
            let reported = node.control.version().await.map_err(|e| self.node_error(node, e))?;
            let engine = match node.driver.is_engine_buildkit() {
                true => node.driver.describe().await.host,
                false => None,
            };
            Ok::<_, HistoryError>(HistorySupport::new(
                &node.name,
                &BuildkitRelease::new(reported.as_deref(), engine.as_ref()),
            ))
        }))
        .await;
        let mut support = BuilderHistorySupport {
            several_nodes: self.several,
            nodes: Vec::new(),
            unreachable: self.unreachable.clone(),
        };
        let mut first_error = None;
        for answer in asked {
            match answer {
                Ok(node) => support.nodes.push(node),
                Err(e) => {
                    support.unreachable.push(NodeFailure::new(&e));
                    first_error.get_or_insert(e);
                }
            }
        }
        match (support.nodes.is_empty(), first_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(support),
        }
    }

    fn node_error(&self, node: &NodeHistory, error: BuildkitError) -> HistoryError {
        nodes::of_node(&node.name, self.several, nodes::buildkit_error(&self.builder, error))
    }

    fn entry(
        &self,
        node: &NodeHistory,
        record: &BuildHistoryRecord,
        server_time: Option<chrono::DateTime<chrono::Utc>>,
    ) -> HistoryEntry {
        HistoryEntry::from_record(record, node.origin(&self.builder, &self.records, record, server_time))
    }

    /// Every node's records (`build_ref` empty: all of them) as BuildKit sent them, and the nodes
    /// that could not be asked; fails only when none answered.
    async fn raw(&self, build_ref: &str) -> Result<(Vec<NodeRecords>, Vec<NodeFailure>), HistoryError> {
        let (answered, mut failed) = nodes::ask_all(&self.builder, &self.nodes, build_ref, self.several).await;
        if answered.is_empty() {
            return Err(failed.remove(0));
        }
        let mut unreachable = self.unreachable.clone();
        unreachable.extend(failed.iter().map(NodeFailure::new));
        Ok((answered, unreachable))
    }

    /// Every record of every node that answered, running builds first, then newest first, and the
    /// nodes whose records could not be read.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn listing(&self) -> Result<HistoryListing, HistoryError> {
        let (answered, unreachable) = self.raw("").await?;
        let per_node = answered
            .iter()
            .map(|a| a.records.iter().map(|r| self.entry(&self.nodes[a.node], r, a.server_time)).collect())
            .collect();
        Ok(HistoryListing { entries: nodes::merged(per_node), unreachable })
    }

    /// Every record of every node that answered, running builds first, then newest first.
    pub async fn list(&self) -> Result<Vec<HistoryEntry>, HistoryError> {
        Ok(self.listing().await?.entries)
    }

    /// The record `spec` names over every node (a ref on several nodes: its newest record), with
    /// BuildKit's own form of it and its node.
    async fn find(&self, spec: &BuildSpec) -> Result<Found<'_>, HistoryError> {
        let build_ref = match spec {
            BuildSpec::Ref(r) => r.as_str(),
            BuildSpec::Newest | BuildSpec::Offset(_) => "",
        };
        let (answered, unreachable) = self.raw(build_ref).await?;
        let per_node = answered
            .into_iter()
            .map(|a| {
                let node = &self.nodes[a.node];
                a.records
                    .into_iter()
                    .filter(|r| build_ref.is_empty() || r.r#ref == build_ref)
                    .map(|r| (self.entry(node, &r, a.server_time), (r, node)))
                    .collect()
            })
            .collect();
        let found = nodes::newest_first(per_node);
        let count = found.len();
        let index = match spec {
            BuildSpec::Offset(n) => *n,
            BuildSpec::Newest | BuildSpec::Ref(_) => 0,
        };
        let missing = match (found.into_iter().nth(index), spec) {
            (Some((entry, (record, node))), _) => return Ok(Found { entry, record, node }),
            (None, BuildSpec::Ref(r)) => HistoryError::NotFound { builder: self.builder.clone(), build_ref: r.clone() },
            (None, BuildSpec::Newest) => HistoryError::Empty { builder: self.builder.clone() },
            (None, BuildSpec::Offset(offset)) => {
                HistoryError::NoSuchOffset { builder: self.builder.clone(), offset: *offset, count }
            }
        };
        match unreachable.is_empty() {
            true => Err(missing),
            false => Err(HistoryError::NodesUnasked {
                missing: Box::new(missing),
                nodes: unreachable.iter().map(|u| u.node.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The record `spec` names.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn get(&self, spec: &BuildSpec) -> Result<HistoryEntry, HistoryError> {
        Ok(self.find(spec).await?.entry)
    }

    /// Every record of every node (running builds as `Started`, finished ones as `Completed`), then
    /// each later change, until the stream is dropped. A node that cannot be reached, or stops
    /// answering, comes as a `NodeFailed` event and the others go on; fails only when no node answers.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn watch(&self) -> Result<impl Stream<Item = Result<HistoryEvent, HistoryError>> + '_, HistoryError> {
        let opened = futures_util::future::join_all(
            self.nodes.iter().map(|node| async move { (node, node.listen(&self.builder, "", false).await) }),
        )
        .await;
        let mut failures: Vec<HistoryEvent> =
            self.unreachable.iter().map(|f| HistoryEvent::NodeFailed { failure: f.clone() }).collect();
        let mut streams = Vec::new();
        let mut first_error = None;
        for (node, opened) in opened {
            let stream = match opened {
                Ok(stream) => stream,
                Err(e) => {
                    let e = nodes::of_node(&node.name, self.several, e);
                    failures.push(HistoryEvent::NodeFailed { failure: NodeFailure::new(&e) });
                    first_error.get_or_insert(e);
                    continue;
                }
            };
            let server_time = stream.server_time;
            let events = stream.events.scan(false, move |ended, event| {
                let out = match (*ended, event) {
                    (true, _) => None,
                    (false, Ok(event)) => Some(
                        entry::event(event, &node.name, |r| node.origin(&self.builder, &self.records, r, server_time))
                            .map(Ok),
                    ),
                    (false, Err(e)) => {
                        *ended = true;
                        let e = self.node_error(node, e);
                        // One node going away leaves the others' records; a builder of one has nothing left.
                        Some(Some(match self.several {
                            true => Ok(HistoryEvent::NodeFailed { failure: NodeFailure::new(&e) }),
                            false => Err(e),
                        }))
                    }
                };
                std::future::ready(out)
            });
            streams.push(Box::pin(events.filter_map(std::future::ready)));
        }
        if streams.is_empty() {
            return Err(first_error.unwrap_or(HistoryError::Empty { builder: self.builder.clone() }));
        }
        Ok(futures_util::stream::iter(failures.into_iter().map(Ok)).chain(futures_util::stream::select_all(streams)))
    }

    fn update_error(&self, node: &NodeHistory, build_ref: &str, error: BuildkitError) -> HistoryError {
        match &error {
            BuildkitError::Call { code: tonic::Code::NotFound, .. } => {
                HistoryError::NotFound { builder: self.builder.clone(), build_ref: build_ref.to_owned() }
            }
            _ => self.node_error(node, error),
        }
    }

    /// The nodes that keep a record of `build_ref` (several when buildx built on several nodes under one ref).
    async fn holders(&self, build_ref: &str) -> Result<Vec<&NodeHistory>, HistoryError> {
        let BuildSpec::Ref(build_ref) = BuildSpec::parse(build_ref)? else {
            return Err(HistoryError::InvalidRef(build_ref.to_owned()));
        };
        // BuildKit 0.13 answers an unknown ref with a bare error: ask first, to say what is missing.
        self.find(&BuildSpec::Ref(build_ref.clone())).await?;
        let (answered, _) = self.raw(&build_ref).await?;
        Ok(answered
            .iter()
            .filter(|a| a.records.iter().any(|r| r.r#ref == build_ref))
            .map(|a| &self.nodes[a.node])
            .collect())
    }

    /// Pins a record (BuildKit's garbage collection keeps it) or unpins it, on every node keeping it.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn set_pinned(&self, build_ref: &str, pinned: bool) -> Result<(), HistoryError> {
        for node in self.holders(build_ref).await? {
            node.control
                .update_build_history(build_ref, pinned, false)
                .await
                .map_err(|e| self.update_error(node, build_ref, e))?;
        }
        Ok(())
    }

    /// Deletes a record from every node keeping it; done when any of them deleted it, as with
    /// `docker buildx history rm`.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn delete(&self, build_ref: &str) -> Result<(), HistoryError> {
        let holders = self.holders(build_ref).await?;
        let answers = futures_util::future::join_all(holders.iter().map(|node| async move {
            node.control
                .update_build_history(build_ref, false, true)
                .await
                .map_err(|e| self.update_error(node, build_ref, e))
        }))
        .await;
        nodes::deleted_anywhere(answers)
    }

    /// Deletes every finished record of every node reached (running builds stay, as with `docker
    /// buildx history rm --all`); returns the refs deleted.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn delete_all(&self) -> Result<Vec<String>, HistoryError> {
        let (answered, _) = self.raw("").await?;
        let per_node = futures_util::future::join_all(answered.into_iter().map(|a| async move {
            let node = &self.nodes[a.node];
            let mut deleted = Vec::new();
            for record in a.records.into_iter().filter(|r| r.completed_at.is_some()) {
                node.control
                    .update_build_history(&record.r#ref, false, true)
                    .await
                    .map_err(|e| self.update_error(node, &record.r#ref, e))?;
                deleted.push(record.r#ref);
            }
            Ok::<_, HistoryError>(deleted)
        }))
        .await;
        let mut deleted = Vec::new();
        for refs in per_node {
            deleted.extend(refs?);
        }
        Ok(deleted)
    }

    /// Replays the build `spec` names into lanes: `progress` gets what changed as it is read (at
    /// most every [`crate::builds::PROGRESS_INTERVAL`]); a build still running is followed to its
    /// end. Ends with the record and its outcome as a live build's.
    #[instrument(skip(self, progress, cancel), fields(builder = %self.builder))]
    pub async fn replay(
        &self,
        spec: &BuildSpec,
        progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
        cancel: CancellationToken,
    ) -> Result<Replay, HistoryError> {
        let Found { entry, record, node } = self.find(spec).await?;
        let mut model = replay::model(&entry);
        let source = match logs(node, &record).await? {
            Some(statuses) => {
                replay::fold(futures_util::stream::iter(statuses.into_iter().map(Ok)), &mut model, progress, &cancel)
                    .await?;
                ReplaySource::LogsBlob
            }
            None => {
                let statuses = node.control.status(&entry.build_ref).await.map_err(|e| self.node_error(node, e))?;
                replay::fold(statuses, &mut model, progress, &cancel).await?;
                ReplaySource::Status
            }
        };
        // Read again, on the same node: a build followed to its end has its end recorded now.
        let (records, server_time) = node.raw(&self.builder, &entry.build_ref).await?;
        let record = records.into_iter().find(|r| r.r#ref == entry.build_ref).ok_or_else(|| {
            HistoryError::NotFound { builder: self.builder.clone(), build_ref: entry.build_ref.clone() }
        })?;
        let entry = self.entry(node, &record, server_time);
        let outcome = replay::outcome(&entry, &record, &model);
        Ok(Replay { entry, outcome, source })
    }

    /// The attestations (provenance, SBOM) recorded with the result of the build `spec` names, and
    /// the materials its provenance names.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn blobs(&self, spec: &BuildSpec) -> Result<blobs::RecordBlobs, HistoryError> {
        let Found { entry, record, node } = self.find(spec).await?;
        let attachments = blobs::attachments(&record);
        let materials = match attachments.iter().find(|a| a.is_provenance()) {
            Some(provenance) => blobs::materials(&read_attachment(node, &record, &provenance.digest).await?),
            None => Vec::new(),
        };
        Ok(blobs::RecordBlobs {
            materials,
            attachments,
            pushed_image: entry.pushed_image.clone().filter(|_| entry.attests_image()),
        })
    }

    /// One attachment of the build `spec` names, as the Images inspector shows an attestation.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn attestation(&self, spec: &BuildSpec, digest: &str) -> Result<blobs::RecordAttestation, HistoryError> {
        let Found { entry, record, node } = self.find(spec).await?;
        let document = read_attachment(node, &record, digest).await?;
        blobs::record_attestation(&entry, &record, digest, &document)
    }

    /// What BuildKit recorded of the finished build `spec` names, to compare it: the record, its
    /// status stream and its provenance (BuildKit attaches one to every record of a build with a result).
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn recorded(&self, spec: &BuildSpec) -> Result<compare::RecordedBuild, HistoryError> {
        let Found { entry, record, node } = self.find(spec).await?;
        let statuses =
            logs(node, &record).await?.ok_or_else(|| HistoryError::NoSteps { build_ref: entry.build_ref.clone() })?;
        let mut provenance = Vec::new();
        for attachment in blobs::attachments(&record).iter().filter(|a| a.is_provenance()) {
            provenance.push(read_attachment(node, &record, &attachment.digest).await?);
        }
        Ok(compare::RecordedBuild { entry, statuses, provenance })
    }

    /// Compares two finished builds of this builder step by step, in either order (the older is the
    /// one whose cache the newer could have used): which step of the newer missed the cache first, and why.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn compare(
        &self,
        first: &BuildSpec,
        second: &BuildSpec,
    ) -> Result<compare::BuildComparison, HistoryError> {
        let first = self.recorded(first).await?;
        let second = self.recorded(second).await?;
        let (older, newer) =
            if second.entry.created() < first.entry.created() { (second, first) } else { (first, second) };
        Ok(compare::compare(&older, &newer))
    }
}

/// A finished record's status stream from its logs blob; `None` while it runs (no blob yet).
async fn logs(node: &NodeHistory, record: &BuildHistoryRecord) -> Result<Option<Vec<StatusResponse>>, HistoryError> {
    match &record.logs {
        Some(logs) if record.completed_at.is_some() && logs.media_type == blobs::STATUS_MEDIA_TYPE => {
            let blob = blobs::read(&node.control, logs, blobs::BlobKind::Logs).await?;
            blobs::statuses(&logs.digest, &blob).map(Some)
        }
        _ => Ok(None),
    }
}

async fn read_attachment(
    node: &NodeHistory,
    record: &BuildHistoryRecord,
    digest: &str,
) -> Result<serde_json::Value, HistoryError> {
    let descriptor = blobs::descriptors(record)
        .into_iter()
        .find(|d| d.digest == digest)
        .ok_or_else(|| HistoryError::NoSuchAttachment { build_ref: record.r#ref.clone(), digest: digest.to_owned() })?;
    let blob = blobs::read(&node.control, &descriptor, blobs::BlobKind::Attestation).await?;
    serde_json::from_slice(&blob)
        .map_err(|e| HistoryError::CorruptBlob { digest: digest.to_owned(), reason: e.to_string() })
}
