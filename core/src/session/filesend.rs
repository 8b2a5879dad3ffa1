//! The FileSend service: BuildKit sends an output back to the client, either a tarball (oci, docker,
//! tar exporters) as raw bytes, into a file or the engine's image load, or a folder (local
//! exporter) as fsutil packets.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bollard::fsutil::types::packet::PacketType;
use bollard::fsutil::types::Packet;
use bollard::moby::filesync::packet::file_send_server::FileSend as PacketFileSend;
use bollard::moby::filesync::v1::file_send_server::FileSend;
use bollard::moby::filesync::v1::BytesMessage;
use bollard::query_parameters::ImportImageOptions;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::Sender;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::instrument;

use crate::engine::{Engine, EngineError};

// Go's os.FileMode bits the receiver acts on.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
/// Every non-regular type bit (dir, symlink, device, pipe, socket, char device, irregular).
const MODE_TYPE_BITS: u32 = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

/// Where a tarball output goes.
#[derive(Debug, Clone)]
pub enum TarballDestination {
    /// A file (oci, docker, tar outputs).
    File(PathBuf),
    /// The engine's image store, through its image load API (`docker load`): `--load` on builders
    /// other than the engine's own. The tarball is streamed, never held whole in memory.
    Engine(Box<Engine>),
}

/// Chunks of the tarball in flight between BuildKit and the engine.
const LOAD_QUEUE: usize = 16;

#[tonic::async_trait]
impl FileSend for TarballDestination {
    type DiffCopyStream = ReceiverStream<Result<BytesMessage, Status>>;

