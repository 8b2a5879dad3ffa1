//! `buildlane build`: the Build view's build from a terminal, with buildx's flag names. Progress goes
//! to stderr (`plain` like buildx's, or `json` updates); the digest goes to stdout.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;

use buildlane_core::builders::Builders;
use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildOutput, BuildRequest, BuildState, ProvenanceMode};
use buildlane_core::docker_config::Environment;
use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::progress::{ProgressUpdate, StepState};
use tokio_util::sync::CancellationToken;

use crate::exit_status::{self, fail};

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The context folder.
    context: String,
    #[arg(long)]
    builder: Option<String>,
    /// Comma-separated target platforms, e.g. linux/amd64,linux/arm64. Split here, so the build's
    /// record lists one platform per entry, as the window's form does.
    #[arg(long, value_delimiter = ',')]
    platform: Vec<String>,
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    #[arg(long = "build-arg")]
    build_args: Vec<String>,
    #[arg(long = "label")]
    labels: Vec<String>,
    /// `id=NAME,src=FILE` or `id=NAME,env=VARIABLE`.
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// `type=registry,ref=REF` (or REF), or `type=local,src=DIR`.
    #[arg(long = "cache-from")]
    cache_from: Vec<String>,
    /// `type=registry,ref=REF[,mode=max]`, `type=local,dest=DIR[,mode=max]` or `type=inline`.
    #[arg(long = "cache-to")]
    cache_to: Vec<String>,
    #[arg(long)]
    target: Option<String>,
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    #[arg(long)]
    push: bool,
    #[arg(long)]
    load: bool,
    /// `type=oci|docker|tar,dest=FILE` or `type=local,dest=DIR`.
    #[arg(short = 'o', long)]
    output: Option<String>,
    #[arg(long)]
    no_cache: bool,
    /// `min` (default), `max` or `false`.
    #[arg(long, default_value = "min")]
    provenance: String,
    /// `true`, `false` (default) or `generator=IMAGE`.
    #[arg(long, default_value = "false")]
    sbom: String,
    /// `plain` (default) or `json`.
    #[arg(long, default_value = "plain")]
    progress: String,
    #[arg(long)]
    context_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum ArgsError {
    #[error("--push, --load and --output are exclusive")]
    TooManyOutputs,
    #[error("invalid --output \"{0}\": expected type=oci|docker|tar,dest=FILE or type=local,dest=DIR")]
    Output(String),
    #[error("invalid --provenance \"{0}\": expected min, max or false")]
    Provenance(String),
    #[error("invalid --sbom \"{0}\": expected true, false or generator=IMAGE")]
    Sbom(String),
    #[error("invalid --progress \"{0}\": expected plain or json")]
    Progress(String),
}

impl Coded for ArgsError {
    fn code(&self) -> ErrorCode {
        match self {
            ArgsError::TooManyOutputs
            | ArgsError::Output(_)
            | ArgsError::Provenance(_)
            | ArgsError::Sbom(_)
            | ArgsError::Progress(_) => ErrorCode::InvalidInput,
        }
    }
}

fn output(args: &BuildArgs) -> Result<BuildOutput, ArgsError> {
    match (args.push, args.load, &args.output) {
        (false, false, None) => Ok(BuildOutput::CacheOnly),
        (true, false, None) => Ok(BuildOutput::Push),
        (false, true, None) => Ok(BuildOutput::Load),
        (false, false, Some(spec)) => {
            let fields: HashMap<&str, &str> = spec.split(',').filter_map(|kv| kv.split_once('=')).collect();
            match (fields.get("type"), fields.get("dest")) {
                (Some(&"oci"), Some(dest)) => Ok(BuildOutput::Oci { dest: dest.to_string() }),
                (Some(&"docker"), Some(dest)) => Ok(BuildOutput::Docker { dest: dest.to_string() }),
                (Some(&"tar"), Some(dest)) => Ok(BuildOutput::Tar { dest: dest.to_string() }),
                (Some(&"local"), Some(dest)) => Ok(BuildOutput::Local { dest: dest.to_string() }),
                _ => Err(ArgsError::Output(spec.clone())),
            }
        }
        _ => Err(ArgsError::TooManyOutputs),
    }
}

fn request(args: &BuildArgs) -> Result<BuildRequest, ArgsError> {
    let provenance = match args.provenance.as_str() {
        "min" | "mode=min" | "true" => ProvenanceMode::Min,
        "max" | "mode=max" => ProvenanceMode::Max,
        "false" | "off" => ProvenanceMode::Off,
        other => return Err(ArgsError::Provenance(other.to_owned())),
    };
    let (sbom, sbom_generator) = match args.sbom.trim() {
        "false" => (false, String::new()),
        "true" => (true, String::new()),
        other => match other.strip_prefix("generator=").map(str::trim).filter(|g| !g.is_empty()) {
            Some(generator) => (true, generator.to_owned()),
            None => return Err(ArgsError::Sbom(args.sbom.clone())),
        },
    };
    if !matches!(args.progress.as_str(), "plain" | "json") {
        return Err(ArgsError::Progress(args.progress.clone()));
    }
    Ok(BuildRequest {
        context: args.context.clone(),
        dockerfile: args.file.clone().unwrap_or_default(),
        platforms: args.platform.clone(),
        tags: args.tags.clone(),
        build_args: args.build_args.clone(),
        labels: args.labels.clone(),
        secrets: args.secrets.clone(),
        cache_from: args.cache_from.clone(),
        cache_to: args.cache_to.clone(),
        target: args.target.clone().unwrap_or_default(),
        no_cache: args.no_cache,
        output: output(args)?,
        provenance,
        sbom,
        sbom_generator,
        builder: args.builder.clone().unwrap_or_default(),
    })
}

