//! The History view's Timing panel: where a recorded build's time went, and the builds of its project.

use buildlane_core::history::project::ProjectHistory;
use buildlane_core::history::{BuildHistory, BuildSpec};
use buildlane_core::progress::timing::Timings;
use tauri::State;

use crate::error::AppError;
use crate::state::AppState;

async fn connect(state: &AppState, builder: &str) -> Result<BuildHistory, AppError> {
    Ok(BuildHistory::connect(&state.builders, builder, state.selected_context().as_deref()).await?)
}

/// Where the time of `builder`'s record `build_ref` went ('' = the current builder); reading its
/// steps stops at `cancel_operation(operation)`.
#[tauri::command]
pub async fn build_timing(
    state: State<'_, AppState>,
    builder: String,
    build_ref: String,
    operation: String,
) -> Result<Timings, AppError> {
    let cancel = state.track(operation.clone());
    let result = async {
        let history = connect(&state, &builder).await?;
        Ok(history.timing(&BuildSpec::parse(&build_ref)?, cancel).await?)
    }
    .await;
    state.finish(&operation);
    result
}

/// The finished builds of the project `builder`'s record `build_ref` belongs to, oldest first.
#[tauri::command]
pub async fn project_history(
    state: State<'_, AppState>,
    builder: String,
    build_ref: String,
) -> Result<ProjectHistory, AppError> {
    Ok(connect(&state, &builder).await?.project(&BuildSpec::parse(&build_ref)?).await?)
}