    #[instrument(skip_all)]
    async fn diff_copy(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::DiffCopyStream>, Status> {
        let inbound = request.into_inner();
        match self {
            TarballDestination::File(dest) => write_file(dest, inbound).await?,
            TarballDestination::Engine(engine) => load_into(engine, inbound).await?,
        }
        let (_, rx) = tokio::sync::mpsc::channel(1);
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

async fn write_file(dest: &Path, mut inbound: Streaming<BytesMessage>) -> Result<(), Status> {
    let io = |e: std::io::Error| Status::internal(format!("cannot write {}: {e}", dest.display()));
    // Written beside the destination and renamed at the end, so a failed build leaves no half file.
    let partial = dest.with_extension("partial");
    let mut file = tokio::fs::File::create(&partial).await.map_err(io)?;
    while let Some(message) = inbound.message().await? {
        file.write_all(&message.data).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    tokio::fs::rename(&partial, dest).await.map_err(io)?;
    Ok(())
}

/// Streams the tarball into the engine's image load as it arrives and returns once the engine has
/// loaded it, so the build ends with the image in place; the engine's refusal fails the export.
async fn load_into(engine: &Engine, mut inbound: Streaming<BytesMessage>) -> Result<(), Status> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(LOAD_QUEUE);
    let options = ImportImageOptions { quiet: true, platform: None };
    let load = engine.docker().import_image_stream(options, ReceiverStream::new(rx), None);
    let host = engine.host().to_owned();
    let loading = tokio::spawn(async move {
        let mut load = std::pin::pin!(load);
        while let Some(item) = load.next().await {
            item.map_err(|e| match e {
                bollard::errors::Error::DockerStreamError { error } => error,
                other => EngineError::from_bollard(&host, other).to_string(),
            })?;
        }
        Ok::<(), String>(())
    });
    let mut sent = 0u64;
    loop {
        match inbound.message().await {
            Ok(Some(message)) => {
                sent += message.data.len() as u64;
                // A closed queue means the engine stopped reading: its answer below says why.
                if tx.send(Ok(Bytes::from(message.data))).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(status) => {
                // Abort the upload rather than hand the engine a truncated tarball.
                let _ = tx.send(Err(std::io::Error::other("the build stopped sending the image"))).await;
                return Err(status);
            }
        }
    }
    drop(tx);
    match loading.await {
        Ok(Ok(())) => {
            tracing::debug!(bytes = sent, "loaded into the engine");
            Ok(())
        }
        Ok(Err(reason)) => {
            Err(Status::internal(format!("the engine at {} did not load the image: {reason}", engine.host())))
        }
        Err(e) => Err(Status::internal(format!("loading into the engine at {} stopped: {e}", engine.host()))),
    }
}

/// Where a `local` output goes: BuildKit sends the result's files as fsutil's sender, the client
/// receives them into this folder.
#[derive(Debug, Clone)]
pub struct FolderDestination(pub PathBuf);

#[tonic::async_trait]
impl PacketFileSend for FolderDestination {
    type DiffCopyStream = ReceiverStream<Result<Packet, Status>>;

    #[instrument(skip_all, fields(dest = %self.0.display()))]
    async fn diff_copy(&self, request: Request<Streaming<Packet>>) -> Result<Response<Self::DiffCopyStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let root = self.0.clone();
        tokio::spawn(async move {
            if let Err(status) = receive(&root, &mut inbound, &tx).await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

fn packet(kind: PacketType, id: u32) -> Packet {
    Packet { r#type: kind as i32, id, ..Default::default() }
}

/// The receiving side of fsutil's DiffCopy: entries arrive as stats (folders first), then the data
/// of every regular file is asked for by its index and written; FIN ends it.
async fn receive(
    root: &Path,
    inbound: &mut Streaming<Packet>,
    tx: &Sender<Result<Packet, Status>>,
) -> Result<(), Status> {
    let io = |path: &Path, e: std::io::Error| Status::internal(format!("cannot write {}: {e}", path.display()));
    tokio::fs::create_dir_all(root).await.map_err(|e| io(root, e))?;
    let mut pending: HashMap<u32, (PathBuf, Option<tokio::fs::File>, u32)> = HashMap::new();
    let mut index = 0u32;
    let mut stats_done = false;
    while let Some(incoming) = inbound.message().await? {
        match PacketType::try_from(incoming.r#type) {
            Ok(PacketType::PacketStat) => {
                let Some(stat) = incoming.stat else {
                    stats_done = true;
                    for id in pending.keys() {
                        tx.send(Ok(packet(PacketType::PacketReq, *id)))
                            .await
                            .map_err(|_| Status::cancelled("closed"))?;
                    }
                    if pending.is_empty() {
                        tx.send(Ok(packet(PacketType::PacketFin, 0))).await.map_err(|_| Status::cancelled("closed"))?;
                    }
                    continue;
                };
                let id = index;
                index += 1;
                let path = safe_join(root, &stat.path)?;
                let perm = stat.mode & 0o7777;
                if stat.mode & MODE_DIR != 0 {
                    tokio::fs::create_dir_all(&path).await.map_err(|e| io(&path, e))?;
                    tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm | 0o700))
                        .await
                        .map_err(|e| io(&path, e))?;
                } else if stat.mode & MODE_SYMLINK != 0 {
                    let _ = tokio::fs::remove_file(&path).await;
                    tokio::fs::symlink(&stat.linkname, &path).await.map_err(|e| io(&path, e))?;
                } else if !stat.linkname.is_empty() {
                    let target = safe_join(root, &stat.linkname)?;
                    let _ = tokio::fs::remove_file(&path).await;
                    tokio::fs::hard_link(&target, &path).await.map_err(|e| io(&path, e))?;
                } else if stat.mode & MODE_TYPE_BITS == 0 {
                    pending.insert(id, (path, None, perm));
                }
            }
            Ok(PacketType::PacketData) if stats_done => {
                let Some((path, file, _)) = pending.get_mut(&incoming.id) else {
                    return Err(Status::invalid_argument(format!("data for unrequested file {}", incoming.id)));
                };
                if file.is_none() {
                    *file = Some(tokio::fs::File::create(&*path).await.map_err(|e| io(path, e))?);
                }
                if incoming.data.is_empty() {
                    let (path, file, perm) = pending.remove(&incoming.id).expect("looked up above");
                    drop(file);
                    tokio::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm))
                        .await
                        .map_err(|e| io(&path, e))?;
                    if pending.is_empty() {
                        tx.send(Ok(packet(PacketType::PacketFin, 0))).await.map_err(|_| Status::cancelled("closed"))?;
                    }
                } else {
                    file.as_mut().expect("opened above").write_all(&incoming.data).await.map_err(|e| io(path, e))?;
                }
            }
            Ok(PacketType::PacketFin) => return Ok(()),
            Ok(PacketType::PacketErr) => {
                return Err(Status::aborted(String::from_utf8_lossy(&incoming.data).into_owned()))
            }
            _ => return Err(Status::invalid_argument(format!("unexpected packet type {}", incoming.r#type))),
        }
    }
    Ok(())
}

/// `root/relative`, refusing paths that would leave `root`.
fn safe_join(root: &Path, relative: &str) -> Result<PathBuf, Status> {
    let rel = Path::new(relative);
    if rel.is_absolute() || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(Status::invalid_argument(format!("refusing to write outside the output folder: {relative}")));
    }
    Ok(root.join(rel))
}
