//! `buildlane history ls|inspect|logs|rm|export|import|compare`: BuildKit's build history of a
//! builder, laid out as `docker buildx history` (buildx 0.20+) lays it out (`compare` is Buildlane's own). A build is named by its ref, by `^N` (the
//! N-th newest, `^0` the newest) or by nothing (the newest). `export` writes a `.dockerbuild` bundle as
//! buildx 0.23+ does; buildx's `import` hands a bundle to Docker Desktop, and BuildKit cannot take a
//! record back, so here `import` opens bundles and lists their builds, and `inspect` and `logs` read
//! one with `--bundle FILE`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use buildlane_core::builders::Builders;
use buildlane_core::docker_config::Environment;
use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::go_text::tabwriter::TabWriter;
use buildlane_core::go_text::time::rfc3339_nano;
use buildlane_core::go_text::units::human_duration;
use buildlane_core::history::blobs::RecordBlobs;
use buildlane_core::history::bundle::{Bundle, BundleError, ExportSelection};
use buildlane_core::history::{BuildHistory, BuildSpec, Filter, HistoryEntry, HistoryError, HistoryStatus};
use buildlane_core::progress::ProgressUpdate;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use crate::build::PlainPrinter;
use crate::exit_status::fail;
use crate::format::Template;
use crate::to_stdout::ToStdout;

#[derive(clap::Args)]
pub struct HistoryArgs {
    /// The builder (default: `BUILDX_BUILDER`, else the current one).
    #[arg(long, global = true, env = "BUILDX_BUILDER")]
    builder: Option<String>,
    #[command(subcommand)]
    command: HistoryCommand,
}

