//! Opening a bundle read-only: the tar (gzip'd as buildx writes it, or not) is read once, every blob
//! checked against the digest it is named by and kept in a scratch file of its own (unlinked, so it
//! goes with the process); then `index.json` is followed to each record's manifest and record.
//! Anything that is not such a layout is refused as foreign, anything cut short or not matching its
//! digest as damaged, before a single record is shown.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::moby::buildkit::v1::{BuildHistoryRecord, Descriptor};
use oci_client::manifest::{OciImageIndex, OciImageManifest};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::instrument;

use super::record::{RecordDocument, HISTORY_RECORD_MEDIA_TYPE};
use super::{digest_hex, BundleError, REF_ANNOTATION};
use crate::history::blobs::{self, BlobKind, RecordAttestation, RecordBlobs};
use crate::history::entry::{HistoryEntry, Origin};
use crate::history::filter::BuildSpec;
use crate::history::name::LocalState;
use crate::history::{ls_order, replay, HistoryError, Replay, ReplaySource};
use crate::progress::ProgressUpdate;

/// The largest bundle file opened, and the most its tar may hold unpacked.
pub const FILE_LIMIT: u64 = 4 << 30;
/// The most entries a bundle's tar may have (an export of every record of a busy builder is a few
/// thousand).
const ENTRY_LIMIT: usize = 100_000;
/// The largest `index.json`, index, manifest or record read (a record is a few KiB; one with a
/// Dockerfile quoted in its error, a few more).
const DOCUMENT_LIMIT: u64 = 16 << 20;

/// Where a blob lies in the scratch file.
#[derive(Debug, Clone, Copy)]
struct Extent {
    offset: u64,
    size: u64,
}

/// One record of a bundle: as listed, and as BuildKit kept it.
struct BundleRecord {
    entry: HistoryEntry,
    record: BuildHistoryRecord,
}

/// An opened `.dockerbuild` bundle: its records, read-only.
pub struct Bundle {
    path: PathBuf,
    scratch: Arc<File>,
    blobs: HashMap<String, Extent>,
    records: Vec<BundleRecord>,
}

/// What a scan of the tar found.
struct Scanned {
    layout: Option<Vec<u8>>,
    index: Option<Vec<u8>>,
    scratch: File,
    blobs: HashMap<String, Extent>,
}

fn read_bounded(reader: &mut impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit).read_to_end(&mut out)?;
    Ok(out)
}

impl Bundle {
    /// Opens the bundle at `path`: a regular file of at most [`FILE_LIMIT`].
    #[instrument]
    pub async fn open(path: &Path) -> Result<Bundle, BundleError> {
        let path = path.to_owned();
        let label = path.clone();
        tokio::task::spawn_blocking(move || {
            let read_error =
                |e: std::io::Error| BundleError::Read { path: path.clone(), reason: crate::io_error::reason(&e) };
            let meta = std::fs::metadata(&path).map_err(read_error)?;
            if !meta.is_file() {
                return Err(BundleError::NotAFile { path });
            }
            if meta.len() > FILE_LIMIT {
                return Err(BundleError::TooLarge {
                    path,
                    what: "the file".into(),
                    size: meta.len(),
                    limit: FILE_LIMIT,
                });
            }
            let file = File::open(&path).map_err(read_error)?;
            Bundle::read(&path, file)
        })
        .await
        .map_err(|e| BundleError::Read { path: label, reason: e.to_string() })?
    }

    /// Reads a bundle from `source`; `path` names it in errors.
    pub fn read(path: &Path, source: impl Read) -> Result<Bundle, BundleError> {
        let mut source = BufReader::new(source);
        let head = source.fill_buf().map_err(|e| damaged(path, &format!("cannot read it: {e}")))?;
        if head.is_empty() {
            return Err(foreign(path, "the file is empty"));
        }
        let scanned = if head.starts_with(&[0x1f, 0x8b]) {
            scan(path, flate2::bufread::MultiGzDecoder::new(source))?
        } else {
            scan(path, source)?
        };
        Self::from_layout(path, scanned)
    }

