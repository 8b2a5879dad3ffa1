//! `buildlane build`: the Build view's build from a terminal, with buildx's flag names. Progress goes
//! to stderr (`plain` like buildx's, or `json` updates); the digest goes to stdout.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Mutex;

use buildlane_core::builders::Builders;
use buildlane_core::builds::keep_going::{self, PlatformResult};
use buildlane_core::builds::records::{BuildRecord, Records};
use buildlane_core::builds::{
    self, metadata, AttestError, Attestations, BuildOutcome, BuildOutput, BuildRequest, BuildState, OutputFlag,
    OutputFlagError, PlatformRetry, ProvenanceAttest,
};
use buildlane_core::docker_config::Environment;
use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::go_text::parse_bool::parse_bool;
use buildlane_core::go_text::quote::quote;
use buildlane_core::progress::{LogChunk, ProgressUpdate, StepState, SHARED_LANE};
use tokio_util::sync::CancellationToken;

use crate::exit_status::{self, fail};
use crate::to_stdout::ToStdout;

#[derive(clap::Args)]
pub struct BuildArgs {
    /// The context folder.
    context: String,
    /// The builder (default: `BUILDX_BUILDER`, else the current one).
    #[arg(long, env = "BUILDX_BUILDER")]
    builder: Option<String>,
    /// Comma-separated target platforms, e.g. linux/amd64,linux/arm64. Split here, so the build's
    /// record lists one platform per entry, as the window's form does.
    #[arg(long, value_delimiter = ',')]
    platform: Vec<String>,
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// `KEY=VALUE`, or `KEY` for the variable's value in this environment (left out when unset).
    #[arg(long = "build-arg")]
    build_args: Vec<String>,
    /// `KEY=VALUE`, or `KEY` for an empty value.
    #[arg(long = "label")]
    labels: Vec<String>,
    /// `id=NAME,src=FILE` or `id=NAME,env=VARIABLE`.
    #[arg(long = "secret")]
    secrets: Vec<String>,
    /// `default|ID=SOCKET|ID=KEYFILE[,KEYFILE]`: an ssh-agent (`default` is $SSH_AUTH_SOCK) or private
    /// key files that RUN --mount=type=ssh may use.
    #[arg(long = "ssh")]
    ssh: Vec<String>,
    /// `NAME=PATH` (a folder), or `NAME=docker-image://REF`, `NAME=target:STAGE`, a git or HTTP URL.
    #[arg(long = "build-context")]
    build_contexts: Vec<String>,
    /// RUN steps' network: `default`, `host` or `none`.
    #[arg(long, default_value = "default")]
    network: String,
    /// `HOST:IP`, added to RUN steps' /etc/hosts.
    #[arg(long = "add-host")]
    add_hosts: Vec<String>,
    /// `[TYPE[PLATFORM]:]KEY=VALUE`, TYPE one of index, index-descriptor, manifest, manifest-descriptor.
    #[arg(long = "annotation")]
    annotations: Vec<String>,
    /// `type=registry,ref=REF` (or REF), or `type=local,src=DIR`.
    #[arg(long = "cache-from")]
    cache_from: Vec<String>,
    /// `type=registry,ref=REF[,mode=max]`, `type=local,dest=DIR[,mode=max]` or `type=inline`.
    #[arg(long = "cache-to")]
    cache_to: Vec<String>,
    #[arg(long)]
    target: Option<String>,
    /// The Dockerfile, from the current folder (`-` reads it from standard input); by default
    /// `Dockerfile` in the context.
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    #[arg(long)]
    push: bool,
    #[arg(long)]
    load: bool,
    /// `type=oci|docker|tar[,dest=FILE]` (standard output without `dest`, or with `dest=-`),
    /// `type=local,dest=DIR`, `type=oci|docker,dest=DIR,tar=false` (an OCI layout folder);
    /// `-o -` is a tar on standard output and `-o DIR` a local output; `type=registry` (or
    /// `type=image,push=true`) pushes, `type=image` keeps the image in the builder, `type=docker`
    /// loads, `type=cacheonly`, as in buildx. Every other field (`name=`, `compression=zstd`,
    /// `oci-mediatypes=true`, `annotation.KEY=`, …) goes to the exporter as written. Give it
    /// again for each further output, all made by one build.
    #[arg(short = 'o', long = "output")]
    outputs: Vec<String>,
    #[arg(long)]
    no_cache: bool,
    /// Always pull referenced images.
    #[arg(long)]
    pull: bool,
    /// Solve each platform on its own, so that one that fails does not stop the others; nothing
    /// goes under the tags unless every platform succeeded (buildx has no such flag).
    #[arg(long)]
    keep_going: bool,
    /// With --keep-going and --push: when some platforms fail, push the index of those that
    /// succeeded under the tags.
    #[arg(long)]
    push_partial: bool,
    /// Build only this platform again, of the newest recorded build of the same flags in which it
    /// failed, and put the index of every platform under the tags.
    #[arg(long, value_name = "PLATFORM")]
    retry_platform: Option<String>,
    /// Shorthand for `--attest type=provenance,VALUE` (`true`/`false`: `disabled=false`/`true`), e.g.
    /// `mode=max`. Asked for, BuildKit's mode is max unless named, and the provenance goes with
    /// every output; not given, buildx's default is a min one kept with images only (none when
    /// BUILDX_NO_DEFAULT_ATTESTATIONS is true).
    #[arg(long, default_value = "")]
    provenance: String,
    /// Shorthand for `--attest type=sbom,VALUE`: `true`, `false` or `generator=IMAGE`.
    #[arg(long, default_value = "")]
    sbom: String,
    /// `type=provenance[,mode=min|max][,builder-id=…][,disabled=BOOL]` or
    /// `type=sbom[,generator=IMAGE][,disabled=BOOL]`, as buildx reads them.
    #[arg(long = "attest")]
    attests: Vec<String>,
    /// `plain` (default) or `json`.
    #[arg(long, default_value = "plain")]
    progress: String,
    /// No progress; the image's ID alone on stdout, as `--iidfile` writes it.
    #[arg(short = 'q', long)]
    quiet: bool,
    /// Write the image's ID (its config's digest, else its digest) to this file.
    #[arg(long, value_name = "FILE")]
    iidfile: Option<std::path::PathBuf>,
    /// Write the build's result to this file as buildx's JSON (the exporter's response and
    /// `buildx.build.ref`).
    #[arg(long, value_name = "FILE")]
    metadata_file: Option<std::path::PathBuf>,
    #[arg(long)]
    context_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
enum ArgsError {
    #[error("multiple outputs configured to write to stdout")]
    StdoutTwice,
    #[error("invalid --output \"{0}\": Buildlane makes type=image, registry, docker, oci, tar, local or cacheonly")]
    Output(String),
    #[error(transparent)]
    OutputFlag(OutputFlagError),
    #[error("dest is required for {0} exporter")]
    DestRequired(String),
    #[error("dest cannot be stdout for {0} exporter")]
    DestStdout(String),
    #[error("dest file is required for {0} exporter. refusing to write to console")]
    OutputConsole(String),
    #[error("cannot read the Dockerfile from standard input: {0}")]
    DockerfileStdin(String),
    #[error("cannot find the Dockerfile {file} from the current folder: {reason}")]
    DockerfilePath { file: String, reason: String },
    #[error("cannot make a scratch file for the output: {0}")]
    Scratch(String),
    #[error("local and tar exporters are incompatible with image ID file")]
    ImageIdFileWithoutImage,
    #[error("cannot write {path}: {reason}")]
    ResultFile { path: String, reason: String },
    #[error("invalid BUILDX_NO_DEFAULT_ATTESTATIONS: strconv.ParseBool: parsing {}: invalid syntax", quote(.0))]
    NoDefaultAttestations(String),
    #[error(transparent)]
    Attest(AttestError),
    #[error("invalid --progress \"{0}\": expected plain or json")]
    Progress(String),
    #[error("the newest recorded build of these flags did not fail on {0}: a platform can be retried when it failed in a build that ran with --keep-going (or was split across nodes)")]
    NothingToRetry(String),
}

impl Coded for ArgsError {
    fn code(&self) -> ErrorCode {
        match self {
            ArgsError::StdoutTwice
            | ArgsError::Output(_)
            | ArgsError::OutputFlag(_)
            | ArgsError::DestRequired(_)
            | ArgsError::DestStdout(_)
            | ArgsError::OutputConsole(_)
            | ArgsError::DockerfileStdin(_)
            | ArgsError::DockerfilePath { .. }
            | ArgsError::ImageIdFileWithoutImage
            | ArgsError::NoDefaultAttestations(_)
            | ArgsError::Attest(_)
            | ArgsError::Progress(_) => ErrorCode::InvalidInput,
            ArgsError::NothingToRetry(_) => ErrorCode::NotFound,
            ArgsError::Scratch(_) | ArgsError::ResultFile { .. } => ErrorCode::Internal,
        }
    }
}

/// What the flags ask for, and the scratch files made for `-` (the tarball bound for standard
/// output, the Dockerfile read from standard input), which live as long as the build.
struct Flags {
    request: BuildRequest,
    /// No `--push`, `--load` or `--output`: the output is the builder's driver's default.
    output_unset: bool,
    to_stdout: Option<ToStdout>,
    _dockerfile_from_stdin: Option<tempfile::TempDir>,
}

/// The outputs the flags name, in buildx's order. Each `-o` reads as buildx reads it
/// ([`OutputFlag`]), every field but `type` and `dest` going to its exporter; a tarball without
/// `dest`, or with `dest=-`, is standard output (refused on a terminal, or for a second output, as
/// buildx refuses them), written to a scratch file first. `--push` and `--load` add to what `-o`
/// names, as buildx adds them: `--push` makes every image output push, or adds one; `--load` adds
/// one unless a `type=docker` output is there (with a `dest` too: buildx 0.13.1 looks for `dest`
/// among the attributes after it took it out of them).
fn outputs(args: &BuildArgs) -> Result<(Vec<BuildOutput>, Option<ToStdout>), ArgsError> {
    let mut outputs = Vec::new();
    let mut to_stdout = None;
    for spec in &args.outputs {
        let (output, stdout) = output_flag(spec, to_stdout.is_some())?;
        to_stdout = to_stdout.or(stdout);
        outputs.push(output);
    }
    if args.push {
        for output in outputs.iter_mut() {
            if let BuildOutput::Image { attrs } = output {
                *output = BuildOutput::Push { attrs: std::mem::take(attrs) };
            }
        }
        if !outputs.iter().any(BuildOutput::is_push) {
            outputs.push(BuildOutput::push());
        }
    }
    let docker = |o: &BuildOutput| matches!(o, BuildOutput::Load { .. } | BuildOutput::Docker { .. });
    if args.load && !outputs.iter().any(docker) {
        outputs.push(BuildOutput::load());
    }
    // `Target::default_output` fills it when the builder's driver is known.
    Ok((outputs, to_stdout))
}

/// What one `--output` names, with buildx's rules for where it goes (`controller/pb.CreateExports`):
/// `local` and a `tar=false` oci or docker output need a folder, a tarball a file or standard
/// output (its default; a docker one without `dest` loads into the engine), and the image
/// exporter pushes when `push` says so. `stdout_taken`: an earlier output took standard output.
fn output_flag(spec: &str, stdout_taken: bool) -> Result<(BuildOutput, Option<ToStdout>), ArgsError> {
    let OutputFlag { kind, dest, mut attrs } = spec.parse().map_err(ArgsError::OutputFlag)?;
    let folder = |dest: Option<String>| match dest.as_deref() {
        None | Some("") => Err(ArgsError::DestRequired(kind.clone())),
        Some("-") => Err(ArgsError::DestStdout(kind.clone())),
        Some(_) => Ok(dest.unwrap_or_default()),
    };
    let tarball = |dest: Option<String>| -> Result<(String, Option<ToStdout>), ArgsError> {
        let dest = dest.filter(|d| !d.is_empty()).unwrap_or_else(|| "-".into());
        if dest != "-" {
            return Ok((dest, None));
        }
        if stdout_taken {
            return Err(ArgsError::StdoutTwice);
        }
        if std::io::stdout().is_terminal() {
            return Err(ArgsError::OutputConsole(kind.clone()));
        }
        let scratch = ToStdout::new(&format!("output.{kind}")).map_err(|e| ArgsError::Scratch(e.to_string()))?;
        Ok((scratch.path().to_string_lossy().into_owned(), Some(scratch)))
    };
    let tar = attrs.get("tar").and_then(|t| parse_bool(t)).unwrap_or(true);
    Ok(match kind.as_str() {
        "cacheonly" => (BuildOutput::CacheOnly, None),
        "image" => {
            // A push that is not a boolean stays for the exporter to refuse in BuildKit's words.
            let push = attrs.get("push").and_then(|p| parse_bool(p));
            if push.is_some() {
                attrs.remove("push");
            }
            let output = if push == Some(true) { BuildOutput::Push { attrs } } else { BuildOutput::Image { attrs } };
            (output, None)
        }
        "local" => (BuildOutput::Local { dest: folder(dest)?, attrs }, None),
        "oci" | "docker" if !tar => {
            let dest = folder(dest)?;
            let output =
                if kind == "oci" { BuildOutput::Oci { dest, attrs } } else { BuildOutput::Docker { dest, attrs } };
            (output, None)
        }
        "docker" if dest.as_deref().is_none_or(str::is_empty) => (BuildOutput::Load { attrs }, None),
        "oci" | "docker" | "tar" => {
            let (dest, stdout) = tarball(dest)?;
            let output = match kind.as_str() {
                "oci" => BuildOutput::Oci { dest, attrs },
                "docker" => BuildOutput::Docker { dest, attrs },
                _ => BuildOutput::Tar { dest, attrs },
            };
            (output, stdout)
        }
        _ => return Err(ArgsError::Output(spec.to_owned())),
    })
}

/// `-f` as buildx takes it: a relative path is from the current folder, not the context; `-`
/// reads standard input into a scratch folder's `Dockerfile`.
fn dockerfile(file: Option<&str>) -> Result<(String, Option<tempfile::TempDir>), ArgsError> {
    match file.map(str::trim) {
        None | Some("") => Ok((String::new(), None)),
        Some("-") => {
            let stdin_error = |e: std::io::Error| ArgsError::DockerfileStdin(e.to_string());
            let scratch = tempfile::tempdir().map_err(stdin_error)?;
            let path = scratch.path().join("Dockerfile");
            let mut file = std::fs::File::create(&path).map_err(stdin_error)?;
            std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(stdin_error)?;
            Ok((path.to_string_lossy().into_owned(), Some(scratch)))
        }
        Some(file) => {
            let path = std::path::absolute(file)
                .map_err(|e| ArgsError::DockerfilePath { file: file.to_owned(), reason: e.to_string() })?;
            Ok((path.to_string_lossy().into_owned(), None))
        }
    }
}

/// `--build-arg KEY` takes KEY's value from this environment and is left out when it has none;
/// `--label KEY` is an empty label (buildx's `listToMap`).
fn key_values(items: &[String], from_environment: bool) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| match item.contains('=') {
            true => Some(item.clone()),
            false if from_environment => {
                std::env::var(item.trim()).ok().map(|value| format!("{}={value}", item.trim()))
            }
            false => Some(format!("{item}=")),
        })
        .collect()
}

