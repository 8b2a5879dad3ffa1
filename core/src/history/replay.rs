//! Replaying a recorded build: its status stream, as BuildKit kept it, folded into the same progress
//! model a live build's is (so its lanes and logs look as they did), and how it ended as the Build
//! view shows any build: a [`BuildOutcome`], with the failure analysed as for a live build.
//!
//! BuildKit keeps a finished build's status stream as a blob (`application/vnd.buildkit.status.v0`:
//! `[u32 little-endian length][StatusResponse]`…, uncompressed) and serves it back through
//! `Control.Status(ref)`, as `docker buildx history logs` reads it; for a build still running,
//! the same call follows it live.

use std::time::Instant;

use bollard::moby::buildkit::v1::{BuildHistoryRecord, StatusResponse};
use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::entry::{recorded_details, HistoryEntry, HistoryStatus};
use super::HistoryError;
use crate::buildkit::BuildkitError;
use crate::builds::{failure, BuildOutcome, BuildState, PROGRESS_INTERVAL};
use crate::progress::{ProgressModel, ProgressUpdate};

/// The model a recorded build is replayed into. The stored stream may begin with a step shared with
/// an older build (and its older start): the build's own creation is its time axis' zero.
pub(crate) fn model(entry: &HistoryEntry) -> ProgressModel {
    let model = ProgressModel::new(&entry.platforms);
    match entry.created().and_then(|t| t.timestamp_nanos_opt()) {
        Some(created) => model.with_epoch(i128::from(created)),
        None => model,
    }
}

/// Folds `statuses` into `model`, handing `progress` what changed at most every
/// [`PROGRESS_INTERVAL`] and once at the end; stops early when `cancel` is cancelled.
pub(crate) async fn fold(
    statuses: impl Stream<Item = Result<StatusResponse, BuildkitError>>,
    model: &mut ProgressModel,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(), HistoryError> {
    let mut statuses = std::pin::pin!(statuses);
    let mut last = Instant::now();
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(HistoryError::Cancelled),
            next = statuses.next() => next,
        };
        match next {
            Some(Ok(response)) => model.apply(&response),
            Some(Err(e)) => return Err(e.into()),
            None => break,
        }
        if last.elapsed() >= PROGRESS_INTERVAL {
            if let Some(update) = model.take_update() {
                progress(update);
            }
            last = Instant::now();
        }
    }
    if let Some(update) = model.take_update() {
        progress(update);
    }
    Ok(())
}

/// How the recorded build ended, as the Build view shows a build's end.
pub(crate) fn outcome(entry: &HistoryEntry, record: &BuildHistoryRecord, model: &ProgressModel) -> BuildOutcome {
    let mut steps = model.steps();
    let state = match entry.status {
        HistoryStatus::Completed => BuildState::Succeeded,
        HistoryStatus::Failed => BuildState::Failed,
        HistoryStatus::Canceled | HistoryStatus::Running => BuildState::Cancelled,
    };
    let failure = match (state, recorded_details(record)) {
        (BuildState::Failed, Some((message, _, details))) => {
            // The recorded error carries the Dockerfile as the frontend read it; nothing to read here.
            Some(failure(message, &details, model, &mut steps, None))
        }
        _ => None,
    };
    BuildOutcome {
        build_ref: entry.build_ref.clone(),
        builder: entry.builder.clone(),
        state,
        digest: entry.exporter_response.get("containerimage.digest").cloned(),
        platforms: entry.platforms.clone(),
        tags: if state == BuildState::Succeeded { entry.tags() } else { Vec::new() },
        duration_ms: entry.duration_ms.unwrap_or_default(),
        failure,
        steps,
        exporter_response: entry.exporter_response.clone(),
        platform_results: Vec::new(),
    }
}
