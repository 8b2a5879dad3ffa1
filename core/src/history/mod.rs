//! BuildKit's own build history: every build a builder's BuildKit remembers, whoever started it
//! (`docker buildx build`, CI, an IDE, Buildlane), finished and live; pinning and deleting records;
//! and replaying a recorded build's progress into the same lanes a live build fills. Buildlane's
//! own records ([`crate::builds::records`]) are joined by build ref: they keep what BuildKit does not
//! (the exact form, to build it again; secret ids).
//!
//! A builder's history is its first node's, the node builds go to.

pub mod blobs;
pub mod bundle;
pub mod capabilities;
pub mod compare;
pub mod entry;
pub mod filter;
pub mod name;
pub mod project;
mod replay;
pub mod source;
mod timing;

use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

pub use capabilities::{CapabilityNote, HistoryCapability, HistorySupport};
pub use entry::{HistoryEntry, HistoryEvent, HistoryOutput, HistoryStatus, KeyValue, RecordedError};
pub use filter::{BuildSpec, Filter};
pub use name::{build_name, LocalState, LocalStates};

use crate::builders::cache::BuildkitRelease;
use crate::builders::drivers::Driver;
use crate::builders::{BuilderError, Builders};
use crate::buildkit::{BuildkitError, Control};
use crate::builds::records::Records;
use crate::builds::BuildOutcome;
use crate::progress::ProgressUpdate;
use bollard::moby::buildkit::v1::{BuildHistoryEventType, BuildHistoryRecord, StatusResponse};
use entry::Origin;

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

/// One builder's history, reached through its first node's driver.
pub struct BuildHistory {
    control: Control,
    driver: Box<dyn Driver>,
    builder: String,
    node: String,
    local: LocalStates,
    records: Records,
    /// The platforms pinned on the node (`--platform` at create), which come first among its own.
    pinned: Vec<crate::platform::Platform>,
}

impl BuildHistory {
    /// The history of `builder` (empty: the current one) of the docker context, booting a
    /// docker-container builder that is not running, as buildx does.
    #[instrument(skip(builders))]
    pub async fn connect(
        builders: &Builders,
        builder: &str,
        docker_context: Option<&str>,
    ) -> Result<Self, HistoryError> {
        let (group, driver) = builders.for_build(Some(builder.trim()), docker_context).await?;
        let channel = driver.connect().await.map_err(BuilderError::from)?;
        let node = group.nodes.first().map(|n| n.name.clone()).unwrap_or_default();
        let pinned = group.nodes.first().map(|n| n.declared_platforms().to_vec()).unwrap_or_default();
        let env = builders.contexts().environment();
        Ok(Self {
            control: channel.control,
            driver,
            local: LocalStates::new(&env.buildx_store_dir(), &group.name, &node),
            records: Records::new(env),
            builder: group.name,
            node,
            pinned,
        })
    }

