//! A builder's build cache, read and pruned through Buildlane and checked with `docker buildx du`
//! on the same builder.
//!
//! The builder is this test's own: a remote builder in its own buildx store whose socket leads to
//! the engine's BuildKit (a docker-container builder cannot boot here: no BuildKit image can be
//! pulled). That BuildKit's cache is shared with everyone using the engine, so every prune here is
//! confined by an `id` filter to records the test made itself, and checked with the preview first.

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;

use buildlane_core::builders::cache::prune::{PruneForm, PruneProgress};
use buildlane_core::builders::cache::{CacheError, CacheRecord};
use buildlane_core::buildkit::transport;
use buildlane_core::error_code::{Coded, ErrorCode};
use support::build::context;
use support::World;
use tokio_util::sync::CancellationToken;

/// The engine's own BuildKit on a unix socket, as a remote BuildKit daemon would listen.
fn expose_engine_buildkit(socket: &std::path::Path, engine_host: &str) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    let engine_host = engine_host.to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine_host = engine_host.clone();
            tokio::spawn(async move {
                if let Ok(mut upgraded) = transport::upgrade(&engine_host, "/grpc", &[]).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    })
}

const BUILDER: &str = "cache-test";

/// A world with its own remote builder `cache-test`; keep the handle alive while the test runs.
fn world_with_builder() -> (World, tokio::task::JoinHandle<()>) {
    let world = World::new();
    let socket = world.dir.path().join("buildkitd.sock");
    let exposed = expose_engine_buildkit(&socket, &world.host);
    let address = format!("unix://{}", socket.display());
    world.docker_ok(&["buildx", "create", "--name", BUILDER, "--driver", "remote", &address]);
    (world, exposed)
}

/// A marker no other test or engineer's build can contain.
fn marker(what: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("buildlane-cache-{what}-{}-{nanos}", std::process::id())
}

/// Builds `dockerfile` with buildx on the engine's BuildKit, leaving its records in the cache.
fn buildx_build(world: &World, dockerfile: &str) {
    let ctx = context(&[("Dockerfile", dockerfile)]);
    world.docker_ok(&["buildx", "build", "--builder", BUILDER, "-q", ctx.path().to_str().unwrap()]);
}

/// `docker buildx du`'s summary lines (Shared, Private, Reclaimable, Total).
fn buildx_totals(world: &World) -> BTreeMap<String, String> {
    world
        .docker_ok(&["buildx", "du", "--builder", BUILDER])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| ["Shared", "Private", "Reclaimable", "Total"].contains(k))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

/// The IDs `docker buildx du --verbose` lists.
fn buildx_ids(world: &World) -> Vec<String> {
    world
        .docker_ok(&["buildx", "du", "--verbose", "--builder", BUILDER])
        .lines()
        .filter_map(|l| l.strip_prefix("ID:"))
        .map(|id| id.trim().to_owned())
        .collect()
}

async fn records_marked(world: &World, marker: &str) -> Vec<CacheRecord> {
    let usage = world.builders().disk_usage(Some(BUILDER), None, &[format!("description~={marker}")]).await.unwrap();
    usage.nodes.into_iter().flat_map(|n| n.records).collect()
}

