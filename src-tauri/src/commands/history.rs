//! The Build view's history: BuildKit's own records of a builder's builds, watched live, pinned and
//! deleted, and two compared to say why one missed the cache (replaying and reading a record: `records`).

use std::time::Duration;

use buildlane_core::history::compare::BuildComparison;
use buildlane_core::history::{BuildHistory, BuildSpec, BuilderHistorySupport, HistoryError, HistoryEvent};
use futures_util::StreamExt;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::AppError;
use crate::state::AppState;

/// How often history events reach the page at most: the first batch holds every record.
const EVENTS_INTERVAL: Duration = Duration::from_millis(100);

async fn connect(state: &AppState, builder: &str) -> Result<BuildHistory, AppError> {
    Ok(BuildHistory::connect(&state.builders, builder, state.selected_context().as_deref()).await?)
}

/// Streams `builder`'s history ('' = the current builder), every node's: every record in the first
/// batch (sent even when empty) with the nodes that cannot be read, then each change, batched;
/// until `cancel_operation(operation)`.
#[tauri::command]
pub async fn watch_build_history(
    state: State<'_, AppState>,
    builder: String,
    operation: String,
    on_events: Channel<Vec<HistoryEvent>>,
) -> Result<(), AppError> {
    state
        .tracked(operation, async |cancel| {
            let history = connect(&state, &builder).await?;
            let mut events = std::pin::pin!(history.watch().await?);
            let mut batch: Vec<HistoryEvent> = Vec::new();
            let mut first = true;
            let mut tick = tokio::time::interval(EVENTS_INTERVAL);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return Ok(()),
                    event = events.next() => match event {
                        Some(event) => batch.push(event?),
                        None => return Ok(()),
                    },
                    _ = tick.tick() => {
                        if first || !batch.is_empty() {
                            first = false;
                            // A closed window only means nobody watches any more.
                            if on_events.send(std::mem::take(&mut batch)).is_err() {
                                return Ok(());
                            }
                        }
                    }
                }
            }
        })
        .await
}

#[tauri::command]
pub async fn pin_build(
    state: State<'_, AppState>,
    builder: String,
    build_ref: String,
    pinned: bool,
) -> Result<(), AppError> {
    Ok(connect(&state, &builder).await?.set_pinned(&build_ref, pinned).await?)
}

/// What each node's BuildKit lacks of what the History view shows, each with a note to show, and
/// the nodes whose records cannot be read.
#[tauri::command]
pub async fn history_support(state: State<'_, AppState>, builder: String) -> Result<BuilderHistorySupport, AppError> {
    Ok(connect(&state, &builder).await?.support().await?)
}

#[tauri::command]
pub async fn delete_build(state: State<'_, AppState>, builder: String, build_ref: String) -> Result<(), AppError> {
    Ok(connect(&state, &builder).await?.delete(&build_ref).await?)
}

/// Two records of `builder` compared step by step (in either order): the first step of the newer
/// that missed the cache, and why. Cancelled by `cancel_operation(operation)`.
#[tauri::command]
pub async fn compare_builds(
    state: State<'_, AppState>,
    builder: String,
    first: String,
    second: String,
    operation: String,
) -> Result<BuildComparison, AppError> {
    state
        .tracked(operation, async |cancel| {
            let (first, second) = (BuildSpec::parse(&first)?, BuildSpec::parse(&second)?);
            let history = connect(&state, &builder).await?;
            tokio::select! {
                _ = cancel.cancelled() => Err(HistoryError::Cancelled.into()),
                compared = history.compare(&first, &second) => Ok(compared?),
            }
        })
        .await
}
