//! Exporting records of a builder's nodes into a bundle, as `docker buildx history export` does: the
//! records chosen among every node's completed ones, each made a manifest whose blobs are read from
//! its node's content store (each checked against its digest, a few at a time), written as a gzip'd
//! tar under a temporary name beside the destination and renamed into place only once whole.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Instant;

use bollard::moby::buildkit::v1::{BuildHistoryRecord, BuildResultInfo, Descriptor};
use futures_util::{StreamExt, TryStreamExt};
use oci_client::manifest::{ImageIndexEntry, OciDescriptor, OciImageIndex, OciImageManifest};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::record::{sanitize, RecordDocument, HISTORY_RECORD_MEDIA_TYPE};
use super::{
    sha256, trace, BundleError, ExportProgress, ExportSelection, ExportSummary, OCI_LAYOUT, REF_ANNOTATION,
    RESULT_MEDIA_TYPE_ANNOTATION,
};
use crate::builders::routing::detected_platforms;
use crate::buildkit::Control;
use crate::builds::PROGRESS_INTERVAL;
use crate::history::blobs::{self, BlobKind};
use crate::history::filter::BuildSpec;
use crate::history::name::LocalState;
use crate::history::nodes::NodeHistory;
use crate::history::{BuildHistory, HistoryError};

/// How many blobs (and, before them, records' traces) are read from BuildKit at once: reads
/// overlap each other and the gzip of earlier blobs; at most this many blobs are held in memory
/// besides the writer's.
const CONCURRENT_READS: usize = 4;

/// A blob of the bundle: made here (a record, manifest, index or masked trace), or read from the
/// content store of the node (by its place among the reached nodes) that keeps its record.
enum Blob {
    Made(Vec<u8>),
    Stored(Descriptor, BlobKind, usize),
}

impl Blob {
    fn size(&self) -> u64 {
        match self {
            Blob::Made(data) => data.len() as u64,
            Blob::Stored(d, _, _) => d.size.max(0) as u64,
        }
    }
}

/// What goes into the bundle, by digest (so each blob is written once), and the records' manifests.
#[derive(Default)]
struct Plan {
    blobs: BTreeMap<String, Blob>,
    manifests: Vec<(String, OciDescriptor)>,
}

