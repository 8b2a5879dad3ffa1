//! The Builders view's Cache panel: a builder's disk usage, a prune's preview, the prune itself
//! (each removed record streamed through a typed Channel against the preview's bytes as its
//! total, cancellable by operation id), and the `docker buildx du` / `prune` command lines.

use buildlane_core::builders::cache::command_line::{self, CacheAction};
use buildlane_core::builders::cache::prune::{PruneForm, PruneOutcome, PrunePreview, PruneProgress};
use buildlane_core::builders::cache::DiskUsage;
use tauri::ipc::Channel;
use tauri::State;

use crate::error::AppError;
use crate::state::AppState;

#[tauri::command]
pub async fn disk_usage(
    state: State<'_, AppState>,
    builder: String,
    filters: Vec<String>,
) -> Result<DiskUsage, AppError> {
    Ok(state.builders.disk_usage(Some(&builder), state.selected_context().as_deref(), &filters).await?)
}

#[tauri::command]
pub async fn prune_preview(
    state: State<'_, AppState>,
    builder: String,
    form: PruneForm,
) -> Result<PrunePreview, AppError> {
    Ok(state.builders.prune_preview(Some(&builder), state.selected_context().as_deref(), &form).await?)
}

#[tauri::command]
pub async fn prune_cache(
    state: State<'_, AppState>,
    builder: String,
    form: PruneForm,
    expected: Option<i64>,
    operation: String,
    on_progress: Channel<PruneProgress>,
) -> Result<PruneOutcome, AppError> {
    let on_progress = move |progress: PruneProgress| {
        // A closed window only means nobody watches any more; the prune itself goes on.
        let _ = on_progress.send(progress);
    };
    let context = state.selected_context();
    let outcome = state
        .tracked(operation, async |cancel| {
            state.builders.prune(Some(&builder), context.as_deref(), &form, expected, &on_progress, cancel).await
        })
        .await;
    Ok(outcome?)
}

#[tauri::command]
pub fn cache_cli_command(action: CacheAction) -> String {
    command_line::command_line(&action)
}
