//! What multi-node tests check of the image a split build made: its index against the one buildx
//! assembles on the same builder, and each platform of it running on the engine (through QEMU).

use buildlane_core::builds::{BuildOutcome, BuildOutput, BuildRequest, BuildState};

use super::build::{build, context, request, Seen};
use super::World;

/// An image that says where it ran: each platform records `uname -m` and prints it when run, pushed
/// by Buildlane under `ours` and by buildx under `theirs` (one repository per test run).
pub struct MachineImage {
    pub context: tempfile::TempDir,
    pub ours: String,
    pub theirs: String,
}

impl MachineImage {
    /// The image's context; its tags are in `<registry>/buildlane-test/<name>-<pid>`.
    pub fn new(world: &World, name: &str) -> Self {
        let context = context(&[(
            "Dockerfile",
            &format!("FROM {}/busybox:latest\nRUN uname -m > /machine\nCMD [\"cat\", \"/machine\"]\n", world.registry),
        )]);
        let repository = format!("{}/buildlane-test/{name}-{}", world.registry, std::process::id());
        MachineImage { context, ours: format!("{repository}:buildlane"), theirs: format!("{repository}:buildx") }
    }

    /// Buildlane builds it on `builder` for `platforms` and pushes it under `ours`: it succeeds.
    pub async fn push(&self, world: &World, builder: &str, platforms: &[&str]) -> BuildOutcome {
        let pushed = BuildRequest {
            builder: builder.into(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
            tags: vec![self.ours.clone()],
            outputs: vec![BuildOutput::push()],
            ..request(&self.context)
        };
        let outcome = build(world, pushed, &Seen::default()).await;
        assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
        outcome
    }

    /// `docker buildx build --push` of the same context on the same builder, under `theirs`. The
    /// test farm's nodes are all the engine's one BuildKit, so two nodes' exports can name the same
    /// image in it at the same moment and one fails with "already exists" (two real daemons cannot
    /// meet); that failure (or the registry's occasional 500, as in `World::docker_ok`) is tried
    /// again, twice at most.
    pub fn push_with_buildx(&self, world: &World, builder: &str, platforms: &[&str]) {
        let path = self.context.path().to_string_lossy().into_owned();
        let all = platforms.join(",");
        let args = ["buildx", "build", "--builder", builder, "--platform", &all, "--push", "-t", &self.theirs, &path];
        world.docker_ok_retrying(&args, &["already exists"]);
    }
}

/// What `uname -m` prints on each platform the tests build for.
pub fn machine(platform: &str) -> &'static str {
    match platform {
        "linux/amd64" => "x86_64",
        "linux/arm64" => "aarch64",
        "linux/arm/v7" => "armv7l",
        other => panic!("no machine known for {other}"),
    }
}

/// What a test compares of an index: its media type, and per entry the media type, the platform
/// and the annotations' keys (attestations keep theirs), in order.
pub fn shape(index: &serde_json::Value) -> serde_json::Value {
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

/// The index under `reference` as the registry holds it (`imagetools inspect --raw`).
pub fn raw_index(world: &World, reference: &str) -> serde_json::Value {
    serde_json::from_str(&world.imagetools(&["--raw"], reference)).expect("an index")
}

/// Asserts that the index under `ours` has the shape of the one buildx pushed under `theirs`;
/// returns ours.
pub fn assert_assembled_as_buildx(world: &World, ours: &str, theirs: &str) -> serde_json::Value {
    let (index, peer) = (raw_index(world, ours), raw_index(world, theirs));
    assert_eq!(shape(&index), shape(&peer), "ours: {index}\nbuildx's: {peer}");
    index
}

/// Asserts that `reference` runs on each platform and prints that platform's machine, as its
/// `CMD ["cat", "/machine"]` does; `run_flags` go to `docker run` (`--pull always` for a pushed one).
pub fn assert_each_platform_runs(world: &World, reference: &str, platforms: &[&str], run_flags: &[&str]) {
    for platform in platforms {
        let args = [&["run", "--rm"][..], run_flags, &["--platform", platform, reference]].concat();
        assert_eq!(world.docker_ok(&args).trim(), machine(platform), "{platform}");
    }
}
