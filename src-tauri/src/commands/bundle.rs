//! The History view's `.dockerbuild` bundles: a builder's records exported into one (with progress and
//! Cancel), and one opened read-only to list its builds (replayed and inspected through `records`).
//! A bundle is opened again for each call (the window keeps only its path), so nothing is held between calls.

use std::path::PathBuf;

use buildlane_core::history::bundle::{Bundle, ExportProgress, ExportSelection, ExportSummary};
use buildlane_core::history::{BuildHistory, BuildSpec, HistoryEntry};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use ts_rs::TS;

use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// An opened bundle: the file, and its builds in the order the history lists them.
#[derive(Debug, Clone, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct OpenedBundle {
    pub path: String,
    pub entries: Vec<HistoryEntry>,
}

/// The file a path typed names: absolute, or under the home folder with `~/`.
fn bundle_path(typed: &str) -> Result<PathBuf, AppError> {
    let typed = typed.trim();
    let path = match typed.strip_prefix("~/") {
        Some(rest) => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(rest)),
        None => Some(PathBuf::from(typed)),
    };
    match path {
        Some(path) if path.is_absolute() && path.file_name().is_some() => Ok(path),
        _ => Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("\"{typed}\" is not a file's full path (e.g. /home/me/builds.dockerbuild)"),
        )),
    }
}

/// Exports `refs` of `builder` ('' = the current one), or every completed record with `all`, into
/// the bundle at `path`; progress through `on_progress`, until `cancel_operation(operation)`.
#[tauri::command]
pub async fn export_builds(
    state: State<'_, AppState>,
    builder: String,
    refs: Vec<String>,
    all: bool,
    path: String,
    operation: String,
    on_progress: Channel<ExportProgress>,
) -> Result<ExportSummary, AppError> {
    state
        .tracked(operation, async |cancel| {
            let dest = bundle_path(&path)?;
            let selection = match all {
                true => ExportSelection::All,
                false => ExportSelection::Builds(refs.iter().map(|r| BuildSpec::parse(r)).collect::<Result<_, _>>()?),
            };
            let history = BuildHistory::connect(&state.builders, &builder, state.selected_context().as_deref()).await?;
            let on_progress = move |progress: ExportProgress| {
                let _ = on_progress.send(progress);
            };
            Ok(history.export(&selection, false, &dest, &on_progress, cancel).await?)
        })
        .await
}

/// The bundle at the path the page typed, opened.
pub(super) async fn open(path: &str) -> Result<Bundle, AppError> {
    Ok(Bundle::open(&bundle_path(path)?).await?)
}

#[tauri::command]
pub async fn open_bundle(path: String) -> Result<OpenedBundle, AppError> {
    let bundle = open(&path).await?;
    Ok(OpenedBundle { path: bundle.path().to_string_lossy().into_owned(), entries: bundle.entries() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_is_named_by_its_full_path() {
        assert_eq!(bundle_path(" /tmp/b.dockerbuild ").unwrap(), PathBuf::from("/tmp/b.dockerbuild"));
        let home = std::env::var("HOME").unwrap();
        assert_eq!(bundle_path("~/b.dockerbuild").unwrap(), PathBuf::from(home).join("b.dockerbuild"));
        for bad in ["b.dockerbuild", "", "/"] {
            assert_eq!(bundle_path(bad).unwrap_err().code, ErrorCode::InvalidInput, "{bad}");
        }
    }
}
