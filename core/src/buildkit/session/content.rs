//! Local cache folders (`--cache-to type=local,dest=DIR`, `--cache-from type=local,src=DIR`), served
//! as BuildKit's Go client serves them: the folder is an OCI image layout (`oci-layout`,
//! `index.json`, `blobs/sha256/<hex>`) exposed over the session as containerd's content service
//! `containerd.services.content.v1.Content`. BuildKit names the store of each call in the gRPC
//! metadata `buildkit-attachable-store-id`, whose value is `local:` + the cache entry's `dest` or
//! `src` attribute as sent (BuildKit v0.13 `session/content` and `cache/remotecache/local`). After
//! the solve the client tags the exporter's `cache.manifest` descriptor in `index.json`
//! (BuildKit's `client/ociindex`).
//!
//! bollard-buildkit-proto has no containerd protos; the messages and the service's server are
//! generated from `core/proto/containerd/services/content/v1/content.proto` (see
//! `buildkit::proto`); the timestamps, field masks and labels in replies are left out (the Go side
//! reads an absent timestamp as the epoch).
//!
//! Blobs are written to `ingest/` and renamed into `blobs/sha256/` only after their size and
//! SHA-256 digest were checked; `index.json` and `oci-layout` are replaced by rename, under the
//! lock BuildKit's client takes (`index.json.lock`, flock(2)), so that buildx and Buildlane
//! tagging one folder at once lose no tag.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::buildkit::proto::content::content_server::{Content, ContentServer};
use crate::buildkit::proto::content::{
    AbortRequest, DeleteContentRequest, Info, InfoRequest, InfoResponse, ListContentRequest, ListContentResponse,
    ListStatusesRequest, ListStatusesResponse, ReadContentRequest, ReadContentResponse, StatusRequest, StatusResponse,
    UpdateRequest, UpdateResponse, WriteAction, WriteContentRequest, WriteContentResponse,
};
use crate::buildkit::transport::MAX_MESSAGE_BYTES;

/// The metadata key naming the store a call is for (BuildKit's `session/content.GRPCHeaderID`).
pub const STORE_ID_HEADER: &str = "buildkit-attachable-store-id";
/// What BuildKit puts before a local cache's `dest`/`src` to make the store id.
pub const STORE_ID_PREFIX: &str = "local:";
/// The exporter response key holding the cache manifest's descriptor (JSON).
pub const CACHE_MANIFEST_KEY: &str = "cache.manifest";
/// The store id an oci or docker exporter writing an OCI layout folder (`tar=false`) asks for
/// (BuildKit's client offers one such store per session).
pub const EXPORT_STORE_ID: &str = "export";
/// The exporter response key holding the exported image's descriptor (base64 of its JSON).
pub const IMAGE_DESCRIPTOR_KEY: &str = "containerimage.descriptor";
/// The annotation `index.json` tags manifests with.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// Every method, for the session's announcement.
pub const METHODS: [&str; 9] = [
    "/containerd.services.content.v1.Content/Info",
    "/containerd.services.content.v1.Content/Update",
    "/containerd.services.content.v1.Content/List",
    "/containerd.services.content.v1.Content/Delete",
    "/containerd.services.content.v1.Content/Read",
    "/containerd.services.content.v1.Content/Status",
    "/containerd.services.content.v1.Content/ListStatuses",
    "/containerd.services.content.v1.Content/Write",
    "/containerd.services.content.v1.Content/Abort",
];
/// Bytes per `Read` reply (containerd's server sends 1 MiB chunks).
const READ_CHUNK: usize = 1 << 20;

/// Why a folder is not a usable cache.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{0} does not exist")]
    Missing(PathBuf),
    #[error("{0} is not an OCI layout (no readable index.json)")]
    NotLayout(PathBuf),
    #[error("{path}/index.json cannot be read: {reason}")]
    BadIndex { path: PathBuf, reason: String },
    #[error("{path}/index.json names no cache tagged \"{tag}\"")]
    NoTag { path: PathBuf, tag: String },
    #[error("{path} lacks the blob {digest}")]
    MissingBlob { path: PathBuf, digest: String },
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("{} is held by another writer (waited {} s)", .0.display(), INDEX_LOCK_WAIT.as_secs())]
    Locked(PathBuf),
}

