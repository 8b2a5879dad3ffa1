//! `buildlane du` prints what `docker buildx du` 0.13.1 prints for the same builder, line for line
//! (the engine lists records in no fixed order, so rows are compared as sorted sets). Needs the
//! project's engine (`eval "$(scripts/engine.sh env)"`), as the core's integration tests do.

use std::path::Path;
use std::process::Command;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: start the test engine (scripts/engine.sh)"))
}

/// A docker config folder of its own with buildx 0.13.1 as the CLI plugin.
fn docker_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(required("BUILDLANE_BUILDX"), plugins.join("docker-buildx")).unwrap();
    dir
}

fn run(mut command: Command, config: &Path) -> String {
    let out = command
        .env("HOME", config)
        .env("DOCKER_CONFIG", config)
        .env("DOCKER_HOST", required("DOCKER_HOST"))
        .env_remove("DOCKER_CONTEXT")
        .env_remove("BUILDX_CONFIG")
        .output()
        .expect("runs");
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn buildx(config: &Path, args: &[&str]) -> String {
    let mut command = Command::new(Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"));
    command.arg("buildx").args(args);
    run(command, config)
}

fn buildlane(config: &Path, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_buildlane"));
    command.args(args);
    run(command, config)
}

/// The header, the rows sorted, and the summary, as one comparable listing.
fn normalised(out: &str) -> (Vec<String>, Vec<String>, Vec<String>) {
    let lines: Vec<String> = out.lines().map(str::to_owned).collect();
    let summary_at = lines.iter().position(|l| l.contains(':')).unwrap_or(lines.len());
    let header = lines.first().cloned().into_iter().collect();
    let mut rows = lines[1.min(lines.len())..summary_at].to_vec();
    rows.sort();
    (header, rows, lines[summary_at..].to_vec())
}

fn same_listing(args: &[&str]) {
    let config = docker_config();
    // Others build on this engine meanwhile, and "N minutes ago" ticks: compare when buildx printed
    // the same before and after.
    for attempt in 1..=8 {
        let before = buildx(config.path(), args);
        let ours = buildlane(config.path(), args);
        let after = buildx(config.path(), args);
        if normalised(&before) != normalised(&after) {
            assert!(attempt < 8, "the cache kept changing under the test");
            continue;
        }
        assert_eq!(normalised(&ours), normalised(&before), "buildlane:\n{ours}\nbuildx:\n{before}");
        return;
    }
}

#[test]
fn du_prints_what_docker_buildx_du_prints() {
    same_listing(&["du", "--builder", "default"]);
}

#[test]
fn du_with_a_filter_prints_the_same_rows_and_no_totals() {
    same_listing(&["du", "--builder", "default", "--filter", "type=regular"]);
}
