//! Why a build missed the cache, on the real engine: two builds of one Dockerfile through
//! Buildlane, compared from what BuildKit recorded of them. A changed build arg is named with its
//! old and new values at the RUN that reads it; a changed context file at the COPY that reads it;
//! an identical rebuild missed nothing. Every Dockerfile carries a nonce so that no other build's
//! cache answers for it; each test deletes the records it made.

mod support;

use buildlane_core::history::compare::{BuildComparison, ComparedStep, MissReason, StepRun};
use buildlane_core::history::{BuildHistory, BuildSpec};
use support::build::{build, context, request, Seen};
use support::history::{nonce, registry};
use support::World;

/// Builds the context with `build_args` and returns the build's ref.
async fn built(world: &World, ctx: &tempfile::TempDir, build_args: &[&str]) -> String {
    let mut request = request(ctx);
    request.build_args = build_args.iter().map(|a| a.to_string()).collect();
    let outcome = build(world, request, &Seen::default()).await;
    assert_eq!(outcome.state, buildlane_core::builds::BuildState::Succeeded, "{outcome:#?}");
    outcome.build_ref
}

async fn compared(world: &World, older: &str, newer: &str) -> (BuildHistory, BuildComparison) {
    let history = BuildHistory::connect(&world.builders(), "", None).await.unwrap();
    // Named newer first: the comparison puts the older first whatever the order.
    let comparison =
        history.compare(&BuildSpec::Ref(newer.to_owned()), &BuildSpec::Ref(older.to_owned())).await.unwrap();
    assert_eq!((comparison.older.build_ref.as_str(), comparison.newer.build_ref.as_str()), (older, newer));
    (history, comparison)
}

fn at_line(c: &BuildComparison, line: u32) -> &ComparedStep {
    c.steps
        .iter()
        .find(|s| s.dockerfile_line.is_some_and(|l| l.start == line))
        .unwrap_or_else(|| panic!("a step at line {line}: {c:#?}"))
}

fn first_miss(c: &BuildComparison) -> &ComparedStep {
    &c.steps[c.first_miss.unwrap_or_else(|| panic!("a step missed: {c:#?}")) as usize]
}

#[tokio::test]
async fn a_changed_build_arg_is_named_with_its_values_at_the_run_that_reads_it() {
    let world = World::new();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN echo {} > /nonce\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\nRUN cat /greeting\n",
        registry(),
        nonce()
    );
    let ctx = context(&[("Dockerfile", &dockerfile)]);
    let older = built(&world, &ctx, &["GREETING=hello"]).await;
    let newer = built(&world, &ctx, &["GREETING=goodbye"]).await;
    let (history, c) = compared(&world, &older, &newer).await;

    let miss = first_miss(&c);
    assert_eq!(miss.dockerfile_line.map(|l| l.start), Some(4), "{c:#?}");
    assert_eq!(miss.source, ["RUN echo \"$GREETING\" > /greeting"]);
    assert_eq!(
        miss.reasons,
        [MissReason::BuildArgChanged {
            name: "GREETING".into(),
            older: Some("hello".into()),
            newer: Some("goodbye".into())
        }]
    );
    // The RUN before the ARG came from the cache; the one after missed because this one did, and
    // would miss without it too: it sees the arg as well.
    let before = at_line(&c, 2);
    assert_eq!((before.older, before.newer, before.missed), (Some(StepRun::Ran), Some(StepRun::Cached), false));
    assert!(
        matches!(&at_line(&c, 5).reasons[..], [MissReason::EarlierStepMissed { dockerfile_line: Some(l), .. }, also] if l.start == 4 && *also == miss.reasons[0]),
        "{c:#?}"
    );
    assert!(c.differences.contains(&miss.reasons[0]), "{:#?}", c.differences);
    assert!(c.older.has_definitions && c.newer.has_definitions, "BuildKit keeps provenance with its records");

    history.delete(&older).await.unwrap();
    history.delete(&newer).await.unwrap();
}

#[tokio::test]
async fn a_changed_context_file_is_named_at_the_copy_that_reads_it() {
    let world = World::new();
    let dockerfile = format!("FROM {}/busybox:latest\nCOPY app.txt /app.txt\nRUN cat /app.txt\n", registry());
    let ctx = context(&[("Dockerfile", &dockerfile), ("app.txt", &nonce().to_string()), ("other.txt", "same")]);
    let older = built(&world, &ctx, &[]).await;
    std::fs::write(ctx.path().join("app.txt"), format!("changed {}", nonce())).unwrap();
    let newer = built(&world, &ctx, &[]).await;
    let (history, c) = compared(&world, &older, &newer).await;

    let miss = first_miss(&c);
    assert_eq!(miss.dockerfile_line.map(|l| l.start), Some(2), "{c:#?}");
    assert_eq!(miss.source, ["COPY app.txt /app.txt"]);
    assert_eq!(
        miss.reasons,
        [MissReason::ContextFilesChanged { source: "context".into(), paths: vec!["app.txt".into()] }]
    );
    assert!(matches!(&at_line(&c, 3).reasons[..], [MissReason::EarlierStepMissed { .. }]), "{c:#?}");
    assert!(c.differences.is_empty(), "nothing else differs: {:#?}", c.differences);

    history.delete(&older).await.unwrap();
    history.delete(&newer).await.unwrap();
}