    pub fn builder(&self) -> &str {
        &self.builder
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// What the node's BuildKit lacks of what the History view shows, from its release (for the
    /// engine's own BuildKit, which Debian does not stamp, from the engine's).
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn support(&self) -> Result<HistorySupport, HistoryError> {
        let reported = self.control.version().await?;
        let engine = match self.driver.is_engine_buildkit() {
            true => self.driver.describe().await.host,
            false => None,
        };
        Ok(HistorySupport::new(&self.node, &BuildkitRelease::new(reported.as_deref(), engine.as_ref())))
    }

    fn origin(&self, record: &BuildHistoryRecord, server_time: Option<chrono::DateTime<chrono::Utc>>) -> Origin<'_> {
        Origin {
            builder: &self.builder,
            node: &self.node,
            local: self.local.read(&record.r#ref),
            recorded: self.records.get(&record.r#ref),
            server_time,
        }
    }

    fn buildkit_error(&self, error: BuildkitError) -> HistoryError {
        match &error {
            BuildkitError::Call { code: tonic::Code::Unimplemented, .. } => {
                HistoryError::Unsupported { builder: self.builder.clone() }
            }
            _ => error.into(),
        }
    }

    /// The records BuildKit keeps (`build_ref` empty: all of them), as BuildKit sent them, with its clock.
    async fn raw(
        &self,
        build_ref: &str,
    ) -> Result<(Vec<BuildHistoryRecord>, Option<chrono::DateTime<chrono::Utc>>), HistoryError> {
        let stream = self.control.listen_build_history(build_ref, true).await.map_err(|e| self.buildkit_error(e))?;
        let mut events = std::pin::pin!(stream.events);
        let mut records = Vec::new();
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                // A record deleted while someone still reads it: BuildKit 0.13 answers with os.ErrNotExist
                // as an Unknown error ("ref … is deleted: file does not exist"), later ones NotFound.
                Err(BuildkitError::Call { code, message, .. })
                    if !build_ref.is_empty()
                        && (code == tonic::Code::NotFound || message.ends_with("file does not exist")) =>
                {
                    break
                }
                Err(e) => return Err(self.buildkit_error(e)),
            };
            if event.r#type == BuildHistoryEventType::Deleted as i32 {
                continue;
            }
            if let Some(record) = event.record {
                records.push(record);
            }
        }
        Ok((records, stream.server_time))
    }

    /// Every record, running builds first, then newest first.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn list(&self) -> Result<Vec<HistoryEntry>, HistoryError> {
        let (records, server_time) = self.raw("").await?;
        let mut entries: Vec<HistoryEntry> =
            records.iter().map(|r| HistoryEntry::from_record(r, self.origin(r, server_time))).collect();
        entries.sort_by(ls_order);
        Ok(entries)
    }

    /// The record `spec` names, with BuildKit's own form of it.
    async fn find(&self, spec: &BuildSpec) -> Result<(HistoryEntry, BuildHistoryRecord), HistoryError> {
        let build_ref = match spec {
            BuildSpec::Ref(r) => r.as_str(),
            BuildSpec::Newest | BuildSpec::Offset(_) => "",
        };
        let (records, server_time) = self.raw(build_ref).await?;
        let mut pairs: Vec<(HistoryEntry, BuildHistoryRecord)> = records
            .into_iter()
            .filter(|r| build_ref.is_empty() || r.r#ref == build_ref)
            .map(|r| (HistoryEntry::from_record(&r, self.origin(&r, server_time)), r))
            .collect();
        // buildx counts offsets newest first, running builds in their place by start.
        pairs.sort_by(|a, b| b.0.created_at.cmp(&a.0.created_at));
        let count = pairs.len();
        let index = match spec {
            BuildSpec::Offset(n) => *n,
            BuildSpec::Newest | BuildSpec::Ref(_) => 0,
        };
        match (pairs.into_iter().nth(index), spec) {
            (Some(pair), _) => Ok(pair),
            (None, BuildSpec::Ref(r)) => {
                Err(HistoryError::NotFound { builder: self.builder.clone(), build_ref: r.clone() })
            }
            (None, BuildSpec::Newest) => Err(HistoryError::Empty { builder: self.builder.clone() }),
            (None, BuildSpec::Offset(offset)) => {
                Err(HistoryError::NoSuchOffset { builder: self.builder.clone(), offset: *offset, count })
            }
        }
    }

    /// The record `spec` names.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn get(&self, spec: &BuildSpec) -> Result<HistoryEntry, HistoryError> {
        Ok(self.find(spec).await?.0)
    }

    /// Every record (running builds as `Started`, finished ones as `Completed`), then each later
    /// change, until the stream is dropped.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn watch(&self) -> Result<impl Stream<Item = Result<HistoryEvent, HistoryError>> + '_, HistoryError> {
        let stream = self.control.listen_build_history("", false).await.map_err(|e| self.buildkit_error(e))?;
        let server_time = stream.server_time;
        Ok(stream.events.filter_map(move |event| {
            let out = match event {
                Ok(event) => entry::event(event, |r| self.origin(r, server_time)).map(Ok),
                Err(e) => Some(Err(self.buildkit_error(e))),
            };
            std::future::ready(out)
        }))
    }

    fn update_error(&self, build_ref: &str, error: BuildkitError) -> HistoryError {
        match &error {
            BuildkitError::Call { code: tonic::Code::NotFound, .. } => {
                HistoryError::NotFound { builder: self.builder.clone(), build_ref: build_ref.to_owned() }
            }
            _ => self.buildkit_error(error),
        }
    }

    /// Pins a record (BuildKit's garbage collection keeps it) or unpins it.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn set_pinned(&self, build_ref: &str, pinned: bool) -> Result<(), HistoryError> {
        let BuildSpec::Ref(build_ref) = BuildSpec::parse(build_ref)? else {
            return Err(HistoryError::InvalidRef(build_ref.to_owned()));
        };
        // BuildKit 0.13 answers an unknown ref with a bare error: ask first, to say what is missing.
        self.find(&BuildSpec::Ref(build_ref.clone())).await?;
        self.control.update_build_history(&build_ref, pinned, false).await.map_err(|e| self.update_error(&build_ref, e))
    }

    /// Deletes a record.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn delete(&self, build_ref: &str) -> Result<(), HistoryError> {
        let BuildSpec::Ref(build_ref) = BuildSpec::parse(build_ref)? else {
            return Err(HistoryError::InvalidRef(build_ref.to_owned()));
        };
        self.find(&BuildSpec::Ref(build_ref.clone())).await?;
        self.control.update_build_history(&build_ref, false, true).await.map_err(|e| self.update_error(&build_ref, e))
    }

    /// Deletes every finished record (running builds stay, as with `docker buildx history rm --all`);
    /// returns the refs deleted.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn delete_all(&self) -> Result<Vec<String>, HistoryError> {
        let (records, _) = self.raw("").await?;
        let mut deleted = Vec::new();
        for record in records.into_iter().filter(|r| r.completed_at.is_some()) {
            self.control
                .update_build_history(&record.r#ref, false, true)
                .await
                .map_err(|e| self.update_error(&record.r#ref, e))?;
            deleted.push(record.r#ref);
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
        let (entry, record) = self.find(spec).await?;
        let mut model = replay::model(&entry);
        let source = match self.logs(&record).await? {
            Some(statuses) => {
                replay::fold(futures_util::stream::iter(statuses.into_iter().map(Ok)), &mut model, progress, &cancel)
                    .await?;
                ReplaySource::LogsBlob
            }
            None => {
                let statuses = self.control.status(&entry.build_ref).await.map_err(|e| self.buildkit_error(e))?;
                replay::fold(statuses, &mut model, progress, &cancel).await?;
                ReplaySource::Status
            }
        };
        // Read again: a build followed to its end has its end recorded now.
        let (entry, record) = self.find(&BuildSpec::Ref(entry.build_ref)).await?;
        let outcome = replay::outcome(&entry, &record, &model);
        Ok(Replay { entry, outcome, source })
    }

    /// A finished record's status stream from its logs blob; `None` while it runs (no blob yet).
    async fn logs(&self, record: &BuildHistoryRecord) -> Result<Option<Vec<StatusResponse>>, HistoryError> {
        match &record.logs {
            Some(logs) if record.completed_at.is_some() && logs.media_type == blobs::STATUS_MEDIA_TYPE => {
                let blob = blobs::read(&self.control, logs, blobs::BlobKind::Logs).await?;
                blobs::statuses(&logs.digest, &blob).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The attestations (provenance, SBOM) recorded with the result of the build `spec` names, and
    /// the materials its provenance names.
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn blobs(&self, spec: &BuildSpec) -> Result<blobs::RecordBlobs, HistoryError> {
        let (entry, record) = self.find(spec).await?;
        let attachments = blobs::attachments(&record);
        let materials = match attachments.iter().find(|a| a.is_provenance()) {
            Some(provenance) => blobs::materials(&self.read_attachment(&record, &provenance.digest).await?),
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
        let (entry, record) = self.find(spec).await?;
        let document = self.read_attachment(&record, digest).await?;
        blobs::record_attestation(&entry, &record, digest, &document)
    }

    async fn read_attachment(
        &self,
        record: &BuildHistoryRecord,
        digest: &str,
    ) -> Result<serde_json::Value, HistoryError> {
        let descriptor = blobs::descriptors(record).into_iter().find(|d| d.digest == digest).ok_or_else(|| {
            HistoryError::NoSuchAttachment { build_ref: record.r#ref.clone(), digest: digest.to_owned() }
        })?;
        let blob = blobs::read(&self.control, &descriptor, blobs::BlobKind::Attestation).await?;
        serde_json::from_slice(&blob)
            .map_err(|e| HistoryError::CorruptBlob { digest: digest.to_owned(), reason: e.to_string() })
    }

    /// What BuildKit recorded of the finished build `spec` names, to compare it: the record, its
    /// status stream and its provenance (BuildKit attaches one to every record of a build with a result).
    #[instrument(skip(self), fields(builder = %self.builder))]
    pub async fn recorded(&self, spec: &BuildSpec) -> Result<compare::RecordedBuild, HistoryError> {
        let (entry, record) = self.find(spec).await?;
        let statuses =
            self.logs(&record).await?.ok_or_else(|| HistoryError::NoSteps { build_ref: entry.build_ref.clone() })?;
        let mut provenance = Vec::new();
        for attachment in blobs::attachments(&record).iter().filter(|a| a.is_provenance()) {
            provenance.push(self.read_attachment(&record, &attachment.digest).await?);
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
