//! Lists the window's commands in the app manifest so that each gets an `allow-<command>` permission:
//! a command is then callable only where a capability grants it (capabilities/default.json), never
//! by default. Keep this list and `generate_handler!` in src/main.rs the same.

const COMMANDS: &[&str] = &[
    "list_contexts",
    "select_context",
    "watch_engine",
    "watch_builders",
    "list_builders",
    "create_builder",
    "boot_builder",
    "inspect_builder",
    "stop_builder",
    "remove_builder",
    "use_builder",
    "leave_builder_node",
    "cancel_operation",
    "cli_command",
    "start_build",
    "retry_platform",
    "build_cli_command",
    "offered_platforms",
    "dockerfile_outline",
    "dockerfile_source",
    "recent_builds",
    "build_logs",
    "watch_build_history",
    "history_support",
    "pin_build",
    "delete_build",
    "replay_record",
    "record_blobs",
    "record_attestation",
    "build_timing",
    "project_history",
    "compare_builds",
    "export_builds",
    "open_bundle",
    "list_registries",
    "add_registry",
    "remove_registry",
    "list_engine_repositories",
    "list_engine_tags",
    "inspect_engine_image",
    "list_repositories",
    "list_tags",
    "inspect_image",
    "compare_platforms",
    "image_cli_command",
    "disk_usage",
    "prune_preview",
    "prune_cache",
    "cache_cli_command",
    "compose_plan",
    "compose_push",
];

fn main() {
    link_startup_order();
    let attributes = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri-build: {e:#}");
    }
}

/// Release builds link the functions the window runs from launch to idle (startup-order.txt, written
/// by scripts/startup-order.sh) ahead of the rest of its code: the kernel reads code in 64 KiB blocks
/// around each page touched, and scattered through the binary the 2 MB the launch runs kept 10 MB
/// resident (README, the window's cost). Only where rustc links with its own lld (x86_64 Linux, since
/// Rust 1.90), whose `--symbol-ordering-file` this is; names the binary no longer has are skipped.
fn link_startup_order() {
    let order = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("startup-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    let release = std::env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let rust_lld = std::env::var("TARGET").is_ok_and(|target| target == "x86_64-unknown-linux-gnu");
    if release && rust_lld {
        // -Xlinker passes the path whole, where -Wl would split it at a comma.
        println!("cargo:rustc-link-arg-bins=-Xlinker");
        println!("cargo:rustc-link-arg-bins=--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
