//! `docker buildx inspect [--bootstrap] [NAME]`: one builder with everything known of it: its
//! store entry (driver options, buildkitd flags and config file, last activity), each node as
//! BuildKit reports it (status, version, platforms native or emulated, labels, GC policy) and what
//! the node's driver knows of where BuildKit runs. [`text`] prints it as buildx 0.13.1 prints it
//! (commands/inspect.go, aligned by Go's tabwriter), then what Buildlane adds.

use futures_util::future::join_all;
use serde::Serialize;
use tracing::instrument;
use ts_rs::TS;

use super::drivers::{DriverDetails, NodeStatus, Progress};
use super::store::StoreError;
use super::{BuilderError, BuilderNode, Builders};
use crate::buildkit::control::GcPolicy;
use crate::go_text::quote::quote;
use crate::go_text::tabwriter::TabWriter;
use crate::go_text::time::{duration_string, time_string};
use crate::go_text::units::bytes_size;

/// A builder as `buildlane inspect-builder` and the Builders view's Inspect panel show it.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuilderInspection {
    pub name: String,
    pub driver: String,
    /// The docker-driver builder of a context (not in buildx's store).
    pub context_builder: bool,
    pub dynamic: bool,
    /// RFC 3339 time of the last save or build, when buildx recorded it.
    pub last_activity: Option<String>,
    pub nodes: Vec<InspectedNode>,
}

/// One node: what `docker buildx ls` shows of it, its GC rules put in words, its config files and
/// its driver's details.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct InspectedNode {
    pub node: BuilderNode,
    /// The workers' GC policy, rule by rule, as buildx shows it (buildx reads the first worker's;
    /// a BuildKit daemon has one worker).
    pub gc_rules: Vec<GcRule>,
    /// The files copied into the node's `/etc/buildkit` (`--buildkitd-config` is `buildkitd.toml`).
    pub files: Vec<BuildkitdFile>,
    /// `None` when no driver could be made for the node (an unknown driver: its error says so).
    pub details: Option<DriverDetails>,
}

/// A garbage-collection rule of a BuildKit worker, in the forms people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GcRule {
    pub all: bool,
    pub filters: Vec<String>,
    /// Go's duration text, as buildx prints it (`48h0m0s`); `None` without one.
    pub keep_duration: Option<String>,
    /// Sizes as buildx prints them (`512MiB`); `None` where the rule has none (BuildKit before 0.17
    /// has neither max-used nor min-free).
    pub keep_bytes: Option<String>,
    pub max_used_space: Option<String>,
    pub min_free_space: Option<String>,
    /// The rule in a few words: "keep 512 MiB for 48h".
    pub summary: String,
    /// Which records the rule may remove.
    pub scope: String,
}

/// A file of the node's `/etc/buildkit`, from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildkitdFile {
    pub name: String,
    /// The file's text (invalid UTF-8 replaced).
    pub text: String,
}

impl Builders {
    /// `docker buildx inspect [--bootstrap] [NAME]`: the named builder, else the current one, in the
    /// given (or current) context. With `bootstrap`, the nodes that are not running are booted
    /// first, together; unlike buildx, a node that cannot be booted is an error even when its
    /// engine could not be reached at all. The builder's store entry and activity stay as they were.
    #[instrument(skip(self, progress))]
    pub async fn inspect(
        &self,
        name: Option<&str>,
        context: Option<&str>,
        bootstrap: bool,
        progress: Progress<'_>,
    ) -> Result<BuilderInspection, BuilderError> {
        let (ng, contexts) = self.chosen(name, context).await?;
        let mut nodes = self.inspect_group(&ng, &contexts).await;
        if bootstrap {
            let to_boot: Vec<_> =
                ng.nodes.iter().zip(&nodes).filter(|(_, n)| n.status != NodeStatus::Running).collect();
            if !to_boot.is_empty() {
                let booted = join_all(to_boot.iter().map(|(node, _)| async {
                    self.driver(&ng.driver, node, &contexts)?.boot(progress).await.map_err(BuilderError::from)
                }))
                .await;
                let failures: Vec<(String, BuilderError)> = to_boot
                    .iter()
                    .map(|(node, _)| node.name.clone())
                    .zip(booted)
                    .filter_map(|(node, result)| result.err().map(|e| (node, e)))
                    .collect();
                if failures.len() == to_boot.len() {
                    let (_, first) = failures.into_iter().next().expect("at least one node was booted");
                    return Err(first);
                }
                nodes = self.inspect_group(&ng, &contexts).await;
                for (failed, error) in failures {
                    if let Some(node) = nodes.iter_mut().find(|n| n.name == failed) {
                        node.error = Some(error.to_string());
                    }
                }
            }
        }
        let details = join_all(ng.nodes.iter().map(|node| async {
            match self.driver(&ng.driver, node, &contexts) {
                Ok(driver) => Some(driver.details().await),
                Err(_) => None,
            }
        }))
        .await;

        let store = self.store().clone();
        let stored_name = ng.name.clone();
        let (stored, activity) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            let txn = store.txn()?;
            let stored = txn.exists(&stored_name)?;
            let activity = stored
                .then(|| txn.activity(&stored_name))
                .flatten()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
            Ok((stored, activity))
        })
        .await
        .expect("store task does not panic")?;

        let inspected = ng
            .nodes
            .iter()
            .zip(nodes)
            .zip(details)
            .map(|((stored_node, node), details)| {
                let gc_rules = node.gc_policy.iter().map(gc_rule).collect();
                let files = stored_node
                    .files
                    .iter()
                    .map(|(name, bytes)| BuildkitdFile {
                        name: name.clone(),
                        text: String::from_utf8_lossy(bytes).into_owned(),
                    })
                    .collect();
                InspectedNode { node, gc_rules, files, details }
            })
            .collect();
        Ok(BuilderInspection {
            name: ng.name,
            driver: ng.driver,
            context_builder: !stored,
            dynamic: ng.dynamic,
            last_activity: activity,
            nodes: inspected,
        })
    }
}