/// The file BuildKit's client (`client/ociindex`) flocks while it reads or updates `index.json`.
pub const INDEX_LOCK: &str = "index.json.lock";
/// How long to wait for another writer to let go of `index.json`; each holds it for milliseconds.
const INDEX_LOCK_WAIT: Duration = Duration::from_secs(30);
const INDEX_LOCK_RETRY: Duration = Duration::from_millis(5);

/// A held `index.json.lock`. BuildKit's client removes the file once done; here it is removed
/// while still held, so nobody can lock the old file after this writer and race a newcomer that
/// made a new one.
#[derive(Debug)]
struct IndexLock {
    path: PathBuf,
    _file: std::fs::File,
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `file` is still the one at `path` (not removed or replaced by the writer before).
fn still_at(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(held), Ok(there)) => held.dev() == there.dev() && held.ino() == there.ino(),
        _ => false,
    }
}

/// An OCI image layout folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciLayout {
    root: PathBuf,
}

/// The hex of a `sha256:` digest, if it is one.
fn sha256_hex(digest: &str) -> Option<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// Writes `data` to `path` through a temporary file beside it and a rename.
fn replace(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

impl OciLayout {
    /// Opens (creating what is missing of) a layout to write into: the folder, `blobs/sha256`,
    /// `ingest`. Fails if the folder cannot be written.
    pub fn create(root: &Path) -> Result<Self, LayoutError> {
        let io = |e: std::io::Error| LayoutError::Io { path: root.to_path_buf(), reason: crate::io_error::reason(&e) };
        std::fs::create_dir_all(root.join("blobs").join("sha256")).map_err(io)?;
        std::fs::create_dir_all(root.join("ingest")).map_err(io)?;
        // Writable: a file can be made (and is removed again).
        tempfile::NamedTempFile::new_in(root.join("ingest")).map_err(io)?;
        Ok(OciLayout { root: root.to_path_buf() })
    }

    /// Opens an existing layout to read from; it must have an `index.json`.
    pub fn open(root: &Path) -> Result<Self, LayoutError> {
        if !root.exists() {
            return Err(LayoutError::Missing(root.to_path_buf()));
        }
        if !root.join("index.json").is_file() {
            return Err(LayoutError::NotLayout(root.to_path_buf()));
        }
        Ok(OciLayout { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with this digest lives; `None` for digests that are not SHA-256.
    pub fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        sha256_hex(digest).map(|hex| self.root.join("blobs").join("sha256").join(hex))
    }

    /// The size of a blob that is there.
    pub fn blob_size(&self, digest: &str) -> Option<u64> {
        let meta = std::fs::metadata(self.blob_path(digest)?).ok()?;
        meta.is_file().then_some(meta.len())
    }

    fn read_index(&self) -> Result<serde_json::Value, LayoutError> {
        let bad = |reason: String| LayoutError::BadIndex { path: self.root.clone(), reason };
        let data = std::fs::read(self.root.join("index.json")).map_err(|e| bad(crate::io_error::reason(&e)))?;
        let index: serde_json::Value = serde_json::from_slice(&data).map_err(|e| bad(e.to_string()))?;
        if !index.is_object() {
            return Err(bad("not a JSON object".into()));
        }
        Ok(index)
    }

    /// Takes `index.json.lock` as BuildKit's client does: exclusive to update, shared to read. A
    /// reader of a folder it may not write (EPERM, EROFS, EACCES) reads without it, as BuildKit's
    /// does.
    fn lock_index(&self, exclusive: bool) -> Result<Option<IndexLock>, LayoutError> {
        let path = self.root.join(INDEX_LOCK);
        let io = |e: std::io::Error| LayoutError::Io { path: path.clone(), reason: crate::io_error::reason(&e) };
        let deadline = Instant::now() + INDEX_LOCK_WAIT;
        loop {
            let file = match std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path)
            {
                Ok(file) => file,
                Err(e)
                    if !exclusive
                        && matches!(
                            e.kind(),
                            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                        ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(io(e)),
            };
            let attempt = if exclusive { file.try_lock() } else { file.try_lock_shared() };
            match attempt {
                Ok(()) if still_at(&file, &path) => return Ok(Some(IndexLock { path, _file: file })),
                Ok(()) => continue,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(INDEX_LOCK_RETRY)
                }
                Err(std::fs::TryLockError::WouldBlock) => return Err(LayoutError::Locked(path)),
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }

    /// The descriptor `index.json` tags `tag` (as BuildKit's `ociindex.Get`), checked to be there.
    pub fn tagged(&self, tag: &str) -> Result<serde_json::Value, LayoutError> {
        let lock = self.lock_index(false)?;
        let index = self.read_index()?;
        drop(lock);
        let found = index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["annotations"][REF_NAME].as_str() == Some(tag))
            .cloned()
            .ok_or_else(|| LayoutError::NoTag { path: self.root.clone(), tag: tag.to_owned() })?;
        let digest = found["digest"].as_str().unwrap_or_default();
        self.require_blob(digest)?;
        Ok(found)
    }

    /// Fails unless the blob is there.
    pub fn require_blob(&self, digest: &str) -> Result<u64, LayoutError> {
        self.blob_size(digest)
            .ok_or_else(|| LayoutError::MissingBlob { path: self.root.clone(), digest: digest.to_owned() })
    }

    /// Tags `descriptor` as `tag` in `index.json`, replacing what had that tag, and writes
    /// `oci-layout` (BuildKit's `ociindex.Put`). Both files are replaced by rename.
    pub fn put_tag(&self, tag: &str, descriptor: &serde_json::Value) -> Result<(), LayoutError> {
        let io = |e: std::io::Error| LayoutError::Io { path: self.root.clone(), reason: crate::io_error::reason(&e) };
        let _lock = self.lock_index(true)?;
        replace(&self.root.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).map_err(io)?;
        let mut index = if self.root.join("index.json").exists() {
            self.read_index()?
        } else {
            serde_json::json!({ "schemaVersion": 2 })
        };
        if index["schemaVersion"].as_i64().unwrap_or(0) == 0 {
            index["schemaVersion"] = 2.into();
        }
        let mut entry = descriptor.clone();
        if !entry["annotations"].is_object() {
            entry["annotations"] = serde_json::json!({});
        }
        entry["annotations"][REF_NAME] = tag.into();
        let mut manifests: Vec<serde_json::Value> = index["manifests"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["annotations"][REF_NAME].as_str() != Some(tag))
            .cloned()
            .collect();
        manifests.push(entry);
        index["manifests"] = manifests.into();
        let data = serde_json::to_vec(&index).expect("a JSON value serialises");
        replace(&self.root.join("index.json"), &data).map_err(io)
    }

    /// Starts writing a blob.
    fn ingest(&self) -> std::io::Result<Ingest> {
        std::fs::create_dir_all(self.root.join("ingest"))?;
        std::fs::create_dir_all(self.root.join("blobs").join("sha256"))?;
        Ok(Ingest {
            file: tempfile::NamedTempFile::new_in(self.root.join("ingest"))?,
            hasher: Sha256::new(),
            offset: 0,
        })
    }
}

/// A blob being written: a temporary file (removed if never committed) and its running digest.
struct Ingest {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    offset: u64,
}

impl Ingest {
    fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data)?;
        self.hasher.update(data);
        self.offset += data.len() as u64;
        Ok(())
    }

    fn truncate(&mut self) -> std::io::Result<()> {
        self.file.as_file().set_len(0)?;
        self.file.as_file_mut().seek(SeekFrom::Start(0))?;
        self.hasher = Sha256::new();
        self.offset = 0;
        Ok(())
    }

    fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }

    /// Checks size and digest, then moves the blob into place.
    fn commit(self, layout: &OciLayout, total: i64, expected: &str) -> Result<String, Status> {
        let digest = self.digest();
        if total > 0 && self.offset != total as u64 {
            return Err(Status::failed_precondition(format!(
                "unexpected commit size {}, expected {total}",
                self.offset
            )));
        }
        if !expected.is_empty() && expected != digest {
            return Err(Status::failed_precondition(format!("unexpected commit digest {digest}, expected {expected}")));
        }
        let target = layout.blob_path(&digest).expect("a sha256 digest");
        if target.exists() {
            return Err(Status::already_exists(format!("content {digest} exists")));
        }
        self.file.as_file().sync_data().map_err(internal)?;
        self.file.persist(&target).map_err(|e| internal(e.error))?;
        Ok(digest)
    }
}

