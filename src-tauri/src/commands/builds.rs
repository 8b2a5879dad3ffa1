//! The Build view's commands. A build streams coalesced progress through a typed Channel and ends
//! with its outcome; cancelling stops the solve and still returns what was seen.

use std::path::Path;

use buildlane_core::builders::NodePlatform;
use buildlane_core::builds::records::{BuildRecord, Records, RecordsError};
use buildlane_core::builds::{self, BuildOutcome, BuildRequest, PlatformRetry};
use buildlane_core::dockerfile::outline::{self, OutlineRequest};
use buildlane_core::dockerfile::{self, DockerfileOutline};
use buildlane_core::progress::{LogChunk, ProgressUpdate};
use tauri::ipc::Channel;
use tauri::State;

use super::blocking;
use crate::error::AppError;
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
    let on_progress = move |update: ProgressUpdate| {
        // A closed window only means nobody watches any more; the build itself goes on.
        let _ = on_progress.send(update);
    };
    let mut recording = Records::new(state.builders.contexts().environment()).recording();
    let context = state.selected_context();
    let outcome = state
        .tracked(operation, async |cancel| {
            builds::run(&state.builders, &request, context.as_deref(), &on_progress, cancel, &mut recording).await
        })
        .await;
    Ok(outcome?)
}

/// Builds one platform of the recorded build `build_ref` again, alone (see `builds::retry`), with
/// progress as for `start_build`: the recorded steps and logs first.
#[tauri::command]
pub async fn retry_platform(
    state: State<'_, AppState>,
    build_ref: String,
    platform: String,
    operation: String,
    on_progress: Channel<ProgressUpdate>,
) -> Result<BuildOutcome, AppError> {
    let records = Records::new(state.builders.contexts().environment());
    let recorded = records.clone();
    let (record, logs) = blocking(move || {
        let record = recorded.get(&build_ref).ok_or_else(|| RecordsError::NotFound(build_ref.clone()))?;
        // A record whose log is gone can still be retried; its lanes just show no earlier output.
        Ok((record, recorded.logs(&build_ref).unwrap_or_default()))
    })
    .await?;
    let on_progress = move |update: ProgressUpdate| {
        let _ = on_progress.send(update);
    };
    let mut recording = records.recording();
    let context = state.selected_context();
    let retry = PlatformRetry { record: &record, logs: &logs, platform: &platform };
    let outcome = state
        .tracked(operation, async |cancel| {
            builds::retry(&state.builders, retry, context.as_deref(), &on_progress, cancel, &mut recording).await
        })
        .await;
    Ok(outcome?)
}

#[tauri::command]
pub fn build_cli_command(request: BuildRequest) -> String {
    builds::command_line(&request)
}

#[tauri::command]
pub async fn offered_platforms(state: State<'_, AppState>, builder: String) -> Result<Vec<NodePlatform>, AppError> {
    Ok(state.builders.offered_for_build(Some(builder.trim()), state.selected_context().as_deref()).await?)
}

/// The Dockerfile's stages, and the target's ARGs, secrets and SSH mounts, from `builder`'s
/// Dockerfile frontend (the local parse when it cannot be reached; the outline's origin says which).
/// `dockerfile` empty means `Dockerfile` in the context; `target` empty means the default stage.
#[tauri::command]
pub async fn dockerfile_outline(
    state: State<'_, AppState>,
    builder: String,
    context: String,
    dockerfile: String,
    target: String,
) -> Result<DockerfileOutline, AppError> {
    // The outline carries the file's text, and the frontend's parse errors quote it: the same rule
    // as dockerfile_source. A context or file that does not exist is left to the outline to name.
    let (folder, file) = (context.clone(), dockerfile.clone());
    blocking(move || {
        let folder = Path::new(folder.trim());
        if folder.is_dir() && dockerfile::path(folder, &file).exists() {
            dockerfile::read_in_context(folder, &file)?;
        }
        Ok(())
    })
    .await?;
    let request = OutlineRequest { builder, context, dockerfile, target };
    Ok(outline::outline(&state.builders, &request, state.selected_context().as_deref()).await?)
}

/// The Dockerfile's text, for a build's step lines and failure view: only a regular file of bounded
/// size inside the context folder.
#[tauri::command]
pub async fn dockerfile_source(context: String, dockerfile: String) -> Result<String, AppError> {
    blocking(move || Ok(dockerfile::read_in_context(Path::new(&context), &dockerfile)?)).await
}

#[tauri::command]
pub async fn recent_builds(state: State<'_, AppState>) -> Result<Vec<BuildRecord>, AppError> {
    let history = Records::new(state.builders.contexts().environment());
    blocking(move || Ok(history.recent(RECENT_BUILDS))).await
}

#[tauri::command]
pub async fn build_logs(state: State<'_, AppState>, build_ref: String) -> Result<Vec<LogChunk>, AppError> {
    let history = Records::new(state.builders.contexts().environment());
    blocking(move || Ok(history.logs(&build_ref)?)).await
}
