//! Builders of several nodes in buildx's store: a node appended (`create --append --node
//! --platform`) or removed (`create --leave`) here is what buildx 0.13.1 writes and reads, and the
//! other way round. The nodes are the engine's own BuildKit exposed at addresses of their own, as
//! remote daemons.

mod support;

use buildlane_core::builders::drivers::NodeStatus;
use buildlane_core::builders::{BuilderError, CreateBuilderRequest};
use support::expose_engine_buildkit;
use support::{no_progress, World};

/// `count` daemons, each at its own `unix://` address.
fn daemons(world: &World, count: usize) -> (Vec<String>, Vec<tokio::task::JoinHandle<()>>) {
    (0..count)
        .map(|i| {
            let socket = world.dir.path().join(format!("buildkitd-{i}.sock"));
            let task = expose_engine_buildkit(&socket, &world.host);
            (format!("unix://{}", socket.display()), task)
        })
        .unzip()
}

fn remote(name: &str, address: &str, platforms: &[&str]) -> CreateBuilderRequest {
    CreateBuilderRequest {
        name: name.into(),
        driver: "remote".into(),
        endpoint: address.into(),
        platforms: platforms.iter().map(|p| p.to_string()).collect(),
        ..Default::default()
    }
}

fn append(name: &str, node: &str, address: &str, platforms: &[&str]) -> CreateBuilderRequest {
    CreateBuilderRequest { append: true, node: node.into(), driver: String::new(), ..remote(name, address, platforms) }
}

fn instance(world: &World, name: &str) -> String {
    std::fs::read_to_string(world.store_dir().join("instances").join(name)).unwrap().replace(name, "NAME")
}

// Multi-threaded: `docker buildx create` reaches the exposed sockets while the test waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn nodes_appended_with_buildx_are_listed_with_pinned_and_detected_platforms() {
    let world = World::new();
    let (addresses, _daemons) = daemons(&world, 2);
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "farm",
        "--driver",
        "remote",
        "--platform",
        "linux/amd64",
        &addresses[0],
    ]);
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "farm",
        "--append",
        "--node",
        "farm-arm",
        "--platform",
        "linux/arm64",
        &addresses[1],
    ]);

    let list = world.builders().list(None).await.unwrap();
    let farm = list.builders.iter().find(|b| b.name == "farm").expect("listed");
    let names: Vec<&str> = farm.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["farm0", "farm-arm"]);
    for (node, address, pinned) in
        [(&farm.nodes[0], &addresses[0], "linux/amd64"), (&farm.nodes[1], &addresses[1], "linux/arm64")]
    {
        assert_eq!(&node.endpoint, address);
        assert_eq!(node.status, NodeStatus::Running, "{:?}", node.error);
        assert_eq!(
            (node.platforms[0].platform.as_str(), node.platforms[0].pinned),
            (pinned, true),
            "{:?}",
            node.platforms
        );
        assert!(node.platforms[1..].iter().all(|p| !p.pinned && p.platform != pinned), "{:?}", node.platforms);
        assert!(node.platforms.iter().any(|p| p.platform == "linux/riscv64"), "detected too: {:?}", node.platforms);
    }
    // Where a build of each platform would go: pinned ones to their node, others to the first
    // node that detects them (both nodes are the same amd64 engine, emulating the rest).
    let route = |p: &str| farm.routes.iter().find(|r| r.platform == p).map(|r| (r.node.as_str(), r.pinned, r.emulated));
    assert_eq!(route("linux/amd64"), Some(("farm0", true, false)));
    assert_eq!(route("linux/arm64"), Some(("farm-arm", true, true)));
    assert_eq!(route("linux/riscv64"), Some(("farm0", false, true)));
}