#[derive(clap::Subcommand)]
enum HistoryCommand {
    /// List build records, like `docker buildx history ls`.
    Ls {
        /// `table`, `json`, or a template of {{.Ref}} {{.Node}} {{.Name}} {{.Status}} {{.CreatedAt}} {{.Duration}} ({{.Link}}).
        #[arg(long, default_value = "table")]
        format: String,
        /// Don't truncate names.
        #[arg(long)]
        no_trunc: bool,
        /// e.g. `status=error`, `ref=abc`, `repository=…`, `duration>10s`, `startedAt>24h`.
        #[arg(long)]
        filter: Vec<String>,
    },
    /// Show a build record, like `docker buildx history inspect`.
    Inspect {
        /// A ref, `^N`, or nothing for the newest.
        reference: Option<String>,
        /// `pretty` or `json`.
        #[arg(long, default_value = "pretty")]
        format: String,
        /// Read the build from this `.dockerbuild` bundle instead of the builder.
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
    /// Print a build record's logs, like `docker buildx history logs`.
    Logs {
        reference: Option<String>,
        /// `plain` (buildx's) or `json` (Buildlane's progress updates).
        #[arg(long, default_value = "plain")]
        progress: String,
        /// Replay the build from this `.dockerbuild` bundle instead of the builder.
        #[arg(long)]
        bundle: Option<PathBuf>,
    },
    /// Compare two build records step by step: which step of the newer missed the cache first, and why.
    Compare {
        /// Two builds (refs or `^N`), in either order: the older is the one compared against.
        first: String,
        second: String,
        /// `pretty` or `json`.
        #[arg(long, default_value = "pretty")]
        format: String,
    },
    /// Remove build records, like `docker buildx history rm`.
    Rm {
        refs: Vec<String>,
        /// Remove every finished record.
        #[arg(long)]
        all: bool,
    },
    /// Export build records into a `.dockerbuild` bundle, like `docker buildx history export`.
    Export {
        /// Refs or `^N` (none: the newest completed build).
        refs: Vec<String>,
        /// Export every completed record.
        #[arg(long)]
        all: bool,
        /// Ask BuildKit (0.15+) to finish each record's trace first.
        #[arg(long)]
        finalize: bool,
        /// The bundle to write (default: standard output, unless it is a terminal).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Open `.dockerbuild` bundles and list their builds as `ls` does (buildx's import sends them to
    /// Docker Desktop; BuildKit cannot take them back). `-` reads standard input.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `table`, `json`, or a template, as for `ls`.
        #[arg(long, default_value = "table")]
        format: String,
        /// Don't truncate names.
        #[arg(long)]
        no_trunc: bool,
        #[arg(long)]
        filter: Vec<String>,
    },
}

#[derive(Debug, thiserror::Error)]
enum ArgsError {
    #[error("invalid --format \"{0}\": expected pretty or json")]
    InspectFormat(String),
    #[error("invalid --progress \"{0}\": expected plain or json")]
    Progress(String),
    #[error("rm requires at least one argument")]
    RmNothing,
    #[error("rm requires either --all or at least one argument")]
    RmBoth,
    #[error("cannot specify refs when using --all")]
    ExportBoth,
    #[error("refusing to write to console, use --output to specify a file")]
    ExportConsole,
}

impl Coded for ArgsError {
    fn code(&self) -> ErrorCode {
        match self {
            ArgsError::InspectFormat(_)
            | ArgsError::Progress(_)
            | ArgsError::RmNothing
            | ArgsError::RmBoth
            | ArgsError::ExportBoth
            | ArgsError::ExportConsole => ErrorCode::InvalidInput,
        }
    }
}

pub fn run(env: Environment, args: HistoryArgs) -> ExitCode {
    let builders = Builders::new(env);
    let builder = args.builder.unwrap_or_default();
    crate::runtime().block_on(async {
        let connect = || BuildHistory::connect(&builders, &builder, None);
        match args.command {
            HistoryCommand::Ls { format, no_trunc, filter } => ls(connect().await, &format, no_trunc, &filter).await,
            HistoryCommand::Inspect { reference, format, bundle: None } => {
                inspect(connect().await, reference, &format).await
            }
            HistoryCommand::Inspect { reference, format, bundle: Some(file) } => {
                inspect_bundle(&file, reference, &format).await
            }
            HistoryCommand::Logs { reference, progress, bundle } => {
                let source = match bundle {
                    Some(file) => Source::Bundle(file),
                    None => Source::Builder(Box::new(connect().await)),
                };
                logs(source, reference, &progress).await
            }
            HistoryCommand::Compare { first, second, format } => {
                crate::history_compare::run(connect().await, &first, &second, &format).await
            }
            HistoryCommand::Rm { refs, all } => rm(connect, refs, all).await,
            HistoryCommand::Export { refs, all, finalize, output } => {
                export(connect, refs, all, finalize, output).await
            }
            HistoryCommand::Import { files, format, no_trunc, filter } => {
                import(&files, &format, no_trunc, &filter).await
            }
        }
    })
}

pub(crate) fn write_out(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// buildx's `formatDuration`: `1.5s` under a minute, else `2m 5s`.
fn format_duration(ms: u64) -> String {
    if ms < 60_000 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    format!("{}m {:2}s", ms / 60_000, (ms / 1000) % 60)
}

/// buildx's `trimBeginning`: the end of a long name, `..` before it.
fn trim_beginning(s: &str, n: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= n {
        return s.to_owned();
    }
    format!("..{}", chars[chars.len() - n + 2..].iter().collect::<String>())
}

/// docker's table writer (Go's tabwriter with minwidth 10, padding 3, spaces).
fn table(rows: &[Vec<String>]) -> String {
    TabWriter::DOCKER_TABLE.align(&cells(rows))
}

/// buildx history inspect's writer (Go's tabwriter with minwidth 1, tabwidth 8, padding 1 and tabs)
/// over `key:` and value rows.
fn tab_aligned(rows: &[(String, String)]) -> String {
    TabWriter::BUILDX_TABS.align(&rows.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect::<String>())
}

/// [`tab_aligned`] for rows of any number of cells.
fn tab_columns(rows: &[Vec<String>]) -> String {
    TabWriter::BUILDX_TABS.align(&cells(rows))
}

/// Rows as a tabwriter reads them: cells ended by tabs, lines by newlines.
fn cells(rows: &[Vec<String>]) -> String {
    rows.iter().map(|row| row.join("\t") + "\n").collect()
}

/// `buildx history inspect`'s Materials and Attachments tables (buildx 0.20+), each with a blank line.
fn blob_tables(blobs: &RecordBlobs) -> String {
    let mut out = String::new();
    if !blobs.materials.is_empty() {
        let mut rows = vec![vec!["URI".to_owned(), "DIGEST".to_owned()]];
        rows.extend(blobs.materials.iter().map(|m| vec![m.uri.clone(), m.digests.join(", ")]));
        out.push_str(&format!("Materials:\n{}\n", tab_columns(&rows)));
    }
    if !blobs.attachments.is_empty() {
        let mut rows = vec![vec!["DIGEST".to_owned(), "PLATFORM".to_owned(), "TYPE".to_owned()]];
        rows.extend(
            blobs
                .attachments
                .iter()
                .map(|a| vec![a.digest.clone(), a.platform.clone().unwrap_or_default(), a.kind().to_owned()]),
        );
        out.push_str(&format!("Attachments:\n{}\n", tab_columns(&rows)));
    }
    out
}

fn ls_status(entry: &HistoryEntry) -> &'static str {
    entry.status.ls_word()
}

fn ls_duration(entry: &HistoryEntry) -> String {
    match entry.duration_ms {
        Some(ms) if entry.status == HistoryStatus::Running => format!("{}+", format_duration(ms)),
        Some(ms) => format_duration(ms),
        None => String::new(),
    }
}

fn ls_created(entry: &HistoryEntry, now: DateTime<Utc>) -> String {
    let elapsed = entry.created().map_or(0, |c| (now - c).num_nanoseconds().unwrap_or(i64::MAX));
    format!("{} ago", human_duration(elapsed))
}

fn ls_json(entry: &HistoryEntry) -> String {
    // Go marshals a map with its keys sorted.
    let mut m = Map::new();
    m.insert("cached_steps".into(), json!(entry.steps_cached));
    if let Some(completed) = entry.completed() {
        m.insert("completed_at".into(), json!(rfc3339_nano(&completed)));
    }
    m.insert("completed_steps".into(), json!(entry.steps_completed));
    m.insert("created_at".into(), json!(entry.created().as_ref().map(rfc3339_nano).unwrap_or_default()));
    m.insert("name".into(), json!(entry.name));
    // A bundle's build belongs to no builder here: its ref alone.
    let full = match entry.builder.as_str() {
        "" => entry.build_ref.clone(),
        builder => format!("{builder}/{}/{}", entry.node, entry.build_ref),
    };
    m.insert("ref".into(), json!(full));
    m.insert("status".into(), json!(ls_status(entry)));
    m.insert("total_steps".into(), json!(entry.steps_total));
    Value::Object(m).to_string()
}

/// `ls`'s filters and the template its `--format` names, or what is wrong with them.
fn ls_flags(format: &str, filters: &[String], now: DateTime<Utc>) -> Result<(Vec<Filter>, Option<String>), ExitCode> {
    let filters = filters.iter().map(|f| Filter::parse(f, now)).collect::<Result<Vec<_>, _>>().map_err(|e| fail(&e))?;
    let template = match crate::format::checked(format, &["table", "json"]).map_err(|e| fail(&e))? {
        "table" | "json" => None,
        template => Some(template.to_owned()),
    };
    Ok((filters, template))
}

async fn ls(history: Result<BuildHistory, HistoryError>, format: &str, no_trunc: bool, filters: &[String]) -> ExitCode {
    let now = Utc::now();
    let (filters, template) = match ls_flags(format, filters, now) {
        Ok(flags) => flags,
        Err(status) => return status,
    };
    let history = match history {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    let listing = match history.listing().await {
        Ok(listing) => listing,
        Err(e) => return fail(&e),
    };
    // A node that cannot be read does not hide the others' records: it is named, as a warning.
    for node in &listing.unreachable {
        eprintln!("buildlane: warning: {}: its records are not listed", node.message);
    }
    let several = history.nodes().len() + history.unreachable().len() > 1;
    write_out(&ls_text(listing.entries, format, template.as_deref(), no_trunc, &filters, now, several))
}

/// `ls`'s fields and their headers (the Docker Desktop link buildx prints on terminals has none).
const LS_FIELDS: [(&str, &str); 7] = [
    ("Ref", "BUILD ID"),
    ("Node", "NODE"),
    ("Name", "NAME"),
    ("Status", "STATUS"),
    ("CreatedAt", "CREATED AT"),
    ("Duration", "DURATION"),
    ("Link", ""),
];

/// What `ls` prints of `entries`: those `filters` keep, as a table, JSON lines or a template. The
/// table of a builder of `several` nodes has a NODE column after the ref (buildx's has none: it names
/// the node only in its JSON's `ref`, `builder/node/ref`, which this JSON does too).
fn ls_text(
    mut entries: Vec<HistoryEntry>,
    format: &str,
    template: Option<&str>,
    no_trunc: bool,
    filters: &[Filter],
    now: DateTime<Utc>,
    several: bool,
) -> String {
    entries.retain(|e| filters.iter().all(|f| f.matches(e)));
    if format == "json" {
        return entries.iter().map(|e| ls_json(e) + "\n").collect::<String>();
    }
    let template = Template::new(
        match template {
            Some(t) => t,
            None if several => {
                "table {{.Ref}}\t{{.Node}}\t{{.Name}}\t{{.Status}}\t{{.CreatedAt}}\t{{.Duration}}\t{{.Link}}"
            }
            None => "table {{.Ref}}\t{{.Name}}\t{{.Status}}\t{{.CreatedAt}}\t{{.Duration}}\t{{.Link}}",
        },
        &LS_FIELDS,
    );
    let is_table = template.table;
    let header = template.header();
    let lines: Vec<String> = entries
        .iter()
        .map(|e| {
            template.line(&|key| match key {
                "Ref" => e.build_ref.clone(),
                "Node" => e.node.clone(),
                "Name" if is_table && !no_trunc => trim_beginning(&e.name, 36),
                "Name" => e.name.clone(),
                "Status" => ls_status(e).to_owned(),
                "CreatedAt" => ls_created(e, now),
                "Duration" => ls_duration(e),
                // The Docker Desktop link buildx prints on terminals: Buildlane has no such page.
                _ => String::new(),
            })
        })
        .collect();
    if !is_table {
        return lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    }
    let rows: Vec<Vec<String>> =
        std::iter::once(header).chain(lines).map(|l| l.split('\t').map(str::to_owned).collect()).collect();
    table(&rows)
}

fn spec(reference: Option<String>) -> Result<BuildSpec, HistoryError> {
    BuildSpec::parse(reference.as_deref().unwrap_or_default())
}

/// What `buildx history inspect` prints of the attributes it knows, in its order; the rest after.
const CONFIG_ATTRS: [(&str, &str); 17] = [
    ("force-network-mode", "Network"),
    ("hostname", "Hostname"),
    ("add-hosts", "Extra Hosts"),
    ("cgroup-parent", "Cgroup Parent"),
    ("image-resolve-mode", "Image Resolve Mode"),
    ("shm-size", "Shm Size"),
    ("ulimit", "Resource Limits"),
    ("memory", "Memory"),
    ("memswap", "Memory Swap"),
    ("cpushares", "CPU Shares"),
    ("cpuperiod", "CPU Period"),
    ("cpuquota", "CPU Quota"),
    ("cpusetcpus", "CPUSet CPUs"),
    ("cpusetmems", "CPUSet Mems"),
    ("build-arg:BUILDKIT_CACHE_MOUNT_NS", "Cache Mount Namespace"),
    ("build-arg:BUILDKIT_DOCKERFILE_CHECK", "Dockerfile Check Config"),
    ("build-arg:SOURCE_DATE_EPOCH", "Source Date Epoch"),
];

/// Attributes inspect reads into fields of their own, never listed as the rest.
const READ_ATTRS: [&str; 9] = [
    "frontend.caps",
    "filename",
    "target",
    "platform",
    "build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR",
    "build-arg:BUILDKIT_MULTI_PLATFORM",
    "multi-platform",
    "no-cache",
    "build-arg:SANDBOX_HOSTNAME",
];

/// The context and Dockerfile as buildx shows them: the context relative to the working folder
/// when inside it, the Dockerfile relative to the context when inside it.
fn shown_paths(entry: &HistoryEntry) -> (String, String) {
    let relative = |path: &str, base: &std::path::Path| -> Option<String> {
        let rest = std::path::Path::new(path).strip_prefix(base).ok()?;
        let rest = rest.to_string_lossy();
        Some(if rest.is_empty() { ".".into() } else { rest.into_owned() })
    };
    let mut dockerfile = entry.dockerfile.clone();
    if entry.context.starts_with('/') {
        if let Some(rel) = relative(&entry.dockerfile, std::path::Path::new(&entry.context)) {
            dockerfile = rel;
        }
    }
    let context = std::env::current_dir()
        .ok()
        .and_then(|wd| relative(&entry.context, &wd))
        .unwrap_or_else(|| entry.context.clone());
    (context, dockerfile)
}

fn pretty(entry: &HistoryEntry, blobs: &RecordBlobs, named: bool) -> String {
    let attrs = &entry.frontend_attrs;
    let (context, dockerfile) = shown_paths(entry);
    let mut head: Vec<(String, String)> = Vec::new();
    let push = |rows: &mut Vec<(String, String)>, k: &str, v: String| {
        if !v.is_empty() {
            rows.push((format!("{k}:"), v));
        }
    };
    push(&mut head, "Name", entry.name.clone());
    if !named {
        push(&mut head, "Ref", entry.build_ref.clone());
    }
    push(&mut head, "Context", context);
    push(&mut head, "Dockerfile", dockerfile);
    if !attrs.contains_key("context") {
        push(&mut head, "VCS Repository", attrs.get("vcs:source").cloned().unwrap_or_default());
        push(&mut head, "VCS Revision", attrs.get("vcs:revision").cloned().unwrap_or_default());
    }
    push(&mut head, "Target", entry.target.clone());
    push(&mut head, "Platforms", entry.platforms.join(", "));
    if attrs.get("build-arg:BUILDKIT_CONTEXT_KEEP_GIT_DIR").is_some_and(|v| v == "true") {
        push(&mut head, "Keep Git Dir", "true".into());
    }
    let mut out = tab_aligned(&head);
    out.push('\n');
    out.push_str(&kv_table("Named Context", &entry.named_contexts));

    let mut run: Vec<(String, String)> = Vec::new();
    let started = entry.created().map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string());
    push(&mut run, "Started", started.unwrap_or_default());
    let running = if entry.status == HistoryStatus::Running { " (running)" } else { "" };
    push(&mut run, "Duration", format!("{}{running}", format_duration(entry.duration_ms.unwrap_or_default())));
    match (&entry.status, &entry.error) {
        (HistoryStatus::Failed, Some(e)) => push(&mut run, "Error", format!("{} {}", e.code, e.message)),
        (HistoryStatus::Canceled, _) => push(&mut run, "Status", "Canceled".into()),
        _ => {}
    }
    let cached = entry.steps_cached as f64 / entry.steps_total as f64 * 100.0;
    let cached = if cached.is_nan() { "NaN".to_owned() } else { format!("{cached:.0}") };
    push(&mut run, "Build Steps", format!("{}/{} ({cached}% cached)", entry.steps_completed, entry.steps_total));
    out.push_str(&tab_aligned(&run));
    out.push('\n');

    let mut config: Vec<(String, String)> = Vec::new();
    for (key, label) in CONFIG_ATTRS.iter().take(5) {
        push(&mut config, label, attrs.get(*key).cloned().unwrap_or_default());
    }
    let multi = ["build-arg:BUILDKIT_MULTI_PLATFORM", "multi-platform"]
        .iter()
        .any(|k| attrs.get(*k).is_some_and(|v| v == "true"));
    if multi {
        push(&mut config, "Multi-Platform", "true".into());
    }
    match attrs.get("no-cache") {
        Some(v) if v.is_empty() => push(&mut config, "No Cache", "true".into()),
        Some(v) => push(&mut config, "No Cache Filter", v.split(',').collect::<Vec<_>>().join(", ")),
        None => {}
    }
    for (key, label) in CONFIG_ATTRS.iter().skip(5) {
        push(&mut config, label, attrs.get(*key).cloned().unwrap_or_default());
    }
    push(&mut config, "Sandbox Hostname", attrs.get("build-arg:SANDBOX_HOSTNAME").cloned().unwrap_or_default());
    for (k, v) in attrs {
        let known = CONFIG_ATTRS.iter().any(|(key, _)| key == k) || READ_ATTRS.contains(&k.as_str());
        let prefixed = ["vcs:", "build-arg:", "label:", "context:", "attest:"].iter().any(|p| k.starts_with(p));
        if !(known || prefixed || (k == "context" && entry.context == *v)) {
            config.push((format!("{k}:"), v.clone()));
        }
    }
    out.push_str(&tab_aligned(&config));
    out.push('\n');
    out.push_str(&kv_table("Build Arg", &entry.build_args));
    out.push_str(&kv_table("Label", &entry.labels));
    out.push_str(&blob_tables(blobs));

    if let Some(error) = &entry.error {
        // The Dockerfile lines the error points at, as BuildKit recorded them.
        if let (Some(file), Some(line)) = (&error.dockerfile_name, error.dockerfile_line) {
            out.push_str(&format!("{file}:{line}\n--------------------\n"));
            for (i, text) in error.lines.iter().enumerate() {
                out.push_str(&format!(" {:>3} | >>> {text}\n", line as usize + i));
            }
            out.push_str("--------------------\n\n");
        }
    }
    out.push_str(&format!("Print build logs: buildlane history logs {}\n", entry.build_ref));
    out
}

/// buildx's `printTable`: `TITLE\tVALUE` and one row per pair, then a blank line; nothing when empty.
fn kv_table(title: &str, rows: &[buildlane_core::history::KeyValue]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut lines = vec![(title.to_uppercase(), "VALUE".to_owned())];
    lines.extend(rows.iter().map(|kv| (kv.name.clone(), kv.value.clone())));
    tab_aligned(&lines) + "\n"
}

/// `buildx history inspect --format json`: its fields, by its Go names, omitted when empty.
fn inspect_json(entry: &HistoryEntry, blobs: &RecordBlobs) -> Value {
    let attrs = &entry.frontend_attrs;
    let (context, dockerfile) = shown_paths(entry);
    let mut m = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: Value| {
        let empty = matches!(&v, Value::String(s) if s.is_empty()) || matches!(&v, Value::Array(a) if a.is_empty());
        if !empty && v != Value::Null {
            m.insert(k.into(), v);
        }
    };
    put(&mut m, "Name", json!(entry.name));
    m.insert("Ref".into(), json!(entry.build_ref));
    put(&mut m, "Context", json!(context));
    put(&mut m, "Dockerfile", json!(dockerfile));
    if !attrs.contains_key("context") {
        put(&mut m, "VCSRepository", json!(attrs.get("vcs:source")));
        put(&mut m, "VCSRevision", json!(attrs.get("vcs:revision")));
    }
    put(&mut m, "Target", json!(entry.target));
    put(&mut m, "Platform", json!(entry.platforms));
    let local = |t: DateTime<Utc>| t.with_timezone(&chrono::Local).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    put(&mut m, "StartedAt", json!(entry.created().map(local)));
    put(&mut m, "CompletedAt", json!(entry.completed().map(local)));
    if let Some(ms) = entry.duration_ms.filter(|ms| *ms > 0) {
        m.insert("Duration".into(), json!(ms * 1_000_000));
    }
    let status = match entry.status {
        HistoryStatus::Running => "running",
        HistoryStatus::Completed => "completed",
        HistoryStatus::Failed => "failed",
        HistoryStatus::Canceled => "canceled",
    };
    m.insert("Status".into(), json!(status));
    if let Some(e) = &entry.error {
        let code = match e.code.as_str() {
            "Canceled" => 1,
            "Unknown" => 2,
            _ => 2,
        };
        m.insert("Error".into(), json!({ "Code": code, "Message": e.message }));
    }
    m.insert("NumCompletedSteps".into(), json!(entry.steps_completed));
    m.insert("NumTotalSteps".into(), json!(entry.steps_total));
    m.insert("NumCachedSteps".into(), json!(entry.steps_cached));
    let pairs = |kvs: &[buildlane_core::history::KeyValue]| {
        kvs.iter().map(|kv| json!({ "Name": kv.name, "Value": kv.value })).collect::<Vec<_>>()
    };
    put(&mut m, "BuildArgs", Value::Array(pairs(&entry.build_args)));
    put(&mut m, "Labels", Value::Array(pairs(&entry.labels)));
    let mut config = Map::new();
    put(&mut config, "ImageResolveMode", json!(attrs.get("image-resolve-mode")));
    if attrs.get("multi-platform").is_some_and(|v| v == "true") {
        config.insert("MultiPlatform".into(), json!(true));
    }
    if entry.no_cache {
        config.insert("NoCache".into(), json!(true));
    }
    m.insert("Config".into(), Value::Object(config));
    let omit_empty = |pairs: Vec<(&str, Value)>| -> Value {
        let fields = pairs.into_iter().filter(|(_, v)| !matches!(v, Value::String(s) if s.is_empty()));
        Value::Object(fields.map(|(k, v)| (k.to_owned(), v)).collect())
    };
    let materials: Vec<Value> = blobs
        .materials
        .iter()
        .map(|x| omit_empty(vec![("URI", json!(x.uri)), ("Digests", json!(x.digests))]))
        .collect();
    put(&mut m, "Materials", Value::Array(materials));
    let attachments: Vec<Value> = blobs
        .attachments
        .iter()
        .map(|a| {
            omit_empty(vec![
                ("Digest", json!(a.digest)),
                ("Platform", json!(a.platform.clone().unwrap_or_default())),
                ("Type", json!(a.kind())),
            ])
        })
        .collect();
    put(&mut m, "Attachments", Value::Array(attachments));
    Value::Object(m)
}

async fn inspect(history: Result<BuildHistory, HistoryError>, reference: Option<String>, format: &str) -> ExitCode {
    if !matches!(format, "pretty" | "json") {
        return fail(&ArgsError::InspectFormat(format.to_owned()));
    }
    let named = reference.as_deref().is_some_and(|r| !r.trim().is_empty());
    let found = async {
        let (history, spec) = (history?, spec(reference)?);
        let entry = history.get(&spec).await?;
        // The blobs of the record found, not of whatever is newest by now.
        let blobs = history.blobs(&BuildSpec::Ref(entry.build_ref.clone())).await?;
        Ok::<_, HistoryError>((entry, blobs))
    };
    match found.await {
        Ok((entry, blobs)) => inspect_out(&entry, &blobs, named, format),
        Err(e) => fail(&e),
    }
}

/// `inspect --bundle FILE`: a build of a `.dockerbuild` bundle, shown as a builder's is.
async fn inspect_bundle(file: &Path, reference: Option<String>, format: &str) -> ExitCode {
    if !matches!(format, "pretty" | "json") {
        return fail(&ArgsError::InspectFormat(format.to_owned()));
    }
    let named = reference.as_deref().is_some_and(|r| !r.trim().is_empty());
    let found = async {
        let spec = spec(reference)?;
        let bundle = open_bundle(file).await?;
        let entry = bundle.get(&spec)?;
        let blobs = bundle.blobs(&BuildSpec::Ref(entry.build_ref.clone()))?;
        Ok::<_, BundleError>((entry, blobs))
    };
    match found.await {
        Ok((entry, blobs)) => inspect_out(&entry, &blobs, named, format),
        Err(e) => fail(&e),
    }
}

fn inspect_out(entry: &HistoryEntry, blobs: &RecordBlobs, named: bool, format: &str) -> ExitCode {
    if format == "json" {
        return write_out(
            &(serde_json::to_string_pretty(&inspect_json(entry, blobs)).expect("JSON serialises") + "\n"),
        );
    }
    write_out(&pretty(entry, blobs, named))
}

/// A bundle named on the command line; `-` is standard input.
async fn open_bundle(file: &Path) -> Result<Bundle, BundleError> {
    if file != Path::new("-") {
        return Bundle::open(file).await;
    }
    tokio::task::spawn_blocking(|| Bundle::read(Path::new("standard input"), std::io::stdin().lock()))
        .await
        .expect("reading standard input does not panic")
}

/// Where `logs` replays a build from.
enum Source {
    Builder(Box<Result<BuildHistory, HistoryError>>),
    Bundle(PathBuf),
}

async fn logs(source: Source, reference: Option<String>, progress: &str) -> ExitCode {
    let json = match progress {
        "plain" => false,
        "json" => true,
        other => return fail(&ArgsError::Progress(other.to_owned())),
    };
    let printer = Mutex::new(PlainPrinter::default());
    let on_progress = move |update: ProgressUpdate| {
        let mut err = std::io::stderr().lock();
        if json {
            let _ = writeln!(err, "{}", serde_json::to_string(&update).expect("progress serialises"));
        } else {
            printer.lock().expect("printer lock").print(&update, &mut err);
        }
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let replayed = async {
        let spec = spec(reference)?;
        match source {
            Source::Builder(history) => Ok((*history)?.replay(&spec, &on_progress, cancel).await?),
            Source::Bundle(file) => open_bundle(&file).await?.replay(&spec, &on_progress, cancel).await,
        }
    };
    match replayed.await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// `export`: records into a bundle at `-o FILE`, or on standard output when that is not a terminal
/// (written whole to a scratch file first, as a file export is).
async fn export<F, Fut>(connect: F, refs: Vec<String>, all: bool, finalize: bool, output: Option<PathBuf>) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<BuildHistory, HistoryError>>,
{
    if all && !refs.is_empty() {
        return fail(&ArgsError::ExportBoth);
    }
    if output.is_none() && std::io::stdout().is_terminal() {
        return fail(&ArgsError::ExportConsole);
    }
    let selection = match refs.iter().map(|r| BuildSpec::parse(r)).collect::<Result<Vec<_>, _>>() {
        Ok(_) if all => ExportSelection::All,
        Ok(specs) => ExportSelection::Builds(specs),
        Err(e) => return fail(&e),
    };
    let (dest, to_stdout) = match &output {
        Some(path) => (path.clone(), None),
        None => match ToStdout::new("export.dockerbuild") {
            Ok(scratch) => (scratch.path().to_path_buf(), Some(scratch)),
            Err(e) => return fail(&BundleError::Write { path: std::env::temp_dir(), reason: e.to_string() }),
        },
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_ctrl_c.cancel();
        }
    });
    let exported = async { connect().await?.export(&selection, finalize, &dest, &|_| {}, cancel).await };
    if let Err(e) = exported.await {
        return fail(&e);
    }
    match to_stdout.map(|scratch| scratch.send()) {
        None | Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(_)) => ExitCode::FAILURE,
    }
}

