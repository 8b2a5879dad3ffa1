//! The connection to a Docker Engine: reach it through a context (`unix://`, `tcp://` with or without
//! TLS, `ssh://`), ask its version, and keep watching it so the UI can say "engine at … unreachable: …"
//! and notice when it comes back.

use std::time::Duration;

use bollard::{BollardRequest, Docker, API_DEFAULT_VERSION};
use futures_util::Stream;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tracing::instrument;
use ts_rs::TS;

use crate::docker_config::contexts::DockerContext;
use crate::ssh::{SshConnector, SshEndpoint};

/// Seconds bollard waits for an answer to one API call.
const API_TIMEOUT_SECS: u64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine at {host} unreachable: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("engine host \"{host}\" is not supported: {reason}")]
    UnsupportedHost { host: String, reason: String },
    #[error("engine at {host} answered {status}: {message}")]
    Api { host: String, status: u16, message: String },
    #[error("engine at {host}: {source}")]
    Other { host: String, source: bollard::errors::Error },
}

impl EngineError {
    /// Classifies a bollard error from a call to `host`: transport failures become `Unreachable`.
    pub fn from_bollard(host: &str, err: bollard::errors::Error) -> Self {
        use bollard::errors::Error as B;
        match err {
            B::DockerResponseServerError { status_code, message } => {
                EngineError::Api { host: host.to_owned(), status: status_code, message }
            }
            B::SocketNotFoundError(_) => {
                EngineError::Unreachable { host: host.to_owned(), reason: "no such file or directory".into() }
            }
            B::RequestTimeoutError => EngineError::Unreachable { host: host.to_owned(), reason: "timed out".into() },
            B::HyperResponseError { .. }
            | B::HttpClientError { .. }
            | B::IOError { .. }
            | B::HyperLegacyError { .. } => {
                EngineError::Unreachable { host: host.to_owned(), reason: crate::io_error::innermost_reason(&err) }
            }
            other => EngineError::Other { host: host.to_owned(), source: other },
        }
    }

    pub fn is_unreachable(&self) -> bool {
        matches!(self, EngineError::Unreachable { .. })
    }
}

/// What the UI shows about the engine behind the selected context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "state")]
#[ts(export)]
pub enum EngineStatus {
    Reachable { host: String, info: EngineInfo },
    Unreachable { host: String, message: String, retry_in_ms: u64 },
}

/// `docker version`, the parts a user looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EngineInfo {
    pub version: String,
    pub api_version: String,
    pub os: String,
    /// GOARCH of the engine's machine (`amd64`, `arm64`); platforms of other architectures are emulated.
    pub arch: String,
}

/// A connected engine (API version negotiated).
#[derive(Debug, Clone)]
pub struct Engine {
    context: DockerContext,
    docker: Docker,
}

impl Engine {
    /// Connects to the context's engine and negotiates the API version (one round trip).
    #[instrument(skip_all, fields(context = %context.name, host = %context.host))]
    pub async fn connect(context: &DockerContext) -> Result<Engine, EngineError> {
        let host = context.host.as_str();
        let docker = client_for(context)?;
        let docker = docker.negotiate_version().await.map_err(|e| EngineError::from_bollard(host, e))?;
        Ok(Engine { context: context.clone(), docker })
    }

    pub fn context(&self) -> &DockerContext {
        &self.context
    }