#[tokio::test(flavor = "multi_thread")]
async fn nodes_appended_here_are_written_as_buildx_writes_them() {
    let world = World::new();
    let (addresses, _daemons) = daemons(&world, 3);
    let builders = world.builders();
    builders.create(&remote("here", &addresses[0], &[]), None, &no_progress).await.unwrap();
    builders
        .create(&append("here", "arm", &addresses[1], &["linux/arm64", "linux/arm/v7"]), None, &no_progress)
        .await
        .unwrap();
    // The third node takes arm/v7 off the second, and gets the next free name.
    builders.create(&append("here", "", &addresses[2], &["linux/arm/v7"]), None, &no_progress).await.unwrap();

    world.docker_ok(&["buildx", "create", "--name", "there", "--driver", "remote", &addresses[0]]);
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "there",
        "--append",
        "--node",
        "arm",
        "--platform",
        "linux/arm64,linux/arm/v7",
        &addresses[1],
    ]);
    world.docker_ok(&["buildx", "create", "--name", "there", "--append", "--platform", "linux/arm/v7", &addresses[2]]);
    assert_eq!(instance(&world, "here"), instance(&world, "there"));
    assert!(instance(&world, "here").contains(r#""Platforms":[]"#), "{}", instance(&world, "here"));

    let inspected = world.docker_ok(&["buildx", "inspect", "here"]);
    let names: Vec<&str> =
        inspected.lines().filter(|l| l.starts_with("Name:")).filter_map(|l| l.split_whitespace().last()).collect();
    assert_eq!(names, ["here", "here0", "arm", "here1"], "{inspected}");
    assert!(inspected.contains("linux/arm64*") && inspected.contains("linux/arm/v7*"), "{inspected}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_leaves_here_or_with_buildx_and_both_see_it_gone() {
    let world = World::new();
    let (addresses, _daemons) = daemons(&world, 3);
    let builders = world.builders();
    for name in ["here", "there"] {
        builders.create(&remote(name, &addresses[0], &["linux/amd64"]), None, &no_progress).await.unwrap();
        builders.create(&append(name, "arm", &addresses[1], &["linux/arm64"]), None, &no_progress).await.unwrap();
    }
    builders.leave("here", "arm").await.unwrap();
    world.docker_ok(&["buildx", "create", "--leave", "--name", "there", "--node", "arm"]);
    assert_eq!(instance(&world, "here"), instance(&world, "there"));

    // buildx adds a node; it leaves here and buildx sees one node again.
    world.docker_ok(&["buildx", "create", "--name", "here", "--append", "--node", "late", &addresses[2]]);
    let list = builders.list(None).await.unwrap();
    assert_eq!(list.builders.iter().find(|b| b.name == "here").unwrap().nodes.len(), 2);
    builders.leave("here", "late").await.unwrap();
    let peer = world.buildx_ls();
    let here = peer.iter().find(|b| b["Name"] == "here").expect("buildx lists it");
    assert_eq!(here["Nodes"].as_array().unwrap().len(), 1, "{here}");
    assert_eq!(here["Nodes"][0]["Name"], "here0");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_buildx_refuses_for_nodes_is_refused_here_before_anything_is_written() {
    let world = World::new();
    let (addresses, _daemons) = daemons(&world, 2);
    let builders = world.builders();
    builders.create(&remote("farm", &addresses[0], &[]), None, &no_progress).await.unwrap();
    let before = instance(&world, "farm");

    let err = builders.create(&append("nowhere", "", &addresses[1], &[]), None, &no_progress).await.unwrap_err();
    assert!(matches!(err, BuilderError::NotFound(_)), "{err}");
    let err = builders.create(&append("farm", "", &addresses[0], &[]), None, &no_progress).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("builder \"farm\" already has a node at {}: each node of a builder is another BuildKit", addresses[0])
    );
    let container = CreateBuilderRequest { driver: "docker-container".into(), ..append("farm", "", "", &[]) };
    let err = builders.create(&container, None, &no_progress).await.unwrap_err();
    assert!(matches!(err, BuilderError::DriverMismatch { .. }), "{err}");
    let err = builders.leave("farm", "farm0").await.unwrap_err();
    assert_eq!(err.to_string(), "\"farm0\" is the last node of builder \"farm\": remove the builder instead");
    let err = builders.leave("farm", "ghost").await.unwrap_err();
    assert!(matches!(err, BuilderError::NodeNotFound { .. }), "{err}");
    assert_eq!(instance(&world, "farm"), before, "nothing was written");

    // buildx refuses the same.
    let dup = world.docker(&["buildx", "create", "--name", "farm", "--append", &addresses[0]]);
    assert!(String::from_utf8_lossy(&dup.stderr).contains("invalid duplicate endpoint"), "{dup:?}");
    let last = world.docker(&["buildx", "create", "--leave", "--name", "farm", "--node", "farm0"]);
    assert!(String::from_utf8_lossy(&last.stderr).contains("can not leave last node"), "{last:?}");
}
