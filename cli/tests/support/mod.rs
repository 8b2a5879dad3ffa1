//! What the CLI's parity tests share: the project's engine from the environment, a docker config
//! with buildx 0.13.1 as its plugin, and running buildx or the `buildlane` binary in it.

use std::path::Path;
use std::process::Command;

pub fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: start the test engine (scripts/engine.sh)"))
}

/// A docker config folder of its own with buildx 0.13.1 as the CLI plugin.
pub fn docker_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(required("BUILDLANE_BUILDX"), plugins.join("docker-buildx")).unwrap();
    dir
}

pub fn run(mut command: Command, config: &Path) -> String {
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

pub fn buildx(config: &Path, args: &[&str]) -> String {
    let mut command = Command::new(Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"));
    command.arg("buildx").args(args);
    run(command, config)
}

pub fn buildlane(config: &Path, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_buildlane"));
    command.args(args);
    run(command, config)
}
