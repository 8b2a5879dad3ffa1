//! A BuildKit session: the gRPC services the client serves for the duration of a build (health,
//! the build context, outputs). With the docker driver the engine's `/session` upgrade carries it,
//! and after the upgrade the client is the HTTP/2 server.

pub mod auth;
pub mod content;
mod file_mode;
pub mod filesend;
pub mod filesync;
pub mod patterns;
pub mod receiver;
pub mod secrets;
pub mod ssh_agent;
pub mod ssh_keyring;
pub mod walk;

use std::collections::HashMap;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bollard::health::health_check_response::ServingStatus;
use bollard::health::health_server::{Health, HealthServer};
use bollard::health::{HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse};
use bollard::moby::buildkit::secrets::v1::secrets_server::SecretsServer;
use bollard::moby::buildkit::v1::BytesMessage;
use bollard::moby::filesync::packet::file_sync_server::FileSyncServer;
use bollard::moby::filesync::v1::auth_server::AuthServer;
use bollard::moby::sshforward::v1::ssh_server::SshServer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::transport::server::Connected;
use tonic::{Request, Response, Status};
use tracing::{instrument, warn};

use crate::buildkit::transport::{self, BoxedConnection, TransportError, MAX_MESSAGE_BYTES};
use crate::buildkit::{BuildkitError, Control};
use crate::docker_config::credentials::CredentialStore;
use filesend::{OutputDestination, Outputs};
use filesync::LocalDirs;
use secrets::SecretStore;
use ssh_agent::SshAgents;

const HEALTH_CHECK: &str = "/grpc.health.v1.Health/Check";
const FILESYNC_DIFFCOPY: &str = "/moby.filesync.v1.FileSync/DiffCopy";
const FILESEND_DIFFCOPY: &str = "/moby.filesync.v1.FileSend/DiffCopy";
const SECRETS_GET: &str = "/moby.buildkit.secrets.v1.Secrets/GetSecret";
const SSH_METHODS: [&str; 2] = ["/moby.sshforward.v1.SSH/CheckAgent", "/moby.sshforward.v1.SSH/ForwardAgent"];
const AUTH_METHODS: [&str; 4] = [
    "/moby.filesync.v1.Auth/Credentials",
    "/moby.filesync.v1.Auth/FetchToken",
    "/moby.filesync.v1.Auth/GetTokenAuthority",
    "/moby.filesync.v1.Auth/VerifyTokenAuthority",
];
/// Bytes buffered between the Session stream and the session's HTTP/2 server.
const PIPE_BYTES: usize = 256 * 1024;
const SESSION_CONNECTION_WINDOW: u32 = 1 << 30;
const SESSION_STREAM_WINDOW: u32 = 16 << 20;

/// What the session offers BuildKit.
#[derive(Debug, Clone, Default)]
pub struct SessionServices {
    /// Local folders by name (`context`, `dockerfile`).
    pub dirs: HashMap<String, PathBuf>,
    /// Where each exporter's tarball or folder goes, by its id (its index in the Solve's
    /// exporters); exporters that push or load in the builder send nothing back.
    pub outputs: HashMap<usize, OutputDestination>,
    /// Registry credentials to answer BuildKit's Auth requests with.
    pub credentials: Option<CredentialStore>,
    /// Secrets `RUN --mount=type=secret` may read.
    pub secrets: SecretStore,
    /// The ssh-agents `RUN --mount=type=ssh` may use.
    pub ssh: SshAgents,
    /// Local cache folders (OCI layouts) by store id (`local:` + the cache entry's `dest`/`src`).
    pub content: HashMap<String, content::OciLayout>,
}

/// A running session; dropping it closes it.
#[derive(Debug)]
pub struct Session {
    id: String,
    stop: CancellationToken,
}

impl Session {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Opens a session with the engine at `host` through its `/session` upgrade and serves it.
    #[instrument(skip(services))]
    pub async fn attach_engine(
        host: &str,
        name: &str,
        shared_key: &str,
        services: SessionServices,
    ) -> Result<Session, TransportError> {
        let id = new_id();
        let methods = exposed_methods(&services);
        let mut headers = vec![
            ("X-Docker-Expose-Session-Uuid".to_owned(), id.clone()),
            ("X-Docker-Expose-Session-Name".to_owned(), name.to_owned()),
            ("X-Docker-Expose-Session-Sharedkey".to_owned(), shared_key.to_owned()),
        ];
        headers.extend(methods.iter().map(|m| ("X-Docker-Expose-Session-Grpc-Method".to_owned(), m.to_string())));
        let connection = transport::upgrade(host, "/session", &headers).await?;
        let stop = CancellationToken::new();
        tokio::spawn(serve(connection, services, stop.clone()));
        Ok(Session { id, stop })
    }
}

