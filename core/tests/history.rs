//! BuildKit's build history on the real engine: a build started with `docker buildx build` shows
//! as it starts and in the listing, named as buildx names it; a failed one carries its Dockerfile
//! line; a replay folds into the same lanes and logs the live build showed; records are pinned,
//! unpinned and deleted. Each test deletes the records it made, and only those.

mod support;

use std::time::Duration;

use buildlane_core::builds::BuildState;
use buildlane_core::history::{BuildSpec, HistoryCapability, HistoryError, HistoryEvent, HistoryStatus};
use buildlane_core::progress::Step;
use futures_util::StreamExt;
use support::build::{build, context, request, Seen};
use support::history::{built, failed_terminal_build, folder_name, history, listed, nonce, registry};
use support::World;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_build_started_with_buildx_shows_as_it_starts_and_in_the_listing() {
    let world = std::sync::Arc::new(World::new());
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo {} && sleep 1\n", registry(), nonce()))]);
    let name = folder_name(&ctx);
    let history = history(&world).await;
    let mut events = Box::pin(history.watch().await.unwrap());

    let cli = {
        let path = ctx.path().to_string_lossy().into_owned();
        let world = world.clone();
        tokio::task::spawn_blocking(move || world.docker(&["buildx", "build", "--progress", "plain", &path]))
    };

    // Every record comes first as it is, then what happens: this build starting, then completing.
    let mut started = None;
    let completed = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(event) = events.next().await {
            match event.unwrap() {
                HistoryEvent::Started { entry } if entry.name == name => started = Some(*entry),
                HistoryEvent::Completed { entry } if entry.name == name => return *entry,
                _ => {}
            }
        }
        panic!("the history stream ended");
    })
    .await
    .expect("the build completes");
    let out = cli.await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let started = started.expect("the build was seen starting");
    assert_eq!(started.status, HistoryStatus::Running);
    assert_eq!(started.build_ref, completed.build_ref);
    assert_eq!(completed.status, HistoryStatus::Completed);
    assert_eq!(completed.context, ctx.path().to_string_lossy(), "buildx's local state names the context");
    assert!(completed.steps_total >= 3 && completed.steps_completed == completed.steps_total, "{completed:#?}");
    assert!(completed.has_logs);
    assert!(!completed.recorded, "Buildlane did not start it");
    assert_eq!(completed.request.context, ctx.path().to_string_lossy(), "it can be built again from here");

    let entry = listed(&history, &name).await;
    assert_eq!(entry.build_ref, completed.build_ref);
    assert_eq!(entry.status, HistoryStatus::Completed);
    assert!(entry.duration_ms.is_some());

    history.delete(&entry.build_ref).await.unwrap();
}

#[tokio::test]
async fn a_failed_build_shows_its_error_with_the_dockerfile_line() {
    let world = World::new();
    let (history, entry) = failed_terminal_build(&world).await;
    assert_eq!(entry.status, HistoryStatus::Failed);
    let error = entry.error.clone().expect("the error is recorded");
    assert_eq!(error.dockerfile_line, Some(3), "{error:#?}");
    assert_eq!(error.lines, ["RUN exit 3"]);
    assert_eq!(error.dockerfile_name.as_deref(), Some("Dockerfile"));
    assert!(error.message.contains("exit code: 3"), "{}", error.message);

    // Opened, it reads as a live failure does: the failed step, its lane, the line.
    let replay =
        history.replay(&BuildSpec::Ref(entry.build_ref.clone()), &|_| {}, CancellationToken::new()).await.unwrap();
    assert_eq!(replay.outcome.state, BuildState::Failed);
    let failure = replay.outcome.failure.expect("a failure to show");
    assert_eq!(failure.dockerfile_line, Some(3));
    assert!(failure.step.expect("the failed step").name.contains("exit 3"));

    history.delete(&entry.build_ref).await.unwrap();
}

