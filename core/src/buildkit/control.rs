//! Calls on BuildKit's `moby.buildkit.v1.Control` service that need no session: workers and version.

use std::collections::BTreeMap;

use bollard::moby::buildkit::v1::control_client::ControlClient;
use bollard::moby::buildkit::v1::{InfoRequest, ListWorkersRequest};
use serde::Serialize;
use tonic::transport::Channel;
use tracing::instrument;
use ts_rs::TS;

use super::error_details::ErrorDetails;
use super::proto::content::content_client::ContentClient;
use super::transport::{self, TransportError, MAX_MESSAGE_BYTES};
use crate::platform::Platform;

#[derive(Debug, thiserror::Error)]
pub enum BuildkitError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("BuildKit at {endpoint}: {call} failed: {message}")]
    Call {
        endpoint: String,
        call: &'static str,
        message: String,
        code: tonic::Code,
        /// The typed details BuildKit attached (failing vertex, Dockerfile location, exit code).
        details: Box<ErrorDetails>,
    },
}

impl BuildkitError {
    pub(crate) fn call(endpoint: &str, call: &'static str, status: &tonic::Status) -> Self {
        BuildkitError::Call {
            endpoint: endpoint.to_owned(),
            call,
            message: status_message(status),
            code: status.code(),
            details: Box::new(ErrorDetails::from_status(status)),
        }
    }
}

/// A broken connection arrives as "transport error" with its cause underneath (a reset, an ssh that
/// died and what it said): name the cause too.
fn status_message(status: &tonic::Status) -> String {
    match std::error::Error::source(status) {
        Some(cause) => format!("{}: {}", status.message(), crate::io_error::innermost_reason(cause)),
        None => status.message().to_owned(),
    }
}

/// A BuildKit worker: what it can build and how it collects garbage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerInfo {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub platforms: Vec<Platform>,
    pub gc_policy: Vec<GcPolicy>,
}

/// One garbage-collection rule of a worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct GcPolicy {
    pub all: bool,
    pub filters: Vec<String>,
    pub keep_duration_ns: i64,
    pub reserved_space: i64,
    pub max_used_space: i64,
    pub min_free_space: i64,
}

/// The Control client of one node.
#[derive(Debug, Clone)]
pub struct Control {
    endpoint: String,
    channel: Channel,
    client: ControlClient<Channel>,
}

impl Control {
    pub fn new(endpoint: impl Into<String>, channel: Channel) -> Self {
        let client = ControlClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Self { endpoint: endpoint.into(), channel, client }
    }

    /// The engine's embedded BuildKit (docker driver), over the `/grpc` upgrade.
    pub async fn engine(host: &str) -> Result<Self, BuildkitError> {
        Ok(Self::new(host, transport::engine_channel(host).await?))
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The raw client, for the calls of `solve` that stream.
    pub(crate) fn client(&self) -> ControlClient<Channel> {
        self.client.clone()
    }

    /// The connection itself, for the other services BuildKit serves beside Control (the gateway bridge).
    pub(crate) fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// A client of the read-only containerd content service BuildKit serves beside Control
    /// (BuildKit v0.13 `control.Register`): the blobs its images and build history records refer to.
    pub fn content(&self) -> ContentClient<Channel> {
        ContentClient::new(self.channel()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    pub(crate) fn call_error(&self, call: &'static str, status: tonic::Status) -> BuildkitError {
        BuildkitError::call(&self.endpoint, call, &status)
    }

    #[instrument(skip(self), fields(endpoint = %self.endpoint))]
    pub async fn list_workers(&self) -> Result<Vec<WorkerInfo>, BuildkitError> {
        let response = self
            .client
            .clone()
            .list_workers(ListWorkersRequest { filter: Vec::new() })
            .await
            .map_err(|s| self.call_error("ListWorkers", s))?;
        Ok(response
            .into_inner()
            .record
            .into_iter()
            .map(|w| WorkerInfo {
                id: w.id,
                labels: w.labels.into_iter().collect(),
                platforms: w
                    .platforms
                    .into_iter()
                    .map(|p| Platform {
                        architecture: p.architecture,
                        os: p.os,
                        os_version: p.os_version,
                        os_features: p.os_features,
                        variant: p.variant,
                    })
                    .collect(),
                gc_policy: w
                    .gc_policy
                    .into_iter()
                    .map(|g| GcPolicy {
                        all: g.all,
                        filters: g.filters,
                        keep_duration_ns: g.keep_duration,
                        reserved_space: g.reserved_space,
                        max_used_space: g.max_used_space,
                        min_free_space: g.min_free_space,
                    })
                    .collect(),
            })
            .collect())
    }

    /// BuildKit's version, or `None` for daemons too old to implement `Info`.
    #[instrument(skip(self), fields(endpoint = %self.endpoint))]
    pub async fn version(&self) -> Result<Option<String>, BuildkitError> {
        match self.client.clone().info(InfoRequest {}).await {
            Ok(info) => Ok(info.into_inner().buildkit_version.map(|v| v.version)),
            Err(status) if status.code() == tonic::Code::Unimplemented => Ok(None),
            Err(status) => Err(self.call_error("Info", status)),
        }
    }
}
