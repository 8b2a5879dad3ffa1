//! `docker buildx prune`: the options as buildx takes them, what a prune would remove (computed
//! from DiskUsage's records with the rules of BuildKit's cache manager), and the prune itself,
//! each removed record reported as BuildKit streams it, cancellable at any time.
//!
//! The cache manager's rules, as BuildKit 0.13 to 0.17 apply them: a record in use, or still the
//! parent of a record that stays, is never removed; without `--all`, neither are `internal` and
//! `frontend` records nor shared ones; `until` keeps records used within that time; the filter
//! reads no parents and nothing in use, and descriptions only from 0.14. With a space limit it
//! removes one record at a time, least recently and least often used first, until the cache
//! (shared records aside) is below the limit.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::instrument;
use ts_rs::TS;

use super::filter::CacheFilters;
use super::{BuildkitRelease, CacheError, CacheNode, CacheRecord};
use crate::builders::Builders;
use crate::buildkit::cache::{FilterView, Judged, PruneRequest, UsageRecord};
use crate::go_text::units::{human_size, ram_in_bytes};

/// The prune form (`docker buildx prune`'s flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(export)]
pub struct PruneForm {
    /// `--all`: internal and frontend records, and shared ones, too.
    pub all: bool,
    /// `--filter` values (`type=exec.cachemount`, `until=24h`, …).
    pub filters: Vec<String>,
    /// `--keep-storage` (`--reserved-space` in newer buildx): `10GB`, `512m`; empty for none.
    pub keep_storage: String,
    /// `--max-used-space` (BuildKit 0.17+).
    pub max_used_space: String,
    /// `--min-free-space` (BuildKit 0.17+).
    pub min_free_space: String,
}

/// The form, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneSpec {
    pub all: bool,
    pub filters: CacheFilters,
    pub reserved_space: i64,
    pub max_used_space: i64,
    pub min_free_space: i64,
}

/// What a prune would do.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PrunePreview {
    pub records: Vec<CacheRecord>,
    pub bytes: i64,
    pub bytes_text: String,
    /// What the preview cannot know, and filters that do not work as one would guess.
    pub notes: Vec<String>,
}

/// One record removed.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PruneProgress {
    pub record: CacheRecord,
    pub removed: u32,
    pub freed: i64,
    pub freed_text: String,
    /// What the caller's preview said would be freed, when it passed one as the total.
    pub expected: Option<i64>,
    pub expected_text: Option<String>,
    /// Freed of expected, 0 to 1; none without a total.
    pub fraction: Option<f64>,
}

/// How a prune ended.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PruneOutcome {
    pub removed: Vec<CacheRecord>,
    pub freed: i64,
    pub freed_text: String,
    /// Stopped on request: BuildKit finishes the record it is removing and stops.
    pub cancelled: bool,
}

impl PruneSpec {
    pub fn parse(form: &PruneForm) -> Result<Self, CacheError> {
        let size = |flag: &'static str, value: &str| -> Result<i64, CacheError> {
            let value = value.trim();
            if value.is_empty() {
                return Ok(0);
            }
            ram_in_bytes(value).map_err(|source| CacheError::InvalidSize { flag, value: value.to_owned(), source })
        };
        Ok(PruneSpec {
            all: form.all,
            filters: CacheFilters::parse(&form.filters)?,
            reserved_space: size("--keep-storage", &form.keep_storage)?,
            max_used_space: size("--max-used-space", &form.max_used_space)?,
            min_free_space: size("--min-free-space", &form.min_free_space)?,
        })
    }

    pub fn request(&self) -> PruneRequest {
        PruneRequest {
            filter: self.filters.buildkit_filter(),
            all: self.all,
            keep_duration_ns: self.filters.keep_duration_ns,
            reserved_space: self.reserved_space,
            max_used_space: self.max_used_space,
            min_free_space: self.min_free_space,
        }
    }

    /// Refuses what the node's BuildKit would silently ignore.
    fn check(&self, node: &CacheNode) -> Result<(), CacheError> {
        for (flag, value) in [("--max-used-space", self.max_used_space), ("--min-free-space", self.min_free_space)] {
            if value != 0 && !node.buildkit.at_least(0, 17) {
                return Err(CacheError::Unsupported {
                    flag,
                    node: node.name.clone(),
                    buildkit: node.buildkit.described.clone(),
                });
            }
        }
        Ok(())
    }

    /// BuildKit's `calculateKeepBytes` (before 0.17 the reserved space alone); the free disk
    /// space `--min-free-space` weighs is the node's to know, so it is left out here.
    fn keep_bytes(&self, release: &BuildkitRelease) -> i64 {
        if !release.at_least(0, 17) {
            return self.reserved_space;
        }
        self.max_used_space.max(self.reserved_space)
    }
}

