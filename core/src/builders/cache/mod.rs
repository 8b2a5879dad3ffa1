//! A builder's build cache, as `docker buildx du` and `prune` see it: every node's cache records
//! (asked of the node's BuildKit through its driver), grouped by type, with the totals buildx
//! prints; the records a prune would remove and the bytes it would free, judged from the same
//! records as BuildKit's cache manager judges them; and the prune itself, record by record.

pub mod command_line;
pub mod filter;
pub mod prune;
pub mod text;

use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use serde::Serialize;
use tracing::instrument;
use ts_rs::TS;

use super::drivers::{Driver, DriverError, NodeStatus};
use super::{BuilderError, Builders};
use crate::buildkit::cache::UsageRecord;
use crate::buildkit::{BuildkitError, Control};
use crate::engine::EngineInfo;
use crate::go_text::units::SizeError;
use crate::go_text::units::{human_duration, human_size};
use filter::{CacheFilters, FilterError};

/// One cache record, as the Cache panel and `buildlane du` show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CacheRecord {
    pub id: String,
    /// The node whose BuildKit holds it.
    pub node: String,
    pub mutable: bool,
    pub in_use: bool,
    /// Not in use: a prune may remove it (buildx's RECLAIMABLE).
    pub reclaimable: bool,
    /// Also part of something outside the cache (an image in the engine's store, say).
    pub shared: bool,
    pub size: i64,
    /// `1.069MB`, as buildx prints it.
    pub size_text: String,
    /// `regular`, `source.local`, `exec.cachemount`, `frontend`, `internal`, `source.git.checkout`.
    pub record_type: String,
    pub description: String,
    pub usage_count: i64,
    pub parents: Vec<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    pub last_used_at: Option<String>,
    /// `8 minutes ago`, as buildx prints it when the record was read; empty when never used.
    pub last_used_text: String,
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) created: Option<DateTime<Utc>>,
    #[serde(skip)]
    #[ts(skip)]
    pub(crate) last_used: Option<DateTime<Utc>>,
}

/// buildx's summary lines: Shared, Private, Reclaimable, Total.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CacheTotals {
    pub shared: i64,
    pub private: i64,
    pub reclaimable: i64,
    pub total: i64,
    /// buildx prints Shared and Private only when something is shared.
    pub has_shared: bool,
    pub shared_text: String,
    pub private_text: String,
    pub reclaimable_text: String,
    pub total_text: String,
}

/// One part of the stacked bar: the bytes of one record type, reclaimable or in use.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct UsageSegment {
    pub record_type: String,
    pub reclaimable: bool,
    pub records: u32,
    pub bytes: i64,
    pub bytes_text: String,
    /// Its part of all the bytes the bar shows, 0 to 1.
    pub fraction: f64,
}

/// What one node's BuildKit holds.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct NodeUsage {
    pub node: String,
    /// What the node reports, and the BuildKit release Buildlane takes it to be.
    pub buildkit: String,
    pub records: Vec<CacheRecord>,
    pub totals: CacheTotals,
}

/// A builder's cache, all nodes together (`docker buildx du`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DiskUsage {
    pub builder: String,
    pub nodes: Vec<NodeUsage>,
    pub totals: CacheTotals,
    /// By record type, then reclaimable before in use, largest types first.
    pub segments: Vec<UsageSegment>,
    /// Filters were given: buildx then prints no totals.
    pub filtered: bool,
    /// How BuildKit will read the filters, where that is not what one would guess.
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("invalid {flag} \"{value}\": {source}")]
    InvalidSize { flag: &'static str, value: String, source: SizeError },
    #[error(
        "{flag} needs BuildKit 0.17 or newer, and node {node} runs {buildkit}: leave it out (nothing was removed)"
    )]
    Unsupported { flag: &'static str, node: String, buildkit: String },
    #[error(
        "builder node {node} is {status}: its cache can be read once it runs (`docker buildx inspect --bootstrap {builder}`)"
    )]
    NodeNotRunning { builder: String, node: String, status: &'static str },
    #[error("builder node {node}: {source}")]
    Driver { node: String, source: DriverError },
    #[error("builder node {node}: {source}")]
    Buildkit { node: String, source: BuildkitError },
    #[error(transparent)]
    Builder(#[from] BuilderError),
}

/// A node reached for its cache.
pub(crate) struct CacheNode {
    pub name: String,
    pub control: Control,
    pub buildkit: BuildkitRelease,
}

/// The BuildKit a node runs, as far as it can be known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildkitRelease {
    /// `(major, minor)`; `None` when neither the node nor its engine tells.
    pub version: Option<(u32, u32)>,
    /// For messages: `v0.13.2`, or `v0.0.0+unknown (Docker Engine 26.1.5 embeds BuildKit 0.13)`.
    pub described: String,
}

