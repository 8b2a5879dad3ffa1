//! `buildlane inspect-builder [NAME] [--bootstrap]`: a builder as `docker buildx inspect` prints it
//! (no NAME: the current builder), then its nodes' config files and drivers' details; `--format
//! json` prints the inspection the window shows. Booting reports each step on stderr.

use std::io::Write;
use std::process::ExitCode;

use buildlane_core::builders::drivers::LifecycleEvent;
use buildlane_core::builders::{inspect, Builders};
use buildlane_core::docker_config::Environment;

use crate::exit_status::fail;

#[derive(clap::Args)]
pub struct InspectBuilderArgs {
    /// The builder (default: `--builder`, else the current one, as `docker buildx inspect`).
    name: Option<String>,
    /// The builder when no NAME is given (default: `BUILDX_BUILDER`).
    #[arg(long, env = "BUILDX_BUILDER")]
    builder: Option<String>,
    /// Boot the builder's nodes that are not running first.
    #[arg(long)]
    bootstrap: bool,
    /// `text` (default: buildx's fields, then Buildlane's) or `json`.
    #[arg(long, default_value = "text")]
    format: Format,
    /// Docker context (default: the docker CLI's current one).
    #[arg(long)]
    context: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// One line on stderr per boot step, prefixed with the builder as buildx prefixes its progress.
fn report(name: &str, event: LifecycleEvent) {
    let step = match event {
        LifecycleEvent::PullingImage { image, status, .. } => format!("pulling image {image}: {status}"),
        LifecycleEvent::UsingLocalImage { image, pull_error } => {
            format!("pull failed ({pull_error}), using local image {image}")
        }
        LifecycleEvent::CreatingContainer { container } => format!("creating container {container}"),
        LifecycleEvent::StartingContainer { container } => format!("starting container {container}"),
        LifecycleEvent::WaitingForBuildkit { attempt } => format!("waiting for BuildKit (attempt {attempt})"),
        LifecycleEvent::Ready => "ready".into(),
        LifecycleEvent::StoppingContainer { container } => format!("stopping container {container}"),
        LifecycleEvent::RemovingContainer { container } => format!("removing container {container}"),
        LifecycleEvent::RemovingVolume { volume } => format!("removing volume {volume}"),
        LifecycleEvent::Log { line } => line,
    };
    eprintln!("[{name}] booting buildkit: {step}");
}

pub fn run(env: Environment, args: InspectBuilderArgs) -> ExitCode {
    let runtime = crate::runtime();
    let builders = Builders::new(env);
    let name = args.name.or(args.builder).filter(|n| !n.is_empty());
    let shown = name.clone().unwrap_or_else(|| "current builder".into());
    let progress = move |event| report(&shown, event);
    let inspection =
        match runtime.block_on(builders.inspect(name.as_deref(), args.context.as_deref(), args.bootstrap, &progress)) {
            Ok(inspection) => inspection,
            Err(e) => return fail(&e),
        };
    let out = match args.format {
        Format::Text => inspect::text(&inspection),
        Format::Json => match serde_json::to_string_pretty(&inspection) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("buildlane: cannot write the inspection as JSON: {e}");
                return ExitCode::from(crate::exit_status::status(buildlane_core::error_code::ErrorCode::Internal));
            }
        },
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(out.as_bytes()).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