/// The records (indexes into `records`) a prune with `spec` would remove, in the order BuildKit
/// would remove them where that order matters (under a space limit).
pub fn select(records: &[UsageRecord], spec: &PruneSpec, release: &BuildkitRelease, now: DateTime<Utc>) -> Vec<usize> {
    let view = FilterView::Prune { description: release.at_least(0, 14) };
    let filter = spec.filters.compiled();
    let cutoff = now - chrono::Duration::nanoseconds(spec.filters.keep_duration_ns);
    let eligible: Vec<bool> = records
        .iter()
        .map(|r| {
            let kept_type = matches!(r.record_type.as_str(), "internal" | "frontend") || r.shared;
            let recent = spec.filters.keep_duration_ns != 0 && r.last_used_at.is_some_and(|used| used > cutoff);
            !r.in_use && (spec.all || !kept_type) && !recent && filter.matches(&Judged(r, view))
        })
        .collect();
    let mut children: HashMap<&str, usize> = HashMap::new();
    for r in records {
        for parent in &r.parents {
            *children.entry(parent.as_str()).or_default() += 1;
        }
    }
    let keep_bytes = spec.keep_bytes(release);
    let mut total: i64 = records.iter().filter(|r| !r.shared).map(|r| r.size).sum();
    let mut removed = vec![false; records.len()];
    let mut order = Vec::new();
    loop {
        if keep_bytes != 0 && total < keep_bytes {
            break;
        }
        let mut candidates: Vec<usize> = (0..records.len())
            .filter(|&i| !removed[i] && eligible[i] && children.get(records[i].id.as_str()).copied().unwrap_or(0) == 0)
            .collect();
        if candidates.is_empty() {
            break;
        }
        if keep_bytes != 0 {
            sort_for_deletion(&mut candidates, records);
            candidates.truncate(1);
        }
        for &i in &candidates {
            removed[i] = true;
            total -= records[i].size;
            for parent in &records[i].parents {
                if let Some(n) = children.get_mut(parent.as_str()) {
                    *n = n.saturating_sub(1);
                }
            }
        }
        order.extend(candidates);
    }
    order
}

