//! `buildlane build --keep-going` and `--retry-platform` as a script uses them, on the engine's own
//! BuildKit: a RUN that fails only on arm64 exits 1 with a line per platform and nothing under the
//! tag; once the context is fixed, the same flags with `--retry-platform linux/arm64` build arm64
//! alone, exit 0 and print the digest of the index that now holds both platforms. Needs the
//! project's engine and registry (`eval "$(scripts/engine.sh env)"`).

use std::path::Path;
use std::process::{Command, Output};

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: eval \"$(scripts/engine.sh env)\""))
}

/// `buildlane` (or the engine's docker CLI) with its config, records and buildx 0.13.1 in `home`.
fn run(program: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("HOME", home)
        .env("DOCKER_CONFIG", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("DOCKER_HOST", required("DOCKER_HOST"))
        .env_remove("DOCKER_CONTEXT")
        .output()
        .expect("runs")
}

#[test]
fn a_platform_that_failed_with_keep_going_is_retried_alone_from_the_command_line() {
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join("cli-plugins")).unwrap();
    std::os::unix::fs::symlink(required("BUILDLANE_BUILDX"), home.path().join("cli-plugins/docker-buildx")).unwrap();
    let registry = required("BUILDLANE_REGISTRY");
    let context = home.path().join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(
        context.join("Dockerfile"),
        format!("FROM {registry}/busybox:latest\nCOPY state /state\nRUN [ \"$(uname -m)\" != aarch64 ] || grep -q fixed /state\n"),
    )
    .unwrap();
    std::fs::write(context.join("state"), "broken").unwrap();
    let tag = format!("{registry}/buildlane-test/cli-keep-going:{}", std::process::id());
    let context = context.display().to_string();
    let flags = ["build", "--platform", "linux/amd64,linux/arm64", "--push", "-t", &tag, "--keep-going", &context];
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));

    let failed = run(buildlane, home.path(), &flags);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("linux/amd64  on default: succeeded sha256:"), "{stderr}");
    assert!(stderr.contains("linux/arm64  on default: failed (Dockerfile:3): "), "{stderr}");
    assert!(failed.stdout.is_empty(), "no index was pushed");
    let docker = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    assert!(!run(&docker, home.path(), &["buildx", "imagetools", "inspect", &tag]).status.success());

    std::fs::write(Path::new(&context).join("state"), "fixed").unwrap();
    let retry = [&flags[..], &["--retry-platform", "linux/arm64"]].concat();
    let retried = run(buildlane, home.path(), &retry);
    let stderr = String::from_utf8_lossy(&retried.stderr);
    assert_eq!(retried.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("linux/arm64  on default, attempt 2: succeeded sha256:"), "{stderr}");
    let digest = String::from_utf8(retried.stdout).unwrap();
    let inspected = run(&docker, home.path(), &["buildx", "imagetools", "inspect", &tag]);
    let listing = String::from_utf8_lossy(&inspected.stdout);
    assert!(listing.contains(digest.trim()), "{listing}");
    assert!(listing.contains("linux/amd64") && listing.contains("linux/arm64"), "{listing}");

    // arm64 succeeded in the newest build of these flags: nothing is left to retry.
    let again = run(buildlane, home.path(), &retry);
    assert_eq!(again.status.code(), Some(4), "{}", String::from_utf8_lossy(&again.stderr));
}
