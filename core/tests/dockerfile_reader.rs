//! What the window may read of the user's files: the Dockerfile of the build context they chose, as
//! text of bounded size, and nothing else a page's script names.

mod support;

use std::os::unix::fs::symlink;

use buildlane_core::dockerfile::{read_in_context, DockerfileError, MAX_DOCKERFILE_BYTES};
use support::build::context as folder;

#[test]
fn a_dockerfile_inside_the_chosen_context_is_read() {
    let ctx = folder(&[("Dockerfile", "FROM scratch\n"), ("build/Containerfile", "FROM busybox\n")]);
    symlink("build/Containerfile", ctx.path().join("Linked")).unwrap();
    assert_eq!(read_in_context(ctx.path(), "").unwrap(), "FROM scratch\n");
    assert_eq!(read_in_context(ctx.path(), "build/Containerfile").unwrap(), "FROM busybox\n");
    let absolute = ctx.path().join("build/Containerfile");
    assert_eq!(read_in_context(ctx.path(), absolute.to_str().unwrap()).unwrap(), "FROM busybox\n");
    assert_eq!(read_in_context(ctx.path(), "Linked").unwrap(), "FROM busybox\n");
}

#[test]
fn a_file_outside_the_context_is_refused_however_it_is_named() {
    let home = folder(&[(".docker/config.json", r#"{"auths":{"r.example":{"auth":"c2VjcmV0"}}}"#)]);
    let ctx = folder(&[("Dockerfile", "FROM scratch\n")]);
    let config = home.path().join(".docker/config.json");
    symlink(&config, ctx.path().join("Innocent")).unwrap();
    let escape = format!("../{}/.docker/config.json", home.path().file_name().unwrap().to_str().unwrap());
    for named in [config.to_str().unwrap(), escape.as_str(), "Innocent"] {
        let err = read_in_context(ctx.path(), named).unwrap_err();
        assert!(matches!(err, DockerfileError::OutsideContext { .. }), "{named}: {err}");
        let message = err.to_string();
        assert!(message.contains(&config.canonicalize().unwrap().display().to_string()), "{message}");
        assert!(message.contains("outside the build context"), "{message}");
        assert!(!message.contains("c2VjcmV0"), "{message}");
    }
}

#[test]
fn devices_pipes_and_folders_are_refused_without_reading_them() {
    // /dev/zero never ends: reading it whole would fill memory; a pipe with no writer never opens.
    let err = read_in_context(std::path::Path::new("/dev"), "zero").unwrap_err();
    assert!(matches!(err, DockerfileError::NotAFile { .. }), "{err}");
    assert_eq!(err.to_string(), "Dockerfile /dev/zero is not a regular file");

    let ctx = folder(&[("Dockerfile/inside", "")]);
    let fifo = ctx.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    for named in ["pipe", "Dockerfile"] {
        let err = read_in_context(ctx.path(), named).unwrap_err();
        assert!(matches!(err, DockerfileError::NotAFile { .. }), "{named}: {err}");
    }
}

#[test]
fn a_dockerfile_over_the_limit_is_refused_naming_the_file_and_the_limit() {
    let ctx = folder(&[]);
    let big = "# padding\n".repeat(MAX_DOCKERFILE_BYTES as usize / 10 + 1);
    std::fs::write(ctx.path().join("Dockerfile"), big).unwrap();
    let err = read_in_context(ctx.path(), "").unwrap_err();
    let file = ctx.path().canonicalize().unwrap().join("Dockerfile");
    assert_eq!(
        err.to_string(),
        format!("Dockerfile {} is larger than 1048576 bytes, the most a Dockerfile may be", file.display())
    );
    let exactly = "#".repeat(MAX_DOCKERFILE_BYTES as usize);
    std::fs::write(ctx.path().join("Dockerfile"), &exactly).unwrap();
    assert_eq!(read_in_context(ctx.path(), "").unwrap().len(), exactly.len());
}
