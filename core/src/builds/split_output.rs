//! The tarball and `--load` outputs of a build split across nodes, which buildx 0.13 refuses
//! ("oci for multi-node builds currently not supported"). Each node exports its platforms into a
//! tarball of its own in a staging folder beside the destination; once every node has finished
//! they become one:
//! - `type=oci` (and `--load`, streamed into an engine that keeps images in containerd): one OCI
//!   layout holding every node's blobs once, each checked against its digest, and one index of
//!   every node's platforms and attestation manifests, assembled as `imagetools create` assembles
//!   a pushed split build's index;
//! - `type=tar`: the nodes' archives one after the other (each already holds its platforms'
//!   folders, as a one-node multi-platform tar does).
//!
//! A docker tarball cannot hold a manifest list, nor can an engine's classic image store: both
//! are refused before anything is built, with buildx's and docker's reasons.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest as _;

use super::request::{BuildOutput, BuildRequest};
use super::BuildError;
use crate::builders::{BuilderError, Builders};
use crate::engine::{Engine, EngineError};
use crate::images::compose::index::IndexDocument;
use crate::images::compose::{self, ComposeError};
use crate::images::manifest::{ImageDoc, ManifestKind};

/// The most an `index.json` or an index or manifest blob may weigh (as a registry's manifest).
const MAX_DOCUMENT_BYTES: u64 = 4 << 20;
/// Bytes read at a time when copying a blob or streaming the merged tarball.
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SplitOutputError {
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("node {node}'s tarball is not an OCI layout: {reason}")]
    NotLayout { node: String, reason: String },
    #[error("node {node} sent blob {digest}, whose content hashes to {actual}")]
    DigestMismatch { node: String, digest: String, actual: String },
    #[error("manifest {digest} is malformed: {reason}")]
    BadManifest { digest: String, reason: String },
    #[error("{digest}, which {referrer} refers to, is in no node's tarball")]
    MissingBlob { digest: String, referrer: String },
    #[error(transparent)]
    Compose(#[from] ComposeError),
    #[error("the engine at {host} did not load the image: {reason}")]
    Load { host: String, reason: String },
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SplitOutputError + '_ {
    move |e| SplitOutputError::Io { path: path.to_path_buf(), reason: crate::io_error::reason(&e) }
}

/// Where the merged result goes.
enum Merged {
    Oci(PathBuf),
    Tar(PathBuf),
    Load(Box<Engine>),
}

/// The nodes' tarballs of one split build, and where their merge goes.
pub(super) struct SplitTarballs {
    merged: Merged,
    staging: tempfile::TempDir,
    nodes: Vec<String>,
}

impl SplitTarballs {
    /// For a split build over `nodes` (by name, in solve order) whose output is a tarball or a
    /// load; `None` for the others (push, local folders, cache only), which need no merge here.
    pub(super) async fn prepare(
        builders: &Builders,
        request: &BuildRequest,
        docker_context: Option<&str>,
        nodes: Vec<String>,
    ) -> Result<Option<Self>, BuildError> {
        let beside = |dest: &str| -> Result<tempfile::TempDir, BuildError> {
            let folder = Path::new(dest).parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            tempfile::Builder::new().prefix(".buildlane-nodes.").tempdir_in(folder).map_err(|e| {
                BuildError::OutputUnwritable { path: PathBuf::from(dest), reason: crate::io_error::reason(&e) }
            })
        };
        // A split build has one output (`run_split`).
        let (merged, staging) = match request.exported().next() {
            Some(BuildOutput::Oci { dest, .. }) => (Merged::Oci(PathBuf::from(dest)), beside(dest)?),
            Some(BuildOutput::Tar { dest, .. }) => (Merged::Tar(PathBuf::from(dest)), beside(dest)?),
            // Refused by the request's check already: a docker tarball holds one image.
            Some(BuildOutput::Docker { .. }) => return Err(BuildError::DockerTarballList),
            Some(BuildOutput::Load { .. }) => {
                let context = builders.contexts().resolve(docker_context).map_err(BuilderError::from)?;
                let engine = Engine::connect(&context).await?;
                if !engine.containerd_image_store().await? {
                    return Err(BuildError::LoadMultiPlatform { host: engine.host().to_owned() });
                }
                let staging = tempfile::Builder::new().prefix("buildlane-nodes.").tempdir().map_err(|e| {
                    BuildError::OutputUnwritable { path: std::env::temp_dir(), reason: crate::io_error::reason(&e) }
                })?;
                (Merged::Load(Box::new(engine)), staging)
            }
            None
            | Some(
                BuildOutput::CacheOnly
                | BuildOutput::Push { .. }
                | BuildOutput::Image { .. }
                | BuildOutput::Local { .. },
            ) => return Ok(None),
        };
        Ok(Some(SplitTarballs { merged, staging, nodes }))
    }