/// `import`: the builds of each bundle, listed together as `ls` lists a builder's.
async fn import(files: &[PathBuf], format: &str, no_trunc: bool, filters: &[String]) -> ExitCode {
    let now = Utc::now();
    let (filters, template) = match ls_flags(format, filters, now) {
        Ok(flags) => flags,
        Err(status) => return status,
    };
    let mut entries = Vec::new();
    for file in files {
        match open_bundle(file).await {
            Ok(bundle) => entries.extend(bundle.entries()),
            Err(e) => return fail(&e),
        }
    }
    entries.sort_by(buildlane_core::history::ls_order);
    write_out(&ls_text(entries, format, template.as_deref(), no_trunc, &filters, now, false))
}

async fn rm<F, Fut>(connect: F, refs: Vec<String>, all: bool) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<BuildHistory, HistoryError>>,
{
    match (refs.is_empty(), all) {
        (true, false) => return fail(&ArgsError::RmNothing),
        (false, true) => return fail(&ArgsError::RmBoth),
        _ => {}
    }
    let history = match connect().await {
        Ok(h) => h,
        Err(e) => return fail(&e),
    };
    if all {
        return match history.delete_all().await {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let mut status = ExitCode::SUCCESS;
    for build_ref in &refs {
        if let Err(e) = history.delete(build_ref).await {
            status = fail(&e);
        }
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_buildx_prints_them() {
        assert_eq!(format_duration(1_549), "1.5s");
        assert_eq!(format_duration(125_000), "2m  5s");
        assert_eq!(trim_beginning(&"a".repeat(40), 36), format!("..{}", "a".repeat(34)));
    }

    #[test]
    fn tables_align_as_gos_tabwriter_does() {
        let rows = vec![
            vec!["BUILD ID".to_owned(), "NAME".into(), String::new()],
            vec!["abc".to_owned(), "a-long-project-name".into(), String::new()],
        ];
        assert_eq!(table(&rows), "BUILD ID   NAME                  \nabc        a-long-project-name   \n");
        let block = vec![("Name:".to_owned(), "ctx".to_owned()), ("Build Steps:".to_owned(), "3/3".to_owned())];
        assert_eq!(tab_aligned(&block), "Name:\t\tctx\nBuild Steps:\t3/3\n");
    }

    #[test]
    fn attachments_are_listed_as_buildx_history_inspect_lists_them() {
        let blobs = RecordBlobs {
            materials: vec![],
            attachments: vec![buildlane_core::history::blobs::Attachment {
                digest: "sha256:ab".into(),
                media_type: "application/vnd.in-toto+json".into(),
                size: 2,
                predicate_type: Some("https://slsa.dev/provenance/v0.2".into()),
                platform: None,
            }],
            pushed_image: None,
        };
        assert_eq!(
            blob_tables(&blobs),
            "Attachments:\nDIGEST\t\tPLATFORM\tTYPE\nsha256:ab\t\t\thttps://slsa.dev/provenance/v0.2\n\n"
        );
    }
}