fn flags(args: &BuildArgs) -> Result<Flags, ArgsError> {
    let (outputs, to_stdout) = outputs(args)?;
    let (dockerfile, dockerfile_from_stdin) = dockerfile(args.file.as_deref())?;
    let filesystem = |o: &BuildOutput| matches!(o, BuildOutput::Local { .. } | BuildOutput::Tar { .. });
    if args.iidfile.is_some() && outputs.iter().any(filesystem) {
        return Err(ArgsError::ImageIdFileWithoutImage);
    }
    let output_unset = outputs.is_empty();
    let request = request(args, outputs, dockerfile)?;
    Ok(Flags { request, output_unset, to_stdout, _dockerfile_from_stdin: dockerfile_from_stdin })
}

/// Writes `--iidfile` and `--metadata-file` for a build that ended with an image.
fn write_result_files(args: &BuildArgs, outcome: &BuildOutcome, node: &str) -> Result<(), ArgsError> {
    let failed = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |e: std::io::Error| ArgsError::ResultFile { path, reason: e.to_string() }
    };
    if let (Some(path), Some(id)) = (&args.iidfile, metadata::image_id(outcome)) {
        std::fs::write(path, id).map_err(failed(path))?;
    }
    if let Some(path) = &args.metadata_file {
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        let file = tempfile::NamedTempFile::new_in(folder).map_err(failed(path))?;
        std::fs::write(file.path(), metadata::metadata_json(outcome, node)).map_err(failed(path))?;
        std::fs::set_permissions(file.path(), std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .map_err(failed(path))?;
        file.persist(path).map_err(|e| failed(path)(e.error))?;
    }
    Ok(())
}

