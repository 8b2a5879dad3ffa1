//! `buildlane imagetools create`: an index from images already in registries, as `docker buildx
//! imagetools create` makes it. `--dry-run` prints the document buildx would push; otherwise the
//! steps go to stderr as buildx's plain progress shows them, and nothing to stdout.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use buildlane_core::docker_config::credentials::CredentialStore;
use buildlane_core::docker_config::Environment;
use buildlane_core::images::compose::{self, ComposeError, ComposeRequest, PushEvent};
use buildlane_core::images::registry::RegistryClient;

use crate::exit_status::fail;

#[derive(clap::Args)]
pub struct ImagetoolsArgs {
    #[command(subcommand)]
    command: ImagetoolsCommand,
}

#[derive(clap::Subcommand)]
enum ImagetoolsCommand {
    /// Create an index from existing images, like `docker buildx imagetools create`.
    Create(CreateArgs),
}

#[derive(clap::Args)]
struct CreateArgs {
    /// Set reference for new image (repeatable).
    #[arg(short = 't', long = "tag")]
    tags: Vec<String>,
    /// Append to the index the first tag holds.
    #[arg(long)]
    append: bool,
    /// Show final image instead of pushing.
    #[arg(long)]
    dry_run: bool,
    /// With a single source, prefer outputting an index instead of a carbon copy (`--prefer-index=false`).
    #[arg(long, num_args = 0..=1, require_equals = true, default_value_t = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    prefer_index: bool,
    /// Add annotation to the image: `index:KEY=VALUE`, `manifest-descriptor[PLATFORM]:KEY=VALUE`.
    #[arg(long = "annotation")]
    annotations: Vec<String>,
    /// Keep only these platforms (and their attestations).
    #[arg(short = 'p', long = "platform")]
    platforms: Vec<String>,
    /// Images or indexes (`repo:tag`, `repo@sha256:…`, or a digest in the one repository named).
    sources: Vec<String>,
}

pub fn run(env: Environment, args: ImagetoolsArgs) -> ExitCode {
    let ImagetoolsCommand::Create(args) = args.command;
    if args.sources.is_empty() {
        return fail(&ComposeError::NoSources);
    }
    if !args.dry_run && args.tags.is_empty() {
        return fail(&ComposeError::NoTags);
    }
    let request = ComposeRequest {
        sources: args.sources,
        tags: args.tags,
        annotations: args.annotations,
        append: args.append,
        prefer_index: args.prefer_index,
        platforms: args.platforms,
        exclude: Vec::new(),
    };
    // A few sources, a handful of concurrent requests: a single thread starts fastest.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime starts");
    let client = RegistryClient::new(CredentialStore::new(&env));
    let composition = match runtime.block_on(compose::plan(&client, &request)) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Some(conflict) = composition.conflicts.first() {
        let sources = conflict.sources.iter().map(|&i| composition.sources[i].input.clone()).collect::<Vec<_>>();
        return fail(&ComposeError::ConflictingPlatforms {
            platform: conflict.platform.clone(),
            sources: sources.join(", "),
        });
    }
    if args.dry_run {
        let mut stdout = std::io::stdout().lock();
        return match writeln!(stdout, "{}", composition.json).and_then(|_| stdout.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        };
    }
    let progress = PlainProgress::new(&composition.tags.join(", "));
    let pushed = runtime.block_on(compose::push(&client, &composition, &|event| progress.event(&event)));
    progress.done(pushed.is_ok());
    match pushed {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// buildx's plain progress for its one `[internal] pushing …` step.
struct PlainProgress {
    started: Instant,
    err: Mutex<std::io::Stderr>,
}

impl PlainProgress {
    fn new(tags: &str) -> Self {
        let progress = PlainProgress { started: Instant::now(), err: Mutex::new(std::io::stderr()) };
        progress.line(&format!("#1 [internal] pushing {tags}"));
        progress
    }

    fn line(&self, text: &str) {
        let mut err = self.err.lock().expect("stderr lock is never poisoned");
        // A closed stderr only loses the progress; the push goes on.
        let _ = writeln!(err, "{text}");
    }

    fn event(&self, event: &PushEvent) {
        let at = self.started.elapsed().as_secs_f64();
        match event {
            PushEvent::Copying { digest, from, to } => {
                self.line(&format!("#1 {at:.3} copying {digest} from {from} to {to}"))
            }
            PushEvent::Pushing { digest, to } => self.line(&format!("#1 {at:.3} pushing {digest} to {to}")),
            PushEvent::Copied { .. } | PushEvent::Pushed { .. } => {}
        }
    }

    fn done(&self, ok: bool) {
        let took = self.started.elapsed().as_secs_f64();
        self.line(&if ok { format!("#1 DONE {took:.1}s") } else { format!("#1 ERROR after {took:.1}s") });
    }
}
