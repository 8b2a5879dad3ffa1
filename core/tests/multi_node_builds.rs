//! Builds split across a builder's nodes: each platform goes to the node it is pinned on, one solve
//! per node with its own session serving the same context, all at once; lanes carry the node; a
//! node that goes away mid-build fails its platforms, named, and the other node finishes. The nodes
//! are the engine's own BuildKit behind relays that note which platforms each solve asked for.

mod support;

use buildlane_core::builders::CreateBuilderRequest;
use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::nodes::CountingNode;
use support::{no_progress, World};

/// A remote builder `farm`: node `farm0` pinned to linux/amd64 at `amd64`, node `arm` pinned to
/// linux/arm64 at `arm64`.
async fn farm(world: &World, amd64: &CountingNode, arm64: &CountingNode) {
    let builders = world.builders();
    let first = CreateBuilderRequest {
        name: "farm".into(),
        driver: "remote".into(),
        endpoint: amd64.address.clone(),
        platforms: vec!["linux/amd64".into()],
        ..Default::default()
    };
    builders.create(&first, None, &no_progress).await.unwrap();
    let second = CreateBuilderRequest {
        append: true,
        node: "arm".into(),
        endpoint: arm64.address.clone(),
        platforms: vec!["linux/arm64".into()],
        driver: String::new(),
        ..first
    };
    builders.create(&second, None, &no_progress).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_platform_is_solved_on_its_node_and_the_lanes_say_which() {
    let world = World::new();
    let (amd64, arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, &amd64, &arm64).await;
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
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            builder: "farm".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            output: BuildOutput::Local { dest: out.path().to_string_lossy().into_owned() },
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
    for (lane, node) in [("linux/amd64", "farm0"), ("linux/arm64", "arm")] {
        let steps: Vec<_> = seen.steps.values().filter(|s| s.lane == lane).collect();
        assert!(!steps.is_empty(), "{lane} has steps");
        assert!(steps.iter().all(|s| s.node.as_deref() == Some(node)), "{lane}: {steps:?}");
    }
    let logs: String = seen.logs.values().cloned().collect();
    assert_eq!(logs.matches("one context, two sessions").count(), 2, "each node read the context: {logs}");
    // Each node wrote its platform's folder, as buildx's multi-node local output does.
    let machine = |dir: &str| std::fs::read_to_string(out.path().join(dir).join("machine")).unwrap();
    assert_eq!(machine("linux_amd64").trim(), "x86_64");
    assert_eq!(machine("linux_arm64").trim(), "aarch64");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_goes_away_mid_build_fails_its_platform_by_name_and_the_other_finishes() {
    let world = World::new();
    let (amd64, mut arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, &amd64, &arm64).await;
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
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        no_cache: true,
        ..request(&ctx)
    };
    let cut = async {
        while arm64.solves().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Into the arm64 node's long step, then the node is gone.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        arm64.cut();
    };
    let (outcome, ()) = tokio::join!(build(&world, request, &seen), cut);

    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.node.as_deref(), Some("arm"), "{failure:?}");
    assert!(failure.message.starts_with("node arm (linux/arm64): "), "{}", failure.message);
    assert_eq!(failure.succeeded_platforms, ["linux/amd64"], "{failure:?}");
    assert_eq!(amd64.solves(), ["linux/amd64"]);
    let seen = seen.get();
    let arm_steps: Vec<_> = seen.steps.values().filter(|s| s.lane == "linux/arm64").collect();
    assert!(
        arm_steps.iter().any(|s| s.error.as_deref().is_some_and(|e| e.contains("node arm"))),
        "{} {arm_steps:?}",
        failure.message
    );
}

/// What a test compares of an index: its media type, and per entry the media type, the platform
/// and the annotations' keys (attestations keep theirs), in order.
fn shape(index: &serde_json::Value) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = index["manifests"]
        .as_array()
        .expect("an index")
        .iter()
        .map(|m| {
            let mut keys: Vec<&String> = m["annotations"].as_object().map(|a| a.keys().collect()).unwrap_or_default();
            keys.sort();
            serde_json::json!([m["mediaType"], m["platform"], keys, m["annotations"]["vnd.docker.reference.type"]])
        })
        .collect();
    serde_json::json!([index["mediaType"], entries])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pushed_split_build_is_one_index_as_buildx_assembles_it_and_each_platform_runs() {
    let world = World::new();
    let (amd64, arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, &amd64, &arm64).await;
    let ctx = context(&[(
        "Dockerfile",
        &format!("FROM {}/busybox:latest\nRUN uname -m > /machine\nCMD [\"cat\", \"/machine\"]\n", world.registry),
    )]);
    let repository = format!("{}/buildlane-test/farm-{}", world.registry, std::process::id());
    let (ours, theirs) = (format!("{repository}:buildlane"), format!("{repository}:buildx"));
    let outcome = build(
        &world,
        BuildRequest {
            builder: "farm".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec![ours.clone()],
            output: BuildOutput::Push,
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!((amd64.solves(), arm64.solves()), (vec!["linux/amd64".to_owned()], vec!["linux/arm64".to_owned()]));
    assert_eq!(outcome.tags, std::slice::from_ref(&ours));

    // The same build by buildx on the same two nodes.
    let path = ctx.path().to_string_lossy().into_owned();
    world.docker_ok(&[
        "buildx",
        "build",
        "--builder",
        "farm",
        "--platform",
        "linux/amd64,linux/arm64",
        "--push",
        "-t",
        &theirs,
        &path,
    ]);
    let raw = |reference: &str| -> serde_json::Value {
        serde_json::from_str(&world.imagetools(&["--raw"], reference)).expect("an index")
    };
    let (index, peer) = (raw(&ours), raw(&theirs));
    assert_eq!(shape(&index), shape(&peer), "ours: {index}\nbuildx's: {peer}");
    let pushed = format!("sha256:{}", hex_sha256(world.imagetools(&["--raw"], &ours).as_bytes()));
    assert_eq!(outcome.digest.as_deref(), Some(pushed.as_str()));

    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")] {
        let ran = world.docker_ok(&["run", "--rm", "--platform", platform, &ours]);
        assert_eq!(ran.trim(), machine, "{platform}");
    }
    let _ = world.docker(&["image", "rm", &ours]);
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
