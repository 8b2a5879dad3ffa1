//! `buildlane du` and `buildlane prune`: a builder's build cache, printed as `docker buildx du` and
//! `prune` print it, through the same core calls as the window's Cache panel.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use buildlane_core::builders::cache::prune::PruneForm;
use buildlane_core::builders::cache::text;
use buildlane_core::builders::Builders;
use buildlane_core::docker_config::Environment;
use buildlane_core::error_code::ErrorCode;
use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::exit_status::{self, fail};

#[derive(clap::Args)]
pub struct DuArgs {
    /// Builder to read (default: `BUILDX_BUILDER`, else the current one).
    #[arg(long, env = "BUILDX_BUILDER")]
    builder: Option<String>,
    /// Filter records (`type=regular`, `id=…`, `description~="…"`, `until=24h`); repeatable, all must
    /// match. `until` hides records used within that time, as newer buildx does (0.13.1 ignores it).
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Every field of every record.
    #[arg(long, conflicts_with = "format")]
    verbose: bool,
    /// `table` (default) or `json` (one record per line, as newer buildx).
    #[arg(long, default_value = "table")]
    format: Format,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct PruneArgs {
    /// Builder to prune (default: `BUILDX_BUILDER`, else the current one).
    #[arg(long, env = "BUILDX_BUILDER")]
    builder: Option<String>,
    /// Include internal and frontend records, and shared ones.
    #[arg(short, long)]
    all: bool,
    /// Filter records (`until=24h`, `type=exec.cachemount`, …); repeatable, all must match.
    #[arg(long = "filter")]
    filters: Vec<String>,
    /// Amount of disk space to keep for cache (`10GB`); `--reserved-space` in newer buildx.
    #[arg(long, alias = "reserved-space", default_value = "")]
    keep_storage: String,
    /// Most disk space the cache may use (BuildKit 0.17+).
    #[arg(long, default_value = "")]
    max_used_space: String,
    /// Disk space to leave free (BuildKit 0.17+).
    #[arg(long, default_value = "")]
    min_free_space: String,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Every field of every removed record.
    #[arg(long)]
    verbose: bool,
}

fn print(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()).is_ok()
}

pub fn run_du(env: Environment, args: DuArgs) -> ExitCode {
    let runtime = crate::runtime();
    let usage = match runtime.block_on(Builders::new(env).disk_usage(args.builder.as_deref(), None, &args.filters)) {
        Ok(usage) => usage,
        Err(e) => return fail(&e),
    };
    let now = Utc::now();
    let out = match args.format {
        Format::Json => text::disk_usage_json(&usage, now),
        Format::Table => text::disk_usage(&usage, args.verbose, now),
    };
    for note in &usage.notes {
        eprintln!("note: {note}");
    }
    if print(&out) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

const DANGLING_WARNING: &str = "WARNING! This will remove all dangling build cache. Are you sure you want to continue?";
const ALL_WARNING: &str = "WARNING! This will remove all build cache. Are you sure you want to continue?";

/// docker's confirmation prompt: `y` or `Y` goes on; anything else, or the end of input (a
/// script's closed or empty standard input), stops. A pipe is read as a terminal is, as buildx
/// reads it.
fn confirmed(all: bool) -> Result<bool, String> {
    let stdin = std::io::stdin();
    print(&format!("{} [y/N] ", if all { ALL_WARNING } else { DANGLING_WARNING }));
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(answer.trim_end_matches(['\n', '\r']).eq_ignore_ascii_case("y"))
}

pub fn run_prune(env: Environment, args: PruneArgs) -> ExitCode {
    let form = PruneForm {
        all: args.all,
        filters: args.filters,
        keep_storage: args.keep_storage,
        max_used_space: args.max_used_space,
        min_free_space: args.min_free_space,
    };
    // Mistakes in the flags are reported before asking, as buildx does.
    if let Err(e) = buildlane_core::builders::cache::prune::PruneSpec::parse(&form) {
        return fail(&e);
    }
    if !args.force {
        match confirmed(args.all) {
            Ok(true) => {}
            Ok(false) => return ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("buildlane: {message}");
                return ExitCode::from(exit_status::status(ErrorCode::InvalidInput));
            }
        }
    }
    let runtime = crate::runtime();
    let builders = Builders::new(env);
    let cancel = CancellationToken::new();
    let verbose = args.verbose;
    let printed = std::sync::atomic::AtomicUsize::new(0);
    let on_progress = |p: buildlane_core::builders::cache::prune::PruneProgress| {
        let n = printed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        print(&text::pruned(&p.record, n, verbose, Utc::now()));
    };
    let outcome = runtime.block_on(async {
        let on_ctrl_c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_ctrl_c.cancel();
            }
        });
        // No preview first: buildx asks for the prune straight away, and the CLI needs no total.
        builders.prune(args.builder.as_deref(), None, &form, None, &on_progress, cancel.clone()).await
    });
    match outcome {
        Ok(outcome) => {
            print(&text::pruned_total(outcome.freed));
            if outcome.cancelled {
                ExitCode::from(exit_status::status(ErrorCode::Cancelled))
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => fail(&e),
    }
}
