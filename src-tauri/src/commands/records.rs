//! A build record wherever it lives: the builder's history or a `.dockerbuild` file opened read-only
//! ([`RecordSource`]). One helper opens the source the page names, and the commands that replay,
//! time and read a record's attachments call it, whichever list the record was opened from.

use buildlane_core::history::blobs::{RecordAttestation, RecordBlobs};
use buildlane_core::history::bundle::Bundle;
use buildlane_core::history::project::ProjectHistory;
use buildlane_core::history::source::RecordSource;
use buildlane_core::history::{BuildHistory, BuildSpec, Replay};
use buildlane_core::progress::timing::Timings;
use buildlane_core::progress::ProgressUpdate;
use tauri::ipc::Channel;
use tauri::State;
use tokio_util::sync::CancellationToken;

use crate::error::AppError;
use crate::state::AppState;

/// A record source, opened for one call (a bundle is read again each time: nothing is held).
enum Records {
    Builder(Box<BuildHistory>),
    Bundle(Bundle),
}

impl Records {
    async fn open(state: &AppState, source: &RecordSource) -> Result<Records, AppError> {
        Ok(match source {
            RecordSource::Builder { builder, node } => {
                let history =
                    BuildHistory::connect(&state.builders, builder, state.selected_context().as_deref()).await?;
                Records::Builder(Box::new(match node {
                    Some(node) => history.only_node(node)?,
                    None => history,
                }))
            }
            RecordSource::Bundle { path } => Records::Bundle(super::bundle::open(path).await?),
        })
    }

    async fn replay(
        &self,
        spec: &BuildSpec,
        progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
        cancel: CancellationToken,
    ) -> Result<Replay, AppError> {
        Ok(match self {
            Records::Builder(history) => history.replay(spec, progress, cancel).await?,
            Records::Bundle(bundle) => bundle.replay(spec, progress, cancel).await?,
        })
    }

    async fn blobs(&self, spec: &BuildSpec) -> Result<RecordBlobs, AppError> {
        Ok(match self {
            Records::Builder(history) => history.blobs(spec).await?,
            Records::Bundle(bundle) => bundle.blobs(spec)?,
        })
    }

    async fn attestation(&self, spec: &BuildSpec, digest: &str) -> Result<RecordAttestation, AppError> {
        Ok(match self {
            Records::Builder(history) => history.attestation(spec, digest).await?,
            Records::Bundle(bundle) => bundle.attestation(spec, digest)?,
        })
    }

    async fn timing(&self, spec: &BuildSpec, cancel: CancellationToken) -> Result<Timings, AppError> {
        Ok(match self {
            Records::Builder(history) => history.timing(spec, cancel).await?,
            Records::Bundle(bundle) => bundle.timing(spec, cancel).await?,
        })
    }

    async fn project(&self, spec: &BuildSpec) -> Result<ProjectHistory, AppError> {
        Ok(match self {
            Records::Builder(history) => history.project(spec).await?,
            Records::Bundle(bundle) => bundle.project(spec)?,
        })
    }
}

/// Replays a record into lanes through `on_progress`; ends with the record and its outcome.
#[tauri::command]
pub async fn replay_record(
    state: State<'_, AppState>,
    source: RecordSource,
    build_ref: String,
    operation: String,
    on_progress: Channel<ProgressUpdate>,
) -> Result<Replay, AppError> {
    state
        .tracked(operation, async |cancel| {
            let spec = BuildSpec::parse(&build_ref)?;
            let on_progress = move |update: ProgressUpdate| {
                let _ = on_progress.send(update);
            };
            Records::open(&state, &source).await?.replay(&spec, &on_progress, cancel).await
        })
        .await
}

/// A record's attachments (provenance, SBOM), the materials its provenance names, and the image it
/// pushed.
#[tauri::command]
pub async fn record_blobs(
    state: State<'_, AppState>,
    source: RecordSource,
    build_ref: String,
) -> Result<RecordBlobs, AppError> {
    let spec = BuildSpec::parse(&build_ref)?;
    Records::open(&state, &source).await?.blobs(&spec).await
}

/// One attachment of a record, as the Images inspector shows an attestation.
#[tauri::command]
pub async fn record_attestation(
    state: State<'_, AppState>,
    source: RecordSource,
    build_ref: String,
    digest: String,
) -> Result<RecordAttestation, AppError> {
    let spec = BuildSpec::parse(&build_ref)?;
    Records::open(&state, &source).await?.attestation(&spec, &digest).await
}

/// Where the time of a record went; reading its steps stops at `cancel_operation(operation)`.
#[tauri::command]
pub async fn build_timing(
    state: State<'_, AppState>,
    source: RecordSource,
    build_ref: String,
    operation: String,
) -> Result<Timings, AppError> {
    state
        .tracked(operation, async |cancel| {
            let spec = BuildSpec::parse(&build_ref)?;
            Records::open(&state, &source).await?.timing(&spec, cancel).await
        })
        .await
}

/// The finished builds of the project a record belongs to (among its source's records), oldest first.
#[tauri::command]
pub async fn project_history(
    state: State<'_, AppState>,
    source: RecordSource,
    build_ref: String,
) -> Result<ProjectHistory, AppError> {
    let spec = BuildSpec::parse(&build_ref)?;
    Records::open(&state, &source).await?.project(&spec).await
}
