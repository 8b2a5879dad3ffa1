//! `buildlane inspect-builder` against `docker buildx inspect` (buildx 0.13.1) on the same builders
//! of the project's engine: every line buildx prints, Buildlane prints first, aligned the same,
//! then its own (config files, the driver's details). Needs the test engine (scripts/engine.sh env).

#[path = "../../core/tests/support/gc_engine.rs"]
mod gc_engine;

use std::path::Path;
use std::process::{Command, Output};

use gc_engine::GcEngine;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run `eval \"$(scripts/engine.sh env)\"` first"))
}

/// One test's docker world: its own DOCKER_CONFIG (so its own buildx store) with buildx as the
/// docker CLI's plugin, on the shared test engine.
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("cli-plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::os::unix::fs::symlink(required("BUILDLANE_BUILDX"), plugins.join("docker-buildx")).unwrap();
        World { dir }
    }

    fn env(&self, command: &mut Command) {
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("DOCKER_CONFIG", self.dir.path())
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("DOCKER_HOST", required("DOCKER_HOST"));
    }

    fn docker(&self, args: &[&str]) -> String {
        let mut command = Command::new(Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"));
        self.env(command.args(args));
        let out = command.output().expect("docker runs");
        assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn buildlane(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_buildlane"));
        self.env(command.args(args));
        command.output().expect("buildlane runs")
    }

    fn buildlane_ok(&self, args: &[&str]) -> String {
        let out = self.buildlane(args);
        assert!(out.status.success(), "buildlane {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }
}

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

fn assert_same_as_buildx(world: &World, builder: &[&str]) -> String {
    let buildx = options_in_order(&world.docker(&[&["buildx", "inspect"], builder].concat()));
    let ours = options_in_order(&world.buildlane_ok(&[&["inspect-builder"], builder].concat()));
    assert!(ours.starts_with(&buildx), "buildx printed:\n{buildx}\nbuildlane printed:\n{ours}");
    ours
}

#[test]
fn the_current_builder_prints_as_buildx_prints_it() {
    let world = World::new();
    let ours = assert_same_as_buildx(&world, &[]);
    assert!(ours.starts_with("Name:   default\nDriver: docker\n"), "{ours}");
    assert!(ours.contains("\nEngine:\n Host:"), "{ours}");
}

#[test]
fn a_builder_with_a_gc_policy_prints_its_rules_as_buildx_does_and_json_puts_them_in_words() {
    let engine = GcEngine::start();
    let world = World::new();
    world.docker(&["context", "create", "gc-engine", "--docker", &format!("host={}", engine.host())]);
    let ours = assert_same_as_buildx(&world, &["gc-engine"]);
    assert!(
        ours.contains("GC Policy rule#1:\n All:        false\n Filters:    type==source.local\n Keep Bytes: 10GiB\n")
    );

    let json: serde_json::Value =
        serde_json::from_str(&world.buildlane_ok(&["inspect-builder", "gc-engine", "--format", "json"])).unwrap();
    let rules = json["nodes"][0]["gcRules"].as_array().unwrap();
    assert_eq!(rules[0]["summary"], "keep 512 MiB for 48h");
    assert_eq!(rules[2]["scope"], "all records, internal and frontend ones too");
    assert_eq!(json["nodes"][0]["node"]["status"], "running");
}

#[test]
fn a_container_builder_with_flags_options_and_a_config_file_prints_as_buildx_prints_it() {
    let world = World::new();
    let config = world.dir.path().join("buildkitd.toml");
    std::fs::write(&config, "debug = true\n").unwrap();
    world.docker(&[
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
        config.to_str().unwrap(),
        "--platform",
        "linux/arm64",
    ]);
    let ours = assert_same_as_buildx(&world, &["cli-configured"]);
    assert!(ours.contains("File#buildkitd.toml:\n > debug = true\n"), "{ours}");
    assert!(ours.contains("Container:\n Name:         buildx_buildkit_cli-configured0\n"), "{ours}");
    world.docker(&["buildx", "rm", "cli-configured"]);
}

#[test]
fn an_unknown_builder_exits_4_and_booting_where_the_engine_is_gone_exits_3() {
    let world = World::new();
    let out = world.buildlane(&["inspect-builder", "nosuch"]);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));

    let gone = world.dir.path().join("gone.sock");
    drop(std::os::unix::net::UnixListener::bind(&gone).unwrap());
    world.docker(&["context", "create", "gone", "--docker", &format!("host=unix://{}", gone.display())]);
    let out = world.buildlane(&["inspect-builder", "gone", "--bootstrap"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("gone.sock"), "{stderr}");
}