impl BuildkitRelease {
    /// From the version BuildKit reports and, for the engine's own BuildKit when that version is
    /// not stamped (Debian's builds report `v0.0.0+unknown`), the engine's release.
    pub fn new(reported: Option<&str>, engine: Option<&EngineInfo>) -> Self {
        let reported_text = reported.unwrap_or("no version").to_owned();
        if let Some(version) = reported.and_then(parse_release).filter(|v| *v != (0, 0)) {
            return BuildkitRelease { version: Some(version), described: format!("BuildKit {reported_text}") };
        }
        let embedded = engine.and_then(|e| Some((e, engine_buildkit(&e.version)?)));
        match embedded {
            Some((engine, (major, minor))) => BuildkitRelease {
                version: Some((major, minor)),
                described: format!(
                    "BuildKit {reported_text} (Docker Engine {} embeds BuildKit {major}.{minor})",
                    engine.version
                ),
            },
            None => BuildkitRelease { version: None, described: format!("BuildKit {reported_text}") },
        }
    }

    /// At least `major.minor`; an unknown release counts as older.
    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        self.version.is_some_and(|v| v >= (major, minor))
    }
}

/// `v0.13.2`, `0.17.0-rc1`, `v0.0.0+unknown` → `(0, 13)`, `(0, 17)`, `(0, 0)`.
fn parse_release(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().trim_start_matches('v').split(['.', '-', '+']);
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The BuildKit each Docker Engine release vendors (moby's vendor.mod), for the releases whose
/// behaviour differs here: 0.14 shows descriptions to prune filters, 0.17 adds the space limits.
fn engine_buildkit(engine_version: &str) -> Option<(u32, u32)> {
    const RELEASES: [((u32, u32), (u32, u32)); 8] = [
        ((28, 0), (0, 20)),
        ((27, 5), (0, 18)),
        ((27, 4), (0, 17)),
        ((27, 3), (0, 16)),
        ((27, 1), (0, 15)),
        ((27, 0), (0, 14)),
        ((26, 0), (0, 13)),
        ((0, 0), (0, 0)),
    ];
    let engine = parse_release(engine_version)?;
    RELEASES.iter().find(|(from, _)| engine >= *from).map(|(_, buildkit)| *buildkit).filter(|v| *v != (0, 0))
}

impl CacheRecord {
    pub(crate) fn new(node: &str, r: &UsageRecord, now: DateTime<Utc>) -> Self {
        let rfc3339 = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
        CacheRecord {
            id: r.id.clone(),
            node: node.to_owned(),
            mutable: r.mutable,
            in_use: r.in_use,
            reclaimable: !r.in_use,
            shared: r.shared,
            size: r.size,
            size_text: human_size(r.size as f64),
            // As BuildKit sent it: its prune answers carry none, and buildx then prints no type.
            record_type: r.record_type.clone(),
            description: r.description.clone(),
            usage_count: r.usage_count,
            parents: r.parents.clone(),
            created_at: r.created_at.as_ref().map(rfc3339),
            last_used_at: r.last_used_at.as_ref().map(rfc3339),
            last_used_text: r.last_used_at.map(|t| ago(t, now)).unwrap_or_default(),
            created: r.created_at,
            last_used: r.last_used_at,
        }
    }
}

/// `8 minutes ago`, as buildx words a last use.
pub(crate) fn ago(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let elapsed = (now - then).num_nanoseconds().unwrap_or(i64::MAX);
    format!("{} ago", human_duration(elapsed))
}

impl CacheTotals {
    /// buildx's `printSummary`: sizes above zero count toward Total (and Reclaimable when not in
    /// use); Shared counts every shared record's size; Private is Total less Shared.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a CacheRecord>) -> Self {
        let (mut total, mut reclaimable, mut shared) = (0i64, 0i64, 0i64);
        for r in records {
            if r.size > 0 {
                total += r.size;
                if !r.in_use {
                    reclaimable += r.size;
                }
            }
            if r.shared {
                shared += r.size;
            }
        }
        let text = |n: i64| human_size(n as f64);
        CacheTotals {
            shared,
            private: total - shared,
            reclaimable,
            total,
            has_shared: shared > 0,
            shared_text: text(shared),
            private_text: text(total - shared),
            reclaimable_text: text(reclaimable),
            total_text: text(total),
        }
    }
}

/// The stacked bar's parts: per type, reclaimable and in use apart; largest types first.
pub fn segments<'a>(records: impl IntoIterator<Item = &'a CacheRecord>) -> Vec<UsageSegment> {
    let mut parts: Vec<UsageSegment> = Vec::new();
    for r in records.into_iter().filter(|r| r.size > 0) {
        match parts.iter_mut().find(|s| s.record_type == r.record_type && s.reclaimable == r.reclaimable) {
            Some(s) => {
                s.records += 1;
                s.bytes += r.size;
            }
            None => parts.push(UsageSegment {
                record_type: r.record_type.clone(),
                reclaimable: r.reclaimable,
                records: 1,
                bytes: r.size,
                bytes_text: String::new(),
                fraction: 0.0,
            }),
        }
    }
    let all: i64 = parts.iter().map(|s| s.bytes).sum();
    let by_type = |t: &str| parts.iter().filter(|s| s.record_type == t).map(|s| s.bytes).sum::<i64>();
    let mut order: Vec<(i64, String, bool)> =
        parts.iter().map(|s| (by_type(&s.record_type), s.record_type.clone(), s.reclaimable)).collect();
    order.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(b.2.cmp(&a.2)));
    order
        .into_iter()
        .filter_map(|(_, t, reclaimable)| {
            let mut s = parts.iter().find(|s| s.record_type == t && s.reclaimable == reclaimable)?.clone();
            s.bytes_text = human_size(s.bytes as f64);
            s.fraction = if all > 0 { s.bytes as f64 / all as f64 } else { 0.0 };
            Some(s)
        })
        .collect()
}

