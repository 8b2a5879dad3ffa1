//! `buildlane` opens the window; `buildlane ls` prints the Builders view without one (no DISPLAY needed).

mod commands;
mod error;
mod headless;
mod state;

use std::process::ExitCode;

use buildlane_core::docker_config::Environment;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "buildlane", version, about = "BuildKit builders, builds and images")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List builders and nodes, like `docker buildx ls`.
    Ls(headless::ls::LsArgs),
    /// Build a Dockerfile, like `docker buildx build`; prints the image digest.
    Build(Box<headless::build::BuildArgs>),
    /// Inspect an image in a registry, like `docker buildx imagetools inspect`.
    Inspect(headless::inspect::InspectArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("BUILDLANE_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let env = Environment::from_process();
    match cli.command {
        Some(Command::Ls(args)) => headless::ls::run(env, args),
        Some(Command::Build(args)) => headless::build::run(env, *args),
        Some(Command::Inspect(args)) => headless::inspect::run(env, args),
        None => run_window(env),
    }
}

fn run_window(env: Environment) -> ExitCode {
    let result = tauri::Builder::default()
        .manage(commands::images::ImagesState::new(&env))
        .manage(state::AppState::new(env))
        .invoke_handler(tauri::generate_handler![
            commands::list_contexts,
            commands::select_context,
            commands::watch_engine,
            commands::builders::list_builders,
            commands::builders::create_builder,
            commands::builders::boot_builder,
            commands::builders::stop_builder,
            commands::builders::remove_builder,
            commands::builders::use_builder,
            commands::cancel_operation,
            commands::builders::cli_command,
            commands::builds::start_build,
            commands::builds::build_cli_command,
            commands::builds::offered_platforms,
            commands::builds::dockerfile_outline,
            commands::builds::recent_builds,
            commands::builds::build_logs,
            commands::images::list_registries,
            commands::images::add_registry,
            commands::images::list_repositories,
            commands::images::list_tags,
            commands::images::inspect_image,
            commands::images::compare_platforms,
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