fn oci(d: &Descriptor) -> OciDescriptor {
    OciDescriptor {
        media_type: d.media_type.clone(),
        digest: d.digest.clone(),
        size: d.size,
        urls: None,
        annotations: (!d.annotations.is_empty())
            .then(|| d.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        artifact_type: None,
    }
}

/// `json.MarshalIndent(v, "", "  ")`.
fn indented(value: &impl serde::Serialize) -> Vec<u8> {
    crate::go_json::html_escaped(&serde_json::to_string_pretty(value).expect("documents serialise")).into_bytes()
}

impl Plan {
    fn made(&mut self, media_type: &str, data: Vec<u8>) -> OciDescriptor {
        let descriptor = OciDescriptor {
            media_type: media_type.to_owned(),
            digest: sha256(&data),
            size: data.len() as i64,
            urls: None,
            annotations: None,
            artifact_type: None,
        };
        self.blobs.insert(descriptor.digest.clone(), Blob::Made(data));
        descriptor
    }

    /// A blob BuildKit keeps, once per record (`visited`), as buildx's `loadDescriptor`.
    fn stored(
        &mut self,
        node: usize,
        d: &Descriptor,
        kind: BlobKind,
        visited: &mut HashSet<String>,
    ) -> Result<Option<OciDescriptor>, BundleError> {
        if !visited.insert(d.digest.clone()) {
            return Ok(None);
        }
        if super::digest_hex(&d.digest).is_none() {
            return Err(
                HistoryError::CorruptBlob { digest: d.digest.clone(), reason: "not a sha256 digest".into() }.into()
            );
        }
        self.blobs.entry(d.digest.clone()).or_insert_with(|| Blob::Stored(d.clone(), kind, node));
        Ok(Some(oci(d)))
    }

    /// buildx's `loadResult`: the attestations as they are, then the result's own descriptors as
    /// `application/json`, their media type kept in an annotation.
    fn result(
        &mut self,
        node: usize,
        result: &BuildResultInfo,
        visited: &mut HashSet<String>,
    ) -> Result<Vec<OciDescriptor>, BundleError> {
        let mut out = Vec::new();
        for attestation in &result.attestations {
            out.extend(self.stored(node, attestation, BlobKind::Attestation, visited)?);
        }
        let mut results: Vec<_> = result.results.iter().collect();
        results.sort_by_key(|(index, _)| **index);
        for (_, d) in results {
            if let Some(mut layer) = self.stored(node, d, BlobKind::Manifest, visited)? {
                layer
                    .annotations
                    .get_or_insert_with(Default::default)
                    .insert(RESULT_MEDIA_TYPE_ANNOTATION.into(), layer.media_type);
                layer.media_type = "application/json".into();
                out.push(layer);
            }
        }
        Ok(out)
    }

    /// buildx's `exportRecord`: the record's manifest, its layers in buildx's order.
    /// `masked`: the record's trace as [`masked_trace`] read it.
    fn record(
        &mut self,
        node: usize,
        mut record: BuildHistoryRecord,
        masked: Option<Vec<u8>>,
        local: Option<&LocalState>,
        default_platform: &str,
    ) -> Result<(), BundleError> {
        sanitize(&mut record);
        let mut visited = HashSet::new();
        let mut layers = Vec::new();
        if let (Some(stored), Some(masked)) = (record.trace.clone(), masked) {
            visited.insert(stored.digest.clone());
            let layer = self.made(&stored.media_type, masked);
            record.trace = Some(Descriptor { digest: layer.digest.clone(), size: layer.size, ..stored });
            layers.push(layer);
        }
        let config =
            self.made(HISTORY_RECORD_MEDIA_TYPE, RecordDocument::new(&record, default_platform, local).to_json());
        if let Some(logs) = &record.logs {
            layers.extend(self.stored(node, logs, BlobKind::Logs, &mut visited)?);
        }
        if let Some(result) = &record.result {
            layers.extend(self.result(node, result, &mut visited)?);
        }
        if let Some(error) = &record.external_error {
            layers.extend(self.stored(node, error, BlobKind::Manifest, &mut visited)?);
        }
        let mut platforms: Vec<_> = record.results.iter().collect();
        platforms.sort_by(|a, b| a.0.cmp(b.0));
        for (_, result) in platforms {
            layers.extend(self.result(node, result, &mut visited)?);
        }
        let manifest = OciImageManifest {
            schema_version: 2,
            media_type: Some(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE.into()),
            config,
            layers,
            subject: None,
            artifact_type: None,
            annotations: None,
        };
        let descriptor = self.made(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE, indented(&manifest));
        self.manifests.push((record.r#ref.clone(), descriptor));
        Ok(())
    }

    /// What `index.json` names: the one record's manifest, or an index of every record's manifest,
    /// each annotated with its ref.
    fn top(&mut self) -> OciDescriptor {
        if self.manifests.len() == 1 {
            return self.manifests[0].1.clone();
        }
        let manifests = self
            .manifests
            .iter()
            .map(|(build_ref, d)| ImageIndexEntry {
                media_type: d.media_type.clone(),
                digest: d.digest.clone(),
                size: d.size,
                platform: None,
                annotations: Some([(REF_ANNOTATION.to_owned(), build_ref.clone())].into()),
                artifact_type: None,
            })
            .collect();
        let index = OciImageIndex {
            schema_version: 2,
            media_type: Some(oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE.into()),
            manifests,
            artifact_type: None,
            annotations: None,
        };
        self.made(oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE, indented(&index))
    }
}

/// A record's trace read from its node and masked as buildx masks it; `None` for a record without one.
async fn masked_trace(control: Control, trace: Option<Descriptor>) -> Result<Option<Vec<u8>>, BundleError> {
    let Some(stored) = &trace else { return Ok(None) };
    let blob = blobs::read(&control, stored, BlobKind::Trace).await?;
    verify(&stored.digest, &blob)?;
    let masked = trace::sanitized(&blob)
        .map_err(|reason| HistoryError::CorruptBlob { digest: stored.digest.clone(), reason })?;
    Ok(Some(masked))
}

fn verify(digest: &str, blob: &[u8]) -> Result<(), HistoryError> {
    let actual = sha256(blob);
    if actual != digest {
        return Err(HistoryError::CorruptBlob {
            digest: digest.to_owned(),
            reason: format!("its content is {actual}"),
        });
    }
    Ok(())
}

/// One entry of the tar, in the order containerd's archive exporter writes them (sorted by name).
enum Entry {
    Folder(String),
    File { name: String, mode: u32, data: Vec<u8> },
}

/// Writes the entries it is sent as a gzip'd tar into `file`; ends when the sender goes.
fn write_tar(file: std::fs::File, entries: tokio::sync::mpsc::Receiver<Entry>) -> std::io::Result<std::fs::File> {
    let mut entries = entries;
    let gzip = flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::default());
    let mut tar = tar::Builder::new(gzip);
    while let Some(entry) = entries.blocking_recv() {
        let mut header = tar::Header::new_ustar();
        let (name, mode, data) = match &entry {
            Entry::Folder(name) => {
                header.set_entry_type(tar::EntryType::Directory);
                (name, 0o755, &[][..])
            }
            Entry::File { name, mode, data } => {
                header.set_entry_type(tar::EntryType::Regular);
                (name, *mode, &data[..])
            }
        };
        header.set_path(name)?;
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(0);
        header.set_cksum();
        tar.append(&header, data)?;
    }
    let mut file = tar.into_inner()?.finish()?.into_inner().map_err(|e| e.into_error())?;
    file.flush()?;
    file.sync_all()?;
    Ok(file)
}

/// A record and the node (its place among the reached nodes) that keeps it.
type NodeRecord = (usize, BuildHistoryRecord);

/// The records `selection` names among `records` (every one the nodes keep), newest first over all
/// nodes as buildx counts `^N`: only completed ones, each once per node. As buildx's, a ref that
/// several nodes keep (one build split over them) takes every node's record of it, and so does the
/// newest build when none is named.
fn choose(
    builder: &str,
    records: Vec<NodeRecord>,
    selection: &ExportSelection,
) -> Result<Vec<NodeRecord>, BundleError> {
    let running: HashSet<String> =
        records.iter().filter(|(_, r)| r.completed_at.is_none()).map(|(_, r)| r.r#ref.clone()).collect();
    let mut completed: Vec<NodeRecord> = records.into_iter().filter(|(_, r)| r.completed_at.is_some()).collect();
    let created = |r: &BuildHistoryRecord| r.created_at.as_ref().map(|t| (t.seconds, t.nanos));
    completed.sort_by_key(|(_, r)| std::cmp::Reverse(created(r)));
    let empty = || BundleError::from(HistoryError::Empty { builder: builder.to_owned() });
    let specs = match selection {
        ExportSelection::All if completed.is_empty() => return Err(empty()),
        ExportSelection::All => return Ok(completed),
        ExportSelection::Builds(specs) if !specs.is_empty() => specs.clone(),
        ExportSelection::Builds(_) => vec![BuildSpec::Newest],
    };
    let of_ref = |r: &str| completed.iter().filter(|(_, c)| c.r#ref == r).cloned().collect::<Vec<_>>();
    let mut chosen: Vec<NodeRecord> = Vec::new();
    for spec in specs {
        let found = match &spec {
            BuildSpec::Newest => of_ref(&completed.first().ok_or_else(empty)?.1.r#ref),
            BuildSpec::Offset(n) => vec![completed.get(*n).cloned().ok_or_else(|| HistoryError::NoSuchOffset {
                builder: builder.to_owned(),
                offset: *n,
                count: completed.len(),
            })?],
            BuildSpec::Ref(r) => match of_ref(r) {
                found if !found.is_empty() => found,
                _ if running.contains(r) => return Err(BundleError::Running { build_ref: r.clone() }),
                _ => return Err(HistoryError::NotFound { builder: builder.to_owned(), build_ref: r.clone() }.into()),
            },
        };
        for record in found {
            if !chosen.iter().any(|(node, c)| *node == record.0 && c.r#ref == record.1.r#ref) {
                chosen.push(record);
            }
        }
    }
    Ok(chosen)
}

/// The platform a build that names none is built for on `node`, as buildx writes it into a bundle:
/// the node's pinned platforms first, then its workers'.
async fn default_platform(builder: &str, node: &NodeHistory) -> Result<String, BundleError> {
    if let Some(pinned) = node.pinned.first() {
        return Ok(pinned.to_string());
    }
    let workers = node.control.list_workers().await.map_err(|e| crate::history::nodes::buildkit_error(builder, e))?;
    Ok(detected_platforms(workers.iter().flat_map(|w| &w.platforms))
        .first()
        .map(ToString::to_string)
        .unwrap_or_default())
}

impl BuildHistory {
    /// Every completed-or-running record of every node that answered, each with its node.
    async fn node_records(&self) -> Result<Vec<(NodeRecord, Option<chrono::DateTime<chrono::Utc>>)>, BundleError> {
        let (answered, _) = self.raw("").await?;
        Ok(answered
            .into_iter()
            .flat_map(|a| {
                let (node, time) = (a.node, a.server_time);
                a.records.into_iter().map(move |r| ((node, r), time))
            })
            .collect())
    }

    /// Exports the completed records `selection` names into a bundle at `dest`, as `docker buildx
    /// history export` writes one. With `finalize`, BuildKit (0.15+) is first asked to finish the
    /// traces of records that have none yet. `progress` hears of each blob written (at most every
    /// [`PROGRESS_INTERVAL`], and at the end). Nothing is left at `dest` unless the whole bundle is.
    #[instrument(skip(self, progress, cancel), fields(builder = %self.builder, dest = %dest.display()))]
    pub async fn export(
        &self,
        selection: &ExportSelection,
        finalize: bool,
        dest: &Path,
        progress: &(dyn Fn(ExportProgress) + Send + Sync),
        cancel: CancellationToken,
    ) -> Result<ExportSummary, BundleError> {
        let records = self.node_records().await?;
        let mut times: BTreeMap<usize, Option<chrono::DateTime<chrono::Utc>>> = BTreeMap::new();
        for ((node, _), time) in &records {
            times.insert(*node, *time);
        }
        let mut chosen = choose(&self.builder, records.into_iter().map(|(r, _)| r).collect(), selection)?;
        if finalize && chosen.iter().any(|(_, r)| r.trace.is_none()) {
            for (node, record) in chosen.iter().filter(|(_, r)| r.trace.is_none()) {
                let node = &self.nodes[*node];
                node.control
                    .finalize_build_history(&record.r#ref, record.pinned)
                    .await
                    .map_err(|e| self.update_error(node, &record.r#ref, e))?;
            }
            let again = self.node_records().await?;
            chosen = chosen
                .iter()
                .filter_map(|(node, r)| {
                    again.iter().find(|((n, a), _)| n == node && a.r#ref == r.r#ref).map(|(found, _)| found.clone())
                })
                .collect();
        }
        let mut platforms: BTreeMap<usize, String> = BTreeMap::new();
        for (node, _) in &chosen {
            if !platforms.contains_key(node) {
                platforms.insert(*node, default_platform(&self.builder, &self.nodes[*node]).await?);
            }
        }
        // The traces are read a few at a time, as the blobs are, and planned in the chosen order.
        // Owned inputs: a future borrowing them through the closure would not be `Send` for every lifetime.
        let reads: Vec<(Control, Option<Descriptor>)> =
            chosen.iter().map(|(index, record)| (self.nodes[*index].control.clone(), record.trace.clone())).collect();
        let traces: Vec<Option<Vec<u8>>> = futures_util::stream::iter(reads)
            .map(|(control, trace)| masked_trace(control, trace))
            .buffered(CONCURRENT_READS)
            .try_collect()
            .await?;
        let mut plan = Plan::default();
        for ((index, record), trace) in chosen.into_iter().zip(traces) {
            let node = &self.nodes[index];
            let time = times.get(&index).copied().flatten();
            let local = node.origin(&self.builder, &self.records, &record, time).local_state();
            plan.record(index, record, trace, local.as_ref(), &platforms[&index])?;
        }
        let refs = plan.manifests.iter().map(|(r, _)| r.clone()).collect();
        let top = plan.top();
        write(&self.nodes, plan, top, dest, progress, cancel).await?;
        let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or_default();
        Ok(ExportSummary { path: dest.to_string_lossy().into_owned(), build_refs: refs, bytes })
    }
}

fn write_error(dest: &Path, e: &std::io::Error) -> BundleError {
    BundleError::Write { path: dest.to_owned(), reason: crate::io_error::reason(e) }
}

/// Writes `plan` as a gzip'd tar beside `dest` and renames it into place: blobs read from their
/// nodes' BuildKit [`CONCURRENT_READS`] at a time, written in digest order as they come.
async fn write(
    nodes: &[NodeHistory],
    plan: Plan,
    top: OciDescriptor,
    dest: &Path,
    progress: &(dyn Fn(ExportProgress) + Send + Sync),
    cancel: CancellationToken,
) -> Result<(), BundleError> {
    let folder = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // 0666 less the umask, as the file `os.Create` makes for buildx.
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(folder)
        .map_err(|e| write_error(dest, &e))?;
    let file = partial.reopen().map_err(|e| write_error(dest, &e))?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let writer = tokio::task::spawn_blocking(move || write_tar(file, rx));

    let index = OciImageIndex {
        schema_version: 2,
        media_type: Some(oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE.into()),
        manifests: vec![ImageIndexEntry {
            media_type: top.media_type,
            digest: top.digest,
            size: top.size,
            platform: None,
            annotations: top.annotations,
            artifact_type: None,
        }],
        artifact_type: None,
        annotations: None,
    };
    let mut total = ExportProgress {
        records: plan.manifests.len() as u32,
        blobs_total: plan.blobs.len() as u32,
        bytes_total: plan.blobs.values().map(Blob::size).sum(),
        ..ExportProgress::default()
    };
    let send = async {
        let gone = || BundleError::Write { path: dest.to_owned(), reason: "the writer stopped".into() };
        for folder in ["blobs/", "blobs/sha256/"] {
            tx.send(Entry::Folder(folder.into())).await.map_err(|_| gone())?;
        }
        let mut last = Instant::now();
        // `buffered` keeps the plan's order whatever order the reads end in: the tar is the same.
        let mut read = std::pin::pin!(futures_util::stream::iter(plan.blobs)
            .map(|(digest, blob)| async move {
                let data = match blob {
                    Blob::Made(data) => data,
                    Blob::Stored(d, kind, node) => {
                        let data = blobs::read(&nodes[node].control, &d, kind).await?;
                        verify(&digest, &data)?;
                        data
                    }
                };
                Ok::<_, BundleError>((digest, data))
            })
            .buffered(CONCURRENT_READS));
        while let Some((digest, data)) = read.try_next().await? {
            let hex = super::digest_hex(&digest).expect("digests were checked when planned");
            total.blobs_written += 1;
            total.bytes_written += data.len() as u64;
            tx.send(Entry::File { name: format!("blobs/sha256/{hex}"), mode: 0o444, data })
                .await
                .map_err(|_| gone())?;
            if last.elapsed() >= PROGRESS_INTERVAL {
                progress(total.clone());
                last = Instant::now();
            }
        }
        let index = serde_json::to_string(&index).expect("an index serialises");
        let index = crate::go_json::html_escaped(&index).into_bytes();
        tx.send(Entry::File { name: "index.json".into(), mode: 0o644, data: index }).await.map_err(|_| gone())?;
        tx.send(Entry::File { name: "oci-layout".into(), mode: 0o444, data: OCI_LAYOUT.as_bytes().to_vec() })
            .await
            .map_err(|_| gone())?;
        Ok::<(), BundleError>(())
    };
    let sent = tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(BundleError::Cancelled),
        sent = send => sent,
    };
    drop(tx);
    // The writer ends once the sender is gone; its file is removed with `partial` unless kept below.
    let written = writer.await.map_err(|e| BundleError::Write { path: dest.to_owned(), reason: e.to_string() })?;
    sent?;
    written.map_err(|e| write_error(dest, &e))?;
    progress(total);
    partial.persist(dest).map_err(|e| write_error(dest, &e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard_buildkit_proto::google::protobuf::Timestamp;

    fn record(r: &str, created: i64, completed: bool) -> BuildHistoryRecord {
        BuildHistoryRecord {
            r#ref: r.into(),
            created_at: Some(Timestamp { seconds: created, nanos: 0 }),
            completed_at: completed.then_some(Timestamp { seconds: created + 1, nanos: 0 }),
            ..Default::default()
        }
    }

    fn refs(chosen: Result<Vec<NodeRecord>, BundleError>) -> Vec<String> {
        chosen.unwrap().into_iter().map(|(_, r)| r.r#ref).collect()
    }

    fn on(node: usize, record: BuildHistoryRecord) -> NodeRecord {
        (node, record)
    }

    #[test]
    fn records_are_chosen_among_the_completed_ones_newest_first_as_buildx_does() {
        let records =
            || vec![on(0, record("old", 1, true)), on(0, record("new", 3, true)), on(0, record("running", 4, false))];
        let specs = |s: &[&str]| ExportSelection::Builds(s.iter().map(|s| BuildSpec::parse(s).unwrap()).collect());
        assert_eq!(refs(choose("b", records(), &specs(&[]))), ["new"]);
        assert_eq!(refs(choose("b", records(), &ExportSelection::All)), ["new", "old"]);
        assert_eq!(refs(choose("b", records(), &specs(&["^1", "new", "^0"]))), ["old", "new"]);
        assert!(matches!(
            choose("b", records(), &specs(&["^2"])),
            Err(BundleError::History(HistoryError::NoSuchOffset { offset: 2, count: 2, .. }))
        ));
        assert!(matches!(choose("b", records(), &specs(&["running"])), Err(BundleError::Running { .. })));
        assert!(matches!(
            choose("b", records(), &specs(&["gone"])),
            Err(BundleError::History(HistoryError::NotFound { .. }))
        ));
        assert!(matches!(
            choose("b", vec![on(0, record("running", 4, false))], &ExportSelection::All),
            Err(BundleError::History(HistoryError::Empty { .. }))
        ));
    }

    #[test]
    fn a_build_kept_by_two_nodes_exports_both_records_as_buildx_does() {
        let records =
            || vec![on(0, record("split", 5, true)), on(1, record("split", 5, true)), on(1, record("older", 2, true))];
        let specs = |s: &[&str]| ExportSelection::Builds(s.iter().map(|s| BuildSpec::parse(s).unwrap()).collect());
        let nodes = |chosen: Result<Vec<NodeRecord>, BundleError>| {
            chosen.unwrap().into_iter().map(|(n, r)| format!("{n}/{}", r.r#ref)).collect::<Vec<_>>()
        };
        assert_eq!(
            nodes(choose("b", records(), &specs(&[]))),
            ["0/split", "1/split"],
            "the newest build, every node's"
        );
        assert_eq!(nodes(choose("b", records(), &specs(&["split", "split"]))), ["0/split", "1/split"]);
        assert_eq!(nodes(choose("b", records(), &specs(&["^2"]))), ["1/older"], "offsets count over all nodes");
        assert_eq!(nodes(choose("b", records(), &ExportSelection::All)), ["0/split", "1/split", "1/older"]);
    }
}