#[tokio::test]
async fn an_identical_rebuild_missed_no_step() {
    let world = World::new();
    let dockerfile = format!("FROM {}/busybox:latest\nCOPY app.txt /app.txt\nRUN echo {}\n", registry(), nonce());
    let ctx = context(&[("Dockerfile", &dockerfile), ("app.txt", "same")]);
    let older = built(&world, &ctx, &["X=1"]).await;
    let newer = built(&world, &ctx, &["X=1"]).await;
    let (history, c) = compared(&world, &older, &newer).await;

    assert_eq!(c.first_miss, None, "{c:#?}");
    assert!(c.differences.is_empty(), "{:#?}", c.differences);
    assert_eq!(c.steps.len(), 3, "{c:#?}");
    assert!(c.steps.iter().all(|s| !s.missed), "{c:#?}");
    // Every step but the image (fetched, not cached: BuildKit may say it ran) came from the cache.
    assert!(c.steps[1..].iter().all(|s| s.newer == Some(StepRun::Cached)), "{c:#?}");

    history.delete(&older).await.unwrap();
    history.delete(&newer).await.unwrap();
}

#[tokio::test]
async fn a_base_image_tag_moved_to_another_image_is_named_with_both_digests() {
    let world = World::new();
    // A repository of this test's own, its tag moved from one image to another between the builds.
    let base = format!("{}/cachemiss-base-{}:latest", registry(), nonce());
    let push_base = |content: &str| {
        let ctx =
            context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo {content} > /base\n", registry()))]);
        world.docker_ok(&["buildx", "build", "--push", "-t", &base, &ctx.path().to_string_lossy()]);
    };
    push_base(&format!("one {}", nonce()));
    let ctx = context(&[("Dockerfile", &format!("FROM {base}\nRUN cat /base\n"))]);
    let older = built(&world, &ctx, &[]).await;
    push_base(&format!("two {}", nonce()));
    let newer = built(&world, &ctx, &[]).await;
    let (history, c) = compared(&world, &older, &newer).await;

    let miss = first_miss(&c);
    assert_eq!(miss.dockerfile_line.map(|l| l.start), Some(1), "{c:#?}");
    let [MissReason::BaseImageChanged { image, older: was, newer: now }] = &miss.reasons[..] else {
        panic!("the base image is named: {c:#?}");
    };
    assert_eq!(image, &base);
    assert!(was.starts_with("sha256:") && now.starts_with("sha256:") && was != now, "{was} {now}");
    assert!(matches!(&at_line(&c, 2).reasons[..], [MissReason::EarlierStepMissed { .. }]), "{c:#?}");
    // The provenance's materials say it too.
    assert!(
        c.differences
            .iter()
            .any(|d| matches!(d, MissReason::BaseImageChanged { image: i, older, newer } if i == image && older == was && newer == now)),
        "{:#?}",
        c.differences
    );

    history.delete(&older).await.unwrap();
    history.delete(&newer).await.unwrap();
}

#[tokio::test]
async fn a_changed_file_a_run_mounts_from_the_context_is_named_at_that_run() {
    let world = World::new();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN --mount=type=bind,source=src,target=/src cat /src/a.txt {}\n",
        registry(),
        "> /dev/null"
    );
    let ctx = context(&[("Dockerfile", &dockerfile), ("src/a.txt", &nonce().to_string())]);
    let older = built(&world, &ctx, &[]).await;
    std::fs::write(ctx.path().join("src/a.txt"), format!("changed {}", nonce())).unwrap();
    let newer = built(&world, &ctx, &[]).await;
    let (history, c) = compared(&world, &older, &newer).await;

    let miss = first_miss(&c);
    assert_eq!(miss.dockerfile_line.map(|l| l.start), Some(2), "{c:#?}");
    assert_eq!(miss.reasons, [MissReason::ContextFilesChanged { source: "context".into(), paths: vec!["src".into()] }]);

    history.delete(&older).await.unwrap();
    history.delete(&newer).await.unwrap();
}