/// The order BuildKit's Go client hands buildx a node's records in: largest first, then by ID
/// from last to first.
fn buildkit_client_order(a: &CacheRecord, b: &CacheRecord) -> std::cmp::Ordering {
    b.size.cmp(&a.size).then_with(|| b.id.cmp(&a.id))
}

impl Builders {
    /// `docker buildx du [--builder NAME] [--filter …]`: each node's records, asked concurrently.
    /// The filters are checked before any node is asked. `until` hides records used more recently,
    /// as BuildKit's own age limit does (buildx 0.13 sends no age limit; BuildKit 0.13 has none).
    #[instrument(skip(self))]
    pub async fn disk_usage(
        &self,
        builder: Option<&str>,
        context: Option<&str>,
        filters: &[String],
    ) -> Result<DiskUsage, CacheError> {
        let filters = CacheFilters::parse(filters)?;
        let (name, nodes) = self.cache_nodes(builder, context).await?;
        let now = Utc::now();
        let sent = filters.buildkit_filter();
        let asked = nodes.iter().map(|node| {
            let sent = sent.clone();
            async move {
                let records = node
                    .control
                    .disk_usage(sent)
                    .await
                    .map_err(|source| CacheError::Buildkit { node: node.name.clone(), source })?;
                Ok::<_, CacheError>((node, records))
            }
        });
        let answers = try_join_all(asked).await?;
        let cutoff =
            (filters.keep_duration_ns != 0).then(|| now - chrono::Duration::nanoseconds(filters.keep_duration_ns));
        let mut out = Vec::new();
        for (node, records) in answers {
            let mut records: Vec<CacheRecord> = records
                .iter()
                .filter(|r| match (cutoff, r.last_used_at) {
                    (Some(cutoff), Some(used)) => used <= cutoff,
                    _ => true,
                })
                .map(|r| CacheRecord::new(&node.name, r, now))
                .collect();
            records.sort_by(buildkit_client_order);
            out.push(NodeUsage {
                node: node.name.clone(),
                buildkit: node.buildkit.described.clone(),
                totals: CacheTotals::of(&records),
                records,
            });
        }
        let all = || out.iter().flat_map(|n| n.records.iter());
        Ok(DiskUsage {
            builder: name,
            totals: CacheTotals::of(all()),
            segments: segments(all()),
            filtered: !filters.is_empty(),
            notes: filters.notes(None),
            nodes: out,
        })
    }

    /// The chosen builder's nodes, each reached without booting it (as `docker buildx du` does),
    /// with the BuildKit it runs. Any node that cannot be reached fails the whole call.
    pub(crate) async fn cache_nodes(
        &self,
        builder: Option<&str>,
        context: Option<&str>,
    ) -> Result<(String, Vec<CacheNode>), CacheError> {
        let (ng, contexts) = self.chosen(builder, context).await?;
        let mut drivers: Vec<(String, Box<dyn Driver>)> = Vec::new();
        for node in &ng.nodes {
            let driver = self
                .driver(&ng.driver, node, &contexts)
                .map_err(|source| CacheError::Driver { node: node.name.clone(), source })?;
            drivers.push((node.name.clone(), driver));
        }
        let reached = drivers.iter().map(|(node, driver)| reach(&ng.name, node, driver.as_ref()));
        Ok((ng.name.clone(), try_join_all(reached).await?))
    }
}

