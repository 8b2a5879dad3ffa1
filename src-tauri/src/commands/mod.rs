//! The window's commands, one module per view: validate, call the core, map errors once. Long
//! operations stream their progress through a typed `Channel` and can be cancelled by id.

pub mod builders;
pub mod builds;
pub mod bundle;
pub mod cache;
pub mod history;
pub mod images;
pub mod records;

use std::future::Future;

use buildlane_core::builders::Builders;
use buildlane_core::docker_config::contexts::DockerContext;
use buildlane_core::engine::{self, EngineStatus, WatchTiming};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// The context switcher's content.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ContextList {
    pub contexts: Vec<DockerContext>,
    pub selected: String,
    pub problems: Vec<String>,
}

fn context_list(builders: &Builders, selected: Option<String>) -> Result<ContextList, AppError> {
    let contexts = builders.contexts();
    let (list, problems) = contexts.list(selected.as_deref())?;
    Ok(ContextList {
        selected: contexts.current_name(selected.as_deref())?,
        contexts: list,
        problems: problems.iter().map(ToString::to_string).collect(),
    })
}

#[tauri::command]
pub async fn list_contexts(state: State<'_, AppState>) -> Result<ContextList, AppError> {
    let (builders, selected) = (state.builders.clone(), state.selected_context());
    blocking(move || context_list(&builders, selected)).await
}

#[tauri::command]
pub async fn select_context(state: State<'_, AppState>, name: String) -> Result<ContextList, AppError> {
    let builders = state.builders.clone();
    let wanted = name.clone();
    blocking(move || Ok(builders.contexts().resolve(Some(&wanted)).map(drop)?)).await?;
    state.select_context(name);
    let (builders, selected) = (state.builders.clone(), state.selected_context());
    blocking(move || context_list(&builders, selected)).await
}

/// Runs file reads and folder walks on the blocking pool: never on the main thread, which draws the
/// window, nor on the runtime's workers.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("reading files failed unexpectedly: {e}")))?
}

/// Streams the selected context's engine status until the window asks for another context.
/// Async so that it runs on the runtime its watcher task is spawned on.
#[tauri::command]
pub async fn watch_engine(state: State<'_, AppState>, on_status: Channel<EngineStatus>) -> Result<(), AppError> {
    let context = state.builders.contexts().resolve(state.selected_context().as_deref())?;
    state.engine_watch.forward(engine::watch(context, WatchTiming::default()), on_status);
    Ok(())
}

/// How often the builder store and the docker contexts are looked at for changes made elsewhere.
const STORE_LOOK: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts telling the page each time another program (the docker CLI) changed a builder or a
/// context, so its list follows; replaces any earlier watch.
#[tauri::command]
pub async fn watch_builders(state: State<'_, AppState>, on_change: Channel<()>) -> Result<(), AppError> {
    state.store_watch.forward(state.builders.changes(STORE_LOOK), on_change);
    Ok(())
}

/// Runs a long operation as its own task so `cancel_operation` can abort it.
pub(crate) async fn cancellable<T, F>(state: &AppState, operation: String, what: &str, work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let outcome = state
        .tracked(operation, async |cancel| {
            let mut task = tokio::spawn(work);
            tokio::select! {
                outcome = &mut task => outcome,
                _ = cancel.cancelled() => {
                    task.abort();
                    task.await
                }
            }
        })
        .await;
    match outcome {
        Ok(result) => result,
        Err(e) if e.is_cancelled() => Err(AppError::cancelled(what)),
        Err(e) => Err(AppError::new(ErrorCode::Internal, format!("{what} failed unexpectedly: {e}"))),
    }
}

#[tauri::command]
pub fn cancel_operation(state: State<'_, AppState>, operation: String) -> bool {
    state.cancel(&operation)
}
