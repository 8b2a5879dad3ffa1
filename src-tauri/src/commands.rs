//! The window's commands: validate, call the core, map errors once. Long operations stream their
//! progress through a typed `Channel` and can be cancelled by id.

use std::future::Future;

use buildlane_core::builders::{BuilderList, CreateBuilderRequest, RemoveOptions, UseOptions};
use buildlane_core::buildx_cli::{self, BuilderAction};
use buildlane_core::context::DockerContext;
use buildlane_core::drivers::LifecycleEvent;
use buildlane_core::engine::{self, EngineStatus, WatchTiming};
use futures_util::StreamExt;
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

fn context_list(state: &AppState) -> Result<ContextList, AppError> {
    let contexts = state.builders.contexts();
    let selected = state.selected_context();
    let (list, problems) = contexts.list(selected.as_deref())?;
    Ok(ContextList {
        selected: contexts.current_name(selected.as_deref())?,
        contexts: list,
        problems: problems.iter().map(ToString::to_string).collect(),
    })
}

#[tauri::command]
pub fn list_contexts(state: State<'_, AppState>) -> Result<ContextList, AppError> {
    context_list(&state)
}

#[tauri::command]
pub fn select_context(state: State<'_, AppState>, name: String) -> Result<ContextList, AppError> {
    state.builders.contexts().resolve(Some(&name))?;
    state.select_context(name);
    context_list(&state)
}

/// Streams the selected context's engine status until the window asks for another context.
/// Async so that it runs on the runtime its watcher task is spawned on.
#[tauri::command]
pub async fn watch_engine(state: State<'_, AppState>, on_status: Channel<EngineStatus>) -> Result<(), AppError> {
    let context = state.builders.contexts().resolve(state.selected_context().as_deref())?;
    let task = tokio::spawn(async move {
        let mut statuses = std::pin::pin!(engine::watch(context, WatchTiming::default()));
        while let Some(status) = statuses.next().await {
            if on_status.send(status).is_err() {
                break;
            }
        }
    });
    state.replace_engine_watch(task.abort_handle());
    Ok(())
}

#[tauri::command]
pub async fn list_builders(state: State<'_, AppState>) -> Result<BuilderList, AppError> {
    Ok(state.builders.list(state.selected_context().as_deref()).await?)
}

/// Runs a long operation as its own task so `cancel_operation` can abort it.
async fn cancellable<T, F>(state: &AppState, operation: String, what: &str, work: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let task = tokio::spawn(work);
    state.track(operation.clone(), task.abort_handle());
    let outcome = task.await;
    state.finish(&operation);
    match outcome {
        Ok(result) => result,
        Err(e) if e.is_cancelled() => Err(AppError::cancelled(what)),
        Err(e) => Err(AppError::new(ErrorCode::Internal, format!("{what} failed unexpectedly: {e}"))),
    }
}

fn sender(channel: Channel<LifecycleEvent>) -> impl Fn(LifecycleEvent) + Send + Sync {
    move |event| {
        // A closed window only means nobody watches any more; the operation itself goes on.
        let _ = channel.send(event);
    }
}

#[tauri::command]
pub async fn create_builder(
    state: State<'_, AppState>,
    request: CreateBuilderRequest,
    operation: String,
    on_progress: Channel<LifecycleEvent>,
) -> Result<String, AppError> {
    let builders = state.builders.clone();
    let context = state.selected_context();
    cancellable(&state, operation, "creating the builder", async move {
        Ok(builders.create(&request, context.as_deref(), &sender(on_progress)).await?)
    })
    .await
}

#[tauri::command]
pub async fn boot_builder(
    state: State<'_, AppState>,
    name: String,
    operation: String,
    on_progress: Channel<LifecycleEvent>,
) -> Result<(), AppError> {
    let builders = state.builders.clone();
    cancellable(&state, operation, "booting the builder", async move {
        Ok(builders.boot(&name, &sender(on_progress)).await?)
    })
    .await
}

#[tauri::command]
pub async fn stop_builder(
    state: State<'_, AppState>,
    name: String,
    operation: String,
    on_progress: Channel<LifecycleEvent>,
) -> Result<(), AppError> {
    let builders = state.builders.clone();
    cancellable(&state, operation, "stopping the builder", async move {
        Ok(builders.stop(&name, &sender(on_progress)).await?)
    })
    .await
}

#[tauri::command]
pub async fn remove_builder(
    state: State<'_, AppState>,
    name: String,
    options: RemoveOptions,
    operation: String,
    on_progress: Channel<LifecycleEvent>,
) -> Result<(), AppError> {
    let builders = state.builders.clone();
    cancellable(&state, operation, "removing the builder", async move {
        Ok(builders.remove(&name, options, &sender(on_progress)).await?)
    })
    .await
}

#[tauri::command]
pub async fn use_builder(state: State<'_, AppState>, name: String, options: UseOptions) -> Result<(), AppError> {
    Ok(state.builders.use_builder(&name, options, state.selected_context().as_deref()).await?)
}

#[tauri::command]
pub fn cancel_operation(state: State<'_, AppState>, operation: String) -> bool {
    state.cancel(&operation)
}

#[tauri::command]
pub fn cli_command(action: BuilderAction) -> String {
    buildx_cli::command_line(&action)
}
