//! `buildlane ls`: the Builders view on stdout, for scripts and benchmarks. It calls the same core
//! function as the window and prints what `docker buildx ls` prints: its table, `--format json`
//! (one line per row, as buildx 0.13.1 writes it: a builder's line again for each of its nodes) and
//! `--format` templates of its fields.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use buildlane_core::builders::drivers::NodeStatus;
use buildlane_core::builders::{Builder, BuilderList, BuilderNode, Builders};
use buildlane_core::docker_config::Environment;
use buildlane_core::go_text::tabwriter::TabWriter;
use serde::Serialize;

use crate::format::Template;

#[derive(clap::Args)]
pub struct LsArgs {
    /// `table` (default), `json`, or a template of {{.Name}} {{.DriverEndpoint}} {{.Status}}
    /// {{.Buildkit}} {{.Platforms}} {{.LastActivity}} {{.Error}} (`table …` for columns).
    #[arg(long, default_value = "table")]
    format: String,
    /// Docker context to list (default: the docker CLI's current one).
    #[arg(long)]
    context: Option<String>,
}

/// The default table, as buildx names its columns.
const TABLE: &str = "table {{.Name}}\t{{.DriverEndpoint}}\t{{.Status}}\t{{.Buildkit}}\t{{.Platforms}}";

pub fn run(env: Environment, args: LsArgs) -> ExitCode {
    let format = match crate::format::checked(&args.format, &["table", "json"]) {
        Ok(format) => format,
        Err(e) => return crate::exit_status::fail(&e),
    };
    let runtime = crate::runtime();
    let builders = Builders::new(env);
    let list = match runtime.block_on(builders.list(args.context.as_deref())) {
        Ok(list) => list,
        Err(e) => return crate::exit_status::fail(&e),
    };
    let text = match format {
        "table" => template(&list, TABLE),
        "json" => rows(&list).map(|row| json_line(row.builder) + "\n").collect(),
        custom => template(&list, custom),
    };
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|_| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    if format.starts_with("table") {
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

/// One row of buildx's listing: a builder, or one of its nodes.
struct Row<'a> {
    builder: &'a Builder,
    node: Option<&'a BuilderNode>,
}

/// The rows buildx prints, in its order: each builder, then its nodes unless it could not be loaded.
fn rows(list: &BuilderList) -> impl Iterator<Item = Row<'_>> {
    in_buildx_order(list).flat_map(|builder| {
        let nodes = if load_error(builder).is_some() { &[][..] } else { &builder.nodes[..] };
        std::iter::once(Row { builder, node: None }).chain(nodes.iter().map(move |n| Row { builder, node: Some(n) }))
    })
}

impl Row<'_> {
    /// A field as buildx's `lsContext` gives it (`table` rows mark the current builder and indent nodes).
    fn field(&self, key: &str, table: bool) -> String {
        let (b, node) = (self.builder, self.node);
        let indent = if table { " \\_ " } else { "" };
        match (key, node) {
            ("Name", None) => format!("{}{}", b.name, if b.current && table { "*" } else { "" }),
            ("Name", Some(n)) => format!("{indent}{}", n.name),
            ("DriverEndpoint", None) if load_error(b).is_none() => b.driver.clone(),
            ("DriverEndpoint", Some(n)) => format!("{indent}{}", n.endpoint),
            ("Status", None) => if load_error(b).is_some() { "error" } else { "" }.to_owned(),
            ("Status", Some(n)) => if n.error.is_some() { "error" } else { n.status.as_str() }.to_owned(),
            ("Buildkit", Some(n)) => n.buildkit_version.clone().unwrap_or_default(),
            ("Platforms", Some(n)) => n
                .platforms
                .iter()
                .map(|p| if p.pinned { format!("{}*", p.platform) } else { p.platform.clone() })
                .collect::<Vec<_>>()
                .join(", "),
            ("LastActivity", None) => b.last_activity.clone().unwrap_or_default(),
            ("Error", Some(n)) if n.error.is_some() => n.error.clone().unwrap_or_default(),
            ("Error", _) => load_error(b).unwrap_or_default().to_owned(),
            _ => String::new(),
        }
    }
}

/// The fields buildx's listing has, and the headers its table gives them.
const FIELDS: [(&str, &str); 7] = [
    ("Name", "NAME/NODE"),
    ("DriverEndpoint", "DRIVER/ENDPOINT"),
    ("Status", "STATUS"),
    ("Buildkit", "BUILDKIT"),
    ("Platforms", "PLATFORMS"),
    ("LastActivity", "LAST ACTIVITY"),
    ("Error", "ERROR"),
];

/// Each row through the template `format`; as a table, under a header and aligned as the docker
/// CLI's formatter aligns it (every column but the last padded, so rows end in spaces where
/// buildx's do), platforms never truncated.
fn template(list: &BuilderList, format: &str) -> String {
    let template = Template::new(format, &FIELDS);
    let mut text = String::new();
    if template.table {
        text.push_str(&template.header());
        text.push('\n');
    }
    for row in rows(list) {
        text.push_str(&template.line(&|key| row.field(key, template.table)));
        text.push('\n');
    }
    if template.table {
        TabWriter::DOCKER_TABLE.align(&text)
    } else {
        text
    }
}

/// The builders as the store lists them, those that could not be loaded last.
fn in_buildx_order(list: &BuilderList) -> impl Iterator<Item = &Builder> {
    let (loaded, failed): (Vec<&Builder>, Vec<&Builder>) = list.builders.iter().partition(|b| load_error(b).is_none());
    loaded.into_iter().chain(failed)
}

/// Why buildx could not load the builder: its store entry, or for a context's own builder its
/// engine (buildx asks the engine to load it; Buildlane lists the node, in `error`, with why).
fn load_error(b: &Builder) -> Option<&str> {
    let engine = || {
        let node = b.nodes.first().filter(|n| n.status == NodeStatus::Error)?;
        node.error.as_deref()
    };
    b.error.as_deref().or_else(|| b.context_builder.then(engine).flatten())
}

/// What buildx prints on stderr after the table: the builders it could not load and the nodes
/// whose status it could not get, after a blank line.
fn errors(list: &BuilderList) -> String {
    let mut errors = String::new();
    for b in in_buildx_order(list) {
        if let Some(e) = load_error(b) {
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
