//! The four lists that name the window's commands agree: what the UI calls (ui/src/lib/ipc.ts),
//! what the app handles (`generate_handler!` in src/main.rs), what the app manifest declares
//! (build.rs) and what the window's capability grants (capabilities/default.json). A command missing
//! from the last two is refused at run time ("not allowed") only when the page first calls it.

use std::collections::BTreeSet;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The quoted names after each `marker` in `text`, up to the closing quote.
fn quoted_after(text: &str, marker: &str, quote: char) -> BTreeSet<String> {
    text.split(marker).skip(1).map(|rest| rest.split(quote).next().unwrap_or_default().to_owned()).collect()
}

fn called_by_the_ui() -> BTreeSet<String> {
    quoted_after(&read("../ui/src/lib/ipc.ts"), "call('", '\'')
}

fn handled() -> BTreeSet<String> {
    let main = read("src/main.rs");
    let handler = main.split("generate_handler![").nth(1).expect("main.rs has generate_handler!");
    let list = handler.split(']').next().unwrap_or_default();
    list.split(',')
        .map(|path| path.trim().rsplit("::").next().unwrap_or_default().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

fn declared() -> BTreeSet<String> {
    let build = read("build.rs");
    let list = build.split("const COMMANDS").nth(1).expect("build.rs has COMMANDS");
    // Every other piece between double quotes is a name.
    list.split("];").next().unwrap_or_default().split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

fn granted() -> BTreeSet<String> {
    let capability: serde_json::Value = serde_json::from_str(&read("capabilities/default.json")).unwrap();
    capability["permissions"]
        .as_array()
        .expect("permissions is a list")
        .iter()
        .map(|p| p.as_str().expect("a permission by name"))
        .map(|p| p.strip_prefix("allow-").unwrap_or(p).replace('-', "_"))
        .collect()
}

#[test]
fn every_command_the_ui_calls_is_handled_declared_and_granted_and_nothing_more() {
    let ui = called_by_the_ui();
    assert!(ui.contains("list_builders"), "ipc.ts read: {ui:?}");
    assert_eq!(handled(), ui, "generate_handler! in src/main.rs");
    assert_eq!(declared(), ui, "COMMANDS in build.rs");
    assert_eq!(granted(), ui, "capabilities/default.json");
}
