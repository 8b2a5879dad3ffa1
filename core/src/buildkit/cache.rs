//! BuildKit's build cache through Control: `DiskUsage` (every cache record with its size and use)
//! and `Prune` (a server stream of the records it removed). Neither needs a session.

use bollard::moby::buildkit::v1 as pb;
use chrono::{DateTime, Utc};
use futures_util::{Stream, StreamExt};
use tracing::instrument;

use super::filters::Fields;
use super::{BuildkitError, Control};

/// One cache record as BuildKit reports it (`UsageRecord`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    pub id: String,
    pub mutable: bool,
    pub in_use: bool,
    pub size: i64,
    pub parents: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub usage_count: i64,
    pub description: String,
    /// `regular`, `source.local`, `exec.cachemount`, `frontend`, `internal`, `source.git.checkout`.
    pub record_type: String,
    pub shared: bool,
}

/// What a `Prune` call asks (`PruneRequest`). `reserved_space` travels in the field BuildKit
/// before 0.17 called `keepBytes`; `max_used_space` and `min_free_space` exist from 0.17 on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneRequest {
    /// containerd filter expressions; BuildKit keeps a record that matches any of them.
    pub filter: Vec<String>,
    pub all: bool,
    pub keep_duration_ns: i64,
    pub reserved_space: i64,
    pub max_used_space: i64,
    pub min_free_space: i64,
}

/// A protobuf timestamp's seconds and nanoseconds as a time.
fn time(seconds: i64, nanos: i32) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, u32::try_from(nanos).ok()?)
}

impl From<pb::UsageRecord> for UsageRecord {
    fn from(r: pb::UsageRecord) -> Self {
        // BuildKit before 0.10 sent one parent in `parent`; later ones fill `parents`.
        #[allow(deprecated)]
        let parents = if r.parents.is_empty() && !r.parent.is_empty() { vec![r.parent] } else { r.parents };
        UsageRecord {
            id: r.id,
            mutable: r.mutable,
            in_use: r.in_use,
            size: r.size,
            parents,
            created_at: r.created_at.and_then(|t| time(t.seconds, t.nanos)),
            last_used_at: r.last_used_at.and_then(|t| time(t.seconds, t.nanos)),
            usage_count: r.usage_count,
            description: r.description,
            record_type: r.record_type,
            shared: r.shared,
        }
    }
}

impl Control {
    /// Every cache record the node's workers hold that matches `filter` (containerd filter
    /// expressions, any of which may match).
    #[instrument(skip(self), fields(endpoint = %self.endpoint()))]
    pub async fn disk_usage(&self, filter: Vec<String>) -> Result<Vec<UsageRecord>, BuildkitError> {
        let response = self
            .client()
            .disk_usage(pb::DiskUsageRequest { filter, age_limit: 0 })
            .await
            .map_err(|s| self.call_error("DiskUsage", s))?;
        Ok(response.into_inner().record.into_iter().map(UsageRecord::from).collect())
    }

    /// Starts a prune; each removed record arrives on the stream as BuildKit removes it. Dropping
    /// the stream cancels the call, and BuildKit stops before its next record.
    #[instrument(skip(self), fields(endpoint = %self.endpoint()))]
    pub async fn prune(
        &self,
        request: PruneRequest,
    ) -> Result<impl Stream<Item = Result<UsageRecord, BuildkitError>> + Send + 'static, BuildkitError> {
        let endpoint = self.endpoint().to_owned();
        let stream = self
            .client()
            .prune(pb::PruneRequest {
                filter: request.filter,
                all: request.all,
                keep_duration: request.keep_duration_ns,
                reserved_space: request.reserved_space,
                max_used_space: request.max_used_space,
                min_free_space: request.min_free_space,
            })
            .await
            .map_err(|s| self.call_error("Prune", s))?
            .into_inner();
        Ok(stream.map(move |item| match item {
            Ok(record) => Ok(UsageRecord::from(record)),
            Err(status) => Err(BuildkitError::call(&endpoint, "Prune", &status)),
        }))
    }
}

/// Which of a record's fields BuildKit's filters read. `DiskUsage` shows them all; `Prune` shows
/// no parents and nothing in use (it only looks at unused records), and descriptions only from
/// BuildKit 0.14 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterView {
    DiskUsage,
    Prune { description: bool },
}

/// A record as one of BuildKit's filters reads it (the cache manager's `adaptUsageInfo`).
pub struct Judged<'a>(pub &'a UsageRecord, pub FilterView);

impl Fields for Judged<'_> {
    fn field(&self, path: &[String]) -> Option<String> {
        let Judged(r, view) = *self;
        let prune = matches!(view, FilterView::Prune { .. });
        let text = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let flag = |on: bool| on.then(String::new);
        match path.first()?.as_str() {
            "id" => text(&r.id),
            "parents" if !prune => text(&r.parents.join(";")),
            "description" if matches!(view, FilterView::DiskUsage | FilterView::Prune { description: true }) => {
                text(&r.description)
            }
            "inuse" => flag(r.in_use && !prune),
            "mutable" => flag(r.mutable),
            "immutable" => flag(!r.mutable),
            "type" => Some(if r.record_type.is_empty() { "regular".to_owned() } else { r.record_type.clone() }),
            "shared" => flag(r.shared),
            "private" => flag(!r.shared),
            _ => None,
        }
    }
}