    /// The file node `index` (in solve order) exports into.
    pub(super) fn node_file(&self, index: usize) -> PathBuf {
        self.staging.path().join(format!("node-{index}.tar"))
    }

    /// The exporter the nodes use in place of the request's: a load is an OCI tarball here.
    pub(super) fn node_exporter(&self) -> &'static str {
        match self.merged {
            Merged::Tar(_) => "tar",
            Merged::Oci(_) | Merged::Load(_) => "oci",
        }
    }

    /// Where the merged result goes, for a message.
    pub(super) fn destination(&self) -> String {
        match &self.merged {
            Merged::Oci(path) | Merged::Tar(path) => path.display().to_string(),
            Merged::Load(engine) => format!("the engine at {}", engine.host()),
        }
    }

    /// Merges what every node exported and puts it in place; returns the merged index's digest
    /// (none for a filesystem tar). The staging folder goes either way.
    #[tracing::instrument(skip_all, fields(nodes = self.nodes.len()))]
    pub(super) async fn finish(self) -> Result<Option<String>, SplitOutputError> {
        let inputs: Vec<(String, PathBuf)> =
            self.nodes.iter().enumerate().map(|(i, name)| (name.clone(), self.node_file(i))).collect();
        let staging = self.staging.path().to_path_buf();
        match self.merged {
            Merged::Oci(dest) => {
                let digest = blocking(move || {
                    let (partial, mut file) = partial_beside(&dest)?;
                    let digest = merge_layouts(&inputs, &staging.join("blobs"), &mut file)?;
                    persist(partial, file, &dest)?;
                    Ok(digest)
                })
                .await?;
                Ok(Some(digest))
            }
            Merged::Tar(dest) => {
                blocking(move || {
                    let (partial, mut file) = partial_beside(&dest)?;
                    concatenate(&inputs, &mut file, &dest)?;
                    persist(partial, file, &dest)
                })
                .await?;
                Ok(None)
            }
            Merged::Load(engine) => {
                let merged = staging.join("merged.tar");
                let path = merged.clone();
                let digest = blocking(move || {
                    let mut file = File::create(&path).map_err(io(&path))?;
                    let digest = merge_layouts(&inputs, &staging.join("blobs"), &mut file)?;
                    file.flush().map_err(io(&path))?;
                    Ok(digest)
                })
                .await?;
                load(&engine, &merged).await?;
                Ok(Some(digest))
            }
        }
    }
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, SplitOutputError> + Send + 'static,
) -> Result<T, SplitOutputError> {
    tokio::task::spawn_blocking(work).await.expect("merging the nodes' tarballs does not panic")
}

/// A file of its own beside `dest` (0666 less the umask, as buildx's `os.Create`), renamed over it
/// once complete: a failed merge leaves `dest` as it was.
fn partial_beside(dest: &Path) -> Result<(tempfile::TempPath, File), SplitOutputError> {
    let folder = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(folder)
        .map_err(io(dest))?;
    let (file, path) = partial.into_parts();
    Ok((path, file))
}

