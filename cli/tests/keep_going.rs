//! `buildlane build --keep-going` and `--retry-platform` as a script uses them, on the engine's own
//! BuildKit: a RUN that fails only on arm64 exits 1 with a line per platform and nothing under the
//! tag; once the context is fixed, the same flags with `--retry-platform linux/arm64` build arm64
//! alone, exit 0 and print the digest of the index that now holds both platforms. Needs the
//! project's engine and registry (`eval "$(scripts/engine.sh env)"`).

mod support;

use std::path::Path;

use support::{buildlane_output, docker_config, docker_output, required};

#[test]
fn a_platform_that_failed_with_keep_going_is_retried_alone_from_the_command_line() {
    let home = docker_config();
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

    let failed = buildlane_output(home.path(), &flags);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("linux/amd64  on default: succeeded sha256:"), "{stderr}");
    assert!(stderr.contains("linux/arm64  on default: failed (Dockerfile:3): "), "{stderr}");
    assert!(failed.stdout.is_empty(), "no index was pushed");
    assert!(!docker_output(home.path(), &["buildx", "imagetools", "inspect", &tag]).status.success());

    std::fs::write(Path::new(&context).join("state"), "fixed").unwrap();
    let retry = [&flags[..], &["--retry-platform", "linux/arm64"]].concat();
    let retried = buildlane_output(home.path(), &retry);
    let stderr = String::from_utf8_lossy(&retried.stderr);
    assert_eq!(retried.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("linux/arm64  on default, attempt 2: succeeded sha256:"), "{stderr}");
    let digest = String::from_utf8(retried.stdout).unwrap();
    let inspected = docker_output(home.path(), &["buildx", "imagetools", "inspect", &tag]);
    let listing = String::from_utf8_lossy(&inspected.stdout);
    assert!(listing.contains(digest.trim()), "{listing}");
    assert!(listing.contains("linux/amd64") && listing.contains("linux/arm64"), "{listing}");

    // arm64 succeeded in the newest build of these flags: nothing is left to retry.
    let again = buildlane_output(home.path(), &retry);
    assert_eq!(again.status.code(), Some(4), "{}", String::from_utf8_lossy(&again.stderr));
}
