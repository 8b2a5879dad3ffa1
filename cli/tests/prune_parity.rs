//! `buildlane prune -f` prints what `docker buildx prune -f` 0.13.1 prints: the header with the
//! first removed record, its row, and the total. Each tool prunes a cache mount of its own, made
//! alike by the same build step (the engine's cache is shared, so the filter names the record by
//! id); the two outputs then differ only in the record's id and when it was last used. Needs the
//! project's engine (`eval "$(scripts/engine.sh env)"`), as the core's integration tests do.

mod support;

use std::path::Path;

use support::{buildlane, buildx, docker_config, required};

/// Builds a step with a cache mount named `mark` (the same bytes in it whatever the mark) into
/// the cache only, and returns the mount's record id.
fn cache_mount(config: &Path, mark: &str) -> String {
    let ctx = tempfile::tempdir().unwrap();
    let registry = required("BUILDLANE_REGISTRY");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {registry}/busybox:latest\nRUN --mount=type=cache,id={mark},target=/c echo same > /c/f && echo {mark}\n"),
    )
    .unwrap();
    let context = ctx.path().to_str().unwrap();
    buildx(config, &["build", "--builder", "default", "--output", "type=cacheonly", "-q", context]);
    // Right after the build the mount may still be listed as a `regular` record in use, not yet
    // released as a cache mount: ask again for a few seconds.
    let mut listing = String::new();
    for _ in 0..50 {
        listing = buildx(config, &["du", "--builder", "default", "--verbose"]);
        let id = listing
            .split("\n\n")
            .find(|block| block.contains(mark) && block.contains("exec.cachemount"))
            .and_then(|block| block.lines().find_map(|l| l.strip_prefix("ID:")));
        if let Some(id) = id {
            return id.trim().to_owned();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("no cache mount record for {mark} in:\n{listing}")
}

/// The output with the pruned record's id and each row's LAST ACCESSED (its last cell) left out.
fn without_id_and_time(out: &str, id: &str) -> String {
    out.replace(id, "<id>")
        .lines()
        .map(|line| match line.starts_with("<id>") {
            true => line.rsplit_once('\t').map_or(line, |(columns, _)| columns).to_owned() + "\t<when>",
            false => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn prune_prints_what_docker_buildx_prune_prints() {
    let config = docker_config();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mark = |tool: &str| format!("buildlane-prune-parity-{tool}-{}-{nanos}", std::process::id());
    let (ours, theirs) = (cache_mount(config.path(), &mark("ours")), cache_mount(config.path(), &mark("theirs")));
    let prune = |id: &str| {
        let only = format!("id=^{id}$");
        let mut args = ["prune", "--builder", "default", "-f", "--filter", "type=exec.cachemount", "--filter"]
            .map(str::to_owned)
            .to_vec();
        args.push(only);
        args
    };
    let (ours_args, theirs_args) = (prune(&ours), prune(&theirs));
    let printed = buildlane(config.path(), &ours_args.iter().map(String::as_str).collect::<Vec<_>>());
    let expected = buildx(config.path(), &theirs_args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(printed.starts_with("ID\t") && printed.contains(&ours), "buildlane pruned its record:\n{printed}");
    assert!(printed.ends_with('\n') && printed.lines().last().is_some_and(|l| l.starts_with("Total:\t")), "{printed}");
    assert_eq!(without_id_and_time(&printed, &ours), without_id_and_time(&expected, &theirs));
}

#[test]
fn the_answer_is_read_from_a_pipe_as_buildx_reads_it() {
    let config = docker_config();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    for (tool, command) in [("buildlane", &["prune"][..]), ("buildx", &["buildx", "prune"][..])] {
        let mark = format!("buildlane-prune-answer-{tool}-{}-{nanos}", std::process::id());
        let id = cache_mount(config.path(), &mark);
        let only = format!("id=^{id}$");
        let args = [command, &["--builder", "default", "--filter", "type=exec.cachemount", "--filter", &only]].concat();
        let run = |answer: &[u8]| {
            let command = match tool {
                "buildlane" => support::buildlane_command(&args),
                _ => support::docker_command(&args),
            };
            support::output_given(command, config.path(), answer)
        };
        let listed = || buildx(config.path(), &["du", "--builder", "default", "--verbose"]).contains(&id);

        let declined = run(b"n\n");
        assert!(declined.status.success(), "{tool}: {declined:?}");
        assert_eq!(
            String::from_utf8_lossy(&declined.stdout),
            "WARNING! This will remove all dangling build cache. Are you sure you want to continue? [y/N] ",
            "{tool}"
        );
        assert!(listed(), "{tool}: declined, the record stays");
        let accepted = run(b"y\n");
        assert!(accepted.status.success(), "{tool}: {accepted:?}");
        assert!(String::from_utf8_lossy(&accepted.stdout).contains(&id), "{tool}: {accepted:?}");
        assert!(!listed(), "{tool}: accepted, the record is gone");
    }
}
