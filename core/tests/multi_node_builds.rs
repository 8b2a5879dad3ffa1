//! Builds split across a builder's nodes: each platform goes to the node it is pinned on, one solve
//! per node with its own session serving the same context, all at once; lanes carry the node; a
//! node that goes away mid-build fails its platforms, named, and the other node finishes. The nodes
//! are the engine's own BuildKit behind relays that note which platforms each solve asked for.

mod support;

use std::time::Duration;

use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::index::{assert_assembled_as_buildx, assert_each_platform_runs, MachineImage};
use support::nodes::{solves_per_node, start_farm, CountingNode};
use support::written::Written;
use support::World;

const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

/// A remote builder `farm`: node `farm0` pinned to linux/amd64, node `farm1` to linux/arm64.
async fn farm(world: &World) -> [CountingNode; 2] {
    start_farm(world, "farm", PLATFORMS, None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_platform_is_solved_on_its_node_and_the_lanes_say_which() {
    let world = World::new();
    let [amd64, arm64] = farm(&world).await;
    let ctx = context(&[
        (
            "Dockerfile",
            &format!(
                "FROM {}/busybox:latest\nCOPY note.txt /\nRUN uname -m > /machine && cat /note.txt\n",
                world.registry
            ),
        ),
        ("note.txt", "one context, two sessions"),
    ]);
    let out = tempfile::tempdir().unwrap();
    let output = BuildOutput::local(out.path().to_string_lossy().into_owned());
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            builder: "farm".into(),
            platforms: PLATFORMS.map(String::from).to_vec(),
            outputs: vec![output.clone()],
            no_cache: true,
            ..request(&ctx)
        },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!(amd64.solves(), ["linux/amd64"]);
    assert_eq!(arm64.solves(), ["linux/arm64"]);

    let seen = seen.get();
    for (lane, node) in [("linux/amd64", "farm0"), ("linux/arm64", "farm1")] {
        let steps: Vec<_> = seen.steps.values().filter(|s| s.lane == lane).collect();
        assert!(!steps.is_empty(), "{lane} has steps");
        assert!(steps.iter().all(|s| s.node.as_deref() == Some(node)), "{lane}: {steps:?}");
    }
    let logs: String = seen.logs.values().cloned().collect();
    assert_eq!(logs.matches("one context, two sessions").count(), 2, "each node read the context: {logs}");
    // Each node wrote its platform's folder, as buildx's multi-node local output does.
    let written = Written::read(&output);
    assert_eq!(written.text("linux_amd64/machine"), "x86_64");
    assert_eq!(written.text("linux_arm64/machine"), "aarch64");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_goes_away_mid_build_fails_its_platform_by_name_and_the_other_finishes() {
    let world = World::new();
    let [amd64, mut arm64] = farm(&world).await;
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest\nARG TARGETARCH\nRUN if [ \"$TARGETARCH\" = arm64 ]; then sleep 30; fi; uname -m > /machine\n",
            world.registry
        ),
    )]);
    let seen = Seen::default();
    let request = BuildRequest {
        builder: "farm".into(),
        platforms: PLATFORMS.map(String::from).to_vec(),
        no_cache: true,
        ..request(&ctx)
    };
    // Into the arm64 node's long step, then the node is gone.
    let (outcome, ()) = tokio::join!(build(&world, request, &seen), arm64.cut_while_solving(Duration::from_secs(3)));

    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.node.as_deref(), Some("farm1"), "{failure:?}");
    assert!(failure.message.starts_with("node farm1 (linux/arm64): "), "{}", failure.message);
    assert_eq!(failure.succeeded_platforms, ["linux/amd64"], "{failure:?}");
    assert_eq!(amd64.solves(), ["linux/amd64"]);
    let seen = seen.get();
    let arm_steps: Vec<_> = seen.steps.values().filter(|s| s.lane == "linux/arm64").collect();
    assert!(
        arm_steps.iter().any(|s| s.error.as_deref().is_some_and(|e| e.contains("node farm1"))),
        "{} {arm_steps:?}",
        failure.message
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_split_build_is_one_index_as_buildx_assembles_it_and_each_platform_runs() {
    let world = World::new();
    let nodes = farm(&world).await;
    let image = MachineImage::new(&world, "farm");
    let outcome = image.push(&world, "farm", &PLATFORMS).await;
    assert_eq!(solves_per_node(&nodes), [["linux/amd64"], ["linux/arm64"]]);
    assert_eq!(outcome.tags, std::slice::from_ref(&image.ours));

    // The same build by buildx on the same two nodes.
    image.push_with_buildx(&world, "farm", &PLATFORMS);
    assert_assembled_as_buildx(&world, &image.ours, &image.theirs);
    let pushed = format!("sha256:{}", hex_sha256(world.imagetools(&["--raw"], &image.ours).as_bytes()));
    assert_eq!(outcome.digest.as_deref(), Some(pushed.as_str()));

    assert_each_platform_runs(&world, &image.ours, &PLATFORMS, &[]);
    let _ = world.docker(&["image", "rm", &image.ours]);
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