/// A worker's GC rule in words. A rule removes the records it covers that were not used for its
/// keep duration, while the cache is bigger than its keep bytes (BuildKit's prune semantics).
pub fn gc_rule(policy: &GcPolicy) -> GcRule {
    let size = |bytes: i64| (bytes > 0).then(|| bytes_size(bytes as f64));
    let readable = |bytes: i64| (bytes > 0).then(|| readable_size(bytes));
    let keep_duration = (policy.keep_duration_ns > 0).then(|| duration_string(policy.keep_duration_ns));
    let mut limits = Vec::new();
    if let Some(keep) = readable(policy.reserved_space) {
        limits.push(format!("keep {keep}"));
    }
    if let Some(max) = readable(policy.max_used_space) {
        limits.push(format!("use at most {max}"));
    }
    if let Some(free) = readable(policy.min_free_space) {
        limits.push(format!("leave {free} free"));
    }
    let mut summary = if limits.is_empty() { "no size limit".to_owned() } else { limits.join(", ") };
    if policy.keep_duration_ns > 0 {
        summary.push_str(&format!(" for {}", readable_duration(policy.keep_duration_ns)));
    }
    let filters: Vec<&str> = policy.filters.iter().map(String::as_str).filter(|f| !f.is_empty()).collect();
    let records = if policy.all { "all records, internal and frontend ones too" } else { "build cache records" };
    let scope =
        if filters.is_empty() { records.to_owned() } else { format!("{records} matching {}", filters.join(", ")) };
    GcRule {
        all: policy.all,
        filters: policy.filters.clone(),
        keep_duration,
        keep_bytes: size(policy.reserved_space),
        max_used_space: size(policy.max_used_space),
        min_free_space: size(policy.min_free_space),
        summary,
        scope,
    }
}

/// The same size with a space before the unit, for sentences.
fn readable_size(bytes: i64) -> String {
    let text = bytes_size(bytes as f64);
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    format!("{} {}", &text[..split], &text[split..])
}

