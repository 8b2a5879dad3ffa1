//! The FileSync service: BuildKit pulls the build context (and the Dockerfile's folder) from the
//! client through `DiffCopy`, with the client as fsutil's sender.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use bollard::fsutil::types::packet::PacketType;
use bollard::fsutil::types::Packet;
use bollard::moby::filesync::packet::file_sync_server::FileSync;
use std::io::Read;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, instrument};

use super::walk::{self, Entry, Filter};

/// Bytes per data packet: large enough to amortise framing, small enough for gRPC's limits.
const CHUNK: usize = 512 * 1024;

/// The local folders a build exposes, by the names the frontend asks for (`context`, `dockerfile`).
#[derive(Debug, Clone, Default)]
pub struct LocalDirs(pub Arc<HashMap<String, PathBuf>>);

/// Reads a metadata key's values; values of non-ASCII patterns arrive query-escaped with a
/// `<key>-encoded` flag.
fn metadata_values(request: &tonic::metadata::MetadataMap, key: &str) -> Vec<String> {
    let encoded = request.get(format!("{key}-encoded").as_str()).is_some();
    request
        .get_all(key)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| if encoded { query_unescape(v) } else { v.to_owned() })
        .collect()
}

fn query_unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tonic::async_trait]
impl FileSync for LocalDirs {
    type DiffCopyStream = ReceiverStream<Result<Packet, Status>>;
    type TarStreamStream = ReceiverStream<Result<Packet, Status>>;

    #[instrument(skip_all, fields(dir))]
    async fn diff_copy(&self, request: Request<Streaming<Packet>>) -> Result<Response<Self::DiffCopyStream>, Status> {
        let meta = request.metadata();
        let name = metadata_values(meta, "dir-name").into_iter().next().unwrap_or_default();
        tracing::Span::current().record("dir", name.as_str());
        let root =
            self.0.get(&name).cloned().ok_or_else(|| Status::not_found(format!("no local folder named {name:?}")))?;
        let filter = Filter {
            include: metadata_values(meta, "include-patterns"),
            exclude: metadata_values(meta, "exclude-patterns"),
            follow: metadata_values(meta, "followpaths"),
        };
        debug!(?root, ?filter, "sending local folder");
        let inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(128);
        tokio::spawn(async move {
            if let Err(status) = send(root, filter, inbound, &tx).await {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn tar_stream(&self, _: Request<Streaming<Packet>>) -> Result<Response<Self::TarStreamStream>, Status> {
        Err(Status::unimplemented("Buildlane sends contexts with DiffCopy"))
    }
}

fn packet(kind: PacketType) -> Packet {
    Packet { r#type: kind as i32, ..Default::default() }
}

async fn send(
    root: PathBuf,
    filter: Filter,
    mut inbound: Streaming<Packet>,
    tx: &mpsc::Sender<Result<Packet, Status>>,
) -> Result<(), Status> {
    let closed = || Status::cancelled("BuildKit closed the transfer");
    let entries: Vec<Entry> = tokio::task::spawn_blocking(move || walk::walk(&root, &filter))
        .await
        .map_err(|e| Status::internal(e.to_string()))?
        .map_err(|e| Status::failed_precondition(e.to_string()))?;
    for entry in &entries {
        let stat = Packet { stat: Some(entry.stat.clone()), ..packet(PacketType::PacketStat) };
        tx.send(Ok(stat)).await.map_err(|_| closed())?;
    }
    tx.send(Ok(packet(PacketType::PacketStat))).await.map_err(|_| closed())?;
    // Read BuildKit's requests as soon as they arrive: it pipelines one small message per file, and
    // h2 refuses a peer whose small DATA frames stay unread in its buffers (flood protection).
    let (requests_tx, mut requests) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let next = inbound.message().await;
            let done = !matches!(next, Ok(Some(_)));
            if requests_tx.send(next).is_err() || done {
                break;
            }
        }
    });
    // File data is served from one blocking thread: a context of many small files would otherwise
    // pay a thread hand-off for every open and read.
    let tx = tx.clone();
    tokio::task::spawn_blocking(move || serve_requests(&entries, &mut requests, &tx))
        .await
        .map_err(|e| Status::internal(e.to_string()))?
}

type Requests = mpsc::UnboundedReceiver<Result<Option<Packet>, Status>>;

fn serve_requests(
    entries: &[Entry],
    requests: &mut Requests,
    tx: &mpsc::Sender<Result<Packet, Status>>,
) -> Result<(), Status> {
    let closed = || Status::cancelled("BuildKit closed the transfer");
    let mut buf = vec![0u8; CHUNK];
    while let Some(incoming) = requests.blocking_recv().transpose()?.flatten() {
        match PacketType::try_from(incoming.r#type) {
            Ok(PacketType::PacketReq) => {
                let entry = entries
                    .get(incoming.id as usize)
                    .ok_or_else(|| Status::invalid_argument(format!("no file with id {}", incoming.id)))?;
                // As fsutil's sender: what cannot be opened is sent empty (a socket, which goes as a
                // file). Only regular files are opened, never a pipe, whose open would wait for a writer.
                let file = entry.source.as_ref().and_then(|path| std::fs::File::open(path).ok().map(|f| (path, f)));
                if let Some((path, mut file)) = file {
                    loop {
                        let n =
                            file.read(&mut buf).map_err(|e| Status::internal(format!("{}: {e}", path.display())))?;
                        if n == 0 {
                            break;
                        }
                        let data =
                            Packet { id: incoming.id, data: buf[..n].to_vec(), ..packet(PacketType::PacketData) };
                        tx.blocking_send(Ok(data)).map_err(|_| closed())?;
                    }
                }
                let end = Packet { id: incoming.id, ..packet(PacketType::PacketData) };
                tx.blocking_send(Ok(end)).map_err(|_| closed())?;
            }
            Ok(PacketType::PacketFin) => {
                tx.blocking_send(Ok(packet(PacketType::PacketFin))).map_err(|_| closed())?;
                return Ok(());
            }
            Ok(PacketType::PacketErr) => {
                return Err(Status::aborted(String::from_utf8_lossy(&incoming.data).into_owned()));
            }
            _ => return Err(Status::invalid_argument(format!("unexpected packet type {}", incoming.r#type))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::query_unescape;

    #[test]
    fn escaped_patterns_are_decoded() {
        assert_eq!(query_unescape("caf%C3%A9%2A.txt"), "café*.txt");
        assert_eq!(query_unescape("a+b"), "a b");
        assert_eq!(query_unescape("100%"), "100%");
    }
}
