//! Builder management against the real test engine, with `docker buildx` 0.13.1 as the peer that
//! must agree with us about the store.

mod support;

use std::time::Duration;

use buildlane_core::builders::drivers::{DriverError, NodeStatus};
use buildlane_core::builders::{BuilderError, BuilderList, CreateBuilderRequest, RemoveOptions, UseOptions};
use futures_util::StreamExt;
use support::nodes::silent_daemon;
use support::{no_progress, World};
use tokio::time::timeout;

fn request(name: &str) -> CreateBuilderRequest {
    CreateBuilderRequest { name: name.into(), driver: "docker-container".into(), ..Default::default() }
}

#[tokio::test]
async fn the_engines_own_builder_is_listed_with_native_and_emulated_platforms() {
    let world = World::new();
    let list = world.builders().list(None).await.unwrap();
    let default = list.builders.iter().find(|b| b.name == "default").expect("context builder listed");
    assert_eq!(default.driver, "docker");
    assert!(default.current && default.context_builder);
    let node = &default.nodes[0];
    assert_eq!(node.status, NodeStatus::Running, "node error: {:?}", node.error);
    assert!(node.buildkit_version.as_deref().is_some_and(|v| !v.is_empty()));
    let platform = |name: &str| node.platforms.iter().find(|p| p.platform == name);
    assert_eq!(platform("linux/amd64").map(|p| p.emulated), Some(false), "{:?}", node.platforms);
    assert_eq!(platform("linux/arm64").map(|p| p.emulated), Some(true), "{:?}", node.platforms);
    assert!(node.labels.contains_key("org.mobyproject.buildkit.worker.snapshotter"), "{:?}", node.labels);
}

#[tokio::test]
async fn a_builder_created_here_is_what_buildx_would_have_written() {
    let world = World::new();
    let mut ours = request("made-here");
    ours.driver_opts = vec!["image=moby/buildkit:v0.13.1".into(), "env.BUILDKIT_STEP_LOG_MAX_SIZE=1048576".into()];
    ours.platforms = vec!["linux/arm64".into(), "linux/arm/v7".into()];
    ours.buildkitd_flags = "--debug".into();
    world.builders().create(&ours, None, &no_progress).await.unwrap();
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "made-there",
        "--driver",
        "docker-container",
        "--driver-opt",
        "image=moby/buildkit:v0.13.1",
        "--driver-opt",
        "env.BUILDKIT_STEP_LOG_MAX_SIZE=1048576",
        "--platform",
        "linux/arm64,linux/arm/v7",
        "--buildkitd-flags",
        "--debug",
    ]);
    let here = std::fs::read_to_string(world.store_dir().join("instances/made-here")).unwrap();
    let there = std::fs::read_to_string(world.store_dir().join("instances/made-there")).unwrap();
    assert_eq!(here.replace("made-here", "NAME"), there.replace("made-there", "NAME"));

    let listed = world.buildx_ls();
    let peer = listed.iter().find(|b| b["Name"] == "made-here").expect("buildx ls shows our builder");
    assert_eq!(peer["Driver"], "docker-container");
    assert_eq!(peer["Nodes"][0]["Name"], "made-here0");
    assert_eq!(peer["Nodes"][0]["Endpoint"], world.host.as_str());
    assert_eq!(peer["Nodes"][0]["Status"], "inactive");
    assert_eq!(peer["Nodes"][0]["DriverOpts"]["image"], "moby/buildkit:v0.13.1");
}

