//! The FileSend service: BuildKit sends each exporter's output back to the client, either a
//! tarball (oci, docker, tar exporters) as raw bytes, into a file or the engine's image load, or a
//! folder (local exporter) as fsutil packets, on the same method. A build of several outputs has
//! one destination per exporter, told apart by the exporter's id BuildKit sends with the call.

use std::collections::HashMap;
use std::convert::Infallible;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};

use bollard::fsutil::types::Packet;
use bollard::moby::filesync::packet::file_send_server::{
    FileSend as PacketFileSend, FileSendServer as PacketFileSendServer,
};
use bollard::moby::filesync::v1::file_send_server::{FileSend, FileSendServer, SERVICE_NAME};
use bollard::moby::filesync::v1::BytesMessage;
use bollard::query_parameters::ImportImageOptions;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codegen::{http, Body, BoxFuture, Service, StdError};
use tonic::server::NamedService;
use tonic::{Request, Response, Status, Streaming};
use tracing::{instrument, Instrument};

use super::receiver;
use crate::buildkit::transport::MAX_MESSAGE_BYTES;
use crate::engine::{Engine, EngineError};

/// The gRPC metadata key BuildKit 0.13 names the exporter by on each FileSend call (its index in
/// the Solve's exporters); daemons before it send none, and export once: exporter 0.
const EXPORTER_ID: &str = "buildkit-attachable-exporter-id";

/// Where one exporter's output goes.
#[derive(Debug, Clone)]
pub enum OutputDestination {
    Tarball(TarballDestination),
    Folder(PathBuf),
}

/// The session's FileSend service: each call to the destination of the exporter it names.
#[derive(Clone)]
pub struct Outputs(Arc<HashMap<usize, Receiving>>);

#[derive(Clone)]
enum Receiving {
    Tarball(FileSendServer<TarballDestination>),
    Folder(PacketFileSendServer<FolderDestination>),
}

impl Outputs {
    /// `destinations` by exporter id.
    pub fn new(destinations: HashMap<usize, OutputDestination>) -> Self {
        let receiving = destinations.into_iter().map(|(id, destination)| {
            let receiving = match destination {
                OutputDestination::Tarball(dest) => {
                    Receiving::Tarball(FileSendServer::new(dest).max_decoding_message_size(MAX_MESSAGE_BYTES))
                }
                OutputDestination::Folder(dest) => Receiving::Folder(
                    PacketFileSendServer::new(FolderDestination(dest)).max_decoding_message_size(MAX_MESSAGE_BYTES),
                ),
            };
            (id, receiving)
        });
        Outputs(Arc::new(receiving.collect()))
    }
}

impl NamedService for Outputs {
    const NAME: &'static str = SERVICE_NAME;
}

impl<B> Service<http::Request<B>> for Outputs
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // As BuildKit's client chooses: an id that is missing or not a number is exporter 0.
        let id = request
            .headers()
            .get(EXPORTER_ID)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        tracing::debug!(exporter = id, "the builder sends an output");
        match self.0.get(&id).cloned() {
            Some(Receiving::Tarball(mut server)) => server.call(request),
            Some(Receiving::Folder(mut server)) => server.call(request),
            None => {
                let refused = Status::not_found(format!("exporter {id} not found")).into_http();
                Box::pin(async move { Ok(refused) })
            }
        }
    }
}

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

/// Writes the tarball under a temporary name of its own in the destination's folder and renames
/// it into place at the end: two outputs into one folder never share a temporary file, and a
/// failed or cancelled export (this future dropped with its session) leaves none behind.
async fn write_file(dest: &Path, mut inbound: Streaming<BytesMessage>) -> Result<(), Status> {
    let io = |e: std::io::Error| Status::internal(format!("cannot write {}: {e}", dest.display()));
    let folder = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // 0666 less the umask, as the file `os.Create` makes for buildx.
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(folder)
        .map_err(io)?;
    let mut file = tokio::fs::File::from_std(partial.reopen().map_err(io)?);
    while let Some(message) = inbound.message().await? {
        file.write_all(&message.data).await.map_err(io)?;
    }
    file.flush().await.map_err(io)?;
    file.sync_all().await.map_err(io)?;
    drop(file);
    partial.persist(dest).map_err(|e| io(e.error))?;
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
/// receives them into this folder (see [`super::receiver`] for what it accepts and how it writes).
#[derive(Debug, Clone)]
pub struct FolderDestination(pub PathBuf);

/// Replies (data requests, FIN) queued for BuildKit.
const PACKET_QUEUE: usize = 64;

#[tonic::async_trait]
impl PacketFileSend for FolderDestination {
    type DiffCopyStream = ReceiverStream<Result<Packet, Status>>;

    #[instrument(skip_all, fields(dest = %self.0.display()))]
    async fn diff_copy(&self, request: Request<Streaming<Packet>>) -> Result<Response<Self::DiffCopyStream>, Status> {
        let mut inbound = request.into_inner();
        let (replies, rx) = tokio::sync::mpsc::channel(PACKET_QUEUE);
        let root = self.0.clone();
        tokio::spawn(
            async move {
                if let Err(e) = receiver::receive(&root, &mut inbound, &replies).await {
                    tracing::warn!(error = %e, "refused or failed a local output");
                    let _ = replies.send(Err(Status::from(e))).await;
                }
            }
            .instrument(tracing::Span::current()),
        );
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