fn persist(partial: tempfile::TempPath, file: File, dest: &Path) -> Result<(), SplitOutputError> {
    file.sync_all().map_err(io(dest))?;
    drop(file);
    partial.persist(dest).map_err(|e| io(dest)(e.error))
}

/// What one node's OCI layout tarball brought.
struct NodeLayout {
    name: String,
    /// Its `index.json`: one entry, the node's image index.
    index_file: IndexDocument,
}

/// Reads every node's OCI layout tarball into `blobs` (each blob once, checked against its
/// digest), then writes into `out` one OCI layout tarball whose `index.json` names one index of all
/// the nodes' entries. Returns that index's digest.
fn merge_layouts(inputs: &[(String, PathBuf)], blobs: &Path, out: &mut File) -> Result<String, SplitOutputError> {
    std::fs::create_dir_all(blobs.join("sha256")).map_err(io(blobs))?;
    let mut layouts = Vec::with_capacity(inputs.len());
    for (name, path) in inputs {
        layouts.push(read_layout(name, path, blobs)?);
    }
    let mut tops = BTreeSet::new();
    let mut entries = Vec::with_capacity(layouts.len());
    for layout in &layouts {
        let not_layout = |reason: String| SplitOutputError::NotLayout { node: layout.name.clone(), reason };
        let [top] = layout.index_file.manifests.as_slice() else {
            return Err(not_layout(format!(
                "index.json names {} images, where BuildKit's oci exporter names one",
                layout.index_file.manifests.len()
            )));
        };
        if ManifestKind::of_media_type(&top.media_type) != ManifestKind::Index {
            return Err(not_layout(format!("index.json names a {}, not an index", top.media_type)));
        }
        let bytes = read_blob(blobs, &top.digest, "index.json")?;
        let index: IndexDocument =
            serde_json::from_slice(&bytes).map_err(|e| not_layout(format!("index {}: {e}", top.digest)))?;
        tops.insert(top.digest.clone());
        entries.push(index.manifests);
    }
    let index = compose::combined_index(entries)?;
    check_referenced(blobs, &index)?;
    let document = compose::index::go_json(&index);
    let digest = sha256(document.as_bytes());
    std::fs::write(blob_path(blobs, &digest), &document).map_err(io(blobs))?;

    // index.json as the first node's exporter wrote it (the image's name, when it was created),
    // naming the merged index instead of that node's own.
    let mut index_file = layouts.swap_remove(0).index_file;
    let named = &mut index_file.manifests[0];
    named.media_type = index.media_type.clone();
    named.digest = digest.clone();
    named.size = document.len() as i64;
    let index_json = serde_json::to_vec(&index_file).expect("an index always serialises");

    let mut tar = tar::Builder::new(out);
    let mut put = |path: &str, data: &mut dyn Read, size: u64, mode: u32| -> std::io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(if path.ends_with('/') { tar::EntryType::Directory } else { tar::EntryType::Regular });
        header.set_size(size);
        header.set_mode(mode);
        header.set_mtime(0);
        tar.append_data(&mut header, path, data)
    };
    let fail = io(blobs);
    put("oci-layout", &mut &br#"{"imageLayoutVersion":"1.0.0"}"#[..], 30, 0o444).map_err(&fail)?;
    put("index.json", &mut index_json.as_slice(), index_json.len() as u64, 0o444).map_err(&fail)?;
    put("blobs/", &mut std::io::empty(), 0, 0o755).map_err(&fail)?;
    put("blobs/sha256/", &mut std::io::empty(), 0, 0o755).map_err(&fail)?;
    let mut names: Vec<String> = std::fs::read_dir(blobs.join("sha256"))
        .map_err(&fail)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|hex| hex.len() == 64 && !tops.contains(&format!("sha256:{hex}")))
        .collect();
    names.sort();
    for hex in names {
        let path = blobs.join("sha256").join(&hex);
        let mut file = File::open(&path).map_err(io(&path))?;
        let size = file.metadata().map_err(io(&path))?.len();
        put(&format!("blobs/sha256/{hex}"), &mut file, size, 0o444).map_err(&fail)?;
    }
    tar.finish().map_err(&fail)?;
    Ok(digest)
}

