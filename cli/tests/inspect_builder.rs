//! `buildlane inspect-builder` against `docker buildx inspect` (buildx 0.13.1) on the same builders
//! of the project's engine: every line buildx prints, Buildlane prints first, aligned the same,
//! then its own (config files, the driver's details). Needs the test engine (scripts/engine.sh env).

#[path = "../../core/tests/support/gc_engine.rs"]
mod gc_engine;

mod support;

use std::path::Path;

use gc_engine::GcEngine;
use support::{buildlane, buildlane_output, docker, docker_config};

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

fn assert_same_as_buildx(config: &Path, builder: &[&str]) -> String {
    let buildx = options_in_order(&docker(config, &[&["buildx", "inspect"], builder].concat()));
    let ours = options_in_order(&buildlane(config, &[&["inspect-builder"], builder].concat()));
    assert!(ours.starts_with(&buildx), "buildx printed:\n{buildx}\nbuildlane printed:\n{ours}");
    ours
}

#[test]
fn the_current_builder_prints_as_buildx_prints_it() {
    let config = docker_config();
    let ours = assert_same_as_buildx(config.path(), &[]);
    assert!(ours.starts_with("Name:   default\nDriver: docker\n"), "{ours}");
    assert!(ours.contains("\nEngine:\n Host:"), "{ours}");
}

#[test]
fn a_builder_with_a_gc_policy_prints_its_rules_as_buildx_does_and_json_puts_them_in_words() {
    let engine = GcEngine::start();
    let config = docker_config();
    docker(config.path(), &["context", "create", "gc-engine", "--docker", &format!("host={}", engine.host())]);
    let ours = assert_same_as_buildx(config.path(), &["gc-engine"]);
    assert!(
        ours.contains("GC Policy rule#1:\n All:        false\n Filters:    type==source.local\n Keep Bytes: 10GiB\n")
    );

    let json: serde_json::Value =
        serde_json::from_str(&buildlane(config.path(), &["inspect-builder", "gc-engine", "--format", "json"])).unwrap();
    let rules = json["nodes"][0]["gcRules"].as_array().unwrap();
    assert_eq!(rules[0]["summary"], "keep 512 MiB for 48h");
    assert_eq!(rules[2]["scope"], "all records, internal and frontend ones too");
    assert_eq!(json["nodes"][0]["node"]["status"], "running");
}

#[test]
fn a_container_builder_with_flags_options_and_a_config_file_prints_as_buildx_prints_it() {
    let config = docker_config();
    let buildkitd_toml = config.path().join("buildkitd.toml");
    std::fs::write(&buildkitd_toml, "debug = true\n").unwrap();
    docker(
        config.path(),
        &[
            "buildx",
            "create",
            "--name",
            "cli-configured",
            "--driver",
            "docker-container",
            "--driver-opt",
            "image=buildlane-test/not-pulled:1",
            "--driver-opt",
            "network=host",
            "--buildkitd-flags",
            "--debug --allow-insecure-entitlement=security.insecure",
            "--config",
            buildkitd_toml.to_str().unwrap(),
            "--platform",
            "linux/arm64",
        ],
    );
    let ours = assert_same_as_buildx(config.path(), &["cli-configured"]);
    assert!(ours.contains("File#buildkitd.toml:\n > debug = true\n"), "{ours}");
    assert!(ours.contains("Container:\n Name:         buildx_buildkit_cli-configured0\n"), "{ours}");
    docker(config.path(), &["buildx", "rm", "cli-configured"]);
}

#[test]
fn an_unknown_builder_exits_4_and_booting_where_the_engine_is_gone_exits_3() {
    let config = docker_config();
    let out = buildlane_output(config.path(), &["inspect-builder", "nosuch"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));

    let gone = config.path().join("gone.sock");
    drop(std::os::unix::net::UnixListener::bind(&gone).unwrap());
    docker(config.path(), &["context", "create", "gone", "--docker", &format!("host=unix://{}", gone.display())]);
    let out = buildlane_output(config.path(), &["inspect-builder", "gone", "--bootstrap"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("gone.sock"), "{stderr}");
}