    fn from_layout(path: &Path, scanned: Scanned) -> Result<Bundle, BundleError> {
        let layout = scanned.layout.as_deref().ok_or_else(|| foreign(path, "it has no oci-layout file"))?;
        let version: serde_json::Value =
            serde_json::from_slice(layout).map_err(|e| damaged(path, &format!("oci-layout is not JSON: {e}")))?;
        if version.get("imageLayoutVersion").and_then(|v| v.as_str()).is_none() {
            return Err(foreign(path, "its oci-layout names no imageLayoutVersion"));
        }
        let index = scanned.index.as_deref().ok_or_else(|| foreign(path, "it has no index.json"))?;
        let mut bundle = Bundle {
            path: path.to_owned(),
            scratch: Arc::new(scanned.scratch),
            blobs: scanned.blobs,
            records: Vec::new(),
        };
        let index: OciImageIndex = serde_json::from_slice(index)
            .map_err(|e| damaged(path, &format!("index.json is not an OCI index: {e}")))?;
        // One record: index.json names its manifest. Several: an index of manifests, each with its ref.
        let mut manifests = Vec::new();
        for entry in &index.manifests {
            match entry.media_type.as_str() {
                oci_client::manifest::OCI_IMAGE_INDEX_MEDIA_TYPE => {
                    let nested: OciImageIndex = bundle.document(&entry.digest, "an index")?;
                    manifests.extend(
                        nested
                            .manifests
                            .into_iter()
                            .filter(|m| m.media_type == oci_client::manifest::OCI_IMAGE_MEDIA_TYPE)
                            .map(|m| (m.digest, m.annotations.and_then(|a| a.get(REF_ANNOTATION).cloned()))),
                    );
                }
                oci_client::manifest::OCI_IMAGE_MEDIA_TYPE => manifests.push((entry.digest.clone(), None)),
                _ => {}
            }
        }
        for (digest, annotated_ref) in manifests {
            let manifest: OciImageManifest = bundle.document(&digest, "a manifest")?;
            if manifest.config.media_type != HISTORY_RECORD_MEDIA_TYPE {
                continue;
            }
            let document: RecordDocument = bundle.document(&manifest.config.digest, "a build record")?;
            let record = document.to_proto().map_err(|reason| {
                damaged(path, &format!("the build record {} cannot be read: {reason}", manifest.config.digest))
            })?;
            if let Some(r) = annotated_ref.filter(|r| *r != record.r#ref) {
                return Err(damaged(
                    path,
                    &format!("the manifest of build {r} holds the record of build {}", record.r#ref),
                ));
            }
            for layer in &manifest.layers {
                match bundle.blobs.get(&layer.digest) {
                    Some(extent) if extent.size == layer.size.max(0) as u64 => {}
                    Some(extent) => {
                        return Err(damaged(
                            path,
                            &format!(
                                "blob {} is {} bytes, its manifest says {}",
                                layer.digest, extent.size, layer.size
                            ),
                        ))
                    }
                    None => {
                        return Err(damaged(
                            path,
                            &format!("blob {} of build {} is missing", layer.digest, record.r#ref),
                        ))
                    }
                }
            }
            let local = document.local_state.as_ref().map(LocalState::from);
            let origin = Origin { builder: "", node: "", local, recorded: None, server_time: None };
            let entry = HistoryEntry::from_record(&record, origin);
            bundle.records.push(BundleRecord { entry, record });
        }
        if bundle.records.is_empty() {
            return Err(foreign(path, "it holds no build records (an image, not a .dockerbuild bundle?)"));
        }
        bundle.records.sort_by(|a, b| ls_order(&a.entry, &b.entry));
        Ok(bundle)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every record, newest first (as `history ls` orders them).
    pub fn entries(&self) -> Vec<HistoryEntry> {
        self.records.iter().map(|r| r.entry.clone()).collect()
    }

    /// A blob of the bundle, whole; none larger than `limit`.
    fn blob(&self, digest: &str, limit: u64) -> Result<Vec<u8>, BundleError> {
        let extent =
            *self.blobs.get(digest).ok_or_else(|| damaged(&self.path, &format!("blob {digest} is missing")))?;
        if extent.size > limit {
            return Err(BundleError::TooLarge {
                path: self.path.clone(),
                what: format!("blob {digest}"),
                size: extent.size,
                limit,
            });
        }
        let mut data = vec![0; extent.size as usize];
        self.scratch
            .read_exact_at(&mut data, extent.offset)
            .map_err(|e| BundleError::Scratch { path: self.path.clone(), reason: crate::io_error::reason(&e) })?;
        Ok(data)
    }

    fn document<T: serde::de::DeserializeOwned>(&self, digest: &str, what: &str) -> Result<T, BundleError> {
        let data = self.blob(digest, DOCUMENT_LIMIT)?;
        serde_json::from_slice(&data).map_err(|e| damaged(&self.path, &format!("blob {digest} is not {what}: {e}")))
    }

    /// The record `spec` names: by ref, `^N` (the N-th newest) or the newest.
    fn find(&self, spec: &BuildSpec) -> Result<&BundleRecord, BundleError> {
        let mut newest: Vec<&BundleRecord> = self.records.iter().collect();
        newest.sort_by(|a, b| b.entry.created_at.cmp(&a.entry.created_at));
        let found = match spec {
            BuildSpec::Ref(r) => newest.into_iter().find(|b| &b.entry.build_ref == r),
            BuildSpec::Newest => newest.into_iter().next(),
            BuildSpec::Offset(n) => newest.into_iter().nth(*n),
        };
        found.ok_or_else(|| match spec {
            BuildSpec::Ref(r) => BundleError::NotFound { path: self.path.clone(), build_ref: r.clone() },
            BuildSpec::Newest | BuildSpec::Offset(_) => BundleError::NoSuchOffset {
                path: self.path.clone(),
                offset: match spec {
                    BuildSpec::Offset(n) => *n,
                    _ => 0,
                },
                count: self.records.len(),
            },
        })
    }

    pub fn get(&self, spec: &BuildSpec) -> Result<HistoryEntry, BundleError> {
        Ok(self.find(spec)?.entry.clone())
    }

    /// Replays the build `spec` names from the bundle's logs blob into lanes, as a finished build
    /// of a builder's history replays.
    #[instrument(skip(self, progress, cancel), fields(path = %self.path.display()))]
    pub async fn replay(
        &self,
        spec: &BuildSpec,
        progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
        cancel: CancellationToken,
    ) -> Result<Replay, BundleError> {
        let found = self.find(spec)?;
        let logs = match &found.record.logs {
            Some(logs) if logs.media_type == blobs::STATUS_MEDIA_TYPE => logs,
            _ => return Err(BundleError::NoLogs { path: self.path.clone(), build_ref: found.entry.build_ref.clone() }),
        };
        let blob = self.blob(&logs.digest, BlobKind::Logs.limit())?;
        let statuses = blobs::statuses(&logs.digest, &blob)?;
        let mut model = replay::model(&found.entry);
        replay::fold(futures_util::stream::iter(statuses.into_iter().map(Ok)), &mut model, progress, &cancel).await?;
        let outcome = replay::outcome(&found.entry, &found.record, &model);
        Ok(Replay { entry: found.entry.clone(), outcome, source: ReplaySource::LogsBlob })
    }

    /// The attestations recorded with the build `spec` names, and the materials its provenance names.
    pub fn blobs(&self, spec: &BuildSpec) -> Result<RecordBlobs, BundleError> {
        let found = self.find(spec)?;
        let attachments = blobs::attachments(&found.record);
        let materials = match attachments.iter().find(|a| a.is_provenance()) {
            Some(provenance) => blobs::materials(&self.read_attachment(&found.record, &provenance.digest)?),
            None => Vec::new(),
        };
        Ok(RecordBlobs {
            materials,
            attachments,
            pushed_image: found.entry.pushed_image.clone().filter(|_| found.entry.attests_image()),
        })
    }

    /// One attachment of the build `spec` names, as the Images inspector shows an attestation.
    pub fn attestation(&self, spec: &BuildSpec, digest: &str) -> Result<RecordAttestation, BundleError> {
        let found = self.find(spec)?;
        let document = self.read_attachment(&found.record, digest)?;
        Ok(blobs::record_attestation(&found.entry, &found.record, digest, &document)?)
    }

    fn read_attachment(&self, record: &BuildHistoryRecord, digest: &str) -> Result<serde_json::Value, BundleError> {
        let descriptor: Descriptor =
            blobs::descriptors(record).into_iter().find(|d| d.digest == digest).ok_or_else(|| {
                HistoryError::NoSuchAttachment { build_ref: record.r#ref.clone(), digest: digest.to_owned() }
            })?;
        let blob = self.blob(&descriptor.digest, BlobKind::Attestation.limit())?;
        Ok(serde_json::from_slice(&blob)
            .map_err(|e| HistoryError::CorruptBlob { digest: digest.to_owned(), reason: e.to_string() })?)
    }
}

fn foreign(path: &Path, reason: &str) -> BundleError {
    BundleError::Foreign { path: path.to_owned(), reason: reason.to_owned() }
}

fn damaged(path: &Path, reason: &str) -> BundleError {
    BundleError::Damaged { path: path.to_owned(), reason: reason.to_owned() }
}

/// Reads the tar once: `oci-layout` and `index.json` kept, every blob checked against its name's
/// digest and copied into a scratch file; other entries skipped.
fn scan(path: &Path, source: impl Read) -> Result<Scanned, BundleError> {
    let scratch_error =
        |e: std::io::Error| BundleError::Scratch { path: path.to_owned(), reason: crate::io_error::reason(&e) };
    let scratch = tempfile::tempfile().map_err(scratch_error)?;
    let mut writer = std::io::BufWriter::new(scratch.try_clone().map_err(scratch_error)?);
    let mut out = Scanned { layout: None, index: None, scratch, blobs: HashMap::new() };
    let mut archive = tar::Archive::new(source);
    // The archive's own errors quote what they could not read: the file's content is not repeated.
    let entries = archive.entries().map_err(|_| foreign(path, "it is not a tar archive (gzip'd or not)"))?;
    // Entries counted, bytes unpacked, and the scratch file's end.
    let (mut count, mut total, mut end) = (0usize, 0u64, 0u64);
    for entry in entries {
        // A file that is no tar fails on its first header; one cut short or corrupted, later.
        let mut entry = entry.map_err(|_| match count {
            0 => foreign(path, "it is not a tar archive (gzip'd or not)"),
            _ => damaged(path, &format!("it is cut short or corrupted after {count} entries")),
        })?;
        count += 1;
        if count > ENTRY_LIMIT {
            return Err(BundleError::TooLarge {
                path: path.to_owned(),
                what: "its entry count".into(),
                size: count as u64,
                limit: ENTRY_LIMIT as u64,
            });
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).trim_start_matches("./").to_owned();
        let size = entry.size();
        total += size;
        if total > FILE_LIMIT {
            return Err(BundleError::TooLarge {
                path: path.to_owned(),
                what: "its content unpacked".into(),
                size: total,
                limit: FILE_LIMIT,
            });
        }
        let cut = |_| damaged(path, &format!("{name} is cut short or corrupted"));
        match name.as_str() {
            "oci-layout" => out.layout = Some(read_bounded(&mut entry, DOCUMENT_LIMIT).map_err(cut)?),
            "index.json" => out.index = Some(read_bounded(&mut entry, DOCUMENT_LIMIT).map_err(cut)?),
            blob if blob.starts_with("blobs/") => {
                let digest = blob.trim_start_matches("blobs/").replacen('/', ":", 1);
                if digest_hex(&digest).is_none() {
                    return Err(damaged(path, &format!("{blob} is not named by a sha256 digest")));
                }
                let offset = end;
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; 64 << 10];
                let mut copied = 0u64;
                loop {
                    let n = entry.read(&mut buf).map_err(cut)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                    writer.write_all(&buf[..n]).map_err(scratch_error)?;
                    copied += n as u64;
                }
                let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
                if copied != size || actual != digest {
                    return Err(damaged(path, &format!("{blob} does not hold what its name says (it holds {actual})")));
                }
                end += copied;
                out.blobs.entry(digest).or_insert(Extent { offset, size });
            }
            _ => {}
        }
    }
    writer.flush().map_err(scratch_error)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Bundle, BundleError> {
        Bundle::read(Path::new("x.dockerbuild"), bytes)
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o444);
            tar.append_data(&mut header, name, *data).unwrap();
        }
        tar.into_inner().unwrap()
    }

    #[test]
    fn what_is_not_an_oci_layout_of_build_records_is_refused_as_foreign() {
        for bytes in [&b""[..], b"hello, world\n", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3][..]] {
            let error = read(bytes).err().expect("refused");
            assert!(matches!(error, BundleError::Foreign { .. } | BundleError::Damaged { .. }), "{error}");
        }
        let error = read(&tar_of(&[("notes.txt", b"hi")])).err().unwrap();
        assert_eq!(error.to_string(), "x.dockerbuild is not a .dockerbuild bundle: it has no oci-layout file");
        let layout: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;
        let index: &[u8] = br#"{"schemaVersion":2,"manifests":[]}"#;
        let error = read(&tar_of(&[("oci-layout", layout), ("index.json", index)])).err().unwrap();
        assert!(
            error.to_string().ends_with("it holds no build records (an image, not a .dockerbuild bundle?)"),
            "{error}"
        );
    }

    #[test]
    fn a_blob_that_does_not_match_its_digest_is_refused_as_damaged() {
        let name = format!("blobs/sha256/{}", "0".repeat(64));
        let error = read(&tar_of(&[(name.as_str(), b"not it")])).err().unwrap();
        assert!(matches!(error, BundleError::Damaged { .. }), "{error}");
        assert!(error.to_string().contains("does not hold what its name says"), "{error}");
    }
}
