//! `buildlane ls`: the Builders view on stdout, for scripts and benchmarks. It calls the same core
//! function as the window; `--format json` follows `docker buildx ls --format json` where fields overlap.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use buildlane_core::builders::{Builder, BuilderList, Builders};
use buildlane_core::docker_config::Environment;
use buildlane_core::go_text::tabwriter::TabWriter;
use serde::Serialize;

#[derive(clap::Args)]
pub struct LsArgs {
    /// `table` (default) or `json` (one builder per line, like buildx).
    #[arg(long, default_value = "table")]
    format: Format,
    /// Docker context to list (default: the docker CLI's current one).
    #[arg(long)]
    context: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(env: Environment, args: LsArgs) -> ExitCode {
    let runtime = crate::runtime();
    let builders = Builders::new(env);
    let list = match runtime.block_on(builders.list(args.context.as_deref())) {
        Ok(list) => list,
        Err(e) => return crate::exit_status::fail(&e),
    };
    let text = match args.format {
        Format::Table => table(&list),
        Format::Json => list.builders.iter().map(|b| json_line(b) + "\n").collect(),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    if let Format::Table = args.format {
        eprint!("{}", errors(&list));
    }
    for problem in &list.problems {
        eprintln!("warning: {problem}");
    }
    ExitCode::SUCCESS
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonBuilder<'a> {
    name: &'a str,
    driver: &'a str,
    /// Go's zero time when none was recorded, as buildx writes a `time.Time` it never set.
    last_activity: &'a str,
    dynamic: bool,
    nodes: Vec<JsonNode<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<&'a str>,
    current: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonNode<'a> {
    name: &'a str,
    endpoint: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    flags: &'a Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    driver_opts: &'a BTreeMap<String, String>,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<&'a str>,
    #[serde(rename = "IDs", skip_serializing_if = "Vec::is_empty")]
    ids: &'a Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    platforms: Vec<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

fn json_line(b: &Builder) -> String {
    let out = JsonBuilder {
        name: &b.name,
        driver: &b.driver,
        last_activity: b.last_activity.as_deref().unwrap_or("0001-01-01T00:00:00Z"),
        dynamic: b.dynamic,
        nodes: b
            .nodes
            .iter()
            .map(|n| JsonNode {
                name: &n.name,
                endpoint: &n.endpoint,
                flags: &n.flags,
                driver_opts: &n.driver_opts,
                status: n.status.as_str(),
                version: n.buildkit_version.as_deref(),
                err: n.error.as_deref(),
                ids: &n.worker_ids,
                platforms: n.platforms.iter().map(|p| p.platform.as_str()).collect(),
                labels: &n.labels,
            })
            .collect(),
        err: b.error.as_deref(),
        current: b.current,
    };
    serde_json::to_string(&out).expect("plain data serialises")
}

/// buildx's table, as the docker CLI's formatter aligns it (every column but the last padded, so
/// rows end in spaces where buildx's do), without its truncation: every platform is listed. As in
/// buildx, a builder that could not be loaded comes last, without its nodes, and a node whose
/// status could not be read is `error`.
fn table(list: &BuilderList) -> String {
    let mut text = String::from("NAME/NODE\tDRIVER/ENDPOINT\tSTATUS\tBUILDKIT\tPLATFORMS\n");
    for b in in_buildx_order(list) {
        let current = if b.current { "*" } else { "" };
        let status = if b.error.is_some() { "error" } else { "" };
        text.push_str(&format!("{}{current}\t{}\t{status}\t\t\n", b.name, b.driver));
        if b.error.is_some() {
            continue;
        }
        for n in &b.nodes {
            let platforms = n
                .platforms
                .iter()
                .map(|p| if p.pinned { format!("{}*", p.platform) } else { p.platform.clone() })
                .collect::<Vec<_>>()
                .join(", ");
            let version = n.buildkit_version.as_deref().unwrap_or_default();
            let status = if n.error.is_some() { "error" } else { n.status.as_str() };
            text.push_str(&format!(" \\_ {}\t \\_ {}\t{status}\t{version}\t{platforms}\n", n.name, n.endpoint));
        }
    }
    TabWriter::DOCKER_TABLE.align(&text)
}

/// The builders as the store lists them, those that could not be loaded last.
fn in_buildx_order(list: &BuilderList) -> impl Iterator<Item = &Builder> {
    let (loaded, failed): (Vec<&Builder>, Vec<&Builder>) = list.builders.iter().partition(|b| b.error.is_none());
    loaded.into_iter().chain(failed)
}

/// What buildx prints on stderr after the table: the builders it could not load and the nodes
/// whose status it could not get, after a blank line.
fn errors(list: &BuilderList) -> String {
    let mut errors = String::new();
    for b in in_buildx_order(list) {
        if let Some(e) = &b.error {
            errors.push_str(&format!("Cannot load builder {}: {e}\n", b.name));
            continue;
        }
        for n in &b.nodes {
            if let Some(e) = &n.error {
                errors.push_str(&format!("Failed to get status for {} ({}): {e}\n", b.name, n.name));
            }
        }
    }
    if errors.is_empty() {
        return errors;
    }
    format!("\n{errors}")
}
