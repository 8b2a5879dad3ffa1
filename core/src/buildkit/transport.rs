//! Ways to reach BuildKit's gRPC API. bollard keeps its `/grpc` hijack private, so the engine
//! transport is written here: an HTTP/1.1 `POST /grpc` with `Upgrade: h2c`, after which the raw
//! connection speaks gRPC over HTTP/2 (prior knowledge). An `ssh://` engine is upgraded over
//! `ssh … docker system dial-stdio`, as the docker CLI and buildx reach it.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tonic::transport::{Channel, Endpoint, Uri};
use tracing::instrument;

use super::tls::{TlsClient, TlsOptions};
use crate::ssh::SshEndpoint;

/// BuildKit and the engine allow messages up to 16 MiB each way.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// A byte stream a gRPC channel can run over.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Connection for T {}

pub type BoxedConnection = Pin<Box<dyn Connection>>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("engine at {host} unreachable: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("engine at {host} refused the BuildKit upgrade on {path}: {status_line}")]
    UpgradeRefused { host: String, path: String, status_line: String },
    #[error("engine host \"{0}\" cannot carry BuildKit (use unix://, tcp:// or ssh://)")]
    UnsupportedHost(String),
    #[error("BuildKit at {host}: {reason}")]
    Grpc { host: String, reason: String },
    #[error("BuildKit at {address} unreachable: {reason}")]
    BuildkitUnreachable { address: String, reason: String },
    #[error("cannot use the {what} {} for BuildKit at {address}: {reason}", .path.display())]
    TlsFile { address: String, what: &'static str, path: PathBuf, reason: String },
    #[error("BuildKit at {address}: certificate signed by unknown authority (the daemon's certificate is not signed by the CA in {})", .ca.display())]
    TlsUnknownAuthority { address: String, ca: PathBuf },
    #[error("BuildKit at {address}: the daemon's certificate is not valid for the name {server_name} (driver-opt servername)")]
    TlsNameMismatch { address: String, server_name: String },
    #[error(
        "BuildKit at {address} requires a client certificate: give the builder driver-opts cert=FILE and key=FILE"
    )]
    TlsClientCertificateRequired { address: String },
    #[error("BuildKit at {address} refused the client certificate {}: {reason}", .cert.display())]
    TlsClientCertificateRejected { address: String, cert: PathBuf, reason: String },
    #[error("BuildKit at {address}: TLS handshake failed: {reason}")]
    Tls { address: String, reason: String },
}

/// Opens a connection to the engine at `host` (`unix://…` or `tcp://…`).
async fn dial(host: &str) -> std::io::Result<BoxedConnection> {
    if let Some(path) = host.strip_prefix("unix://") {
        Ok(Box::pin(tokio::net::UnixStream::connect(path).await?))
    } else if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Box::pin(stream))
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::Unsupported, format!("unsupported host {host}")))
    }
}

/// Opens a connection to the engine at `host`: as [`dial`], or through `ssh … docker system dial-stdio`
/// for an `ssh://` engine (only an engine: a BuildKit daemon's address is never dialed over ssh).
async fn dial_engine(host: &str) -> std::io::Result<BoxedConnection> {
    if host.starts_with("ssh://") {
        let endpoint = SshEndpoint::parse(host).map_err(std::io::Error::other)?;
        Ok(Box::pin(endpoint.dial().await.map_err(std::io::Error::other)?))
    } else {
        dial(host).await
    }
}

/// Performs the engine's HTTP upgrade on `path` (`/grpc` or `/session`) and returns the raw connection.
/// The response head is read byte by byte so that no HTTP/2 byte after it is swallowed.
#[instrument(skip(headers))]
pub async fn upgrade(host: &str, path: &str, headers: &[(String, String)]) -> Result<BoxedConnection, TransportError> {
    if !["unix://", "tcp://", "http://", "ssh://"].iter().any(|scheme| host.starts_with(scheme)) {
        return Err(TransportError::UnsupportedHost(host.to_owned()));
    }
    let unreachable =
        |e: std::io::Error| TransportError::Unreachable { host: host.to_owned(), reason: crate::io_error::reason(&e) };
    let mut conn = dial_engine(host).await.map_err(unreachable)?;
    let mut request =
        format!("POST {path} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    conn.write_all(request.as_bytes()).await.map_err(unreachable)?;
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return Err(TransportError::UpgradeRefused {
                host: host.to_owned(),
                path: path.to_owned(),
                status_line: "response head too long".into(),
            });
        }
        let byte = conn.read_u8().await.map_err(unreachable)?;
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    if status_line.split_whitespace().nth(1) != Some("101") {
        return Err(TransportError::UpgradeRefused { host: host.to_owned(), path: path.to_owned(), status_line });
    }
    Ok(conn)
}

/// A gRPC channel to the BuildKit embedded in the engine at `host` (the docker driver). Each
/// (re)connection performs a fresh `/grpc` upgrade.
#[instrument]
pub async fn engine_channel(host: &str) -> Result<Channel, TransportError> {
    let target = host.to_owned();
    let connector = tower::service_fn(move |_: Uri| {
        let target = target.clone();
        async move { upgrade(&target, "/grpc", &[]).await.map(TokioIo::new) }
    });
    Endpoint::from_static("http://buildkit.engine").connect_with_connector(connector).await.map_err(|e| {
        match find_transport_error(&e) {
            Some(TransportError::Unreachable { host, reason }) => {
                TransportError::Unreachable { host: host.clone(), reason: reason.clone() }
            }
            Some(TransportError::UpgradeRefused { host, path, status_line }) => TransportError::UpgradeRefused {
                host: host.clone(),
                path: path.clone(),
                status_line: status_line.clone(),
            },
            _ => TransportError::Grpc { host: host.to_owned(), reason: crate::io_error::innermost_reason(&e) },
        }
    })
}

/// A gRPC channel straight to a BuildKit daemon listening on `unix://…` or `tcp://…` (the remote
/// driver), over TLS when the node has TLS options. The certificate files are read once here.
#[instrument(skip(tls))]
pub async fn remote_channel(address: &str, tls: Option<&TlsOptions>) -> Result<Channel, TransportError> {
    let tls = tls.map(|options| TlsClient::load(address, options)).transpose()?.map(Arc::new);
    let target = address.to_owned();
    let connector = tower::service_fn(move |_: Uri| {
        let target = target.clone();
        let tls = tls.clone();
        async move {
            let conn = dial(&target).await.map_err(|e| TransportError::BuildkitUnreachable {
                address: target.clone(),
                reason: crate::io_error::reason(&e),
            })?;
            let conn: BoxedConnection = match tls {
                Some(tls) => Box::pin(tls.connect(conn).await?),
                None => conn,
            };
            Ok::<_, TransportError>(TokioIo::new(conn))
        }
    });
    Endpoint::from_static("http://buildkit.remote").connect_with_connector(connector).await.map_err(|e| {
        find_transport_error(&e).cloned().unwrap_or_else(|| TransportError::BuildkitUnreachable {
            address: address.to_owned(),
            reason: crate::io_error::innermost_reason(&e),
        })
    })
}

fn find_transport_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a TransportError> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<TransportError>() {
            return Some(found);
        }
        // An io::Error's source() skips the error it wraps: look inside it too.
        let wrapped = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if let Some(found) = wrapped.and_then(|inner| inner.downcast_ref::<TransportError>()) {
            return Some(found);
        }
        current = e.source();
    }
    None
}