/// Without a provenance named, buildx's default one unless `BUILDX_NO_DEFAULT_ATTESTATIONS` says not to.
fn default_provenance() -> Result<ProvenanceAttest, ArgsError> {
    match std::env::var("BUILDX_NO_DEFAULT_ATTESTATIONS") {
        Err(_) => Ok(ProvenanceAttest::Default),
        Ok(value) => match parse_bool(&value) {
            Some(true) => Ok(ProvenanceAttest::Off),
            Some(false) => Ok(ProvenanceAttest::Default),
            None => Err(ArgsError::NoDefaultAttestations(value)),
        },
    }
}

/// `SOURCE_DATE_EPOCH` from the environment is a build arg unless one is given, as buildx passes it.
fn with_source_date_epoch(mut build_args: Vec<String>) -> Vec<String> {
    const KEY: &str = "SOURCE_DATE_EPOCH";
    let given = build_args.iter().any(|a| a.split_once('=').is_some_and(|(k, _)| k.trim() == KEY));
    match std::env::var(KEY) {
        Ok(epoch) if !epoch.is_empty() && !given => build_args.push(format!("{KEY}={epoch}")),
        _ => {}
    }
    build_args
}

fn request(args: &BuildArgs, outputs: Vec<BuildOutput>, dockerfile: String) -> Result<BuildRequest, ArgsError> {
    let asked = Attestations::parse(&args.attests, &args.provenance, &args.sbom).map_err(ArgsError::Attest)?;
    let provenance = match asked.provenance {
        Some(provenance) => provenance,
        None => default_provenance()?,
    };
    if !matches!(args.progress.as_str(), "plain" | "json") {
        return Err(ArgsError::Progress(args.progress.clone()));
    }
    Ok(BuildRequest {
        context: args.context.clone(),
        dockerfile,
        platforms: args.platform.clone(),
        tags: args.tags.clone(),
        build_args: with_source_date_epoch(key_values(&args.build_args, true)),
        labels: key_values(&args.labels, false),
        secrets: args.secrets.clone(),
        ssh: args.ssh.clone(),
        build_contexts: args.build_contexts.clone(),
        network: args.network.clone(),
        add_hosts: args.add_hosts.clone(),
        annotations: args.annotations.clone(),
        cache_from: args.cache_from.clone(),
        cache_to: args.cache_to.clone(),
        target: args.target.clone().unwrap_or_default(),
        no_cache: args.no_cache,
        pull: args.pull,
        outputs,
        provenance,
        sbom: asked.sbom.is_some(),
        sbom_generator: asked.sbom.unwrap_or_default(),
        builder: args.builder.clone().unwrap_or_default(),
        keep_going: args.keep_going,
        push_partial: args.push_partial,
    })
}