/// Takes a node's blobs into `blobs` and its `index.json`; other files of the layout are its own
/// (`oci-layout`, which the merge writes anew) and are left.
fn read_layout(name: &str, path: &Path, blobs: &Path) -> Result<NodeLayout, SplitOutputError> {
    let not_layout = |reason: String| SplitOutputError::NotLayout { node: name.to_owned(), reason };
    let file = File::open(path).map_err(io(path))?;
    let mut archive = tar::Archive::new(std::io::BufReader::new(file));
    let mut index_file = None;
    for entry in archive.entries().map_err(io(path))? {
        let mut entry = entry.map_err(io(path))?;
        let entry_path = entry.path().map_err(io(path))?.to_string_lossy().into_owned();
        let entry_path = entry_path.trim_start_matches("./").to_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if entry_path == "index.json" {
            let mut data = Vec::new();
            (&mut entry).take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut data).map_err(io(path))?;
            if data.len() as u64 > MAX_DOCUMENT_BYTES {
                return Err(not_layout(format!("index.json is larger than {MAX_DOCUMENT_BYTES} bytes")));
            }
            index_file = Some(serde_json::from_slice(&data).map_err(|e| not_layout(format!("index.json: {e}")))?);
        } else if let Some(hex) = entry_path.strip_prefix("blobs/sha256/") {
            if !kind.is_file() || hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(not_layout(format!("{entry_path} is not a blob")));
            }
            let target = blobs.join("sha256").join(hex);
            if !target.exists() {
                take_blob(name, hex, &mut entry, &target)?;
            }
        } else {
            tracing::debug!(node = name, entry = entry_path, "left out of the merged layout");
        }
    }
    let index_file = index_file.ok_or_else(|| not_layout("it has no index.json".into()))?;
    Ok(NodeLayout { name: name.to_owned(), index_file })
}

/// Copies a blob to `target` through a temporary file, keeping it only if its bytes hash to `hex`.
fn take_blob(node: &str, hex: &str, from: &mut impl Read, target: &Path) -> Result<(), SplitOutputError> {
    let folder = target.parent().unwrap_or(Path::new("."));
    let mut partial = tempfile::NamedTempFile::new_in(folder).map_err(io(folder))?;
    let mut hasher = sha2::Sha256::new();
    let mut chunk = vec![0u8; CHUNK];
    loop {
        let n = from.read(&mut chunk).map_err(io(target))?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        partial.write_all(&chunk[..n]).map_err(io(target))?;
    }
    let actual = hex::encode(hasher.finalize());
    if actual != hex {
        return Err(SplitOutputError::DigestMismatch {
            node: node.to_owned(),
            digest: format!("sha256:{hex}"),
            actual: format!("sha256:{actual}"),
        });
    }
    partial.persist(target).map_err(|e| io(target)(e.error))?;
    Ok(())
}

fn blob_path(blobs: &Path, digest: &str) -> PathBuf {
    blobs.join("sha256").join(digest.trim_start_matches("sha256:"))
}

/// A document blob (an index or a manifest) that must be there.
fn read_blob(blobs: &Path, digest: &str, referrer: &str) -> Result<Vec<u8>, SplitOutputError> {
    let missing = || SplitOutputError::MissingBlob { digest: digest.to_owned(), referrer: referrer.to_owned() };
    let path = blob_path(blobs, digest);
    if !digest.starts_with("sha256:") || !path.is_file() {
        return Err(missing());
    }
    let mut data = Vec::new();
    File::open(&path).map_err(io(&path))?.take(MAX_DOCUMENT_BYTES).read_to_end(&mut data).map_err(io(&path))?;
    Ok(data)
}

