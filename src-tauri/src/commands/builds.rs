//! The Build view's commands. A build streams coalesced progress through a typed Channel and ends
//! with its outcome; cancelling stops the solve and still returns what was seen.

use std::path::{Path, PathBuf};

use buildlane_core::builders::NodePlatform;
use buildlane_core::builds::{self, BuildOutcome, BuildRequest};
use buildlane_core::dockerfile::{self, DockerfileOutline};
use buildlane_core::history::{BuildRecord, History, HistoryError};
use buildlane_core::progress::{LogChunk, ProgressUpdate};
use tauri::ipc::Channel;
use tauri::State;

use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// How many past builds the Build view lists.
const RECENT_BUILDS: usize = 50;

#[tauri::command]
pub async fn start_build(
    state: State<'_, AppState>,
    request: BuildRequest,
    operation: String,
    on_progress: Channel<ProgressUpdate>,
) -> Result<BuildOutcome, AppError> {
    let cancel = state.track(operation.clone());
    let on_progress = move |update: ProgressUpdate| {
        // A closed window only means nobody watches any more; the build itself goes on.
        let _ = on_progress.send(update);
    };
    let outcome =
        builds::run(&state.builders, &request, state.selected_context().as_deref(), &on_progress, cancel).await;
    state.finish(&operation);
    Ok(outcome?)
}

#[tauri::command]
pub fn build_cli_command(request: BuildRequest) -> String {
    builds::command_line(&request)
}

#[tauri::command]
pub async fn offered_platforms(state: State<'_, AppState>, builder: String) -> Result<Vec<NodePlatform>, AppError> {
    Ok(builds::offered_platforms(&state.builders, &builder, state.selected_context().as_deref()).await?)
}

/// The Dockerfile's stages and ARGs; `dockerfile` empty means `Dockerfile` in the context.
#[tauri::command]
pub fn dockerfile_outline(context: String, dockerfile: String) -> Result<DockerfileOutline, AppError> {
    let path = match dockerfile.trim() {
        "" => Path::new(&context).join("Dockerfile"),
        file if Path::new(file).is_absolute() => PathBuf::from(file),
        file => Path::new(&context).join(file),
    };
    dockerfile::outline_file(&path).map_err(|e| AppError::new(ErrorCode::NotFound, e.to_string()))
}

#[tauri::command]
pub fn recent_builds(state: State<'_, AppState>) -> Vec<BuildRecord> {
    History::new(state.builders.contexts().environment()).recent(RECENT_BUILDS)
}

#[tauri::command]
pub fn build_logs(state: State<'_, AppState>, build_ref: String) -> Result<Vec<LogChunk>, AppError> {
    History::new(state.builders.contexts().environment()).logs(&build_ref).map_err(|e| match e {
        HistoryError::NotFound(_) => AppError::new(ErrorCode::NotFound, e.to_string()),
        HistoryError::Io { .. } => AppError::new(ErrorCode::Internal, e.to_string()),
    })
}
