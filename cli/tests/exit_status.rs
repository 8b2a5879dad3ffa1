//! A script learns what went wrong from `buildlane`'s exit status: these run the real binary in an
//! empty docker environment (no engine needed) and check the status the README documents.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;

/// `buildlane` with every docker and Buildlane location inside `home`, talking to `docker_host`.
fn buildlane(home: &Path, docker_host: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_buildlane"));
    command
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("BUILDX_CONFIG", home.join(".docker/buildx"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("DOCKER_HOST", docker_host)
        .env_remove("DOCKER_CONTEXT")
        .env_remove("BUILDLANE_LOG")
        .env_remove("BUILDX_BUILDER");
    command
}

/// A socket file nothing listens on: connecting to it is refused at once.
fn dead_socket(home: &Path) -> String {
    let path = home.join("dead.sock");
    drop(UnixListener::bind(&path).expect("binds a socket"));
    format!("unix://{}", path.display())
}

fn context_folder(home: &Path) -> String {
    let context = home.join("context");
    std::fs::create_dir(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), "FROM scratch\n").unwrap();
    context.display().to_string()
}

fn status_and_stderr(command: &mut Command) -> (Option<i32>, String) {
    let out = command.output().expect("buildlane runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_malformed_reference_exits_2_as_invalid_input() {
    let home = tempfile::tempdir().unwrap();
    let (status, stderr) =
        status_and_stderr(buildlane(home.path(), &dead_socket(home.path())).args(["inspect", "Alpine"]));
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("repository names must be lowercase"), "{stderr}");
}

#[test]
fn an_unreachable_registry_exits_8_and_says_so_once_in_plain_text() {
    let home = tempfile::tempdir().unwrap();
    let (status, stderr) =
        status_and_stderr(buildlane(home.path(), &dead_socket(home.path())).args(["inspect", "127.0.0.1:1/app:v1"]));
    assert_eq!(status, Some(8), "{stderr}");
    assert_eq!(stderr, "buildlane: cannot connect to registry 127.0.0.1:1: connection refused\n");
}

#[test]
fn buildx_builder_names_the_builder_of_each_command_as_it_does_for_buildx() {
    let home = tempfile::tempdir().unwrap();
    let host = dead_socket(home.path());
    let context = context_folder(home.path());
    for args in [&["du"][..], &["prune", "-f"], &["inspect-builder"], &["history", "ls"], &["build", &context]] {
        let (status, stderr) =
            status_and_stderr(buildlane(home.path(), &host).env("BUILDX_BUILDER", "elsewhere").args(args));
        assert_eq!(status, Some(4), "{args:?}: {stderr}");
        assert!(stderr.contains("builder \"elsewhere\" not found"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_build_on_an_unreachable_engine_exits_3() {
    let home = tempfile::tempdir().unwrap();
    let host = dead_socket(home.path());
    let context = context_folder(home.path());
    let (status, stderr) = status_and_stderr(buildlane(home.path(), &host).args(["build", &context]));
    assert_eq!(status, Some(3), "{stderr}");
    assert!(stderr.contains("unreachable"), "{stderr}");
}

#[test]
fn a_build_on_an_unknown_builder_exits_4_as_not_found() {
    let home = tempfile::tempdir().unwrap();
    let host = dead_socket(home.path());
    let context = context_folder(home.path());
    let (status, stderr) =
        status_and_stderr(buildlane(home.path(), &host).args(["build", "--builder", "nosuch", &context]));
    assert_eq!(status, Some(4), "{stderr}");
    assert!(stderr.contains("builder \"nosuch\" not found"), "{stderr}");
}

#[test]
fn a_prune_declined_by_a_closed_input_exits_0_untouched_and_an_unknown_filter_key_exits_2() {
    let home = tempfile::tempdir().unwrap();
    let host = dead_socket(home.path());
    // The end of input answers no, as for buildx: nothing asks the (unreachable) engine.
    let (status, stderr) =
        status_and_stderr(buildlane(home.path(), &host).arg("prune").stdin(std::process::Stdio::null()));
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let (status, stderr) = status_and_stderr(buildlane(home.path(), &host).args(["du", "--filter", "colour=red"]));
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("unknown filter key \"colour\""), "{stderr}");
    let (status, stderr) = status_and_stderr(buildlane(home.path(), &host).args(["du"]));
    assert_eq!(status, Some(3), "an unreachable engine: {stderr}");
}