/// A duration for sentences: hours, minutes and seconds that are not zero, no fractions ("48h",
/// "1h30m"), whole weeks and more in days ("7d").
fn readable_duration(nanos: i64) -> String {
    let total = nanos.max(0) as u64 / 1_000_000_000;
    if total >= 7 * 86_400 && total.is_multiple_of(86_400) {
        return format!("{}d", total / 86_400);
    }
    let text: String = [(total / 3600, "h"), (total / 60 % 60, "m"), (total % 60, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    if text.is_empty() {
        "under a second".into()
    } else {
        text
    }
}

/// Go's `time.Time` as `%v` prints it, for the UTC times buildx stores: `2026-12-01 12:47:26 +0000 UTC`.
fn go_time(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(t) => time_string(&t.with_timezone(&chrono::Utc)),
        Err(_) => rfc3339.to_owned(),
    }
}

/// What `docker buildx inspect` prints for `inspection` (buildx prints driver options in Go's random
/// map order, these are in key order), then per node what Buildlane adds: the config files (as a
/// later buildx prints them) and the driver's details. Each addition opens with a line of its own,
/// so it does not change how buildx's lines align.
pub fn text(inspection: &BuilderInspection) -> String {
    let mut lines = String::new();
    let mut line = |s: String| {
        lines.push_str(&s);
        lines.push('\n');
    };
    line(format!("Name:\t{}", inspection.name));
    line(format!("Driver:\t{}", inspection.driver));
    if let Some(activity) = &inspection.last_activity {
        line(format!("Last Activity:\t{}", go_time(activity)));
    }
    line(String::new());
    line("Nodes:".into());
    for (i, inspected) in inspection.nodes.iter().enumerate() {
        let n = &inspected.node;
        if i != 0 {
            line(String::new());
        }
        line(format!("Name:\t{}", n.name));
        line(format!("Endpoint:\t{}", n.endpoint));
        if !n.driver_opts.is_empty() {
            let opts: Vec<String> = n.driver_opts.iter().map(|(k, v)| format!("{k}={}", quote(v))).collect();
            line(format!("Driver Options:\t{}", opts.join(" ")));
        }
        if let Some(error) = &n.error {
            line(format!("Error:\t{error}"));
        } else {
            line(format!("Status:\t{}", n.status.as_str()));
            if !n.flags.is_empty() {
                line(format!("BuildKit daemon flags:\t{}", n.flags.join(" ")));
            }
            if let Some(version) = n.buildkit_version.as_deref().filter(|v| !v.is_empty()) {
                line(format!("BuildKit version:\t{version}"));
            }
            if !n.platforms.is_empty() {
                let platforms: Vec<String> = n
                    .platforms
                    .iter()
                    .map(|p| if p.pinned { format!("{}*", p.platform) } else { p.platform.clone() })
                    .collect();
                line(format!("Platforms:\t{}", platforms.join(", ")));
            }
            if !n.labels.is_empty() {
                line("Labels:".into());
                for (k, v) in &n.labels {
                    line(format!("\t{k}:\t{v}"));
                }
            }
            for (r, rule) in inspected.gc_rules.iter().enumerate() {
                line(format!("GC Policy rule#{r}:"));
                line(format!("\tAll:\t{}", rule.all));
                if !rule.filters.is_empty() {
                    line(format!("\tFilters:\t{}", rule.filters.join(" ")));
                }
                for (key, value) in [
                    ("Keep Duration", &rule.keep_duration),
                    ("Keep Bytes", &rule.keep_bytes),
                    ("Max Used Space", &rule.max_used_space),
                    ("Min Free Space", &rule.min_free_space),
                ] {
                    if let Some(value) = value {
                        line(format!("\t{key}:\t{value}"));
                    }
                }
            }
        }
        for file in &inspected.files {
            line(format!("File#{}:", file.name));
            for text in file.text.trim_end_matches('\n').split('\n') {
                line(format!("\t> {text}"));
            }
        }
        if let Some(details) = &inspected.details {
            details_lines(details, &mut line);
        }
    }
    // buildx's writer: `tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', 0)`.
    TabWriter::BUILDX_SPACES.align(&lines)
}

fn details_lines(details: &DriverDetails, line: &mut impl FnMut(String)) {
    match details {
        DriverDetails::Engine { host, engine_version } => {
            line("Engine:".into());
            line(format!("\tHost:\t{host}"));
            if let Some(version) = engine_version {
                line(format!("\tVersion:\t{version}"));
            }
        }
        DriverDetails::Container { host, container, image, state, state_volume } => {
            line("Container:".into());
            line(format!("\tName:\t{container}"));
            line(format!("\tImage:\t{image}"));
            line(format!("\tState:\t{}", state.as_deref().unwrap_or("not created")));
            line(format!("\tState Volume:\t{state_volume}"));
            line(format!("\tEngine:\t{host}"));
        }
        DriverDetails::Remote { address, tls } => {
            line("Daemon:".into());
            line(format!("\tAddress:\t{address}"));
            match tls {
                None => line("\tTLS:\toff".into()),
                Some(tls) => {
                    line("\tTLS:\ton".into());
                    for (key, value) in [
                        ("Server Name", &tls.server_name),
                        ("CA Certificate", &tls.ca_cert),
                        ("Client Certificate", &tls.cert),
                        ("Client Key", &tls.key),
                    ] {
                        if let Some(value) = value {
                            line(format!("\t{key}:\t{value}"));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_reads_as_a_sentence() {
        let policy = GcPolicy {
            all: false,
            filters: vec!["type==source.local".into()],
            keep_duration_ns: 48 * 3600 * 1_000_000_000 + 767_674_471,
            reserved_space: 512 * 1024 * 1024,
            max_used_space: 0,
            min_free_space: 0,
        };
        let rule = gc_rule(&policy);
        assert_eq!(rule.summary, "keep 512 MiB for 48h");
        assert_eq!(rule.scope, "build cache records matching type==source.local");
        assert_eq!(rule.keep_duration.as_deref(), Some("48h0m0.767674471s"));
        assert_eq!(rule.max_used_space, None);
        let newer = GcPolicy {
            all: true,
            filters: vec![String::new()],
            keep_duration_ns: 0,
            reserved_space: 10 * 1024 * 1024 * 1024,
            max_used_space: 20 * 1024 * 1024 * 1024,
            min_free_space: 5 * 1024 * 1024 * 1024,
        };
        let rule = gc_rule(&newer);
        assert_eq!(rule.summary, "keep 10 GiB, use at most 20 GiB, leave 5 GiB free");
        assert_eq!(rule.scope, "all records, internal and frontend ones too");
        assert_eq!(readable_duration(90 * 60 * 1_000_000_000), "1h30m");
        assert_eq!(readable_duration(7 * 86_400 * 1_000_000_000), "7d");
    }

    #[test]
    fn stored_times_print_as_go_prints_them() {
        assert_eq!(go_time("2026-12-01T12:47:26Z"), "2026-12-01 12:47:26 +0000 UTC");
        assert_eq!(go_time("2026-12-01T12:47:26.5Z"), "2026-12-01 12:47:26.5 +0000 UTC");
    }
}
