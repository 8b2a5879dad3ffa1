//! Builds through the engine's own BuildKit, with real QEMU emulation and the local registry.

mod support;

use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use buildlane_core::progress::StepState;
use support::build::{build, context, request, Seen};
use support::World;

const THREE: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

#[tokio::test]
async fn the_first_tutorial_builds_three_platforms_and_pushes_an_index() {
    let world = World::new();
    let ctx = context(&[(
        "Dockerfile",
        &format!("FROM --platform=$TARGETPLATFORM {}/busybox:latest\nRUN uname -a > /os.txt\n", world.registry),
    )]);
    let tag = format!("{}/buildlane-test/tutorial-one:{}", world.registry, std::process::id());
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            platforms: THREE.map(String::from).to_vec(),
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::push()],
            ..request(&ctx)
        },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let digest = outcome.digest.clone().expect("the pushed index's digest");
    assert!(digest.starts_with("sha256:"));
    // The engine's own builder is stamped as buildx stamps it, under its context's name.
    let builders = world.builders();
    assert!(builders.store().txn().unwrap().activity("default").is_some(), "activity/default written");

    let raw: serde_json::Value =
        serde_json::from_str(&world.docker_ok(&["buildx", "imagetools", "inspect", "--raw", &tag])).unwrap();
    let platforms: Vec<String> = raw["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["platform"]["architecture"] != "unknown")
        .map(|m| {
            let p = &m["platform"];
            let variant = p["variant"].as_str().map(|v| format!("/{v}")).unwrap_or_default();
            format!("{}/{}{variant}", p["os"].as_str().unwrap(), p["architecture"].as_str().unwrap())
        })
        .collect();
    assert_eq!(platforms, THREE);
    for (platform, machine) in THREE.iter().zip(["x86_64", "aarch64", "armv7l"]) {
        let out = world.docker_ok(&["run", "--rm", "--pull", "always", "--platform", platform, &tag, "cat", "/os.txt"]);
        assert!(out.contains(machine), "{platform}: {out}");
    }
    let seen = seen.get();
    for platform in THREE {
        let lane: Vec<_> = seen.steps.values().filter(|s| s.lane == platform).collect();
        assert!(lane.iter().any(|s| s.name == "RUN uname -a > /os.txt"), "{platform}: {lane:?}");
        assert!(lane.iter().all(|s| matches!(s.state, StepState::Done | StepState::Cached)), "{lane:?}");
    }
    assert!(seen.steps.values().any(|s| s.lane == "shared"));
}

#[tokio::test]
async fn the_cross_compiling_tutorial_runs_its_builder_stage_natively() {
    let world = World::new();
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM --platform=$BUILDPLATFORM {r}/busybox:latest AS builder\nARG TARGETOS TARGETARCH\nRUN echo \"built on $(uname -m) for $TARGETOS/$TARGETARCH\" > /app.txt\n\nFROM {r}/busybox:latest\nCOPY --from=builder /app.txt /app.txt\nRUN cat /app.txt && uname -m\n",
            r = world.registry
        ),
    )]);
    let tag = format!("{}/buildlane-test/tutorial-two:{}", world.registry, std::process::id());
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            platforms: THREE.map(String::from).to_vec(),
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::push()],
            no_cache: true,
            ..request(&ctx)
        },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let seen = seen.get();
    for (platform, arch, machine) in
        [("linux/amd64", "amd64", "x86_64"), ("linux/arm64", "arm64", "aarch64"), ("linux/arm/v7", "arm", "armv7l")]
    {
        let run =
            seen.steps.values().find(|s| s.lane == platform && s.name.starts_with("RUN cat /app.txt")).expect(platform);
        let log = seen.logs.get(&run.id).cloned().unwrap_or_default();
        assert!(log.contains(&format!("built on x86_64 for linux/{arch}")), "{platform}: {log}");
        assert!(log.contains(machine), "{platform}: {log}");
        let cross = seen
            .steps
            .values()
            .find(|s| s.lane == platform && s.stage.as_deref() == Some("builder") && s.name.starts_with("RUN"));
        assert!(cross.is_some(), "the builder stage of {platform} is in its lane");
    }
    // Every step says where in the Dockerfile it comes from, as it runs: the builder stage's RUN
    // named with its ARGs put in, the second stage's FROM of the same image as the first's.
    let line = |lane: &str, name: &str| {
        let step = seen.steps.values().find(|s| s.lane == lane && s.name.starts_with(name)).expect(name);
        step.dockerfile_line.map(|l| (l.start, l.end))
    };
    for platform in THREE {
        assert_eq!(line(platform, "RUN echo \"built on"), Some((3, 3)), "{platform}");
        assert_eq!(line(platform, "COPY --from=builder"), Some((6, 6)), "{platform}");
        assert_eq!(line(platform, "RUN cat /app.txt"), Some((7, 7)), "{platform}");
        // Each FROM named after one of this file's stages is placed on that stage's line. BuildKit
        // runs a step shared by several stages or builds once (on amd64 both FROMs pull the same
        // image for the same platform) and names it after whichever it met first, possibly another
        // build's on this engine, whose name may put it in another lane.
        let froms = seen.steps.values().filter(|s| s.lane == platform && s.name.starts_with("FROM"));
        for from in froms {
            let expected = match from.stage.as_deref() {
                Some("builder") => Some(1),
                Some("stage-1") => Some(5),
                _ => None,
            };
            assert_eq!(from.dockerfile_line.map(|l| l.start), expected, "{platform}: {}", from.name);
        }
    }
    assert!(seen.steps.values().filter(|s| s.name.starts_with("load ")).all(|s| s.dockerfile_line.is_none()));
    assert_eq!(
        outcome.steps.iter().filter(|s| s.dockerfile_line.is_some()).count(),
        seen.steps.values().filter(|s| s.dockerfile_line.is_some()).count()
    );
}

#[tokio::test]
async fn dockerignore_excludes_files_and_honours_exceptions() {
    let world = World::new();
    let ctx = context(&[
        ("Dockerfile", &format!("FROM {}/busybox:latest\nCOPY . /ctx\nRUN find /ctx -type f | sort\n", world.registry)),
        (".dockerignore", "secrets\n*.log\n!keep.log\n"),
        ("secrets/key", "hunter2"),
        ("app/main.txt", "main"),
        ("debug.log", "noise"),
        ("keep.log", "kept"),
    ]);
    let seen = Seen::default();
    let outcome =
        build(&world, BuildRequest { platforms: vec!["linux/amd64".into()], no_cache: true, ..request(&ctx) }, &seen)
            .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let listing = seen.get().logs.values().find(|l| l.contains("/ctx/")).cloned().unwrap_or_default();
    assert!(listing.contains("/ctx/app/main.txt") && listing.contains("/ctx/keep.log"), "{listing}");
    assert!(!listing.contains("secrets") && !listing.contains("debug.log"), "{listing}");
}