#[tokio::test]
async fn a_builder_created_with_the_cli_is_listed_here() {
    let world = World::new();
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "from-cli",
        "--driver",
        "docker-container",
        "--platform",
        "linux/arm64",
    ]);
    let list = world.builders().list(None).await.unwrap();
    let b = list.builders.iter().find(|b| b.name == "from-cli").expect("listed");
    assert_eq!(b.driver, "docker-container");
    assert!(!b.context_builder && !b.current);
    assert!(b.last_activity.is_some());
    let node = &b.nodes[0];
    assert_eq!((node.name.as_str(), node.status), ("from-cli0", NodeStatus::Inactive));
    assert_eq!(node.platforms[0].platform, "linux/arm64");
    assert!(node.platforms[0].pinned);
    assert_eq!(node.flags, ["--allow-insecure-entitlement=network.host"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_node_that_never_answers_holds_up_neither_the_list_nor_the_build_view() {
    let world = World::new();
    let socket = world.dir.path().join("silent.sock");
    // Created while nothing listens there: buildx's create waits up to 20 s for a daemon that is silent.
    let address = format!("unix://{}", socket.display());
    world.docker_ok(&["buildx", "create", "--name", "silent", "--driver", "remote", &address]);
    let _silent = silent_daemon(&socket);

    let builders = world.builders().with_probe_timeout(Duration::from_secs(10));
    let partials = std::sync::Mutex::new(Vec::new());
    let on_partial = |list: BuilderList| partials.lock().unwrap().push(list);
    let listed = builders.list_showing_partial(None, Some(Duration::from_secs(3)), &on_partial);
    let list = timeout(Duration::from_secs(30), listed).await.expect("the list came back").unwrap();
    // After 3 s, every builder but the silent one's node, which is not known yet.
    let [partial] = &partials.into_inner().unwrap()[..] else { panic!("one partial list") };
    let node_of =
        |list: &BuilderList, builder: &str| list.builders.iter().find(|b| b.name == builder).unwrap().nodes[0].clone();
    assert_eq!(node_of(partial, "silent").status, NodeStatus::Unknown);
    assert_eq!(node_of(partial, "default").status, NodeStatus::Running);
    let silent = &list.builders.iter().find(|b| b.name == "silent").unwrap().nodes[0];
    // `docker buildx ls` (20 s later) shows it the same way.
    assert_eq!((silent.status, silent.error.as_deref()), (NodeStatus::Inactive, None));
    let default = &list.builders.iter().find(|b| b.name == "default").unwrap().nodes[0];
    assert_eq!(default.status, NodeStatus::Running, "the other builders are listed in full: {default:?}");
    assert!(default.platforms.iter().any(|p| p.platform == "linux/amd64"));

    // The Build view asks only the chosen builder's nodes, within the usual 20 s or not.
    let offered = timeout(Duration::from_secs(10), world.builders().offered_for_build(Some("default"), None))
        .await
        .expect("the silent builder was not asked")
        .unwrap();
    assert!(offered.iter().any(|p| p.platform == "linux/amd64"), "{offered:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_node_is_inactive_until_its_daemon_answers_and_a_boot_waits_for_it_only_so_long() {
    let world = World::new();
    // The engine's API socket answers, but in HTTP, not BuildKit's gRPC.
    let engine = std::env::var("DOCKER_HOST").unwrap();
    world.docker_ok(&["buildx", "create", "--name", "elsewhere", "--driver", "remote", &engine]);
    let socket = world.dir.path().join("silent.sock");
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "silent",
        "--driver",
        "remote",
        &format!("unix://{}", socket.display()),
    ]);
    let _silent = silent_daemon(&socket);
    let builders = world.builders().with_probe_timeout(Duration::from_secs(3));

    let list = builders.list(None).await.unwrap();
    let elsewhere = &list.builders.iter().find(|b| b.name == "elsewhere").unwrap().nodes[0];
    // As `docker buildx ls` shows it.
    assert_eq!((elsewhere.status, elsewhere.error.as_deref()), (NodeStatus::Inactive, None));

    // `docker buildx inspect --bootstrap` gives up on both, saying why; Buildlane within its deadline.
    let booted = timeout(Duration::from_secs(30), builders.boot("silent", &no_progress)).await.expect("gave up");
    let said = booted.expect_err("a silent daemon does not boot").to_string();
    assert!(said.contains("did not answer within 3s"), "{said}");
    let booted = timeout(Duration::from_secs(30), builders.boot("elsewhere", &no_progress)).await.expect("gave up");
    assert!(booted.is_err(), "another protocol is no BuildKit");
}

#[tokio::test]
async fn the_lists_stamp_moves_with_every_change_the_cli_makes_to_builders_or_contexts() {
    let world = World::new();
    let builders = world.builders();
    let mut seen = builders.stamp();
    assert_eq!(builders.stamp(), seen, "nothing changed, nothing moved");
    let changes: [&[&str]; 4] = [
        &["buildx", "create", "--name", "stamped", "--driver", "docker-container"],
        &["buildx", "use", "stamped"],
        &["context", "create", "stamped-context", "--docker", "host=unix:///nowhere.sock"],
        &["buildx", "rm", "stamped"],
    ];
    for change in changes {
        world.docker_ok(change);
        let now = builders.stamp();
        assert_ne!(now, seen, "after docker {}", change.join(" "));
        seen = now;
    }
}

#[tokio::test]
async fn a_lists_stamp_is_the_store_as_it_read_it_even_the_first_time_in_a_fresh_store() {
    let world = World::new();
    world.docker_ok(&["buildx", "create", "--name", "fresh", "--driver", "docker-container"]);
    let builders = world.builders();
    let before = builders.stamp();
    // The first list in a store writes `current`, as buildx does: a stamp taken before would be out of date.
    let (stamp, list) = builders.list_stamped(None, None, &|_, _| {}).await.unwrap();
    assert_ne!(before, builders.stamp(), "this first list wrote the store");
    assert_eq!(stamp, builders.stamp(), "its stamp is the store as it left it");
    assert!(list.builders.iter().any(|b| b.name == "fresh"));
    world.docker_ok(&["buildx", "rm", "fresh"]);
    assert_ne!(stamp, builders.stamp(), "a change after it moves it");
}

#[tokio::test]
async fn listing_leaves_the_stamp_as_it_was_even_with_a_default_builder() {
    let world = World::new();
    let builders = world.builders();
    world.docker_ok(&["buildx", "create", "--name", "chosen", "--driver", "docker-container"]);
    world.docker_ok(&["buildx", "use", "--default", "chosen"]);
    for _ in 0..2 {
        builders.list(None).await.unwrap();
        let before = builders.stamp();
        // Reading the current builder rewrites `current` and `defaults` as they were, as buildx does.
        builders.list(None).await.unwrap();
        world.docker_ok(&["buildx", "ls"]);
        assert_eq!(builders.stamp(), before, "a list is not a change");
        world.docker_ok(&["buildx", "use", "default"]);
    }
}

#[tokio::test]
async fn a_change_made_with_the_cli_is_noticed_and_quiet_is_quiet() {
    let world = World::new();
    let mut changes = Box::pin(world.builders().changes(Duration::from_millis(50)));
    assert!(timeout(Duration::from_millis(400), changes.next()).await.is_err(), "nothing changed, nothing said");
    world.docker_ok(&["buildx", "create", "--name", "noticed", "--driver", "docker-container"]);
    let said = timeout(Duration::from_secs(5), changes.next()).await.expect("the creation is noticed");
    assert_eq!(said, Some(()));
}

#[tokio::test]
async fn use_then_remove_round_trips_with_the_cli() {
    let world = World::new();
    let builders = world.builders();
    let mut req = request("roundtrip");
    req.use_builder = true;
    builders.create(&req, None, &no_progress).await.unwrap();
    assert_eq!(world.buildx_current().as_deref(), Some("roundtrip"));

    builders.use_builder("default", UseOptions::default(), None).await.unwrap();
    assert_eq!(world.buildx_current().as_deref(), Some("default"));
    builders.use_builder("roundtrip", UseOptions { global: false, default: true }, None).await.unwrap();
    assert_eq!(world.buildx_current().as_deref(), Some("roundtrip"));

    builders.remove("roundtrip", RemoveOptions::default(), &no_progress).await.unwrap();
    assert!(!world.buildx_ls().iter().any(|b| b["Name"] == "roundtrip"));
    let list = builders.list(None).await.unwrap();
    assert!(!list.builders.iter().any(|b| b.name == "roundtrip"));
    assert!(list.builders.iter().any(|b| b.name == "default" && b.current));
}

#[tokio::test]
async fn the_container_matches_the_one_buildx_creates() {
    let world = World::new();
    let image = world.stand_in_image();
    let opt = format!("image={image}");
    // Neither can finish booting (the stand-in has no buildctl), but both leave their container behind.
    let cli = world.docker(&[
        "buildx",
        "create",
        "--name",
        "spec-cli",
        "--driver",
        "docker-container",
        "--driver-opt",
        &opt,
        "--bootstrap",
    ]);
    assert!(!cli.status.success(), "the stand-in cannot boot with buildx either");
    let mut ours = request("spec-app");
    ours.driver_opts = vec![opt.clone()];
    ours.bootstrap = true;
    let err = world.builders().create(&ours, None, &no_progress).await.unwrap_err();
    assert!(matches!(err, BuilderError::Driver(DriverError::BootFailed { .. })), "{err}");
    assert!(err.to_string().contains("buildx_buildkit_spec-app0"), "{err}");

    let inspect = |name: &str| -> serde_json::Value {
        serde_json::from_str::<Vec<serde_json::Value>>(&world.docker_ok(&["inspect", name])).unwrap().remove(0)
    };
    let (app, cli) = (inspect("buildx_buildkit_spec-app0"), inspect("buildx_buildkit_spec-cli0"));
    for key in ["Image", "Cmd", "Env", "Entrypoint", "Labels", "User", "WorkingDir"] {
        assert_eq!(app["Config"][key], cli["Config"][key], "Config.{key}");
    }
    for key in [
        "Privileged",
        "Init",
        "RestartPolicy",
        "NetworkMode",
        "CgroupParent",
        "UsernsMode",
        "Memory",
        "CpuQuota",
        "Binds",
    ] {
        assert_eq!(app["HostConfig"][key], cli["HostConfig"][key], "HostConfig.{key}");
    }
    let mounts = |v: &serde_json::Value| -> String {
        v["HostConfig"]["Mounts"].to_string().replace("spec-app0", "N").replace("spec-cli0", "N")
    };
    assert_eq!(mounts(&app), mounts(&cli));
    world.cleanup_node("spec-app0");
    world.cleanup_node("spec-cli0");
}

#[tokio::test]
async fn stop_and_remove_handle_the_container_and_its_state_volume() {
    let world = World::new();
    let builders = world.builders();
    let image = world.stand_in_image();
    for name in ["keeper", "cleaner"] {
        let mut req = request(name);
        req.driver_opts = vec![format!("image={image}")];
        builders.create(&req, None, &no_progress).await.unwrap();
        let booted = builders.boot(name, &no_progress).await;
        assert!(matches!(booted, Err(BuilderError::Driver(DriverError::BootFailed { .. }))), "{booted:?}");
    }
    let status = |list: &buildlane_core::builders::BuilderList, name: &str| {
        list.builders.iter().find(|b| b.name == name).unwrap().nodes[0].status
    };
    let list = builders.list(None).await.unwrap();
    let keeper = &list.builders.iter().find(|b| b.name == "keeper").unwrap().nodes[0];
    assert_eq!(keeper.status, NodeStatus::Running, "{:?}", keeper.error);

    builders.stop("keeper", &no_progress).await.unwrap();
    assert_eq!(status(&builders.list(None).await.unwrap(), "keeper"), NodeStatus::Stopped);

    builders.remove("keeper", RemoveOptions { keep_state: true, keep_daemon: false }, &no_progress).await.unwrap();
    builders.remove("cleaner", RemoveOptions::default(), &no_progress).await.unwrap();
    let volumes = world.docker_ok(&["volume", "ls", "--format", "{{.Name}}"]);
    assert!(volumes.lines().any(|v| v == "buildx_buildkit_keeper0_state"), "{volumes}");
    assert!(!volumes.lines().any(|v| v == "buildx_buildkit_cleaner0_state"), "{volumes}");
    let containers = world.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!containers.contains("buildx_buildkit_keeper0") && !containers.contains("buildx_buildkit_cleaner0"));
    world.cleanup_node("keeper0");
}