    pub fn host(&self) -> &str {
        &self.context.host
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    #[instrument(skip_all, fields(host = %self.context.host))]
    pub async fn info(&self) -> Result<EngineInfo, EngineError> {
        let v = self.docker.version().await.map_err(|e| EngineError::from_bollard(self.host(), e))?;
        Ok(EngineInfo {
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
        })
    }

    /// Whether the engine keeps images in containerd (`driver-type io.containerd.snapshotter.v1`),
    /// which loads OCI tarballs and multi-platform images; buildx asks the same way.
    #[instrument(skip_all, fields(host = %self.context.host))]
    pub async fn containerd_image_store(&self) -> Result<bool, EngineError> {
        let info = self.docker.info().await.map_err(|e| EngineError::from_bollard(self.host(), e))?;
        Ok(info.driver_status.unwrap_or_default().iter().any(|pair| {
            pair.first().map(String::as_str) == Some("driver-type")
                && pair.get(1).map(String::as_str) == Some("io.containerd.snapshotter.v1")
        }))
    }

    #[instrument(skip_all, fields(host = %self.context.host))]
    pub async fn ping(&self) -> Result<(), EngineError> {
        self.docker.ping().await.map(|_| ()).map_err(|e| EngineError::from_bollard(self.host(), e))
    }
}

fn client_for(context: &DockerContext) -> Result<Docker, EngineError> {
    let host = context.host.as_str();
    let result = if host.starts_with("unix://") {
        Docker::connect_with_unix(host, API_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        match &context.tls {
            Some(tls) => {
                Docker::connect_with_ssl(host, &tls.key, &tls.cert, &tls.ca, API_TIMEOUT_SECS, API_DEFAULT_VERSION)
            }
            None => Docker::connect_with_http(host, API_TIMEOUT_SECS, API_DEFAULT_VERSION),
        }
    } else if host.starts_with("ssh://") {
        return ssh_client(host);
    } else {
        return Err(EngineError::UnsupportedHost {
            host: host.to_owned(),
            reason: "Buildlane connects to unix://, tcp:// and ssh:// engines".into(),
        });
    };
    result.map_err(|e| EngineError::from_bollard(host, e))
}

/// The Engine API over `ssh … docker system dial-stdio`, one process per pooled connection, as the
/// docker CLI does. bollard's own ssh feature is not used: it needs a ControlMaster socket, ignores the
/// URL's socket path and does not say why ssh failed.
fn ssh_client(host: &str) -> Result<Docker, EngineError> {
    let endpoint = SshEndpoint::parse(host)
        .map_err(|e| EngineError::UnsupportedHost { host: host.to_owned(), reason: e.to_string() })?;
    let client = Client::builder(TokioExecutor::new()).build(SshConnector::new(endpoint));
    let transport = move |request: BollardRequest| {
        let client = client.clone();
        async move { client.request(request).await.map_err(bollard::errors::Error::from) }
    };
    // Requests need some authority; the docker CLI uses this one for its connection helpers.
    Docker::connect_with_custom_transport(
        transport,
        Some("http://docker.example.com"),
        API_TIMEOUT_SECS,
        API_DEFAULT_VERSION,
    )
    .map_err(|e| EngineError::from_bollard(host, e))
}

/// How often a reachable engine is checked, and the bounds of the back-off while it is unreachable.
#[derive(Debug, Clone, Copy)]
pub struct WatchTiming {
    pub poll: Duration,
    pub first_retry: Duration,
    pub max_retry: Duration,
}

impl Default for WatchTiming {
    fn default() -> Self {
        Self { poll: Duration::from_secs(5), first_retry: Duration::from_secs(1), max_retry: Duration::from_secs(30) }
    }
}

/// Watches a context's engine: yields its status when it changes, retrying with exponential back-off
/// while it is unreachable. The stream never ends; drop it to stop watching.
pub fn watch(context: DockerContext, timing: WatchTiming) -> impl Stream<Item = EngineStatus> {
    struct State {
        context: DockerContext,
        engine: Option<Engine>,
        last: Option<EngineStatus>,
        retry: Duration,
        first: bool,
    }
    let state = State { context, engine: None, last: None, retry: timing.first_retry, first: true };
    futures_util::stream::unfold(state, move |mut s| async move {
        loop {
            if !s.first {
                let wait = if s.engine.is_some() { timing.poll } else { s.retry };
                tokio::time::sleep(wait).await;
            }
            s.first = false;
            let status = match probe(&mut s.engine, &s.context).await {
                Ok(info) => {
                    s.retry = timing.first_retry;
                    EngineStatus::Reachable { host: s.context.host.clone(), info }
                }
                Err(e) => {
                    s.engine = None;
                    let status = EngineStatus::Unreachable {
                        host: s.context.host.clone(),
                        message: e.to_string(),
                        retry_in_ms: s.retry.as_millis() as u64,
                    };
                    s.retry = (s.retry * 2).min(timing.max_retry);
                    status
                }
            };
            let changed = match (&s.last, &status) {
                (Some(EngineStatus::Reachable { info: a, .. }), EngineStatus::Reachable { info: b, .. }) => a != b,
                (Some(EngineStatus::Unreachable { message: a, .. }), EngineStatus::Unreachable { message: b, .. }) => {
                    a != b
                }
                _ => true,
            };
            if changed {
                s.last = Some(status.clone());
                return Some((status, s));
            }
        }
    })
}

async fn probe(engine: &mut Option<Engine>, context: &DockerContext) -> Result<EngineInfo, EngineError> {
    if engine.is_none() {
        *engine = Some(Engine::connect(context).await?);
    }
    engine.as_ref().expect("connected above").info().await
}
