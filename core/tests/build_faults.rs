//! Bad build input and faults: each a clear error (or a failed outcome that says where), nothing lost.

mod support;

use std::time::{Duration, Instant};

use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildError, BuildOutput, BuildRequest, BuildState};
use buildlane_core::docker_config::Environment;
use buildlane_core::progress::StepState;
use support::build::{build, context, request, Seen};
use support::proxy::EngineProxy;
use support::World;
use tokio_util::sync::CancellationToken;

async fn refused(world: &World, request: BuildRequest) -> String {
    let seen = Seen::default();
    let builders = world.builders();
    let record = seen.record();
    let mut recording = Records::new(builders.contexts().environment()).recording();
    let result = builds::run(&builders, &request, None, &record, CancellationToken::new(), &mut recording).await;
    result.unwrap_err().to_string()
}

fn busybox(world: &World, rest: &str) -> String {
    format!("FROM {}/busybox:latest\n{rest}", world.registry)
}

#[tokio::test]
async fn requests_that_cannot_build_are_refused_before_anything_runs() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN true\n"))]);
    let missing = BuildRequest { context: "/nonexistent/app".into(), ..Default::default() };
    assert_eq!(refused(&world, missing).await, "context folder /nonexistent/app does not exist");
    let no_dockerfile = BuildRequest { dockerfile: "Containerfile".into(), ..request(&ctx) };
    assert!(refused(&world, no_dockerfile).await.ends_with("/Containerfile does not exist"));
    for (platform, message) in [
        ("linux/arm/v9", "invalid platform \"linux/arm/v9\": unknown variant \"v9\""),
        ("foo", "invalid platform \"foo\": expected os/arch[/variant], e.g. linux/arm64"),
        ("", "invalid platform \"\": a platform is os/arch[/variant], e.g. linux/arm64"),
    ] {
        let bad = BuildRequest { platforms: vec![platform.into()], ..request(&ctx) };
        assert_eq!(refused(&world, bad).await, message);
    }
    let unrunnable = BuildRequest { platforms: vec!["linux/mips64le".into()], ..request(&ctx) };
    assert!(refused(&world, unrunnable)
        .await
        .starts_with("builder default cannot build linux/mips64le: it runs linux/amd64"));
    let bad_tag = BuildRequest { tags: vec!["Not A Tag".into()], ..request(&ctx) };
    assert!(refused(&world, bad_tag).await.starts_with("invalid tag \"Not A Tag\""));
    let bad_arg = BuildRequest { build_args: vec!["NOEQUALS".into()], ..request(&ctx) };
    assert_eq!(refused(&world, bad_arg).await, "invalid build arg \"NOEQUALS\": expected KEY=VALUE");
    let untagged_push = BuildRequest { outputs: vec![BuildOutput::push()], ..request(&ctx) };
    assert_eq!(refused(&world, untagged_push).await, "tag is needed when pushing to registry");
}

#[tokio::test]
async fn a_dockerfile_syntax_error_points_at_its_line() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN true\n\n# a comment\nFORM nothing\n"))]);
    let outcome = build(&world, request(&ctx), &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.unwrap();
    assert!(failure.message.contains("FORM"), "{}", failure.message);
    // The location is BuildKit's: the file it read, the span, and the text.
    assert_eq!((failure.dockerfile_line, failure.dockerfile_end_line), (Some(5), Some(5)), "{failure:?}");
    assert_eq!(failure.dockerfile_name.as_deref(), Some("Dockerfile"));
    assert_eq!(
        failure.dockerfile_source.as_deref(),
        std::fs::read_to_string(ctx.path().join("Dockerfile")).ok().as_deref()
    );
}

