//! Bad input and faults: each is a clear error, and nothing in the store is lost or corrupted.

mod support;

use std::time::Duration;

use buildlane_core::builders::{BuilderError, CreateBuilderRequest, RemoveOptions};
use buildlane_core::docker_config::Environment;
use buildlane_core::engine::{self, EngineStatus, WatchTiming};
use futures_util::StreamExt;
use support::proxy::EngineProxy;
use support::{no_progress, World};

fn request(name: &str) -> CreateBuilderRequest {
    CreateBuilderRequest { name: name.into(), driver: "docker-container".into(), ..Default::default() }
}

async fn create_err(world: &World, req: CreateBuilderRequest) -> String {
    world.builders().create(&req, None, &no_progress).await.unwrap_err().to_string()
}

#[tokio::test]
async fn invalid_reserved_and_duplicate_names_are_refused() {
    let world = World::new();
    assert_eq!(
        create_err(&world, request("9lives")).await,
        "invalid builder name \"9lives\": a name starts with a letter and may contain only letters, digits and . _ - +"
    );
    assert_eq!(
        create_err(&world, request("default")).await,
        "builder name \"default\" is reserved for the engine's own builder"
    );
    assert_eq!(create_err(&world, request("  ")).await, "a builder name is required");
    world.builders().create(&request("twice"), None, &no_progress).await.unwrap();
    let before = std::fs::read(world.store_dir().join("instances/twice")).unwrap();
    assert_eq!(create_err(&world, request("Twice")).await, "builder \"twice\" already exists");
    assert_eq!(std::fs::read(world.store_dir().join("instances/twice")).unwrap(), before);
}

#[tokio::test]
async fn unknown_drivers_and_malformed_options_are_refused_before_anything_is_written() {
    let world = World::new();
    let mut req = request("k8s");
    req.driver = "kubernetes".into();
    assert_eq!(
        create_err(&world, req).await,
        "unknown driver \"kubernetes\": Buildlane manages docker, docker-container and remote builders"
    );
    let mut req = request("dock");
    req.driver = "docker".into();
    assert!(create_err(&world, req).await.starts_with("the docker driver is the engine's own builder"));
    let mut req = request("opts");
    req.driver_opts = vec!["image".into()];
    assert_eq!(create_err(&world, req).await, "invalid driver option \"image\": expected key=value");
    let mut req = request("opts");
    req.driver_opts = vec!["colour=blue".into()];
    assert!(create_err(&world, req)
        .await
        .starts_with("invalid driver option \"colour\" for the docker-container driver"));
    let mut req = request("plat");
    req.platforms = vec!["linux/arm/v9".into()];
    assert_eq!(create_err(&world, req).await, "invalid platform \"linux/arm/v9\": unknown variant \"v9\"");
    assert!(!world.store_dir().join("instances/opts").exists() && !world.store_dir().join("instances/plat").exists());
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_node_error_not_a_failed_list() {
    let world = World::new();
    let env = Environment { docker_host: Some("unix:///nonexistent/docker.sock".into()), ..world.env() };
    let list = buildlane_core::builders::Builders::new(env).list(None).await.unwrap();
    let node = &list.builders.iter().find(|b| b.name == "default").unwrap().nodes[0];
    assert_eq!(
        node.error.as_deref(),
        Some("engine at unix:///nonexistent/docker.sock unreachable: no such file or directory")
    );
}

#[tokio::test]
async fn a_corrupt_instance_is_reported_left_untouched_and_the_rest_listed() {
    let world = World::new();
    world.builders().create(&request("healthy"), None, &no_progress).await.unwrap();
    let broken = world.store_dir().join("instances/broken");
    std::fs::write(&broken, b"{\"Name\": \"broken\", \"Nodes\": [").unwrap();
    let list = world.builders().list(None).await.unwrap();
    assert!(list.builders.iter().any(|b| b.name == "healthy"));
    let bad = list.builders.iter().find(|b| b.name == "broken").unwrap();
    assert!(bad.error.as_deref().unwrap().contains("is corrupt"), "{:?}", bad.error);
    assert_eq!(list.problems.len(), 1);
    assert_eq!(std::fs::read(&broken).unwrap(), b"{\"Name\": \"broken\", \"Nodes\": [");
}

#[tokio::test]
async fn the_store_lock_holds_against_the_cli_writing_at_the_same_time() {
    let world = World::new();
    let store = world.builders().store().clone();
    let txn = store.txn().unwrap();
    let host = world.host.clone();
    let cli = std::thread::spawn(move || {
        let out = world.docker(&["buildx", "create", "--name", "while-locked", "--driver", "docker-container"]);
        (world, out)
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!cli.is_finished(), "buildx must wait for our lock");
    drop(txn);
    let (world, out) = cli.join().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list = world.builders().list(None).await.unwrap();
    assert!(list.builders.iter().any(|b| b.name == "while-locked"), "host {host}");
}

#[tokio::test]
async fn the_context_builder_cannot_be_removed() {
    let world = World::new();
    let err = world.builders().remove("default", RemoveOptions::default(), &no_progress).await.unwrap_err();
    assert!(matches!(err, BuilderError::ContextBuilder(..)), "{err}");
}

async fn next<S: futures_util::Stream + Unpin>(statuses: &mut S) -> Option<S::Item> {
    tokio::time::timeout(Duration::from_secs(20), statuses.next()).await.expect("a status within 20 s")
}

#[tokio::test]
async fn an_engine_that_stops_and_returns_is_noticed() {
    let world = World::new();
    let mut proxy = EngineProxy::new(&world.dir.path().join("engine.sock"), &world.host);
    let env = Environment { docker_host: Some(proxy.host()), ..world.env() };
    let context = buildlane_core::docker_config::contexts::Contexts::new(env).resolve(None).unwrap();
    let timing = WatchTiming {
        poll: Duration::from_millis(100),
        first_retry: Duration::from_millis(100),
        max_retry: Duration::from_millis(400),
    };
    let mut statuses = std::pin::pin!(engine::watch(context, timing));

    proxy.start();
    assert!(matches!(next(&mut statuses).await, Some(EngineStatus::Reachable { .. })));
    proxy.stop();
    match next(&mut statuses).await {
        Some(EngineStatus::Unreachable { message, .. }) => {
            assert_eq!(message, format!("engine at {} unreachable: no such file or directory", proxy.host()))
        }
        other => panic!("expected unreachable, got {other:?}"),
    }
    proxy.start();
    assert!(matches!(next(&mut statuses).await, Some(EngineStatus::Reachable { .. })));
}