/// BuildKit's `sortDeleteRecords`: ranks by last use and by use count, equally weighted, lowest
/// first. (BuildKit's sort is not stable; records that tie may go in another order.)
fn sort_for_deletion(candidates: &mut [usize], records: &[UsageRecord]) {
    let mut by_last_use = candidates.to_vec();
    by_last_use.sort_by(|&a, &b| match (records[a].last_used_at, records[b].last_used_at) {
        (None, _) => std::cmp::Ordering::Less,
        (_, None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(&y),
    });
    let mut last_use_rank: HashMap<usize, f64> = HashMap::new();
    let (mut max_last_use, mut latest) = (0f64, DateTime::<Utc>::MIN_UTC);
    for &i in &by_last_use {
        if let Some(used) = records[i].last_used_at.filter(|u| *u > latest) {
            latest = used;
            max_last_use += 1.0;
        }
        last_use_rank.insert(i, max_last_use);
    }
    let mut by_count = candidates.to_vec();
    by_count.sort_by_key(|&i| records[i].usage_count);
    let mut count_rank: HashMap<usize, f64> = HashMap::new();
    let (mut max_count, mut count) = (0f64, 0i64);
    for &i in &by_count {
        if records[i].usage_count != count {
            count = records[i].usage_count;
            max_count += 1.0;
        }
        count_rank.insert(i, max_count);
    }
    let score = |i: usize| last_use_rank[&i] / max_last_use + count_rank[&i] / max_count;
    candidates.sort_by(|&a, &b| score(a).partial_cmp(&score(b)).unwrap_or(std::cmp::Ordering::Equal));
}

/// Why a preview may differ from what the node does.
fn preview_notes(spec: &PruneSpec, releases: &[&BuildkitRelease]) -> Vec<String> {
    let sees_description = releases.iter().all(|r| r.at_least(0, 14));
    let mut notes = spec.filters.notes(Some(sees_description));
    if spec.min_free_space != 0 {
        notes.push(
            "--min-free-space depends on the free disk space only the node knows: more may go than listed".into(),
        );
    }
    notes
}

impl Builders {
    /// What `docker buildx prune` with `form` would remove now, from each node's records.
    #[instrument(skip(self))]
    pub async fn prune_preview(
        &self,
        builder: Option<&str>,
        context: Option<&str>,
        form: &PruneForm,
    ) -> Result<PrunePreview, CacheError> {
        let spec = PruneSpec::parse(form)?;
        let (_, nodes) = self.cache_nodes(builder, context).await?;
        for node in &nodes {
            spec.check(node)?;
        }
        preview(&nodes, &spec).await
    }

    /// `docker buildx prune -f`: every node pruned at once, each removed record reported as it
    /// goes; `cancel` stops it (BuildKit finishes the record at hand). Options a node cannot honour
    /// are refused before any node prunes. `expected` is the progress total, the bytes a preview
    /// the caller already has said this prune frees: nothing is read before the prune is asked
    /// for (as buildx asks for it), so a caller without a preview gets progress without a total.
    #[instrument(skip(self, on_progress, cancel))]
    pub async fn prune(
        &self,
        builder: Option<&str>,
        context: Option<&str>,
        form: &PruneForm,
        expected: Option<i64>,
        on_progress: &(dyn Fn(PruneProgress) + Send + Sync),
        cancel: CancellationToken,
    ) -> Result<PruneOutcome, CacheError> {
        let spec = PruneSpec::parse(form)?;
        let (_, nodes) = self.cache_nodes(builder, context).await?;
        for node in &nodes {
            spec.check(node)?;
        }
        let mut streams = Vec::new();
        for node in &nodes {
            let name = node.name.clone();
            let removed = node
                .control
                .prune(spec.request())
                .await
                .map_err(|source| CacheError::Buildkit { node: node.name.clone(), source })?;
            streams.push(removed.map(move |r| (name.clone(), r)).boxed());
        }
        let mut removed_records = stream::select_all(streams);
        let mut outcome = PruneOutcome { removed: Vec::new(), freed: 0, freed_text: String::new(), cancelled: false };
        loop {
            let next = tokio::select! {
                _ = cancel.cancelled() => {
                    outcome.cancelled = true;
                    break;
                }
                next = removed_records.next() => next,
            };
            let Some((node, record)) = next else { break };
            let record = record.map_err(|source| CacheError::Buildkit { node: node.clone(), source })?;
            let record = CacheRecord::new(&node, &record, Utc::now());
            outcome.freed += record.size;
            outcome.removed.push(record.clone());
            on_progress(PruneProgress {
                record,
                removed: u32::try_from(outcome.removed.len()).unwrap_or(u32::MAX),
                freed: outcome.freed,
                freed_text: human_size(outcome.freed as f64),
                expected,
                expected_text: expected.map(|bytes| human_size(bytes as f64)),
                fraction: expected
                    .map(|total| if total > 0 { (outcome.freed as f64 / total as f64).min(1.0) } else { 1.0 }),
            });
        }
        outcome.freed_text = human_size(outcome.freed as f64);
        Ok(outcome)
    }
}

async fn preview(nodes: &[CacheNode], spec: &PruneSpec) -> Result<PrunePreview, CacheError> {
    let now = Utc::now();
    let mut records = Vec::new();
    for node in nodes {
        // Everything, unfiltered: a space limit weighs the whole cache, and parents matter.
        let all = node
            .control
            .disk_usage(Vec::new())
            .await
            .map_err(|source| CacheError::Buildkit { node: node.name.clone(), source })?;
        for i in select(&all, spec, &node.buildkit, now) {
            records.push(CacheRecord::new(&node.name, &all[i], now));
        }
    }
    let bytes = records.iter().map(|r| r.size).sum();
    let releases: Vec<&BuildkitRelease> = nodes.iter().map(|n| &n.buildkit).collect();
    Ok(PrunePreview { bytes, bytes_text: human_size(bytes as f64), notes: preview_notes(spec, &releases), records })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(minor: u32) -> BuildkitRelease {
        BuildkitRelease { version: Some((0, minor)), described: format!("BuildKit v0.{minor}.0") }
    }

    fn at(minutes_ago: i64) -> Option<DateTime<Utc>> {
        Some(now() - chrono::Duration::minutes(minutes_ago))
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn rec(id: &str, size: i64) -> UsageRecord {
        UsageRecord {
            id: id.into(),
            mutable: false,
            in_use: false,
            size,
            parents: Vec::new(),
            created_at: at(600),
            last_used_at: at(60),
            usage_count: 1,
            description: format!("made by {id}"),
            record_type: "regular".into(),
            shared: false,
        }
    }

    fn spec(all: bool, filters: &[&str], keep_storage: &str) -> PruneSpec {
        let form = PruneForm {
            all,
            filters: filters.iter().map(|s| s.to_string()).collect(),
            keep_storage: keep_storage.into(),
            ..Default::default()
        };
        PruneSpec::parse(&form).unwrap()
    }

    fn ids(records: &[UsageRecord], picked: Vec<usize>) -> Vec<&str> {
        picked.into_iter().map(|i| records[i].id.as_str()).collect()
    }

    #[test]
    fn records_in_use_internal_frontend_and_shared_stay_unless_all() {
        let mut records =
            vec![rec("plain", 10), rec("used", 10), rec("internal", 10), rec("front", 10), rec("img", 10)];
        records[1].in_use = true;
        records[2].record_type = "internal".into();
        records[3].record_type = "frontend".into();
        records[4].shared = true;
        assert_eq!(ids(&records, select(&records, &spec(false, &[], ""), &release(13), now())), ["plain"]);
        assert_eq!(
            ids(&records, select(&records, &spec(true, &[], ""), &release(13), now())),
            ["plain", "internal", "front", "img"]
        );
    }

    #[test]
    fn a_parent_goes_only_with_all_its_children() {
        let mut records = vec![rec("base", 100), rec("child", 10), rec("other-child", 10)];
        records[1].parents = vec!["base".into()];
        records[2].parents = vec!["base".into()];
        let everything = select(&records, &spec(false, &[], ""), &release(13), now());
        assert_eq!(ids(&records, everything), ["child", "other-child", "base"]);
        let one_child = select(&records, &spec(false, &["id=^child$"], ""), &release(13), now());
        assert_eq!(ids(&records, one_child), ["child"], "base still has a child");
    }

    #[test]
    fn until_keeps_what_was_used_since() {
        let mut records = vec![rec("old", 10), rec("fresh", 10), rec("never", 10)];
        records[0].last_used_at = at(3 * 60);
        records[1].last_used_at = at(5);
        records[2].last_used_at = None;
        let picked = select(&records, &spec(false, &["until=1h"], ""), &release(13), now());
        assert_eq!(ids(&records, picked), ["old", "never"]);
    }

    #[test]
    fn prune_filters_read_fewer_fields_than_disk_usage() {
        let mut records = vec![rec("a", 10), rec("b", 10)];
        records[1].parents = vec!["a".into()];
        // Before 0.14 a prune does not see descriptions; from 0.14 it does.
        assert!(select(&records, &spec(false, &["description~=\"made by a\""], ""), &release(13), now()).is_empty());
        assert_eq!(
            ids(&records, select(&records, &spec(false, &["description~=\"made by b\""], ""), &release(14), now())),
            ["b"]
        );
        // Parents are never seen: `parents=a` selects nothing, `parents!=a` everything.
        assert!(select(&records, &spec(false, &["parents=a"], ""), &release(17), now()).is_empty());
        assert_eq!(select(&records, &spec(false, &["parents!=a"], ""), &release(17), now()).len(), 2);
    }

    #[test]
    fn a_space_limit_removes_the_least_used_first_until_the_cache_is_under_it() {
        let mut records = vec![rec("busy", 400), rec("idle", 400), rec("recent", 400)];
        records[0].usage_count = 9;
        records[0].last_used_at = at(5);
        records[1].last_used_at = at(90);
        records[2].last_used_at = at(10);
        // 1200 bytes, keep 1000: BuildKit removes until the total is below the limit.
        let picked = select(&records, &spec(false, &[], "1000b"), &release(13), now());
        assert_eq!(ids(&records, picked), ["idle"]);
        let picked = select(&records, &spec(false, &[], "500"), &release(13), now());
        assert_eq!(ids(&records, picked), ["idle", "recent"]);
        assert!(select(&records, &spec(false, &[], "2k"), &release(13), now()).is_empty());
    }

    #[test]
    fn sizes_are_read_as_buildx_reads_them_and_bad_ones_are_refused() {
        assert_eq!(spec(false, &[], "10GB").reserved_space, 10 << 30);
        let form = PruneForm { keep_storage: "ten".into(), ..Default::default() };
        assert_eq!(
            PruneSpec::parse(&form).unwrap_err().to_string(),
            "invalid --keep-storage \"ten\": invalid size: 'ten'"
        );
    }
}
