//! BuildKit's build history calls on Control (since BuildKit 0.11): `ListenBuildHistory`, which
//! streams the records it keeps and then, unless told to stop, each build that starts, completes or
//! is deleted; and `UpdateBuildHistory`, which pins, unpins or deletes one. What a record means to a
//! user is [`crate::history`]'s.

use bollard::moby::buildkit::v1::{BuildHistoryEvent, BuildHistoryRequest, UpdateBuildHistoryRequest};
use futures_util::{Stream, StreamExt};
use tracing::instrument;

use super::control::{BuildkitError, Control};

/// The header BuildKit sends with the stream: its own clock, so a running build's duration is
/// counted by the daemon's clock rather than the caller's (RFC 3339).
const TIMESTAMP_HEADER: &str = "buildkit-current-timestamp";

/// The answer of `ListenBuildHistory`: BuildKit's clock when it answered, and its events.
pub struct HistoryStream<S> {
    pub server_time: Option<chrono::DateTime<chrono::Utc>>,
    pub events: S,
}

impl Control {
    /// Opens `ListenBuildHistory`. With `early_exit` the stream ends after the records BuildKit
    /// keeps (running builds first); without, it goes on with every later event.
    #[instrument(skip(self), fields(endpoint = %self.endpoint()))]
    pub async fn listen_build_history(
        &self,
        build_ref: &str,
        early_exit: bool,
    ) -> Result<HistoryStream<impl Stream<Item = Result<BuildHistoryEvent, BuildkitError>> + use<>>, BuildkitError>
    {
        let request = BuildHistoryRequest {
            r#ref: build_ref.to_owned(),
            early_exit,
            // Filters and limits are BuildKit 0.20's; older daemons ignore them, so they are applied here.
            ..Default::default()
        };
        let response =
            self.client().listen_build_history(request).await.map_err(|s| self.call_error("ListenBuildHistory", s))?;
        let server_time = response
            .metadata()
            .get(TIMESTAMP_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&chrono::Utc));
        let endpoint = self.endpoint().to_owned();
        let events = response
            .into_inner()
            .map(move |item| item.map_err(|s| BuildkitError::call(&endpoint, "ListenBuildHistory", &s)));
        Ok(HistoryStream { server_time, events })
    }

    /// `UpdateBuildHistory`: pins or unpins a record, or deletes it.
    #[instrument(skip(self), fields(endpoint = %self.endpoint()))]
    pub async fn update_build_history(&self, build_ref: &str, pinned: bool, delete: bool) -> Result<(), BuildkitError> {
        let request = UpdateBuildHistoryRequest { r#ref: build_ref.to_owned(), pinned, delete, finalize: false };
        self.client().update_build_history(request).await.map_err(|s| self.call_error("UpdateBuildHistory", s))?;
        Ok(())
    }

    /// `UpdateBuildHistory` with `Finalize` (BuildKit 0.15+): BuildKit finishes the record's trace. The
    /// record's pin goes with it, since an older BuildKit reads the request as a pin update.
    #[instrument(skip(self), fields(endpoint = %self.endpoint()))]
    pub async fn finalize_build_history(&self, build_ref: &str, pinned: bool) -> Result<(), BuildkitError> {
        let request = UpdateBuildHistoryRequest { r#ref: build_ref.to_owned(), pinned, delete: false, finalize: true };
        self.client().update_build_history(request).await.map_err(|s| self.call_error("UpdateBuildHistory", s))?;
        Ok(())
    }
}
