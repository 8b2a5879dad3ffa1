//! `buildlane`: with a subcommand it works without a window (no DISPLAY needed) through the same core
//! calls as the window; without one it opens the window (`buildlane-window`, installed beside it).

mod build;
mod cache;
mod exit_status;
mod format;
mod history;
mod history_compare;
mod imagetools;
mod inspect;
mod inspect_builder;
mod ls;
mod to_stdout;

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use buildlane_core::docker_config::Environment;
use clap::{Parser, Subcommand};

/// The window's binary, next to this one.
const WINDOW_BINARY: &str = "buildlane-window";

#[derive(Parser)]
#[command(name = "buildlane", version, about = "BuildKit builders, builds and images")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List builders and nodes, like `docker buildx ls`.
    Ls(ls::LsArgs),
    /// Build a Dockerfile, like `docker buildx build`; prints the image digest.
    Build(Box<build::BuildArgs>),
    /// Inspect an image in a registry, like `docker buildx imagetools inspect`.
    Inspect(inspect::InspectArgs),
    /// A builder's build records (BuildKit's history), like `docker buildx history`.
    History(history::HistoryArgs),
    /// Inspect a builder, like `docker buildx inspect [--bootstrap]`.
    InspectBuilder(inspect_builder::InspectBuilderArgs),
    /// A builder's build cache, like `docker buildx du`.
    Du(cache::DuArgs),
    /// Remove build cache, like `docker buildx prune`.
    Prune(cache::PruneArgs),
    /// Work with images in registries, like `docker buildx imagetools`.
    Imagetools(imagetools::ImagetoolsArgs),
}

/// A runtime for one command.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime starts")
}

/// Logs go to stderr, coloured only on a terminal. By default only warnings: a failure is what the
/// command prints itself, once, where the core's spans would log it again at each layer it
/// crossed. `BUILDLANE_LOG` (a tracing filter such as `debug`) shows whatever it selects.
fn init_logging() {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{filter, fmt, EnvFilter, Layer};

    let stderr = fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let stderr = match EnvFilter::try_from_env("BUILDLANE_LOG") {
        Ok(chosen) => stderr.with_filter(chosen).boxed(),
        Err(_) => stderr.with_filter(filter::filter_fn(|event| *event.level() == filter::LevelFilter::WARN)).boxed(),
    };
    tracing_subscriber::registry().with(stderr).init();
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let env = Environment::from_process();
    match cli.command {
        Some(Command::Ls(args)) => ls::run(env, args),
        Some(Command::Build(args)) => build::run(env, *args),
        Some(Command::Inspect(args)) => inspect::run(env, args),
        Some(Command::History(args)) => history::run(env, args),
        Some(Command::InspectBuilder(args)) => inspect_builder::run(env, args),
        Some(Command::Du(args)) => cache::run_du(env, args),
        Some(Command::Prune(args)) => cache::run_prune(env, args),
        Some(Command::Imagetools(args)) => imagetools::run(env, args),
        None => open_window(),
    }
}

fn open_window() -> ExitCode {
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|dir| dir.join(WINDOW_BINARY)));
    let Some(window) = beside.filter(|path| path.is_file()) else {
        eprintln!(
            "buildlane: {WINDOW_BINARY} is not installed next to buildlane (build it with `cargo build -p buildlane`)"
        );
        return ExitCode::FAILURE;
    };
    let error = std::process::Command::new(&window).exec();
    eprintln!("buildlane: cannot start {}: {error}", window.display());
    ExitCode::FAILURE
}