impl Session {
    /// Opens a session inside BuildKit's own `Control.Session` stream (docker-container and remote
    /// builders): the stream's messages carry the raw HTTP/2 bytes, the session headers go as
    /// gRPC metadata.
    #[instrument(skip(control, services), fields(endpoint = %control.endpoint()))]
    pub async fn attach_control(
        control: &Control,
        name: &str,
        shared_key: &str,
        services: SessionServices,
    ) -> Result<Session, BuildkitError> {
        let id = new_id();
        let (to_buildkit, outbound) = mpsc::channel::<BytesMessage>(64);
        let mut request = Request::new(ReceiverStream::new(outbound));
        let metadata = request.metadata_mut();
        let value = |v: &str| {
            MetadataValue::try_from(v)
                .map_err(|e| control.call_error("Session", Status::invalid_argument(e.to_string())))
        };
        metadata.insert("x-docker-expose-session-uuid", value(&id)?);
        metadata.insert("x-docker-expose-session-name", value(name)?);
        metadata.insert("x-docker-expose-session-sharedkey", value(shared_key)?);
        for method in exposed_methods(&services) {
            metadata.append("x-docker-expose-session-grpc-method", value(method)?);
        }
        let mut from_buildkit =
            control.client().session(request).await.map_err(|s| control.call_error("Session", s))?.into_inner();
        let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
        let (mut theirs_read, mut theirs_write) = tokio::io::split(theirs);
        let pump_in = tokio::spawn(async move {
            while let Ok(Some(message)) = from_buildkit.message().await {
                if theirs_write.write_all(&message.data).await.is_err() {
                    break;
                }
            }
            let _ = theirs_write.shutdown().await;
        });
        let pump_out = tokio::spawn(async move {
            let mut buf = vec![0u8; PIPE_BYTES];
            while let Ok(n) = theirs_read.read(&mut buf).await {
                if n == 0 || to_buildkit.send(BytesMessage { data: buf[..n].to_vec() }).await.is_err() {
                    break;
                }
            }
        });
        // The pumps end on their own once the server closes the connection.
        drop((pump_in, pump_out));
        let stop = CancellationToken::new();
        tokio::spawn(serve(Box::pin(ours), services, stop.clone()));
        Ok(Session { id, stop })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The gRPC methods the session announces, by what it serves.
fn exposed_methods(services: &SessionServices) -> Vec<&'static str> {
    // SSH is offered with no agents too, as buildx offers it: a step that mounts one hears
    // "unset ssh forward key default" rather than that the client forwards none.
    let mut methods = vec![HEALTH_CHECK, FILESYNC_DIFFCOPY];
    methods.extend(SSH_METHODS);
    if !services.outputs.is_empty() {
        methods.push(FILESEND_DIFFCOPY);
    }
    if services.credentials.is_some() {
        methods.extend(AUTH_METHODS);
    }
    if !services.secrets.0.is_empty() {
        methods.push(SECRETS_GET);
    }
    if !services.content.is_empty() {
        methods.extend(content::METHODS);
    }
    methods
}

/// Serves the session on its one connection until `stop`, then closes it gracefully (BuildKit then
/// forgets the session).
async fn serve(connection: BoxedConnection, services: SessionServices, stop: CancellationToken) {
    let dirs = LocalDirs(Arc::new(services.dirs));
    let filesync = FileSyncServer::new(dirs)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    let router = tonic::transport::Server::builder()
        // BuildKit asks for every file of a context in its own small message; h2 budgets small
        // DATA frames against half the connection window, so a large window lets a context of
        // tens of thousands of files through (and speeds up the transfer).
        .initial_connection_window_size(SESSION_CONNECTION_WINDOW)
        .initial_stream_window_size(SESSION_STREAM_WINDOW)
        .add_service(HealthServer::new(Serving))
        .add_service(filesync)
        .add_service(SshServer::new(services.ssh))
        .add_optional_service((!services.secrets.0.is_empty()).then(|| SecretsServer::new(services.secrets)))
        .add_optional_service(
            (!services.content.is_empty()).then(|| content::ContentStores(Arc::new(services.content)).server()),
        )
        .add_optional_service(services.credentials.map(|store| AuthServer::new(auth::Credentials(store))))
        .add_optional_service((!services.outputs.is_empty()).then(|| Outputs::new(services.outputs)));
    // One connection, then nothing: the server must not read the end of `incoming` as its own end.
    let incoming = tokio_stream::StreamExt::chain(
        tokio_stream::once(Ok::<_, std::io::Error>(SessionIo(connection))),
        tokio_stream::pending(),
    );
    if let Err(e) = router.serve_with_incoming_shutdown(incoming, stop.cancelled_owned()).await {
        warn!(error = %e, "session ended with an error");
    }
}

/// A 25-character base36 id, the shape BuildKit uses for sessions and build refs.
pub fn new_id() -> String {
    let mut n: u128 = rand::random();
    let mut id = String::with_capacity(25);
    for _ in 0..25 {
        id.push(char::from_digit((n % 36) as u32, 36).expect("digit below 36"));
        n /= 36;
    }
    id
}

/// The health service BuildKit polls every few seconds; the session is healthy while it runs.
struct Serving;

#[tonic::async_trait]
impl Health for Serving {
    type WatchStream = ReceiverStream<Result<HealthCheckResponse, Status>>;

    async fn check(&self, _: Request<HealthCheckRequest>) -> Result<Response<HealthCheckResponse>, Status> {
        Ok(Response::new(HealthCheckResponse { status: ServingStatus::Serving as i32 }))
    }

    async fn list(&self, _: Request<HealthListRequest>) -> Result<Response<HealthListResponse>, Status> {
        Err(Status::unimplemented("only Check is served"))
    }

    async fn watch(&self, _: Request<HealthCheckRequest>) -> Result<Response<Self::WatchStream>, Status> {
        Err(Status::unimplemented("only Check is served"))
    }
}

/// The upgraded connection, as tonic's server wants its connections.
struct SessionIo(BoxedConnection);

impl Connected for SessionIo {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for SessionIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll_read(cx, buf)
    }
}

impl AsyncWrite for SessionIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.0.as_mut().poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.0.as_mut().poll_shutdown(cx)
    }
}
