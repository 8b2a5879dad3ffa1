//! `buildlane history ls` of a builder of two nodes, each its own BuildKit (the shared engine's and
//! a private engine's, reached as remote nodes at unix sockets), built on by buildx 0.13.1 itself:
//! the table lists both builds with a NODE column, and the JSON names each build as buildx's own
//! build metadata names it (`builder/node/ref`). buildx 0.13.1 has no `history` command, so its
//! metadata is the oracle for which node kept which build.

mod support;

#[path = "support/buildkit_relay.rs"]
mod buildkit_relay;
#[path = "../../core/tests/support/gc_engine.rs"]
mod gc_engine;

use std::path::Path;

use buildkit_relay::expose_engine_buildkit;
use gc_engine::GcEngine;
use support::{buildlane, buildx, docker_config, required};

/// Builds `dir` on builder `farm` for `platform` with buildx; its `buildx.build.ref`
/// (`farm/<node>/<ref>`).
fn built_for(config: &Path, dir: &Path, platform: &str) -> String {
    let nonce = format!("{platform}-{:?}", std::time::SystemTime::now());
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY nonce /nonce\n").unwrap();
    std::fs::write(dir.join("nonce"), nonce).unwrap();
    let metadata = dir.join("metadata.json");
    let (metadata_arg, dir_arg) = (metadata.to_str().unwrap(), dir.to_str().unwrap());
    buildx(config, &["build", "--builder", "farm", "--platform", platform, "--metadata-file", metadata_arg, dir_arg]);
    let metadata: serde_json::Value = serde_json::from_slice(&std::fs::read(&metadata).unwrap()).unwrap();
    metadata["buildx.build.ref"].as_str().expect("buildx names the build's ref").to_owned()
}

#[test]
fn history_ls_of_two_nodes_lists_each_nodes_builds_with_its_node() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let engine = GcEngine::start();
    let config = docker_config();
    let sockets = tempfile::tempdir().unwrap();
    let (shared, private) = (sockets.path().join("shared.sock"), sockets.path().join("private.sock"));
    expose_engine_buildkit(&runtime, &shared, &required("DOCKER_HOST"));
    expose_engine_buildkit(&runtime, &private, &engine.host());
    let endpoint = |socket: &Path| format!("unix://{}", socket.display());
    let cfg = config.path();
    buildx(cfg, &["create", "--name", "farm", "--driver", "remote", "--platform", "linux/amd64", &endpoint(&shared)]);
    buildx(
        cfg,
        &["create", "--name", "farm", "--append", "--node", "farm1", "--platform", "linux/arm64", &endpoint(&private)],
    );

    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let on_first = built_for(cfg, first.path(), "linux/amd64");
    let on_second = built_for(cfg, second.path(), "linux/arm64");
    assert!(on_first.starts_with("farm/farm0/") && on_second.starts_with("farm/farm1/"), "{on_first} {on_second}");

    let json = buildlane(cfg, &["history", "ls", "--builder", "farm", "--format", "json"]);
    let refs: Vec<String> = json
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["ref"].as_str().unwrap().to_owned())
        .collect();
    assert!(refs.contains(&on_first) && refs.contains(&on_second), "{json}");
    assert_eq!(refs.iter().filter(|r| r.starts_with("farm/farm1/")).collect::<Vec<_>>(), [&on_second], "{json}");

    let table = buildlane(cfg, &["history", "ls", "--builder", "farm"]);
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split("   ").map(str::trim).filter(|c| !c.is_empty()).collect();
    assert_eq!(header, ["BUILD ID", "NODE", "NAME", "STATUS", "CREATED AT", "DURATION"], "{table}");
    let row_of = |full: &str| {
        let build_ref = full.rsplit('/').next().unwrap();
        table
            .lines()
            .find(|l| l.starts_with(build_ref))
            .unwrap_or_else(|| panic!("{build_ref} listed:\n{table}"))
            .to_owned()
    };
    assert_eq!(row_of(&on_first).split_whitespace().nth(1), Some("farm0"), "{table}");
    assert_eq!(row_of(&on_second).split_whitespace().nth(1), Some("farm1"), "{table}");
}