#[tokio::test]
async fn a_replay_shows_the_steps_and_logs_the_live_build_printed() {
    let world = World::new();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN echo {} && uname -m && echo to-stderr >&2\nRUN for i in 1 2 3; do echo line $i; done\n",
        registry(),
        nonce()
    );
    let ctx = context(&[("Dockerfile", &dockerfile)]);
    let seen = Seen::default();
    let live = build(&world, request(&ctx), &seen).await;
    assert_eq!(live.state, BuildState::Succeeded);

    let history = history(&world).await;
    let watched = Seen::default();
    let spec = BuildSpec::Ref(live.build_ref.clone());
    let replay = history.replay(&spec, &watched.record(), CancellationToken::new()).await.unwrap();

    let live_seen = seen.get();
    let replayed = watched.get();
    let (steps, logs) = (replayed.steps, replayed.logs);
    let mut live_ids: Vec<&String> = live_seen.steps.keys().collect();
    let mut replay_ids: Vec<&String> = steps.keys().collect();
    live_ids.sort();
    replay_ids.sort();
    assert_eq!(replay_ids, live_ids, "the same steps");
    for (id, step) in &live_seen.steps {
        let replayed = &steps[id];
        assert_eq!((&replayed.lane, &replayed.name), (&step.lane, &step.name), "step {}", step.name);
        // The base image's steps are shared with every other build of it on this engine: BuildKit
        // runs them once and each observer (and the stored log) may see another build's times.
        if step.name.starts_with("FROM ") || step.name.starts_with("load metadata for ") {
            continue;
        }
        // Live lanes count from the first step BuildKit sent, a replay from the build's creation a
        // moment earlier: the same state and duration (each rounded to whole milliseconds on its
        // own axis, so within one), and never earlier.
        let took = |s: &Step| s.completed_ms.unwrap() - s.started_ms.unwrap();
        assert_eq!(replayed.state, step.state, "step {}", step.name);
        assert!(took(replayed).abs_diff(took(step)) <= 1, "step {}: {replayed:?} vs {step:?}", step.name);
        assert!(replayed.started_ms >= step.started_ms, "step {}", step.name);
    }
    assert_eq!(logs, live_seen.logs, "the same output, step by step");
    assert!(logs.values().any(|l| l.contains("line 3")));
    assert_eq!(replay.outcome.state, BuildState::Succeeded);
    assert_eq!(replay.outcome.steps.len(), live.steps.len());

    // Buildlane recorded this build: the record keeps its exact form, and names it.
    assert!(replay.entry.recorded);
    assert_eq!(replay.entry.request, request(&ctx));
    assert_eq!(replay.entry.name, folder_name(&ctx));

    history.delete(&live.build_ref).await.unwrap();
}

#[tokio::test]
async fn a_record_is_pinned_unpinned_and_deleted() {
    let world = World::new();
    let (_ctx, outcome) = built(&world, &format!("FROM {}/busybox:latest\nRUN echo {}\n", registry(), nonce())).await;
    let history = history(&world).await;
    let spec = BuildSpec::Ref(outcome.build_ref.clone());

    assert!(!history.get(&spec).await.unwrap().pinned);
    history.set_pinned(&outcome.build_ref, true).await.unwrap();
    assert!(history.get(&spec).await.unwrap().pinned);
    history.set_pinned(&outcome.build_ref, false).await.unwrap();
    assert!(!history.get(&spec).await.unwrap().pinned);

    history.delete(&outcome.build_ref).await.unwrap();
    let after = history.get(&spec).await;
    assert!(matches!(after, Err(HistoryError::NotFound { .. })), "{after:?}");
    assert!(matches!(history.delete(&outcome.build_ref).await, Err(HistoryError::NotFound { .. })));
    assert!(!history.list().await.unwrap().iter().any(|e| e.build_ref == outcome.build_ref));
}

#[tokio::test]
async fn the_engines_buildkit_is_said_to_lack_what_buildkit_013_does_not_keep() {
    let world = World::new();
    let history = history(&world).await;
    let builder = history.support().await.unwrap();
    assert!(builder.unreachable.is_empty(), "{builder:#?}");
    let [support] = &builder.nodes[..] else { panic!("the engine's builder has one node: {builder:#?}") };
    let engine = world.docker_ok(&["version", "--format", "{{.Server.Version}}"]).trim().to_owned();
    // Debian's engine reports BuildKit v0.0.0+unknown; the engine's release says which it embeds.
    assert!(support.buildkit.contains(&format!("Docker Engine {engine} embeds BuildKit 0.13")), "{support:#?}");
    let missing: Vec<HistoryCapability> = support.missing.iter().map(|m| m.capability).collect();
    assert_eq!(
        missing,
        [
            HistoryCapability::Filters,
            HistoryCapability::Finalize,
            HistoryCapability::Warnings,
            HistoryCapability::ExternalErrors
        ]
    );
    assert!(support.missing.iter().all(|m| m.note.contains(&format!("node {} runs", history.nodes()[0]))));
}