/// Prints progress as buildx's `plain` mode does: one number per step, its start, output and end.
#[derive(Default)]
pub(crate) struct PlainPrinter {
    numbers: HashMap<String, usize>,
    shown: HashMap<String, StepState>,
}

impl PlainPrinter {
    pub(crate) fn print(&mut self, update: &ProgressUpdate, out: &mut impl Write) {
        for step in &update.steps {
            let next = self.numbers.len() + 1;
            let n = *self.numbers.entry(step.id.clone()).or_insert(next);
            let inner: Vec<&str> = [
                (step.lane != "shared").then_some(step.lane.as_str()),
                step.stage.as_deref(),
                step.position.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            let label =
                if inner.is_empty() { step.name.clone() } else { format!("[{}] {}", inner.join(" "), step.name) };
            if !self.shown.contains_key(&step.id) {
                let _ = writeln!(out, "#{n} {label}");
            }
            if self.shown.get(&step.id) != Some(&step.state) {
                let secs = match (step.started_ms, step.completed_ms) {
                    (Some(s), Some(c)) => format!(" {:.1}s", c.saturating_sub(s) as f64 / 1000.0),
                    _ => String::new(),
                };
                let _ = match step.state {
                    StepState::Done => writeln!(out, "#{n} DONE{secs}"),
                    StepState::Cached => writeln!(out, "#{n} CACHED"),
                    StepState::Failed => writeln!(out, "#{n} ERROR: {}", step.error.as_deref().unwrap_or("failed")),
                    StepState::Cancelled => writeln!(out, "#{n} CANCELED"),
                    StepState::Queued | StepState::Running => Ok(()),
                };
                self.shown.insert(step.id.clone(), step.state);
            }
        }
        for log in &update.logs {
            let n = self.numbers.get(&log.step).copied().unwrap_or(0);
            for line in log.text.lines() {
                let _ = writeln!(out, "#{n} {line}");
            }
        }
        for warning in &update.warnings {
            let _ = writeln!(out, "WARNING: {warning}");
        }
    }
}

pub fn run(env: Environment, args: BuildArgs) -> ExitCode {
    let request = match request(&args) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let json = args.progress == "json";
    let printer = Mutex::new(PlainPrinter::default());
    let on_progress = move |update: ProgressUpdate| {
        let mut err = std::io::stderr().lock();
        if json {
            let _ = writeln!(err, "{}", serde_json::to_string(&update).expect("progress serialises"));
        } else {
            printer.lock().expect("printer lock").print(&update, &mut err);
        }
    };
    let builders = Builders::new(env);
    let cancel = CancellationToken::new();
    let outcome = crate::runtime().block_on(async {
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        let mut recording = Records::new(builders.contexts().environment()).recording();
        builds::run(&builders, &request, args.context_name.as_deref(), &on_progress, cancel, &mut recording).await
    });
    match outcome {
        Ok(outcome) => match outcome.state {
            BuildState::Succeeded => {
                if let Some(digest) = &outcome.digest {
                    println!("{digest}");
                }
                ExitCode::SUCCESS
            }
            BuildState::Cancelled => {
                eprintln!("buildlane: build cancelled");
                ExitCode::from(exit_status::status(ErrorCode::Cancelled))
            }
            BuildState::Failed => {
                let failure = outcome.failure.expect("a failed build says why");
                // `Dockerfile:5` or `Dockerfile:5-6`, the file as BuildKit named it, as buildx prints it.
                let at = failure.dockerfile_line.map(|line| {
                    let file = failure.dockerfile_name.as_deref().unwrap_or("Dockerfile");
                    match failure.dockerfile_end_line.filter(|end| *end > line) {
                        Some(end) => format!("{file}:{line}-{end}"),
                        None => format!("{file}:{line}"),
                    }
                });
                let place = match (&failure.platform, at) {
                    (Some(p), Some(at)) => format!(" ({p}, {at})"),
                    (Some(p), None) => format!(" ({p})"),
                    (None, Some(at)) => format!(" ({at})"),
                    (None, None) => String::new(),
                };
                eprintln!("buildlane: build failed{place}: {}", failure.message);
                ExitCode::from(exit_status::FAILED)
            }
        },
        Err(e) => fail(&e),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        args: BuildArgs,
    }

    #[test]
    fn comma_separated_platforms_are_recorded_one_per_entry() {
        let parsed =
            Command::parse_from(["build", ".", "--platform", "linux/amd64,linux/arm64", "--platform", "linux/riscv64"]);
        let request = request(&parsed.args).unwrap();
        assert_eq!(request.platforms, ["linux/amd64", "linux/arm64", "linux/riscv64"]);
    }
}
