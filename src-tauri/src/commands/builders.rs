//! The Builders view's commands.

use buildlane_core::builders::command_line::{self, BuilderAction};
use buildlane_core::builders::drivers::LifecycleEvent;
use buildlane_core::builders::inspect::BuilderInspection;
use buildlane_core::builders::{BuilderList, CreateBuilderRequest, RemoveOptions, UseOptions};
use tauri::ipc::Channel;
use tauri::State;

use super::cancellable;
use crate::error::AppError;
use crate::launch::PARTIAL_AFTER;
use crate::state::AppState;

/// The selected context's builders; `on_partial` gets them first if some node is slow to answer.
#[tauri::command]
pub async fn list_builders(
    state: State<'_, AppState>,
    on_partial: Channel<BuilderList>,
) -> Result<BuilderList, AppError> {
    // A closed window only means nobody looks any more.
    let partial = |list: BuilderList| {
        let _ = on_partial.send(list);
    };
    let context = state.selected_context();
    if context.is_none() {
        // The list taken at launch, unless the terminal changed a builder or a context since (a
        // builder created while the window opened is listed).
        let unchanged = |stamp: &_| *stamp == state.builders.stamp();
        let early = state.first_list.take(|(stamp, list)| {
            if unchanged(&stamp) {
                partial(list);
            }
        });
        // A list that failed is asked again: its error, if it stands, comes from that.
        if let Some(Ok((stamp, list))) = early.await {
            // The launch (WebKit's start, the store read, this list) left about 0.7 MiB freed in the allocator.
            crate::memory::return_freed_memory_once_the_page_read();
            if unchanged(&stamp) {
                return Ok(list);
            }
        }
    }
    Ok(state.builders.list_showing_partial(context.as_deref(), Some(PARTIAL_AFTER), &partial).await?)
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

/// The Inspect panel: the builder as `docker buildx inspect [--bootstrap]` sees it, booting its
/// nodes that are not running first when asked (with progress, cancellable).
#[tauri::command]
pub async fn inspect_builder(
    state: State<'_, AppState>,
    name: String,
    bootstrap: bool,
    operation: String,
    on_progress: Channel<LifecycleEvent>,
) -> Result<BuilderInspection, AppError> {
    let builders = state.builders.clone();
    let context = state.selected_context();
    let what = if bootstrap { "booting the builder" } else { "inspecting the builder" };
    cancellable(&state, operation, what, async move {
        Ok(builders.inspect(Some(&name), context.as_deref(), bootstrap, &sender(on_progress)).await?)
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
pub async fn leave_builder_node(state: State<'_, AppState>, name: String, node: String) -> Result<(), AppError> {
    Ok(state.builders.leave(&name, &node).await?)
}

#[tauri::command]
pub async fn use_builder(state: State<'_, AppState>, name: String, options: UseOptions) -> Result<(), AppError> {
    Ok(state.builders.use_builder(&name, options, state.selected_context().as_deref()).await?)
}

#[tauri::command]
pub fn cli_command(action: BuilderAction) -> String {
    command_line::command_line(&action)
}
