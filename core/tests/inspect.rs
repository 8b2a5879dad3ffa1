//! Inspecting a builder (`docker buildx inspect [--bootstrap]`), checked against buildx 0.13.1 on
//! the same builders: the engine's own builder of an engine whose builder has a GC policy, a
//! remote daemon, a docker-container builder with flags, driver options and a config file, and a
//! node whose engine is gone.

mod support;

use std::sync::Mutex;

use buildlane_core::builders::drivers::{DriverDetails, LifecycleEvent, NodeStatus};
use buildlane_core::builders::inspect::text;
use buildlane_core::builders::{BuilderError, CreateBuilderRequest};
use buildlane_core::error_code::{Coded, ErrorCode};
use support::gc_engine::GcEngine;
use support::{expose_engine_buildkit, no_progress, World};

/// buildx prints driver options in Go's random map order: put them in key order to compare.
fn options_in_order(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once("Driver Options:") {
            Some((before, opts)) => {
                let width = opts.len() - opts.trim_start().len();
                let mut items: Vec<&str> = opts.split_whitespace().collect();
                items.sort();
                format!("{before}Driver Options:{}{}\n", " ".repeat(width), items.join(" "))
            }
            None => format!("{line}\n"),
        })
        .collect()
}

/// Every line buildx prints comes first in Buildlane's text, aligned the same; Buildlane's own
/// lines follow.
fn assert_buildx_lines_lead(ours: &str, buildx: &str) {
    let (ours, buildx) = (options_in_order(ours), options_in_order(buildx));
    assert!(ours.starts_with(&buildx), "buildx printed:\n{buildx}\nBuildlane printed:\n{ours}");
}

#[tokio::test]
async fn the_engines_own_builder_shows_its_version_platforms_and_gc_policy_as_buildx_does() {
    let engine = GcEngine::start();
    let world = World::new();
    world.docker_ok(&["context", "create", "gc-engine", "--docker", &format!("host={}", engine.host())]);

    let inspection = world.builders().inspect(Some("gc-engine"), None, false, &no_progress).await.unwrap();
    assert!(inspection.context_builder);
    assert_eq!(inspection.last_activity, None);
    let node = &inspection.nodes[0];
    assert_eq!(node.node.status, NodeStatus::Running, "{:?}", node.node.error);
    assert_eq!(node.node.buildkit_version.as_deref(), Some("v0.0.0+unknown"));
    assert!(node.node.platforms.iter().any(|p| p.platform == "linux/amd64" && !p.emulated));
    assert!(node.node.platforms.iter().any(|p| p.platform == "linux/arm64" && p.emulated));
    let summaries: Vec<(&str, &str)> = node.gc_rules.iter().map(|r| (r.summary.as_str(), r.scope.as_str())).collect();
    assert_eq!(
        summaries,
        [
            ("keep 512 MiB for 48h", "build cache records"),
            ("keep 10 GiB", "build cache records matching type==source.local"),
            ("keep 20 GiB", "all records, internal and frontend ones too"),
        ]
    );
    let Some(DriverDetails::Engine { host, engine_version: Some(version) }) = &node.details else {
        panic!("the docker driver describes its engine, not {:?}", node.details);
    };
    assert_eq!(host, &engine.host());
    assert!(version.starts_with("26."), "{version}");

    let buildx = world.docker_ok(&["buildx", "inspect", "gc-engine"]);
    assert!(buildx.contains("GC Policy rule#2:"), "{buildx}");
    let ours = text(&inspection);
    assert_buildx_lines_lead(&ours, &buildx);
    assert!(ours.ends_with(&format!("Engine:\n Host:    {host}\n Version: {version}\n")), "{ours}");
}

// Multi-threaded: the blocking `docker buildx` calls reach the exposed socket, whose proxy task
// must keep running meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_daemon_shows_what_buildkit_reports_and_its_address() {
    let engine = GcEngine::start();
    let world = World::new();
    let socket = world.dir.path().join("buildkitd.sock");
    let _exposed = expose_engine_buildkit(&socket, &engine.host());
    let address = format!("unix://{}", socket.display());
    world.docker_ok(&["buildx", "create", "--name", "far-away", "--driver", "remote", &address]);

    let inspection = world.builders().inspect(Some("far-away"), None, false, &no_progress).await.unwrap();
    assert!(!inspection.context_builder);
    assert!(inspection.last_activity.is_some(), "buildx stamps activity when it saves a builder");
    let node = &inspection.nodes[0];
    assert_eq!(node.node.status, NodeStatus::Running, "{:?}", node.node.error);
    assert_eq!(node.gc_rules.len(), 3);
    assert_eq!(node.details, Some(DriverDetails::Remote { address: address.clone(), tls: None }));

    let buildx = world.docker_ok(&["buildx", "inspect", "far-away"]);
    let ours = text(&inspection);
    assert_buildx_lines_lead(&ours, &buildx);
    assert!(ours.contains(&format!("Daemon:\n Address: {address}\n TLS:     off\n")), "{ours}");
}