/// The newest recorded build of `request` whose platforms were solved on their own, with its logs,
/// when `platform` failed or was stopped in it (a retry is such a build too).
fn to_retry(records: &Records, request: &BuildRequest, platform: &str) -> Option<(BuildRecord, Vec<LogChunk>)> {
    let record = records
        .recent(usize::MAX)
        .into_iter()
        .find(|r| &r.request == request && !r.outcome.platform_results.is_empty())
        .filter(|r| {
            r.outcome.platform_results.iter().any(|p| p.platform == platform && p.state != BuildState::Succeeded)
        })?;
    let logs = records.logs(&record.outcome.build_ref).unwrap_or_default();
    Some((record, logs))
}

/// How each platform of a build that kept going (or was split across nodes) ended, one line each.
fn print_platforms(results: &[PlatformResult], out: &mut impl Write) {
    let width = results.iter().map(|r| r.platform.len()).max().unwrap_or(0);
    for r in results {
        let end = match r.state {
            BuildState::Succeeded => format!("succeeded {}", r.digest.as_deref().unwrap_or_default()),
            BuildState::Failed => {
                let at = r.dockerfile_line.map(|l| format!(" (Dockerfile:{l})")).unwrap_or_default();
                format!("failed{at}: {}", r.error.as_deref().unwrap_or_default())
            }
            BuildState::Cancelled => "cancelled".to_owned(),
        };
        let retry = if r.attempt > 1 { format!(", attempt {}", r.attempt) } else { String::new() };
        let _ = writeln!(out, "{:width$}  on {}{retry}: {}", r.platform, r.node, end.trim_end());
    }
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
                (step.lane != SHARED_LANE).then_some(step.lane.as_str()),
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
    let mut flags = match flags(&args) {
        Ok(flags) => flags,
        Err(e) => return fail(&e),
    };
    let (json, quiet) = (args.progress == "json", args.quiet);
    let printer = Mutex::new(PlainPrinter::default());
    let on_progress = move |update: ProgressUpdate| {
        if quiet {
            return;
        }
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
        let context = args.context_name.as_deref();
        builds::validate(&flags.request).map_err(|e| fail(&e))?;
        let target = builds::resolve_target(&builders, &flags.request.builder, context).await.map_err(|e| fail(&e))?;
        if flags.output_unset {
            let (output, warning) = target.default_output();
            flags.request.outputs = vec![output];
            if let Some(warning) = warning {
                eprintln!("WARNING: {warning}");
            }
        }
        let node = target.first_node().to_owned();
        if !quiet && !json {
            // buildx's plain progress opens with the builder it builds on.
            eprintln!("#0 building with \"{}\" instance using {} driver\n", target.builder(), target.driver());
        }
        let request = &flags.request;
        let records = Records::new(builders.contexts().environment());
        let mut recording = records.recording();
        let ended = match &args.retry_platform {
            None => builds::run_on_target(&builders, request, target, context, &on_progress, cancel, &mut recording)
                .await
                .map_err(|e| fail(&e)),
            Some(platform) => {
                let (record, logs) = to_retry(&records, request, platform)
                    .ok_or_else(|| fail(&ArgsError::NothingToRetry(platform.clone())))?;
                let retry = PlatformRetry { record: &record, logs: &logs, platform };
                builds::retry(&builders, retry, context, &on_progress, cancel, &mut recording)
                    .await
                    .map_err(|e| fail(&e))
            }
        };
        ended.map(|outcome| (outcome, node))
    });
    let (outcome, node) = match outcome {
        Ok(ended) => ended,
        Err(status) => return status,
    };
    if outcome.state == BuildState::Succeeded {
        if let Err(e) = write_result_files(&args, &outcome, &node) {
            return fail(&e);
        }
    }
    if !outcome.platform_results.is_empty() {
        print_platforms(&outcome.platform_results, &mut std::io::stderr().lock());
    }
    match outcome.state {
        BuildState::Succeeded => match &flags.to_stdout {
            // The tarball alone goes to standard output.
            Some(tarball) => match tarball.send() {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            },
            None => {
                let shown = if args.quiet { metadata::image_id(&outcome) } else { outcome.digest.as_deref() };
                if let Some(shown) = shown {
                    println!("{shown}");
                }
                ExitCode::SUCCESS
            }
        },
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
            // Steps of no one platform are the shared lane's: no platform to name.
            let platform = failure.platform.as_deref().filter(|p| *p != SHARED_LANE);
            let place = match (platform, at) {
                (Some(p), Some(at)) => format!(" ({p}, {at})"),
                (Some(p), None) => format!(" ({p})"),
                (None, Some(at)) => format!(" ({at})"),
                (None, None) => String::new(),
            };
            if let Some(excerpt) = failure.source_excerpt() {
                eprint!("{excerpt}");
            }
            eprintln!("buildlane: build failed{place}: {}", failure.message);
            // The platforms that succeeded went under the tags all the same (--push-partial).
            if let Some(digest) = &outcome.digest {
                let missing = keep_going::missing(&outcome.platform_results).join(", ");
                eprintln!("buildlane: pushed {} without {missing}", outcome.tags.join(", "));
                println!("{digest}");
            }
            ExitCode::from(exit_status::FAILED)
        }
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
    fn keep_going_and_pushing_what_succeeded_go_into_the_request() {
        let parsed = Command::parse_from(["build", ".", "--push", "-t", "r/a:1", "--keep-going", "--push-partial"]);
        let request = flags(&parsed.args).unwrap().request;
        assert!(request.keep_going && request.push_partial);
        assert!(!flags(&Command::parse_from(["build", "."]).args).unwrap().request.keep_going);
    }

    fn requested(args: &[&str]) -> BuildRequest {
        flags(&Command::parse_from([&["build", "."][..], args].concat()).args).unwrap().request
    }

    #[test]
    fn a_relative_dockerfile_is_found_from_the_current_folder_as_buildx_finds_it() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            requested(&["-f", "docker/Dockerfile.dev"]).dockerfile,
            here.join("docker/Dockerfile.dev").to_string_lossy()
        );
        assert_eq!(requested(&["-f", "/abs/Dockerfile"]).dockerfile, "/abs/Dockerfile");
        assert_eq!(requested(&[]).dockerfile, "", "the context's own");
    }

    #[test]
    fn a_build_arg_without_value_is_read_from_the_environment_and_a_label_without_one_is_empty() {
        // PATH is set wherever the tests run; the other name is set nowhere.
        let path = std::env::var("PATH").unwrap();
        let request = requested(&[
            "--build-arg",
            "PATH",
            "--build-arg",
            "BUILDLANE_TEST_SET_NOWHERE",
            "--build-arg",
            "A=1",
            "--label",
            "bare",
            "--label",
            "k=v",
        ]);
        assert_eq!(request.build_args, [format!("PATH={path}"), "A=1".to_owned()]);
        assert_eq!(request.labels, ["bare=", "k=v"]);
    }

    #[test]
    fn attest_says_what_provenance_and_sbom_say_and_is_passed_on_as_given() {
        let max = requested(&[
            "--attest",
            "type=provenance,mode=max,builder-id=ci",
            "--attest",
            "type=sbom,generator=127.0.0.1:5055/scanner:1",
        ]);
        assert_eq!(
            (max.provenance, max.sbom, max.sbom_generator.as_str()),
            (
                ProvenanceAttest::Attrs("type=provenance,mode=max,builder-id=ci".into()),
                true,
                "127.0.0.1:5055/scanner:1"
            )
        );
        let off = requested(&["--attest", "type=provenance,disabled=true", "--attest", "type=sbom"]);
        assert_eq!((off.provenance, off.sbom, off.sbom_generator.as_str()), (ProvenanceAttest::Off, true, ""));
        let shorthand = requested(&["--provenance", "true", "--sbom", "false"]);
        assert_eq!(
            (shorthand.provenance, shorthand.sbom),
            (ProvenanceAttest::Attrs("type=provenance,disabled=false".into()), false)
        );
        assert_eq!(requested(&[]).provenance, ProvenanceAttest::Default, "none named: buildx's default");
        for (wrong, words) in [
            (&["--provenance", "min"][..], "invalid value min"),
            (&["--attest", "mode=max"], "attestation type not specified"),
            (&["--attest", "type=provenance", "--provenance", "mode=max"], "duplicate attestation field provenance"),
            (&["--attest", "type=unknown"], "unknown attestation type \"unknown\""),
        ] {
            assert_eq!(refused(wrong), words, "{wrong:?}");
        }
    }

    /// The one output `args` name.
    fn output(args: &[&str]) -> BuildOutput {
        match &requested(args).outputs[..] {
            [output] => output.clone(),
            several => panic!("{args:?}: {several:?}"),
        }
    }

    fn attrs(pairs: &[(&str, &str)]) -> buildlane_core::builds::ExporterAttrs {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// Why `args` are refused.
    fn refused(args: &[&str]) -> String {
        match flags(&Command::parse_from([&["build", "."][..], args].concat()).args) {
            Err(e) => e.to_string(),
            Ok(flags) => panic!("{args:?} taken: {:?}", flags.request.outputs),
        }
    }

    #[test]
    fn an_output_without_a_type_is_a_local_folder_and_a_dash_a_tar() {
        assert_eq!(output(&["-o", "out/dir"]), BuildOutput::local("out/dir"));
        assert_eq!(output(&["-o", "type=oci,dest=a.tar"]), BuildOutput::oci("a.tar"));
        // Without `dest` too, a tarball goes to standard output, as buildx sends it.
        for spec in ["type=tar,dest=-", "type=tar", "type=oci"] {
            let parsed = Command::parse_from(["build", ".", "-o", spec]);
            match flags(&parsed.args) {
                // Standard output here is the test harness's: a terminal when run by hand.
                Err(ArgsError::OutputConsole(kind)) => assert!(spec.contains(&kind)),
                Err(other) => panic!("{other}"),
                Ok(flags) => {
                    let scratch = flags.to_stdout.expect("a scratch file bound for standard output");
                    let dest = scratch.path().to_string_lossy().into_owned();
                    assert!(
                        matches!(&flags.request.outputs[..], [BuildOutput::Tar { dest: d, .. } | BuildOutput::Oci { dest: d, .. }] if *d == dest)
                    );
                }
            }
        }
        assert!(matches!(
            flags(&Command::parse_from(["build", ".", "-o", "type=nope,dest=x"]).args),
            Err(ArgsError::Output(_))
        ));
        let tagged = |spec: &str| output(&["-t", "r/a:1", "-o", spec]);
        assert_eq!(tagged("type=registry"), BuildOutput::push());
        assert_eq!(tagged("type=image,push=true"), BuildOutput::push());
        assert_eq!(tagged("type=docker"), BuildOutput::load());
        assert_eq!(tagged("type=cacheonly"), BuildOutput::CacheOnly);
        assert_eq!(tagged("type=image"), BuildOutput::image(), "kept in the builder");
        assert_eq!(tagged("type=registry,push=false"), BuildOutput::image());
        assert!(requested(&[]).outputs.is_empty(), "the driver's default, once the builder is known");
    }

    #[test]
    fn every_attribute_of_an_output_goes_to_its_exporter() {
        assert_eq!(
            output(&["-o", "type=image,name=127.0.0.1:5055/app:1,push=true,compression=zstd,oci-mediatypes=true"]),
            BuildOutput::push().with_attrs(attrs(&[
                ("name", "127.0.0.1:5055/app:1"),
                ("compression", "zstd"),
                ("oci-mediatypes", "true")
            ]))
        );
        assert_eq!(
            output(&["-o", "type=oci,dest=layout,tar=false"]),
            BuildOutput::oci("layout").with_attrs(attrs(&[("tar", "false")]))
        );
        assert_eq!(
            output(&["-o", "type=docker,context=other"]),
            BuildOutput::load().with_attrs(attrs(&[("context", "other")]))
        );
        assert_eq!(
            output(&["-o", "type=local,dest=out,platform-split=false"]),
            BuildOutput::local("out").with_attrs(attrs(&[("platform-split", "false")]))
        );
        // Not a boolean: BuildKit's exporter refuses it in its own words.
        assert_eq!(
            output(&["-o", "type=image,push=maybe"]),
            BuildOutput::image().with_attrs(attrs(&[("push", "maybe")]))
        );
    }

    #[test]
    fn a_folder_output_needs_a_folder_in_buildx_words() {
        assert_eq!(refused(&["-o", "type=local"]), "dest is required for local exporter");
        assert_eq!(refused(&["-o", "type=oci,tar=false"]), "dest is required for oci exporter");
        assert_eq!(refused(&["-o", "type=docker,tar=0,dest=-"]), "dest cannot be stdout for docker exporter");
        assert_eq!(refused(&["-o", "type=oci,dest"]), "invalid value dest");
        assert_eq!(refused(&["-o", "dest=x.tar,compression=gzip"]), "type is required for output");
    }

    #[test]
    fn push_and_load_add_to_the_outputs_unless_one_already_pushes_or_loads() {
        let (push, load) = (BuildOutput::push, BuildOutput::load);
        let outputs = |args: &[&str]| requested(&[&["-t", "r/a:1"][..], args].concat()).outputs;
        assert_eq!(outputs(&["--push", "--load"]), [push(), load()]);
        assert_eq!(outputs(&["--load", "--push"]), [push(), load()], "buildx adds the push first");
        assert_eq!(outputs(&["-o", "type=registry", "--load"]), [push(), load()]);
        assert_eq!(outputs(&["-o", "type=docker", "--push"]), [load(), push()]);
        assert_eq!(outputs(&["-o", "type=registry", "--push"]), [push()]);
        assert_eq!(outputs(&["-o", "type=docker", "--load"]), [load()]);
        assert_eq!(outputs(&["-o", "type=local,dest=out", "--push"]), [BuildOutput::local("out"), push()]);
        // --push makes the image outputs push, keeping what they were given.
        let zstd = attrs(&[("compression", "zstd")]);
        assert_eq!(outputs(&["-o", "type=image,compression=zstd", "--push"]), [push().with_attrs(zstd)]);
        // buildx 0.13.1 takes any docker output for the load --load asks, a tarball's too.
        assert_eq!(outputs(&["-o", "type=docker,dest=i.tar", "--load"]), [BuildOutput::docker("i.tar")]);
    }

    #[test]
    fn each_output_flag_is_one_more_output_in_the_order_given() {
        use BuildOutput::CacheOnly;
        let request = requested(&[
            "-o",
            "type=local,dest=a",
            "-o",
            "type=tar,dest=b.tar",
            "-o",
            "c",
            "-o",
            "type=oci,dest=d.tar",
        ]);
        assert_eq!(
            request.outputs,
            [BuildOutput::local("a"), BuildOutput::tar("b.tar"), BuildOutput::local("c"), BuildOutput::oci("d.tar")]
        );
        // Kept as given; no exporter runs for it (buildx drops it before the solve).
        assert_eq!(requested(&["-o", "type=cacheonly", "-o", "out"]).outputs, [CacheOnly, BuildOutput::local("out")]);
        let image_id = Command::parse_from(["build", ".", "--iidfile", "id", "--load", "-o", "type=tar,dest=b.tar"]);
        assert!(matches!(flags(&image_id.args), Err(ArgsError::ImageIdFileWithoutImage)), "any filesystem output");
        let twice = Command::parse_from(["build", ".", "-o", "-", "-o", "type=oci,dest=-"]);
        match flags(&twice.args) {
            // A terminal refuses the first already, as buildx's does.
            Err(ArgsError::OutputConsole(_)) => assert!(std::io::stdout().is_terminal()),
            Err(e) => assert_eq!(e.to_string(), "multiple outputs configured to write to stdout"),
            Ok(_) => panic!("two outputs on standard output"),
        }
    }

    #[test]
    fn each_platform_of_a_build_that_kept_going_gets_a_line() {
        let result = |platform: &str, state, attempt| PlatformResult {
            platform: platform.into(),
            node: "default".into(),
            state,
            digest: (state == BuildState::Succeeded).then(|| "sha256:a".into()),
            error: (state == BuildState::Failed).then(|| "exit code: 1".into()),
            dockerfile_line: (state == BuildState::Failed).then_some(3),
            attempt,
        };
        let mut out = Vec::new();
        print_platforms(
            &[
                result("linux/amd64", BuildState::Succeeded, 1),
                result("linux/arm64", BuildState::Failed, 2),
                result("linux/riscv64", BuildState::Cancelled, 1),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "linux/amd64    on default: succeeded sha256:a\n\
             linux/arm64    on default, attempt 2: failed (Dockerfile:3): exit code: 1\n\
             linux/riscv64  on default: cancelled\n"
        );
    }

    #[test]
    fn comma_separated_platforms_are_recorded_one_per_entry() {
        let parsed =
            Command::parse_from(["build", ".", "--platform", "linux/amd64,linux/arm64", "--platform", "linux/riscv64"]);
        let request = flags(&parsed.args).unwrap().request;
        assert_eq!(request.platforms, ["linux/amd64", "linux/arm64", "linux/riscv64"]);
    }
}
