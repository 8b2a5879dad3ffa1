//! A builder of three nodes reached over TLS with a client certificate (the remote driver's
//! `cacert`, `cert` and `key`, as buildx writes them in its store), one platform pinned on each:
//! linux/amd64, linux/arm64 and linux/arm/v7. Each node is the engine's own BuildKit behind a TLS
//! relay that counts the platforms of each solve it carries.

mod support;

use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::nodes::{farm, CountingNode};
use support::tls::Pki;
use support::World;

const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

async fn three_tls_nodes(world: &World) -> [CountingNode; 3] {
    let pki = Pki::new(world.dir.path());
    let nodes = [
        CountingNode::start_tls(&world.host, &pki).await,
        CountingNode::start_tls(&world.host, &pki).await,
        CountingNode::start_tls(&world.host, &pki).await,
    ];
    let pinned: Vec<(&CountingNode, &str)> = nodes.iter().zip(PLATFORMS).collect();
    farm(world, "trio", &pinned).await;
    nodes
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
async fn three_nodes_over_tls_each_build_their_platform_into_one_index_as_buildx_assembles_it() {
    let world = World::new();
    let nodes = three_tls_nodes(&world).await;
    let ctx = context(&[(
        "Dockerfile",
        &format!("FROM {}/busybox:latest\nRUN uname -m > /machine\nCMD [\"cat\", \"/machine\"]\n", world.registry),
    )]);
    let repository = format!("{}/buildlane-test/trio-{}", world.registry, std::process::id());
    let (ours, theirs) = (format!("{repository}:buildlane"), format!("{repository}:buildx"));
    let outcome = build(
        &world,
        BuildRequest {
            builder: "trio".into(),
            platforms: PLATFORMS.iter().map(|p| p.to_string()).collect(),
            tags: vec![ours.clone()],
            output: BuildOutput::Push,
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let counts: Vec<Vec<String>> = nodes.iter().map(CountingNode::solves).collect();
    assert_eq!(counts, PLATFORMS.map(|p| vec![p.to_owned()]), "one solve per node, of its platform");

    // buildx on the same builder, through the same TLS relays.
    let path = ctx.path().to_string_lossy().into_owned();
    let all = PLATFORMS.join(",");
    world.docker_ok(&["buildx", "build", "--builder", "trio", "--platform", &all, "--push", "-t", &theirs, &path]);
    // buildx's gateway calls (its build through the gateway) are Solves that name no platform.
    let counts: Vec<Vec<String>> =
        nodes.iter().map(|n| n.solves().into_iter().filter(|p| !p.is_empty()).collect()).collect();
    assert_eq!(counts, PLATFORMS.map(|p| vec![p.to_owned(), p.to_owned()]), "buildx routed them the same way");

    let raw = |reference: &str| -> serde_json::Value {
        serde_json::from_str(&world.imagetools(&["--raw"], reference)).expect("an index")
    };
    let (index, peer) = (raw(&ours), raw(&theirs));
    assert_eq!(shape(&index), shape(&peer), "ours: {index}\nbuildx's: {peer}");
    let attestations = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["vnd.docker.reference.type"] == "attestation-manifest")
        .count();
    assert_eq!(attestations, 3, "{index}");

    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64"), ("linux/arm/v7", "armv7l")] {
        let ran = world.docker_ok(&["run", "--rm", "--pull", "always", "--platform", platform, &ours]);
        assert_eq!(ran.trim(), machine, "{platform}");
    }
    let _ = world.docker(&["image", "rm", &ours]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_node_killed_mid_build_fails_only_its_platform() {
    let world = World::new();
    let [amd64, arm64, mut armv7] = three_tls_nodes(&world).await;
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest\nARG TARGETVARIANT\nRUN if [ \"$TARGETVARIANT\" = v7 ]; then sleep 30; fi; uname -m > /machine\n",
            world.registry
        ),
    )]);
    let seen = Seen::default();
    let request = BuildRequest {
        builder: "trio".into(),
        platforms: PLATFORMS.iter().map(|p| p.to_string()).collect(),
        no_cache: true,
        ..request(&ctx)
    };
    let cut = async {
        while armv7.solves().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Into the arm/v7 node's long step, then the node is gone.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        armv7.cut();
    };
    let (outcome, ()) = tokio::join!(build(&world, request, &seen), cut);

    assert_eq!(outcome.state, BuildState::Failed);
    let failure = outcome.failure.expect("a failure");
    assert_eq!(failure.node.as_deref(), Some("trio2"), "{failure:?}");
    assert!(failure.message.starts_with("node trio2 (linux/arm/v7): "), "{}", failure.message);
    let mut succeeded = failure.succeeded_platforms.clone();
    succeeded.sort();
    assert_eq!(succeeded, ["linux/amd64", "linux/arm64"], "{failure:?}");
    assert_eq!((amd64.solves(), arm64.solves()), (vec!["linux/amd64".to_owned()], vec!["linux/arm64".to_owned()]));
    let seen = seen.get();
    for lane in ["linux/amd64", "linux/arm64"] {
        let steps: Vec<_> = seen.steps.values().filter(|s| s.lane == lane).collect();
        assert!(!steps.is_empty() && steps.iter().all(|s| s.error.is_none()), "{lane} finished: {steps:?}");
    }
}