/// Every manifest the merged index names is there, and every config and layer they name.
fn check_referenced(blobs: &Path, index: &IndexDocument) -> Result<(), SplitOutputError> {
    for entry in &index.manifests {
        let bytes = read_blob(blobs, &entry.digest, "the merged index")?;
        if ManifestKind::of_media_type(&entry.media_type) != ManifestKind::Image {
            continue;
        }
        let manifest: ImageDoc = serde_json::from_slice(&bytes)
            .map_err(|e| SplitOutputError::BadManifest { digest: entry.digest.clone(), reason: e.to_string() })?;
        for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
            if !blob_path(blobs, &d.digest).is_file() {
                return Err(SplitOutputError::MissingBlob {
                    digest: d.digest.clone(),
                    referrer: format!("manifest {}", entry.digest),
                });
            }
        }
    }
    Ok(())
}

/// The nodes' filesystem tarballs one after the other, every entry as it came (long names and PAX
/// records included), one end-of-archive marker.
fn concatenate(inputs: &[(String, PathBuf)], out: &mut File, dest: &Path) -> Result<(), SplitOutputError> {
    let mut tar = tar::Builder::new(out);
    for (_, path) in inputs {
        let file = File::open(path).map_err(io(path))?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(file));
        for entry in archive.entries().map_err(io(path))?.raw(true) {
            let mut entry = entry.map_err(io(path))?;
            let header = entry.header().clone();
            tar.append(&header, &mut entry).map_err(io(dest))?;
        }
    }
    tar.finish().map_err(io(dest))
}

