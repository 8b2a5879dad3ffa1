//! A build's timing and its project's history on the real engine, read from BuildKit's own record
//! of the build: two stages that can run at once are charted running together, each step in its
//! kind, with BuildKit's own step counts; built again unchanged, every Dockerfile step but FROM
//! (whose image BuildKit resolves again) comes from the cache; the two builds are the project's
//! history, oldest first. Each test deletes the records it made, and only those.

mod support;

use buildlane_core::builds::BuildState;
use buildlane_core::history::{BuildHistory, BuildSpec};
use buildlane_core::progress::timing::{BuildTiming, KindTiming, OperationKind};
use support::build::{build, context, request, Seen};
use support::history::registry;
use support::World;
use tokio_util::sync::CancellationToken;

fn kind(timing: &BuildTiming, kind: OperationKind) -> &KindTiming {
    timing.kinds.iter().find(|k| k.kind == kind).unwrap_or_else(|| panic!("no {kind:?} steps in {timing:#?}"))
}

#[tokio::test]
async fn parallel_stages_run_at_once_and_an_unchanged_rebuild_is_all_cached() {
    let world = World::new();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let registry = registry();
    // `left` and `right` depend on nothing of each other: BuildKit runs their RUNs at once.
    let dockerfile = format!(
        "FROM {registry}/busybox:latest AS left\nRUN echo {nonce} > /left && sleep 2\n\n\
         FROM {registry}/busybox:latest AS right\nRUN echo {nonce} > /right && sleep 2\n\n\
         FROM {registry}/busybox:latest\nCOPY --from=left /left /left\nCOPY --from=right /right /right\n\
         COPY app.txt /app.txt\n"
    );
    let ctx = context(&[("Dockerfile", &dockerfile), ("app.txt", "hello\n")]);
    let first = build(&world, request(&ctx), &Seen::default()).await;
    assert_eq!(first.state, BuildState::Succeeded);
    let history = BuildHistory::connect(&world.builders(), "", None).await.unwrap();
    let first_spec = BuildSpec::Ref(first.build_ref.clone());

    let timing = history.timing(&first_spec, CancellationToken::new()).await.unwrap();
    assert!(timing.platforms.is_empty(), "one platform: {:?}", timing.platforms);
    let timing = timing.overall;
    assert!(timing.max_parallelism >= 2, "the two stages ran at once: {timing:#?}");
    let exec = kind(&timing, OperationKind::Exec);
    assert_eq!((exec.steps, exec.cached), (2, 0));
    assert!(exec.accumulated_ms >= 4_000, "two RUNs of two seconds each: {exec:?}");
    assert!(exec.real_ms < exec.accumulated_ms, "their times overlapped: {exec:?}");
    assert!(timing.parallel_ms > 0);
    assert_eq!(kind(&timing, OperationKind::File).steps, 3, "three COPYs");
    kind(&timing, OperationKind::ImagePull);
    kind(&timing, OperationKind::LocalTransfer);
    // The steps are those BuildKit counted in its record.
    let entry = history.get(&first_spec).await.unwrap();
    assert_eq!((timing.cache.steps, timing.cache.cached_steps), (entry.steps_total, entry.steps_cached));

    let second = build(&world, request(&ctx), &Seen::default()).await;
    assert_eq!(second.state, BuildState::Succeeded);
    let second_spec = BuildSpec::Ref(second.build_ref.clone());
    let again = history.timing(&second_spec, CancellationToken::new()).await.unwrap().overall;
    let cache = &again.cache;
    assert_eq!(cache.instructions_percent, Some(100), "{cache:?}");
    assert_eq!(cache.cached_instructions, cache.instructions);
    assert_eq!(kind(&again, OperationKind::Exec).cached, 2);

    let project = history.project(&second_spec).await.unwrap();
    let refs: Vec<&str> = project.builds.iter().map(|b| b.build_ref.as_str()).collect();
    assert_eq!(refs, [first.build_ref.as_str(), second.build_ref.as_str()], "oldest first");
    assert_eq!(project.context, ctx.path().to_string_lossy());
    let [old, new] = [&project.builds[0], &project.builds[1]];
    assert!(new.cached_percent > old.cached_percent, "{old:?} then {new:?}");
    assert_eq!(new.steps_cached, history.get(&second_spec).await.unwrap().steps_cached);

    history.delete(&first.build_ref).await.unwrap();
    history.delete(&second.build_ref).await.unwrap();
}