/// The records marked `marker` once BuildKit has released them all: `buildx build` returns before
/// the engine lets go of a cache mount, which until then is listed in use and as a regular record.
async fn records_released(world: &World, marker: &str) -> Vec<CacheRecord> {
    let started = std::time::Instant::now();
    loop {
        let records = records_marked(world, marker).await;
        let released = records.iter().all(|r| !r.in_use);
        if released || started.elapsed().as_secs() >= 30 {
            return records;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

fn form(filters: &[String]) -> PruneForm {
    PruneForm { filters: filters.to_vec(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn disk_usage_totals_are_what_docker_buildx_du_prints_for_the_same_builder() {
    let (world, _exposed) = world_with_builder();
    let mark = marker("totals");
    buildx_build(&world, &format!("FROM {}/busybox:latest\nRUN echo {mark} > /out\n", world.registry));
    // Others build on this engine meanwhile: compare only when buildx saw the same totals before and after.
    for attempt in 1..=8 {
        let before = buildx_totals(&world);
        let usage = world.builders().disk_usage(Some(BUILDER), None, &[]).await.unwrap();
        let after = buildx_totals(&world);
        if before != after {
            assert!(attempt < 8, "the cache kept changing under the test");
            continue;
        }
        let t = &usage.totals;
        let mut ours = BTreeMap::from([
            ("Reclaimable".to_owned(), t.reclaimable_text.clone()),
            ("Total".to_owned(), t.total_text.clone()),
        ]);
        if t.has_shared {
            ours.insert("Shared".into(), t.shared_text.clone());
            ours.insert("Private".into(), t.private_text.clone());
        }
        assert_eq!(ours, before);
        assert!(!usage.filtered);
        assert!(usage.nodes[0].buildkit.contains("BuildKit"), "{}", usage.nodes[0].buildkit);
        let barred: f64 = usage.segments.iter().map(|s| s.fraction).sum();
        assert!((barred - 1.0).abs() < 1e-6, "the bar covers everything: {barred}");
        break;
    }
    let ours = records_marked(&world, &mark).await;
    assert!(ours.iter().any(|r| r.record_type == "regular" && r.description.contains(&mark)), "{ours:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_prune_removes_what_the_preview_listed_and_buildx_no_longer_sees_it() {
    let (world, _exposed) = world_with_builder();
    let mark = marker("prune");
    buildx_build(
        &world,
        &format!(
            "FROM {}/busybox:latest\nRUN --mount=type=cache,id={mark},target=/cache echo {mark} > /cache/f && echo {mark} > /out\n",
            world.registry
        ),
    );
    let mine = records_released(&world, &mark).await;
    let cache_mount = mine.iter().find(|r| r.record_type == "exec.cachemount").unwrap_or_else(|| panic!("{mine:?}"));
    let step = mine.iter().find(|r| r.record_type == "regular").unwrap_or_else(|| panic!("{mine:?}"));
    let builders = world.builders();
    let only_the_cache_mount = ["type=exec.cachemount".to_owned(), format!("id=^{}$", cache_mount.id)];

    // Used a moment ago: `until=1h` keeps it.
    let mut with_until = only_the_cache_mount.to_vec();
    with_until.push("until=1h".into());
    let kept = builders.prune_preview(Some(BUILDER), None, &form(&with_until)).await.unwrap();
    assert!(kept.records.is_empty(), "{:?}", kept.records);

    let preview = builders.prune_preview(Some(BUILDER), None, &form(&only_the_cache_mount)).await.unwrap();
    let previewed: Vec<&str> = preview.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(previewed, [cache_mount.id.as_str()], "the preview lists exactly the test's cache mount");

    let seen: Mutex<Vec<PruneProgress>> = Mutex::new(Vec::new());
    let on_progress = |p: PruneProgress| seen.lock().unwrap().push(p);
    let outcome = builders
        .prune(
            Some(BUILDER),
            None,
            &form(&only_the_cache_mount),
            Some(preview.bytes),
            &on_progress,
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let removed: Vec<&str> = outcome.removed.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(removed, previewed);
    assert!(!outcome.cancelled);
    assert_eq!(outcome.freed, preview.bytes);
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].removed, seen[0].fraction), (1, Some(1.0)));

    let left = buildx_ids(&world);
    assert!(!left.contains(&cache_mount.id), "buildx still lists the pruned cache mount");
    assert!(left.contains(&step.id), "the step's record was not selected and stays");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prune_while_a_build_runs_keeps_that_builds_records() {
    let (world, _exposed) = world_with_builder();
    let world = std::sync::Arc::new(world);
    let mark = marker("running");
    // Long enough to outlast the checks below on a busy engine, where one DiskUsage takes seconds:
    // once the step ends, its mutable record is committed under another id.
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo {mark} && sleep 30\n", world.registry);
    let building = {
        let ctx = context(&[("Dockerfile", &dockerfile)]);
        let world = world.clone();
        std::thread::spawn(move || {
            let path = ctx.path().to_str().unwrap().to_owned();
            world.docker(&["buildx", "build", "--builder", BUILDER, "-q", &path])
        })
    };
    let started = std::time::Instant::now();
    let running = loop {
        let in_use: Vec<CacheRecord> = records_marked(&world, &mark).await.into_iter().filter(|r| r.in_use).collect();
        if !in_use.is_empty() {
            break in_use;
        }
        assert!(started.elapsed().as_secs() < 30, "the build's step never showed in the cache");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let ids: Vec<String> = running.iter().map(|r| format!("^{}$", r.id)).collect();
    let only_those = [format!("id={}", ids.join("|"))];
    let everything = PruneForm { all: true, ..form(&only_those) };
    let preview = world.builders().prune_preview(Some(BUILDER), None, &everything).await.unwrap();
    assert!(preview.records.is_empty(), "records in use are never previewed: {:?}", preview.records);
    let outcome = world
        .builders()
        .prune(Some(BUILDER), None, &everything, None, &|_| {}, CancellationToken::new())
        .await
        .unwrap();
    assert!(outcome.removed.is_empty(), "{:?}", outcome.removed);
    let still: Vec<String> = records_marked(&world, &mark).await.into_iter().map(|r| r.id).collect();
    for r in &running {
        assert!(still.contains(&r.id), "{} went while its build ran", r.id);
    }
    let out = building.join().unwrap();
    assert!(out.status.success(), "the build itself was not disturbed: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_filters_unknown_keys_and_unsupported_options_are_refused_before_any_node_is_asked() {
    let world = World::new();
    // Nothing listens there: an error that names the filter proves nothing was sent.
    let dead = world.dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    world.docker_ok(&[
        "buildx",
        "create",
        "--name",
        "nowhere",
        "--driver",
        "remote",
        &format!("unix://{}", dead.display()),
    ]);
    let builders = world.builders();
    let du = |filters: &[&str]| {
        let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
        let builders = builders.clone();
        async move { builders.disk_usage(Some("nowhere"), None, &filters).await.unwrap_err() }
    };

    let unknown = du(&["colour=red"]).await;
    assert_eq!(unknown.code(), ErrorCode::InvalidInput);
    assert!(unknown.to_string().starts_with("unknown filter key \"colour\""), "{unknown}");
    let malformed = du(&["type"]).await;
    assert_eq!(malformed.to_string(), "bad format of filter \"type\" (expected name=value)");
    let unparsable = du(&["description~=two words"]).await;
    assert!(unparsable.to_string().contains("double quotes"), "{unparsable}");

    let unreachable = du(&[]).await;
    assert_eq!(unreachable.code(), ErrorCode::EngineUnreachable, "{unreachable}");
    assert!(unreachable.to_string().contains("nowhere0"), "names the node: {unreachable}");

    // The engine's own BuildKit (Docker 26, BuildKit 0.13) has no --max-used-space.
    let newer_only = PruneForm { max_used_space: "1g".into(), ..Default::default() };
    let refused = builders.prune(Some("default"), None, &newer_only, None, &|_| {}, CancellationToken::new()).await;
    let Err(refused @ CacheError::Unsupported { .. }) = refused else { panic!("{refused:?}") };
    assert_eq!(refused.code(), ErrorCode::InvalidInput);
    assert!(refused.to_string().contains("BuildKit 0.17"), "{refused}");
    assert!(refused.to_string().contains("embeds BuildKit 0.13"), "names the node's version: {refused}");
}
