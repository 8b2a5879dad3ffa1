//! The Buildlane window. `buildlane` (the CLI) starts it when called without a subcommand.

mod commands;
mod error;
mod launch;
mod memory;
mod state;
mod webview;

use std::process::ExitCode;

use buildlane_core::docker_config::Environment;
use tauri::Manager;

fn main() -> ExitCode {
    webview::configure_process();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("BUILDLANE_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        eprintln!("buildlane: no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); `buildlane ls`, `buildlane build` and `buildlane inspect` work without one");
        return ExitCode::FAILURE;
    }
    run_window(Environment::from_process())
}

fn run_window(env: Environment) -> ExitCode {
    let result = tauri::Builder::default()
        .setup(|app| {
            for window in app.webview_windows().values() {
                webview::configure(window)?;
            }
            Ok(())
        })
        .manage(commands::images::ImagesState::new(&env))
        .manage(state::AppState::new(env))
        .invoke_handler(tauri::generate_handler![
            commands::list_contexts,
            commands::select_context,
            commands::watch_engine,
            commands::watch_builders,
            commands::builders::list_builders,
            commands::builders::create_builder,
            commands::builders::boot_builder,
            commands::builders::inspect_builder,
            commands::builders::stop_builder,
            commands::builders::remove_builder,
            commands::builders::use_builder,
            commands::builders::leave_builder_node,
            commands::cancel_operation,
            commands::builders::cli_command,
            commands::builds::start_build,
            commands::builds::retry_platform,
            commands::builds::build_cli_command,
            commands::builds::offered_platforms,
            commands::builds::dockerfile_outline,
            commands::builds::dockerfile_source,
            commands::builds::recent_builds,
            commands::builds::build_logs,
            commands::history::watch_build_history,
            commands::history::history_support,
            commands::history::pin_build,
            commands::history::delete_build,
            commands::records::replay_record,
            commands::records::record_blobs,
            commands::records::record_attestation,
            commands::records::build_timing,
            commands::records::project_history,
            commands::history::compare_builds,
            commands::bundle::export_builds,
            commands::bundle::open_bundle,
            commands::images::list_registries,
            commands::images::add_registry,
            commands::images::remove_registry,
            commands::images::list_engine_repositories,
            commands::images::list_engine_tags,
            commands::images::inspect_engine_image,
            commands::images::list_repositories,
            commands::images::list_tags,
            commands::images::inspect_image,
            commands::images::compare_platforms,
            commands::images::image_cli_command,
            commands::cache::disk_usage,
            commands::cache::prune_preview,
            commands::cache::prune_cache,
            commands::cache::cache_cli_command,
            commands::images::compose_plan,
            commands::images::compose_push,
        ])
        .run(tauri::generate_context!());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("buildlane: {e}");
            ExitCode::FAILURE
        }
    }
}