#[tokio::test]
async fn booting_without_the_buildkit_image_says_which_image_is_missing() {
    let world = World::new();
    let builders = world.builders();
    let mut req = request("no-image");
    req.bootstrap = true;
    let err = builders.create(&req, None, &no_progress).await.unwrap_err();
    assert!(err.to_string().starts_with("image moby/buildkit:buildx-stable-1 is not available: "), "{err}");
    // The builder stays in the store, as with buildx, and can be removed.
    assert!(world.buildx_ls().iter().any(|b| b["Name"] == "no-image"));
    builders.remove("no-image", RemoveOptions::default(), &no_progress).await.unwrap();
}

#[tokio::test]
async fn the_buildkit_image_is_pulled_with_the_users_registry_credentials() {
    let world = World::new();
    let registry = std::env::var("BUILDLANE_AUTH_REGISTRY").unwrap();
    let image = format!("{registry}/busybox:latest");
    let _ = world.docker(&["image", "rm", "-f", &image]);
    let mut req = request("pulls-privately");
    req.driver_opts = vec![format!("image={image}")];
    req.bootstrap = true;

    // Without a login the registry refuses, and the error says which image.
    let err = world.builders().create(&req, None, &no_progress).await.unwrap_err();
    assert!(err.to_string().starts_with(&format!("image {image} is not available: ")), "{err}");
    world.builders().remove("pulls-privately", RemoveOptions::default(), &no_progress).await.unwrap();

    world.log_in_to_auth_registry();
    let pulled = std::sync::Mutex::new(Vec::new());
    let record = |e: buildlane_core::builders::drivers::LifecycleEvent| pulled.lock().unwrap().push(e);
    // busybox is no BuildKit, so booting fails after the pull; the pull is what this checks.
    let err = world.builders().create(&req, None, &record).await.unwrap_err();
    assert!(!matches!(err, BuilderError::Driver(DriverError::ImageUnavailable { .. })), "{err}");
    let events = pulled.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| matches!(e, buildlane_core::builders::drivers::LifecycleEvent::PullingImage { .. })),
        "{events:?}"
    );
    assert!(world.docker(&["image", "inspect", &image]).status.success(), "the image is in the engine now");
    world.cleanup_node("pulls-privately0");
}