async fn reach(builder: &str, node: &str, driver: &dyn Driver) -> Result<CacheNode, CacheError> {
    let probe = driver.describe().await;
    if let Some(source) = probe.error {
        return Err(CacheError::Driver { node: node.to_owned(), source });
    }
    let Some(control) = probe.control else {
        let status = match probe.status {
            NodeStatus::Running => "running",
            other => other.as_str(),
        };
        return Err(CacheError::NodeNotRunning { builder: builder.to_owned(), node: node.to_owned(), status });
    };
    let reported = control.version().await.map_err(|source| CacheError::Buildkit { node: node.to_owned(), source })?;
    let engine = if driver.is_engine_buildkit() { probe.host.as_ref() } else { None };
    Ok(CacheNode { name: node.to_owned(), buildkit: BuildkitRelease::new(reported.as_deref(), engine), control })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(size: i64, in_use: bool, shared: bool, record_type: &str) -> CacheRecord {
        let r = UsageRecord {
            id: format!("r{size}"),
            mutable: false,
            in_use,
            size,
            parents: Vec::new(),
            created_at: None,
            last_used_at: None,
            usage_count: 1,
            description: String::new(),
            record_type: record_type.into(),
            shared,
        };
        CacheRecord::new("n0", &r, Utc::now())
    }

    #[test]
    fn records_are_listed_largest_first_then_by_id_from_last_as_buildkits_client_lists_them() {
        let mut records = [
            record(5, false, false, "regular"),
            record(900, false, false, "regular"),
            record(5, false, false, "regular"),
        ];
        records[2].id = "r5b".into();
        records.sort_by(buildkit_client_order);
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["r900", "r5b", "r5"]);
    }

    #[test]
    fn totals_follow_buildx_print_summary() {
        let records = [
            record(1_000_000, false, true, "regular"),
            record(500_000, true, false, "regular"),
            record(250_000, false, false, "exec.cachemount"),
            record(0, true, true, "source.local"),
        ];
        let t = CacheTotals::of(&records);
        assert_eq!((t.total, t.reclaimable, t.shared, t.private), (1_750_000, 1_250_000, 1_000_000, 750_000));
        assert_eq!(
            (t.total_text.as_str(), t.reclaimable_text.as_str(), t.shared_text.as_str()),
            ("1.75MB", "1.25MB", "1MB")
        );
        assert!(t.has_shared);
        assert!(!CacheTotals::of(&records[1..3]).has_shared);
    }

    #[test]
    fn the_bar_puts_the_largest_type_first_and_its_reclaimable_part_before_its_part_in_use() {
        let records = [
            record(100, false, false, "exec.cachemount"),
            record(600, true, false, "regular"),
            record(300, false, false, "regular"),
        ];
        let bar = segments(&records);
        let parts: Vec<(&str, bool, i64)> =
            bar.iter().map(|s| (s.record_type.as_str(), s.reclaimable, s.bytes)).collect();
        assert_eq!(parts, [("regular", true, 300), ("regular", false, 600), ("exec.cachemount", true, 100)]);
        assert!((bar.iter().map(|s| s.fraction).sum::<f64>() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn the_release_comes_from_the_node_or_else_from_the_engine_that_embeds_it() {
        assert_eq!(BuildkitRelease::new(Some("v0.17.3"), None).version, Some((0, 17)));
        let engine = |v: &str| EngineInfo {
            version: v.into(),
            api_version: "1.45".into(),
            os: "linux".into(),
            arch: "amd64".into(),
        };
        let debian = BuildkitRelease::new(Some("v0.0.0+unknown"), Some(&engine("26.1.5")));
        assert_eq!(debian.version, Some((0, 13)));
        assert_eq!(debian.described, "BuildKit v0.0.0+unknown (Docker Engine 26.1.5 embeds BuildKit 0.13)");
        assert!(!debian.at_least(0, 14));
        assert_eq!(BuildkitRelease::new(Some("v0.0.0+unknown"), Some(&engine("27.4.1"))).version, Some((0, 17)));
        assert_eq!(BuildkitRelease::new(Some("v0.0.0+unknown"), Some(&engine("25.0.3"))).version, None);
        assert!(!BuildkitRelease::new(None, None).at_least(0, 1));
    }
}