fn internal(e: std::io::Error) -> Status {
    Status::internal(e.to_string())
}

/// The content service over the session's local cache folders, by store id.
#[derive(Debug, Clone, Default)]
pub struct ContentStores(pub Arc<HashMap<String, OciLayout>>);

impl ContentStores {
    fn choose<T>(&self, request: &Request<T>) -> Result<OciLayout, Status> {
        let id = request
            .metadata()
            .get(STORE_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Status::invalid_argument(format!("request lacks metadata \"{STORE_ID_HEADER}\"")))?;
        self.0.get(id).cloned().ok_or_else(|| Status::not_found(format!("unknown store {id}")))
    }

    /// The gRPC service, taking requests as large as the session's other services do.
    pub fn server(self) -> ContentServer<ContentStores> {
        ContentServer::new(self).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// What `layout` knows of the blob `digest`: its size (labels are not kept).
fn blob_info(layout: &OciLayout, digest: String) -> Result<Info, Status> {
    let size = layout.blob_size(&digest).ok_or_else(|| Status::not_found(format!("content {digest}: not found")))?;
    Ok(Info { digest, size: size as i64, labels: HashMap::new() })
}

#[tonic::async_trait]
impl Content for ContentStores {
    async fn info(&self, request: Request<InfoRequest>) -> Result<Response<InfoResponse>, Status> {
        let layout = self.choose(&request)?;
        let info = blob_info(&layout, request.into_inner().digest)?;
        Ok(Response::new(InfoResponse { info: Some(info) }))
    }

    /// Labels are not kept; answers with the blob's info.
    async fn update(&self, request: Request<UpdateRequest>) -> Result<Response<UpdateResponse>, Status> {
        let layout = self.choose(&request)?;
        let digest = request.into_inner().info.map(|i| i.digest).unwrap_or_default();
        Ok(Response::new(UpdateResponse { info: Some(blob_info(&layout, digest)?) }))
    }

    type ListStream = tokio_stream::Empty<Result<ListContentResponse, Status>>;

    async fn list(&self, _: Request<ListContentRequest>) -> Result<Response<Self::ListStream>, Status> {
        Ok(Response::new(tokio_stream::empty()))
    }

    async fn delete(&self, _: Request<DeleteContentRequest>) -> Result<Response<()>, Status> {
        Err(Status::unimplemented("a cache folder is not pruned through the session"))
    }

    type ReadStream = ReceiverStream<Result<ReadContentResponse, Status>>;

    async fn read(&self, request: Request<ReadContentRequest>) -> Result<Response<Self::ReadStream>, Status> {
        let layout = self.choose(&request)?;
        let ReadContentRequest { digest, offset, size } = request.into_inner();
        let not_found = || Status::not_found(format!("content {digest}: not found"));
        let path = layout.blob_path(&digest).ok_or_else(not_found)?;
        let mut file = std::fs::File::open(&path).map_err(|_| not_found())?;
        let length = file.metadata().map_err(internal)?.len() as i64;
        if offset < 0 || offset > length {
            return Err(Status::out_of_range(format!("offset {offset} beyond {length} bytes")));
        }
        let end = if size <= 0 { length } else { (offset + size).min(length) };
        file.seek(SeekFrom::Start(offset as u64)).map_err(internal)?;
        let (tx, rx) = mpsc::channel(4);
        tokio::task::spawn_blocking(move || {
            let mut at = offset;
            while at < end {
                let mut chunk = vec![0u8; READ_CHUNK.min((end - at) as usize)];
                let reply = file.read_exact(&mut chunk).map(|_| ReadContentResponse { offset: at, data: chunk });
                let failed = reply.is_err();
                at += READ_CHUNK as i64;
                if tx.blocking_send(reply.map_err(internal)).is_err() || failed {
                    break;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn status(&self, request: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        Err(Status::not_found(format!("no write in progress for {}", request.get_ref().r#ref)))
    }

    /// Always empty: a write's ingest lives as long as its stream.
    async fn list_statuses(&self, _: Request<ListStatusesRequest>) -> Result<Response<ListStatusesResponse>, Status> {
        Ok(Response::new(ListStatusesResponse::default()))
    }

    /// A write's ingest goes with its stream, so there is nothing left to abort.
    async fn abort(&self, _: Request<AbortRequest>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    type WriteStream = ReceiverStream<Result<WriteContentResponse, Status>>;

    /// One write stream, as containerd's content server runs it: the first message names the
    /// ingest; `STAT` reports progress, `WRITE` appends at the current offset (offset 0 restarts),
    /// `COMMIT` checks size and digest and moves the blob into place, then the stream ends. A
    /// blob already there answers `AlreadyExists`, which BuildKit takes as done.
    async fn write(
        &self,
        request: Request<Streaming<WriteContentRequest>>,
    ) -> Result<Response<Self::WriteStream>, Status> {
        let layout = self.choose(&request)?;
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let result = async {
                let first = inbound.message().await?.ok_or_else(|| Status::invalid_argument("no first message"))?;
                if first.r#ref.is_empty() {
                    return Err(Status::invalid_argument("first message must have a reference"));
                }
                let mut ingest = Some(layout.ingest().map_err(internal)?);
                let (mut total, mut expected) = (first.total, first.expected.clone());
                let mut next = Some(first);
                while let Some(req) = next.take() {
                    let current = ingest.as_mut().expect("an ingest until commit");
                    let mut reply = WriteContentResponse {
                        action: req.action,
                        offset: current.offset as i64,
                        ..Default::default()
                    };
                    if !req.expected.is_empty() {
                        if sha256_hex(&req.expected).is_none() {
                            return Err(Status::invalid_argument(format!("unsupported digest {}", req.expected)));
                        }
                        expected = req.expected.clone();
                        if layout.blob_size(&expected).is_some() {
                            return Err(Status::already_exists(format!("blob with expected digest {expected} exists")));
                        }
                    }
                    if req.total > 0 {
                        total = req.total;
                    }
                    let action = WriteAction::try_from(req.action)
                        .map_err(|_| Status::invalid_argument(format!("unknown write action {}", req.action)))?;
                    match action {
                        WriteAction::Stat => {
                            reply.digest = current.digest();
                            reply.total = total;
                        }
                        WriteAction::Write | WriteAction::Commit => {
                            if req.offset > 0 && req.offset as u64 != current.offset {
                                return Err(Status::out_of_range(format!(
                                    "write @{} must occur at current offset {}",
                                    req.offset, current.offset
                                )));
                            }
                            if req.offset == 0 && current.offset > 0 {
                                current.truncate().map_err(internal)?;
                            }
                            current.write(&req.data).map_err(internal)?;
                            reply.offset = current.offset as i64;
                            reply.digest = if action == WriteAction::Commit {
                                let done = ingest.take().expect("an ingest until commit");
                                let layout = layout.clone();
                                let expected = expected.clone();
                                tokio::task::spawn_blocking(move || done.commit(&layout, total, &expected))
                                    .await
                                    .map_err(|e| Status::internal(e.to_string()))??
                            } else {
                                current.digest()
                            };
                        }
                    }
                    let commit = action == WriteAction::Commit;
                    if tx.send(Ok(reply)).await.is_err() || commit {
                        return Ok(());
                    }
                    next = inbound.message().await?;
                }
                Ok(())
            }
            .await;
            if let Err(status) = result {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn write_request_fields_are_numbered_as_containerds() {
        let req = WriteContentRequest {
            action: WriteAction::Commit as i32,
            r#ref: "r".into(),
            total: 3,
            expected: "e".into(),
            offset: 1,
            data: vec![7],
            labels: HashMap::from([("k".into(), "v".into())]),
        };
        // field 1 varint 2, field 2 "r", field 3 varint 3, field 4 "e", field 5 varint 1, field 6 [7],
        // field 7 a map entry {1: "k", 2: "v"}
        assert_eq!(
            req.encode_to_vec(),
            vec![
                0x08, 2, 0x12, 1, b'r', 0x18, 3, 0x22, 1, b'e', 0x28, 1, 0x32, 1, 7, 0x3a, 6, 0x0a, 1, b'k', 0x12, 1,
                b'v'
            ]
        );
        let reply = WriteContentResponse { action: WriteAction::Write as i32, offset: 4, total: 5, digest: "d".into() };
        assert_eq!(reply.encode_to_vec(), vec![0x08, 1, 0x20, 4, 0x28, 5, 0x32, 1, b'd']);
        let read = ReadContentRequest { digest: "d".into(), offset: 2, size: 3 };
        assert_eq!(read.encode_to_vec(), vec![0x0a, 1, b'd', 0x10, 2, 0x18, 3]);
        let info = InfoResponse { info: Some(Info { digest: "d".into(), size: 9, labels: HashMap::new() }) };
        assert_eq!(info.encode_to_vec(), vec![0x0a, 5, 0x0a, 1, b'd', 0x10, 9]);
        // Timestamps (fields 3, 4 of Info) from a Go peer are skipped.
        let with_time = [0x0a, 1, b'd', 0x10, 9, 0x1a, 2, 0x08, 1];
        assert_eq!(Info::decode(&with_time[..]).unwrap().size, 9);
        // A Go peer's read reply: offset (1) 5, data (2) "ab".
        let chunk = ReadContentResponse::decode(&[0x08, 5, 0x12, 2, b'a', b'b'][..]).unwrap();
        assert_eq!((chunk.offset, chunk.data.as_slice()), (5, &b"ab"[..]));
        // A Go peer's update: info (1) {digest "d"}, update_mask (2) {paths: ["labels"]} skipped.
        let mut update = vec![0x0a, 3, 0x0a, 1, b'd', 0x12, 8, 0x0a, 6];
        update.extend_from_slice(b"labels");
        assert_eq!(UpdateRequest::decode(update.as_slice()).unwrap().info.unwrap().digest, "d");
    }

    /// Each method the session announces reaches its handler in the generated server; a call to a
    /// method it does not announce is refused as unimplemented.
    #[tokio::test]
    async fn every_announced_method_is_routed_by_the_generated_server() {
        use tower::ServiceExt;

        let status = |path: &str| {
            let request = http::Request::post(path)
                .header("content-type", "application/grpc")
                .body(tonic::body::Body::empty())
                .unwrap();
            let server = ContentStores::default().server();
            async move {
                let response = server.oneshot(request).await.unwrap();
                let code = response.headers().get("grpc-status").map(|v| v.to_str().unwrap().to_owned());
                code.and_then(|c| c.parse::<i32>().ok()).map(tonic::Code::from)
            }
        };
        for method in METHODS {
            assert_ne!(status(method).await, Some(tonic::Code::Unimplemented), "{method}");
        }
        let unknown = "/containerd.services.content.v1.Content/Prune";
        assert_eq!(status(unknown).await, Some(tonic::Code::Unimplemented));
    }

    #[test]
    fn an_ingest_is_committed_only_with_the_right_digest_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::create(dir.path()).unwrap();
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(b"hello")));

        let mut wrong = layout.ingest().unwrap();
        wrong.write(b"hellO").unwrap();
        assert_eq!(wrong.commit(&layout, 5, &digest).unwrap_err().code(), tonic::Code::FailedPrecondition);
        let mut short = layout.ingest().unwrap();
        short.write(b"hell").unwrap();
        assert_eq!(short.commit(&layout, 5, "").unwrap_err().code(), tonic::Code::FailedPrecondition);
        assert_eq!(layout.blob_size(&digest), None);

        let mut good = layout.ingest().unwrap();
        good.write(b"xx").unwrap();
        good.truncate().unwrap();
        good.write(b"hello").unwrap();
        assert_eq!(good.commit(&layout, 5, &digest).unwrap(), digest);
        assert_eq!(layout.blob_size(&digest), Some(5));
        assert_eq!(std::fs::read_dir(dir.path().join("ingest")).unwrap().count(), 0, "no ingest left behind");

        let mut again = layout.ingest().unwrap();
        again.write(b"hello").unwrap();
        assert_eq!(again.commit(&layout, 5, &digest).unwrap_err().code(), tonic::Code::AlreadyExists);
    }

    /// Stores `data` as a blob of `layout` and returns an index descriptor for it.
    fn put_blob(layout: &OciLayout, data: &[u8]) -> serde_json::Value {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
        std::fs::write(layout.blob_path(&digest).unwrap(), data).unwrap();
        serde_json::json!({ "mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": data.len() })
    }

    #[test]
    fn index_tags_replace_the_same_tag_and_keep_others() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::create(dir.path()).unwrap();
        let blob = |data: &[u8]| put_blob(&layout, data);
        let (one, two, other) = (blob(b"1"), blob(b"2"), blob(b"3"));
        layout.put_tag("latest", &one).unwrap();
        layout.put_tag("other", &other).unwrap();
        layout.put_tag("latest", &two).unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
        assert_eq!(index["schemaVersion"], 2);
        assert_eq!(index["manifests"].as_array().unwrap().len(), 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("oci-layout")).unwrap(),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );

        let opened = OciLayout::open(dir.path()).unwrap();
        assert_eq!(opened.tagged("latest").unwrap()["digest"], two["digest"]);
        assert!(matches!(opened.tagged("nope"), Err(LayoutError::NoTag { .. })));
        std::fs::remove_file(opened.blob_path(two["digest"].as_str().unwrap()).unwrap()).unwrap();
        assert!(matches!(opened.tagged("latest"), Err(LayoutError::MissingBlob { .. })));
        assert!(matches!(OciLayout::open(&dir.path().join("absent")), Err(LayoutError::Missing(_))));
        assert!(matches!(OciLayout::open(&dir.path().join("blobs")), Err(LayoutError::NotLayout(_))));
    }

    /// A writer as BuildKit's `ociindex.Put`: lock `index.json.lock`, read, (take its time),
    /// write in place, unlock, remove the lock file.
    fn put_as_buildkit_client(
        dir: &Path,
        tag: &str,
        descriptor: serde_json::Value,
        locked: std::sync::mpsc::Sender<()>,
    ) {
        let lock_path = dir.join(INDEX_LOCK);
        let lock =
            std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&lock_path).unwrap();
        lock.try_lock().unwrap();
        let mut index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        locked.send(()).unwrap();
        // Long enough for a writer that ignores the lock to read and write in between.
        std::thread::sleep(Duration::from_millis(300));
        let mut entry = descriptor;
        entry["annotations"] = serde_json::json!({ REF_NAME: tag });
        index["manifests"].as_array_mut().unwrap().push(entry);
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
        drop(lock);
        let _ = std::fs::remove_file(lock_path);
    }

    #[test]
    fn a_tag_waits_for_the_index_lock_buildkits_client_holds_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let layout = OciLayout::create(dir.path()).unwrap();
        let blob = |data: &[u8]| put_blob(&layout, data);
        let (first, theirs, ours) = (blob(b"1"), blob(b"2"), blob(b"3"));
        layout.put_tag("first", &first).unwrap();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let path = dir.path().to_path_buf();
        let buildx = std::thread::spawn(move || put_as_buildkit_client(&path, "theirs", theirs, locked));
        is_locked.recv().unwrap();
        layout.put_tag("ours", &ours).unwrap();
        buildx.join().unwrap();
        let opened = OciLayout::open(dir.path()).unwrap();
        for tag in ["first", "theirs", "ours"] {
            opened.tagged(tag).unwrap_or_else(|e| panic!("{tag}: {e}"));
        }
        assert!(!dir.path().join(INDEX_LOCK).exists(), "no lock file is left behind");
    }

    #[test]
    fn digests_outside_sha256_have_no_path() {
        let layout = OciLayout { root: PathBuf::from("/x") };
        assert_eq!(layout.blob_path("sha512:abc"), None);
        assert_eq!(layout.blob_path(&format!("sha256:{}", "A".repeat(64))), None);
        assert_eq!(layout.blob_path("sha256:../../etc/passwd"), None);
    }
}
