//! A builder of three nodes reached over TLS with a client certificate (the remote driver's
//! `cacert`, `cert` and `key`, as buildx writes them in its store), one platform pinned on each:
//! linux/amd64, linux/arm64 and linux/arm/v7. Each node is the engine's own BuildKit behind a TLS
//! relay that counts the platforms of each solve it carries.

mod support;

use std::time::Duration;

use buildlane_core::builds::{BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::index::{assert_assembled_as_buildx, assert_each_platform_runs, MachineImage};
use support::nodes::{solves_per_node, start_farm, CountingNode};
use support::tls::Pki;
use support::World;

const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

/// The builder `trio`: nodes `trio0`, `trio1`, `trio2` over TLS, pinned to `PLATFORMS` in order.
async fn three_tls_nodes(world: &World) -> [CountingNode; 3] {
    start_farm(world, "trio", PLATFORMS, Some(&Pki::new(world.dir.path()))).await
}

#[tokio::test(flavor = "multi_thread")]
async fn three_nodes_over_tls_each_build_their_platform_into_one_index_as_buildx_assembles_it() {
    let world = World::new();
    let nodes = three_tls_nodes(&world).await;
    let image = MachineImage::new(&world, "trio");
    image.push(&world, "trio", &PLATFORMS).await;
    assert_eq!(solves_per_node(&nodes), PLATFORMS.map(|p| [p]), "one solve per node, of its platform");

    // buildx on the same builder, through the same TLS relays.
    image.push_with_buildx(&world, "trio", &PLATFORMS);
    // buildx's gateway calls (its build through the gateway) are Solves that name no platform.
    let counts: Vec<Vec<String>> =
        nodes.iter().map(|n| n.solves().into_iter().filter(|p| !p.is_empty()).collect()).collect();
    assert_eq!(counts, PLATFORMS.map(|p| vec![p.to_owned(), p.to_owned()]), "buildx routed them the same way");

    let index = assert_assembled_as_buildx(&world, &image.ours, &image.theirs);
    let attestations = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["vnd.docker.reference.type"] == "attestation-manifest")
        .count();
    assert_eq!(attestations, 3, "{index}");

    assert_each_platform_runs(&world, &image.ours, &PLATFORMS, &["--pull", "always"]);
    let _ = world.docker(&["image", "rm", &image.ours]);
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
    // Into the arm/v7 node's long step, then the node is gone.
    let (outcome, ()) = tokio::join!(build(&world, request, &seen), armv7.cut_while_solving(Duration::from_secs(3)));

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
