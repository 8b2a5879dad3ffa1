//! `buildlane imagetools create` as a script uses it: the dry run prints what `docker buildx imagetools
//! create --dry-run` prints for the project's busybox index (annotated, so it is rewritten), a push
//! reports buildx's steps on stderr and the tag then holds that document, and mistakes exit with
//! their status. Needs the project's engine and registry (`eval "$(scripts/engine.sh env)"`).

mod support;

use support::{buildlane, buildlane_output, buildx, docker_config, required};

#[test]
fn the_dry_run_prints_what_buildx_prints_and_a_push_puts_it_under_the_tag() {
    let config = docker_config();
    let registry = required("BUILDLANE_REGISTRY");
    let source = format!("{registry}/busybox:latest");
    let args = ["--dry-run", "--annotation", "index:org.opencontainers.image.title=busybox & co", &source];
    let create = [&["imagetools", "create"][..], &args].concat();
    let (ours, theirs) = (buildlane(config.path(), &create), buildx(config.path(), &create));
    assert_eq!(ours, theirs);

    let tag = format!("{registry}/cli-compose/app:{}", std::process::id());
    let pushed = buildlane_output(
        config.path(),
        &[
            "imagetools",
            "create",
            "-t",
            &tag,
            "--annotation",
            "index:org.opencontainers.image.title=busybox & co",
            &source,
        ],
    );
    let stderr = String::from_utf8_lossy(&pushed.stderr);
    assert!(pushed.status.success(), "{stderr}");
    assert!(pushed.stdout.is_empty());
    assert!(stderr.starts_with(&format!("#1 [internal] pushing {tag}\n")), "{stderr}");
    assert!(stderr.contains(&format!(" to {registry}/cli-compose/app:")), "copies named: {stderr}");
    assert!(stderr.lines().last().unwrap_or_default().starts_with("#1 DONE "), "{stderr}");
    let raw = buildlane(config.path(), &["inspect", "--raw", &tag]);
    assert_eq!(format!("{raw}\n"), ours);
}

#[test]
fn mistakes_exit_with_their_status() {
    let config = docker_config();
    let registry = required("BUILDLANE_REGISTRY");
    let no_sources = buildlane_output(config.path(), &["imagetools", "create", "-t", &format!("{registry}/x:1")]);
    assert_eq!(no_sources.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_sources.stderr).contains("no sources specified"));
    let no_tags = buildlane_output(config.path(), &["imagetools", "create", &format!("{registry}/busybox:latest")]);
    assert_eq!(no_tags.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_tags.stderr).contains("please set --tag or --dry-run"));
    let missing = buildlane_output(
        config.path(),
        &["imagetools", "create", "--dry-run", &format!("{registry}/busybox:no-such-tag")],
    );
    assert_eq!(missing.status.code(), Some(4), "{}", String::from_utf8_lossy(&missing.stderr));
    let unreachable = buildlane_output(config.path(), &["imagetools", "create", "--dry-run", "127.0.0.1:9/app:v1"]);
    assert_eq!(unreachable.status.code(), Some(8), "{}", String::from_utf8_lossy(&unreachable.stderr));
    let untyped = buildlane_output(
        config.path(),
        &["imagetools", "create", "--dry-run", "--annotation", "k=v", &format!("{registry}/busybox:latest")],
    );
    assert_eq!(untyped.status.code(), Some(2));
}
