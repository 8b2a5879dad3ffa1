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

/// The most log bytes one update of a replay holds. A logs blob folds far faster than the page
/// takes in what it holds (100,000 lines in tens of milliseconds), so a long log goes to the page as
/// several updates it draws between, not as one it chews on at the very end.
const UPDATE_LOG_BYTES: usize = 128 << 10;

/// Folds `statuses` into `model`, handing `progress` the first lanes as soon as there are any, then
/// what changed every [`PROGRESS_INTERVAL`] or [`UPDATE_LOG_BYTES`] of logs, and once at the end;
/// stops early when `cancel` is cancelled. After each update it yields to the runtime: a blob's
/// statuses are all ready at once, and the update's way to the page must not wait for the fold.
pub(crate) async fn fold(
    statuses: impl Stream<Item = Result<StatusResponse, BuildkitError>>,
    model: &mut ProgressModel,
    progress: &(dyn Fn(ProgressUpdate) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(), HistoryError> {
    let mut statuses = std::pin::pin!(statuses);
    // None until the first update: the first lanes go at once.
    let mut handed: Option<Instant> = None;
    let mut log_bytes = 0usize;
    loop {
        let next = tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(HistoryError::Cancelled),
            next = statuses.next() => next,
        };
        match next {
            Some(Ok(response)) => {
                log_bytes += response.logs.iter().map(|l| l.msg.len()).sum::<usize>();
                model.apply(&response);
            }
            Some(Err(e)) => return Err(e.into()),
            None => break,
        }
        let due = handed.is_none_or(|at| at.elapsed() >= PROGRESS_INTERVAL || log_bytes >= UPDATE_LOG_BYTES);
        if due {
            if let Some(update) = model.take_update() {
                progress(update);
                handed = Some(Instant::now());
                log_bytes = 0;
                tokio::task::yield_now().await;
            }
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bollard::moby::buildkit::v1::{Vertex, VertexLog};

    use super::*;

    fn vertex(name: &str) -> StatusResponse {
        StatusResponse {
            vertexes: vec![Vertex { digest: format!("sha256:{name}"), name: name.into(), ..Default::default() }],
            ..Default::default()
        }
    }

    fn lines(name: &str, from: usize, count: usize) -> StatusResponse {
        let msg: String = (from..from + count).map(|i| format!("{i}\n")).collect();
        StatusResponse {
            logs: vec![VertexLog {
                vertex: format!("sha256:{name}"),
                stream: 1,
                msg: msg.into_bytes(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn a_long_log_reaches_the_page_as_its_first_lanes_then_in_parts() {
        // A step printing 100,000 lines, as a logs blob holds it: every status ready at once.
        let mut statuses = vec![vertex("[1/1] RUN seq 1 100000")];
        statuses.extend((0..100).map(|i| lines("[1/1] RUN seq 1 100000", i * 1000, 1000)));
        let updates = Mutex::new(Vec::new());
        let progress = |u: ProgressUpdate| updates.lock().unwrap().push(u);
        let mut model = ProgressModel::new(&[]);
        let stream = futures_util::stream::iter(statuses.into_iter().map(Ok));
        fold(stream, &mut model, &progress, &CancellationToken::new()).await.unwrap();

        let updates = updates.into_inner().unwrap();
        assert_eq!(updates[0].steps.len(), 1, "the first lane goes before any log");
        assert!(updates[0].logs.is_empty());
        let bytes: Vec<usize> = updates.iter().map(|u| u.logs.iter().map(|l| l.text.len()).sum()).collect();
        assert!(updates.len() > 4, "the log goes in parts: {bytes:?}");
        assert!(bytes.iter().all(|b| *b < UPDATE_LOG_BYTES + (8 << 10)), "no part much past the bound: {bytes:?}");
        let text: String = updates.iter().flat_map(|u| &u.logs).map(|l| l.text.as_str()).collect();
        assert_eq!(text.lines().count(), 100_000, "every line, once, in order");
        assert!(text.starts_with("0\n1\n") && text.ends_with("99999\n"));
    }
}