#[tokio::test]
async fn an_unknown_target_stage_is_named() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN true\n"))]);
    let outcome = build(&world, BuildRequest { target: "nope".into(), ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.unwrap();
    assert!(failure.message.contains("target stage \"nope\" could not be found"), "{}", failure.message);
    // No step ran and no line is to blame.
    assert_eq!((failure.step, failure.dockerfile_line), (None, None), "{}", failure.message);
}

#[tokio::test]
async fn a_failing_step_is_located_by_buildkit_not_by_its_text() {
    let world = World::new();
    // Lines 2-3 and 5-6 are the same instruction; only the second one fails.
    let ctx = context(&[(
        "Dockerfile",
        &busybox(
            &world,
            "RUN test ! -e /flag \\\n    || exit 3\nRUN touch /flag\nRUN test ! -e /flag \\\n    || exit 3\nRUN echo never\n",
        ),
    )]);
    let outcome = build(&world, request(&ctx), &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.unwrap();
    assert_eq!((failure.dockerfile_line, failure.dockerfile_end_line), (Some(5), Some(6)), "{failure:?}");
    assert_eq!(failure.dockerfile_name.as_deref(), Some("Dockerfile"));
    assert_eq!(failure.exit_code, Some(3));
    let step = failure.step.unwrap();
    assert_eq!(failure.vertex.as_deref(), Some(step.id.as_str()));
    assert_eq!(step.state, StepState::Failed);
    assert_eq!(step.position.as_deref(), Some("4/5"));
    // The failed step carries BuildKit's range; the steps before it their own instruction's lines.
    let lines = |name: &str| {
        let step = outcome.steps.iter().find(|s| s.name.starts_with(name)).expect(name);
        step.dockerfile_line.map(|l| (l.start, l.end))
    };
    assert_eq!(step.dockerfile_line.map(|l| (l.start, l.end)), Some((5, 6)));
    assert_eq!(outcome.steps.iter().find(|s| s.id == step.id).and_then(|s| s.dockerfile_line), step.dockerfile_line);
    assert_eq!(lines("RUN touch /flag"), Some((4, 4)));
}

#[tokio::test]
async fn a_step_failing_on_one_platform_says_which_platform_step_and_line() {
    let world = World::new();
    let ctx = context(&[(
        "Dockerfile",
        &busybox(&world, "RUN echo checking on $(uname -m)\nRUN [ \"$(uname -m)\" != aarch64 ]\n"),
    )]);
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest { platforms: vec!["linux/amd64".into(), "linux/arm64".into()], no_cache: true, ..request(&ctx) },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.unwrap();
    assert_eq!(failure.platform.as_deref(), Some("linux/arm64"));
    assert_eq!(failure.dockerfile_line, Some(3));
    assert_eq!(failure.step.unwrap().name, "RUN [ \"$(uname -m)\" != aarch64 ]");
    assert!(!failure.succeeded_platforms.contains(&"linux/arm64".to_owned()));
}

#[tokio::test]
async fn cancelling_stops_the_build_quickly_and_keeps_its_logs() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN echo started-sleeping && sleep 60\n"))]);
    let seen = Seen::default();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let watcher = async {
        // Cancel once the RUN step has printed, as a person would after seeing it run.
        loop {
            if seen.get().logs.values().any(|l| l.contains("started-sleeping")) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        trigger.cancel();
        Instant::now()
    };
    let builders = world.builders();
    let req = BuildRequest { no_cache: true, ..request(&ctx) };
    let record = seen.record();
    let mut recording = Records::new(builders.contexts().environment()).recording();
    let run = builds::run(&builders, &req, None, &record, cancel.clone(), &mut recording);
    let (outcome, cancelled_at) = tokio::join!(run, watcher);
    let outcome = outcome.unwrap();
    assert!(cancelled_at.elapsed() < Duration::from_secs(2), "stopped {:?} after the cancel", cancelled_at.elapsed());
    assert_eq!(outcome.state, BuildState::Cancelled);
    let run_step = outcome.steps.iter().find(|s| s.name.starts_with("RUN echo started")).unwrap();
    assert_eq!(run_step.state, StepState::Cancelled);
    assert!(seen.get().logs.get(&run_step.id).is_some_and(|l| l.contains("started-sleeping")));
}

#[tokio::test]
async fn an_unreachable_registry_fails_the_push_with_the_reason() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN true\n"))]);
    let outcome = build(
        &world,
        BuildRequest {
            tags: vec!["127.0.0.1:1/nowhere/app:1".into()],
            outputs: vec![BuildOutput::push()],
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Failed);
    let message = outcome.failure.unwrap().message;
    assert!(message.contains("connection refused"), "{message}");
}

#[tokio::test]
async fn a_push_refused_for_lack_of_credentials_says_so() {
    let world = World::new();
    let registry = std::env::var("BUILDLANE_AUTH_REGISTRY").unwrap();
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN true\n"))]);
    let outcome = build(
        &world,
        BuildRequest {
            tags: vec![format!("{registry}/locked/app:1")],
            outputs: vec![BuildOutput::push()],
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Failed);
    let message = outcome.failure.unwrap().message.to_lowercase();
    assert!(message.contains("401") || message.contains("unauthorized") || message.contains("authoriz"), "{message}");
}

#[tokio::test]
async fn an_engine_that_stops_mid_build_is_a_clear_error() {
    let world = World::new();
    let mut proxy = EngineProxy::new(&world.dir.path().join("engine.sock"), &world.host);
    proxy.start();
    let builders =
        buildlane_core::builders::Builders::new(Environment { docker_host: Some(proxy.host()), ..world.env() });
    let ctx = context(&[("Dockerfile", &busybox(&world, "RUN echo running && sleep 60\n"))]);
    let seen = Seen::default();
    let stop = async {
        while !seen.get().logs.values().any(|l| l.contains("running")) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proxy.stop();
    };
    let request = BuildRequest { no_cache: true, ..request(&ctx) };
    let record = seen.record();
    let mut recording = Records::new(builders.contexts().environment()).recording();
    let run = builds::run(&builders, &request, None, &record, CancellationToken::new(), &mut recording);
    let (result, ()) = tokio::time::timeout(Duration::from_secs(30), async { tokio::join!(run, stop) })
        .await
        .expect("the build notices");
    let message = match result {
        Ok(outcome) => {
            assert_eq!(outcome.state, BuildState::Failed);
            outcome.failure.unwrap().message
        }
        Err(e) => {
            assert!(matches!(e, BuildError::Buildkit(_) | BuildError::Engine(_)), "{e}");
            e.to_string()
        }
    };
    assert!(!message.is_empty());
}

#[tokio::test]
async fn two_builds_at_once_on_one_builder_both_finish() {
    let world = World::new();
    let a = context(&[("Dockerfile", &busybox(&world, "RUN echo a && sleep 1\n"))]);
    let b = context(&[("Dockerfile", &busybox(&world, "RUN echo b && sleep 1\n"))]);
    let (seen_a, seen_b) = (Seen::default(), Seen::default());
    let (ra, rb) = tokio::join!(
        build(&world, BuildRequest { no_cache: true, ..request(&a) }, &seen_a),
        build(&world, BuildRequest { no_cache: true, ..request(&b) }, &seen_b)
    );
    assert_eq!((ra.state, rb.state), (BuildState::Succeeded, BuildState::Succeeded));
    assert_ne!(ra.build_ref, rb.build_ref);
}
