//! What the CLI's tests share: the project's engine from the environment, a docker config with
//! buildx 0.13.1 as its plugin (and Buildlane's records under it), and running the engine's docker
//! CLI or the `buildlane` binary in it, with nothing else of the caller's environment but PATH.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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

/// Runs `command` with `config` as its home, docker config and (under `data/`) Buildlane's records,
/// on the test engine; what it did, whether it succeeded or not.
pub fn output(command: Command, config: &Path) -> Output {
    output_with(command, config, &[])
}

/// `output`, with `vars` in the environment too.
pub fn output_with(mut command: Command, config: &Path, vars: &[(&str, &str)]) -> Output {
    in_config(&mut command, config).envs(vars.iter().copied()).output().expect("runs")
}

/// `output`, with `input` on its standard input (a pipe, as a script gives it).
pub fn output_given(mut command: Command, config: &Path, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = in_config(&mut command, config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child.stdin.take().expect("a pipe").write_all(input).unwrap();
    child.wait_with_output().expect("runs")
}

fn in_config<'a>(command: &'a mut Command, config: &Path) -> &'a mut Command {
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", config)
        .env("DOCKER_CONFIG", config)
        .env("XDG_DATA_HOME", config.join("data"))
        .env("DOCKER_HOST", required("DOCKER_HOST"))
}

/// `output`, for a command that must succeed: its stdout.
pub fn run(command: Command, config: &Path) -> String {
    let description = format!("{command:?}");
    let out = output(command, config);
    assert!(out.status.success(), "{description}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub fn docker_command(args: &[&str]) -> Command {
    let mut command = Command::new(Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"));
    command.args(args);
    command
}

pub fn buildlane_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_buildlane"));
    command.args(args);
    command
}

pub fn docker(config: &Path, args: &[&str]) -> String {
    run(docker_command(args), config)
}

pub fn docker_output(config: &Path, args: &[&str]) -> Output {
    output(docker_command(args), config)
}

pub fn buildx(config: &Path, args: &[&str]) -> String {
    docker(config, &[&["buildx"], args].concat())
}

pub fn buildlane(config: &Path, args: &[&str]) -> String {
    run(buildlane_command(args), config)
}

pub fn buildlane_output(config: &Path, args: &[&str]) -> Output {
    output(buildlane_command(args), config)
}

/// How `buildlane build FLAGS` and `docker buildx build FLAGS`, run from `folder`, refused: each
/// one's message without its prefix (`buildlane: `, `ERROR: `), ours then buildx's.
pub fn refused_by_both(folder: &Path, config: &Path, flags: &[&str]) -> (String, String) {
    let refusal = |program: &Path, command: &[&str], prefix: &str| {
        let mut run = Command::new(program);
        run.args([command, flags].concat()).current_dir(folder);
        let out = output(run, config);
        assert!(!out.status.success(), "{program:?} {flags:?}");
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        stderr.strip_prefix(prefix).unwrap_or_else(|| panic!("{flags:?}: {stderr}")).to_owned()
    };
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let ours = refusal(Path::new(env!("CARGO_BIN_EXE_buildlane")), &["build"], "buildlane: ");
    (ours, refusal(&buildx, &["buildx", "build"], "ERROR: "))
}