#[tokio::test]
async fn a_container_builder_shows_its_flags_options_config_file_and_container_before_it_boots() {
    let world = World::new();
    let config = world.dir.path().join("buildkitd.toml");
    std::fs::write(&config, "debug = true\n[worker.oci]\n  gc = true\n").unwrap();
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "configured",
        "--driver",
        "docker-container",
        "--driver-opt",
        "image=buildlane-test/not-pulled:1",
        "--driver-opt",
        "env.BUILDKIT_STEP_LOG_MAX_SIZE=10485760",
        "--driver-opt",
        "network=host",
        "--buildkitd-flags",
        "--debug",
        "--config",
        config.to_str().unwrap(),
        "--platform",
        "linux/arm64,linux/amd64",
    ]);

    let inspection = world.builders().inspect(Some("configured"), None, false, &no_progress).await.unwrap();
    let node = &inspection.nodes[0];
    assert_eq!(node.node.status, NodeStatus::Inactive);
    assert_eq!(node.node.flags, ["--debug", "--allow-insecure-entitlement=network.host"]);
    assert_eq!(node.files.len(), 1);
    assert_eq!(node.files[0].name, "buildkitd.toml");
    // buildx stores the file as it re-encodes it: what the store holds is what the node gets.
    assert_eq!(node.files[0].text, "debug = true\n\n[worker]\n\n  [worker.oci]\n    gc = true\n");
    assert_eq!(
        node.details,
        Some(DriverDetails::Container {
            host: world.host.clone(),
            container: "buildx_buildkit_configured0".into(),
            image: "buildlane-test/not-pulled:1".into(),
            state: None,
            state_volume: "buildx_buildkit_configured0_state".into(),
        })
    );

    let buildx = world.docker_ok(&["buildx", "inspect", "configured"]);
    let ours = text(&inspection);
    assert_buildx_lines_lead(&ours, &buildx);
    assert!(ours.contains("File#buildkitd.toml:\n > debug = true\n > \n > [worker]\n"), "{ours}");
    assert!(ours.contains(" State:        not created\n"), "{ours}");
}

#[tokio::test]
async fn a_node_whose_engine_is_gone_reads_error_and_bootstrap_says_why_leaving_the_store_as_it_was() {
    let world = World::new();
    let gone = world.dir.path().join("gone.sock");
    drop(std::os::unix::net::UnixListener::bind(&gone).unwrap());
    world.docker_ok(&["context", "create", "gone", "--docker", &format!("host=unix://{}", gone.display())]);
    let builders = world.builders();
    let request =
        CreateBuilderRequest { name: "stranded".into(), driver: "docker-container".into(), ..Default::default() };
    builders.create(&request, Some("gone"), &no_progress).await.unwrap();
    let store = world.store_dir();
    let before = (
        std::fs::read(store.join("instances/stranded")).unwrap(),
        std::fs::read(store.join("activity/stranded")).unwrap(),
    );

    let inspection = builders.inspect(Some("stranded"), None, false, &no_progress).await.unwrap();
    let node = &inspection.nodes[0];
    assert_eq!(node.node.status, NodeStatus::Error);
    let error = node.node.error.as_deref().unwrap_or_default();
    assert!(error.contains("unreachable") && error.contains("gone.sock"), "{error}");
    let buildx = world.docker_ok(&["buildx", "inspect", "stranded"]);
    assert!(buildx.lines().any(|l| l.starts_with("Error:")), "{buildx}");
    assert!(text(&inspection).lines().any(|l| l.starts_with("Error:")));

    let events = Mutex::new(Vec::new());
    let record = |e: LifecycleEvent| events.lock().unwrap().push(e);
    let err = builders.inspect(Some("stranded"), None, true, &record).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::EngineUnreachable, "{err}");
    assert!(err.to_string().contains("gone.sock"), "{err}");
    let after = (
        std::fs::read(store.join("instances/stranded")).unwrap(),
        std::fs::read(store.join("activity/stranded")).unwrap(),
    );
    assert!(before == after, "inspecting changed the builder's store entry");
}

#[tokio::test]
async fn bootstrap_leaves_a_running_builder_alone_and_an_unknown_name_is_not_found() {
    let world = World::new();
    let events = Mutex::new(Vec::new());
    let record = |e: LifecycleEvent| events.lock().unwrap().push(e);
    let inspection = world.builders().inspect(None, None, true, &record).await.unwrap();
    assert_eq!(inspection.name, "default");
    assert_eq!(inspection.nodes[0].node.status, NodeStatus::Running);
    assert!(events.lock().unwrap().is_empty(), "a running node is not booted again");

    let err = world.builders().inspect(Some("nosuch"), None, false, &no_progress).await.unwrap_err();
    assert!(matches!(err, BuilderError::NotFound(ref n) if n == "nosuch"), "{err}");
    assert_eq!(err.code(), ErrorCode::NotFound);
}