/// Streams the merged layout into the engine's image load, as `docker load` would.
async fn load(engine: &Engine, tarball: &Path) -> Result<(), SplitOutputError> {
    let file = tokio::fs::File::open(tarball).await.map_err(io(tarball))?;
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut chunk = vec![0u8; CHUNK];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(n) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let options = bollard::query_parameters::ImportImageOptions { quiet: true, platform: None };
    let mut loading = std::pin::pin!(engine.docker().import_image_stream(options, chunks, None));
    let host = engine.host().to_owned();
    while let Some(item) = loading.next().await {
        item.map_err(|e| SplitOutputError::Load {
            host: host.clone(),
            reason: match e {
                bollard::errors::Error::DockerStreamError { error } => error,
                other => EngineError::from_bollard(&host, other).to_string(),
            },
        })?;
    }
    Ok(())
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::compose::index::Descriptor;
    use crate::images::manifest::{OCI_INDEX, OCI_MANIFEST};
    use crate::platform::Platform;

    /// A node's OCI layout tarball as BuildKit's oci exporter writes one: blobs, and `index.json`
    /// naming an index of one image for `platform` (whose layer is `layer`).
    fn node_tarball(dir: &Path, name: &str, platform: Platform, layer: &[u8], tamper: bool) -> PathBuf {
        let mut blobs: Vec<Vec<u8>> = Vec::new();
        let config = format!(
            r#"{{"architecture":"{}","os":"{}","rootfs":{{"type":"layers"}}}}"#,
            platform.architecture, platform.os
        );
        let manifest = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config.as_bytes()), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(layer), "size": layer.len()}],
        })
        .to_string();
        let mut entry = Descriptor::new(OCI_MANIFEST, &sha256(manifest.as_bytes()), manifest.len() as i64);
        entry.platform = Some(platform);
        let index = compose::index::go_json(&IndexDocument {
            schema_version: 2,
            media_type: OCI_INDEX.into(),
            artifact_type: String::new(),
            manifests: vec![entry],
            subject: None,
            annotations: Default::default(),
        });
        let mut named = Descriptor::new(OCI_INDEX, &sha256(index.as_bytes()), index.len() as i64);
        named.annotations.insert("io.containerd.image.name".into(), "r.io/app:1".into());
        let index_file = serde_json::to_vec(&IndexDocument {
            schema_version: 2,
            media_type: OCI_INDEX.into(),
            artifact_type: String::new(),
            manifests: vec![named],
            subject: None,
            annotations: Default::default(),
        })
        .unwrap();
        blobs.extend([config.into_bytes(), manifest.into_bytes(), index.into_bytes(), layer.to_vec()]);
        let path = dir.join(format!("{name}.tar"));
        let mut tar = tar::Builder::new(File::create(&path).unwrap());
        let mut put = |path: &str, data: &[u8]| {
            let mut header = tar::Header::new_ustar();
            header.set_size(data.len() as u64);
            header.set_mode(0o444);
            tar.append_data(&mut header, path, data).unwrap();
        };
        for blob in &blobs {
            let digest = sha256(blob);
            let mut data = blob.clone();
            if tamper && blob.as_slice() == layer {
                data[0] ^= 1;
            }
            put(&format!("blobs/sha256/{}", digest.trim_start_matches("sha256:")), &data);
        }
        put("index.json", &index_file);
        tar.finish().unwrap();
        path
    }

    fn merge(dir: &Path, inputs: &[(String, PathBuf)]) -> Result<(String, PathBuf), SplitOutputError> {
        let out = dir.join("merged.tar");
        let mut file = File::create(&out).unwrap();
        merge_layouts(inputs, &dir.join("staging"), &mut file).map(|digest| (digest, out))
    }

    #[test]
    fn two_nodes_layouts_become_one_index_of_both_platforms_each_blob_once() {
        let dir = tempfile::tempdir().unwrap();
        let amd = node_tarball(dir.path(), "a", Platform::new("linux", "amd64", ""), b"same layer", false);
        let arm = node_tarball(dir.path(), "b", Platform::new("linux", "arm64", ""), b"same layer", false);
        let (digest, out) = merge(dir.path(), &[("a".into(), amd), ("b".into(), arm)]).unwrap();

        let mut files = std::collections::BTreeMap::new();
        for entry in tar::Archive::new(File::open(out).unwrap()).entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.header().entry_type().is_dir() {
                continue;
            }
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            files.insert(entry.path().unwrap().to_string_lossy().into_owned(), data);
        }
        let index_file: IndexDocument = serde_json::from_slice(&files["index.json"]).unwrap();
        assert_eq!(index_file.manifests.len(), 1);
        assert_eq!(index_file.manifests[0].digest, digest);
        assert_eq!(index_file.manifests[0].annotations["io.containerd.image.name"], "r.io/app:1");
        let index: IndexDocument = serde_json::from_slice(&files[&format!("blobs/sha256/{}", &digest[7..])]).unwrap();
        let platforms: Vec<String> = index.manifests.iter().map(|m| m.platform.as_ref().unwrap().to_string()).collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
        assert_eq!(files.keys().filter(|p| p.ends_with(&sha256(b"same layer")[7..])).count(), 1);
        // Two configs, two manifests, one shared layer, the merged index; not the nodes' own indexes.
        assert_eq!(files.keys().filter(|p| p.starts_with("blobs/sha256/")).count(), 6, "{:?}", files.keys());
        for (path, data) in files.iter().filter(|(p, _)| p.starts_with("blobs/sha256/")) {
            assert_eq!(sha256(data)[7..], path["blobs/sha256/".len()..], "{path}");
        }
    }

    #[test]
    fn a_blob_whose_bytes_do_not_match_its_digest_fails_the_merge_naming_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let amd = node_tarball(dir.path(), "a", Platform::new("linux", "amd64", ""), b"amd layer", false);
        let arm = node_tarball(dir.path(), "b", Platform::new("linux", "arm64", ""), b"arm layer", true);
        let error = merge(dir.path(), &[("amd".into(), amd), ("arm".into(), arm)]).unwrap_err();
        assert!(matches!(&error, SplitOutputError::DigestMismatch { node, .. } if node == "arm"), "{error}");
        assert!(error.to_string().starts_with(&format!("node arm sent blob {}", sha256(b"arm layer"))), "{error}");
    }
}
