//! A split build's local outputs: each node exports its platforms, and Buildlane merges them as
//! buildx 0.13 cannot (it refuses oci and tar outputs for multi-node builds): one OCI layout
//! tarball whose index holds every node's platforms and attestations, a load of that layout into
//! the engine, a filesystem tar with every platform's folder. The nodes are the engine's own
//! BuildKit behind relays that note which platforms each solve asked for.

mod support;

use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildError, BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::gc_engine::GcEngine;
use support::index::assert_each_platform_runs;
use support::nodes::{solves_per_node, start_farm, CountingNode};
use support::written::Written;
use support::World;
use tokio_util::sync::CancellationToken;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const PLATFORMS: [&str; 2] = ["linux/amd64", "linux/arm64"];

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The builder `farm` (node `farm0` pinned to linux/amd64, `farm1` to linux/arm64) and a context
/// whose image records each platform's machine and prints it when run.
async fn two_node_farm(world: &World) -> ([CountingNode; 2], tempfile::TempDir) {
    let nodes = start_farm(world, "farm", PLATFORMS, None).await;
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest\nARG TARGETPLATFORM\nRUN uname -m > /machine && echo $TARGETPLATFORM > /platform\nCMD [\"cat\", \"/machine\"]\n",
            world.registry
        ),
    )]);
    (nodes, ctx)
}

/// A build of `ctx` on the farm, for both platforms, into `output`.
fn split(ctx: &tempfile::TempDir, output: BuildOutput) -> BuildRequest {
    BuildRequest {
        builder: "farm".into(),
        platforms: PLATFORMS.map(String::from).to_vec(),
        outputs: vec![output],
        ..request(ctx)
    }
}

/// A build the builders of `env` refuse before it starts.
async fn refused(env: &buildlane_core::docker_config::Environment, request: &BuildRequest) -> BuildError {
    let mut recording = Records::new(env).recording();
    let builders = buildlane_core::builders::Builders::new(env.clone());
    builds::run(&builders, request, None, &|_| {}, CancellationToken::new(), &mut recording).await.unwrap_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_writes_one_oci_layout_whose_index_holds_every_nodes_platforms() {
    let world = World::new();
    let (nodes, ctx) = two_node_farm(&world).await;
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("farm.tar");
    let tag = format!("{}/buildlane-test/split-oci:{}", world.registry, std::process::id());
    let output = BuildOutput::oci(dest.to_string_lossy().into_owned());
    let outcome =
        build(&world, BuildRequest { tags: vec![tag.clone()], ..split(&ctx, output.clone()) }, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!(solves_per_node(&nodes), [["linux/amd64"], ["linux/arm64"]]);
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("farm.tar")], "nothing of the nodes' own tarballs is left");

    let layout = Written::read(&output);
    // Every blob is there under its own digest.
    for (path, data) in layout.0.iter().filter(|(p, _)| p.starts_with("blobs/")) {
        assert_eq!(sha256(data), path.replace("blobs/sha256/", "sha256:"), "{path}");
    }
    assert_eq!(layout.json("oci-layout")["imageLayoutVersion"], "1.0.0");
    let top = layout.json("index.json");
    let named = top["manifests"].as_array().unwrap();
    assert_eq!(named.len(), 1, "{top}");
    assert_eq!(named[0]["mediaType"], OCI_INDEX);
    assert_eq!(named[0]["annotations"]["io.containerd.image.name"], tag.as_str(), "{top}");
    let digest = named[0]["digest"].as_str().unwrap();
    assert_eq!(outcome.digest.as_deref(), Some(digest));
    let index_bytes = layout.blob(digest);
    assert_eq!(named[0]["size"], index_bytes.len());

    // One index of both nodes' platforms, each with its attestation manifest, as imagetools
    // create assembles a pushed split build's index.
    let index: serde_json::Value = serde_json::from_slice(index_bytes).unwrap();
    assert_eq!(index["mediaType"], OCI_INDEX);
    let entries = index["manifests"].as_array().unwrap();
    let images: Vec<&serde_json::Value> =
        entries.iter().filter(|e| e["annotations"]["vnd.docker.reference.type"].is_null()).collect();
    let platforms: Vec<String> = images
        .iter()
        .map(|e| {
            format!("{}/{}", e["platform"]["os"].as_str().unwrap(), e["platform"]["architecture"].as_str().unwrap())
        })
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let attestations: Vec<&serde_json::Value> =
        entries.iter().filter(|e| e["annotations"]["vnd.docker.reference.type"] == "attestation-manifest").collect();
    assert_eq!(attestations.len(), 2, "{index}");
    for attestation in &attestations {
        assert_eq!(attestation["platform"]["os"], "unknown");
        let subject = attestation["annotations"]["vnd.docker.reference.digest"].as_str().unwrap();
        assert!(images.iter().any(|i| i["digest"] == subject), "{subject} attests an image of the index");
    }
    // Every manifest, config and layer the index reaches is in the layout with its size.
    for entry in entries {
        assert_eq!(entry["mediaType"], OCI_MANIFEST);
        let manifest_bytes = layout.blob(entry["digest"].as_str().unwrap());
        assert_eq!(entry["size"], manifest_bytes.len());
        let manifest: serde_json::Value = serde_json::from_slice(manifest_bytes).unwrap();
        let parts = std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap());
        for part in parts {
            assert_eq!(part["size"], layout.blob(part["digest"].as_str().unwrap()).len(), "{part}");
        }
    }

    // Into the engine and on to the registry, and each platform runs.
    world.docker_ok(&["load", "-i", &dest.to_string_lossy()]);
    world.docker_ok(&["push", &tag]);
    let pushed = world.imagetools(&["--raw"], &tag);
    assert_eq!(sha256(pushed.as_bytes()), digest, "the registry holds the layout's index as it is");
    assert_each_platform_runs(&world, &tag, &PLATFORMS, &["--pull", "always"]);
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_loads_one_image_of_every_nodes_platforms_into_the_engine() {
    let world = World::new();
    let (nodes, ctx) = two_node_farm(&world).await;
    let tag = format!("buildlane-test/split-load:{}", std::process::id());
    let load = BuildRequest { tags: vec![tag.clone()], ..split(&ctx, BuildOutput::load()) };
    let outcome = build(&world, load, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!(solves_per_node(&nodes), [["linux/amd64"], ["linux/arm64"]]);
    let id = world.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    assert_eq!(Some(id.trim()), outcome.digest.as_deref(), "the engine holds the merged index");
    assert_each_platform_runs(&world, &tag, &PLATFORMS, &[]);
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_writes_one_tar_with_each_platforms_folder_and_refuses_a_docker_tarball() {
    let world = World::new();
    let (nodes, ctx) = two_node_farm(&world).await;
    let out = tempfile::tempdir().unwrap();
    let output = BuildOutput::tar(out.path().join("rootfs.tar").to_string_lossy().into_owned());
    let outcome = build(&world, split(&ctx, output.clone()), &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let rootfs = Written::read(&output);
    assert_eq!(rootfs.text("linux_amd64/machine"), "x86_64");
    assert_eq!(rootfs.text("linux_arm64/machine"), "aarch64");
    assert!(rootfs.0.contains_key("linux_arm64/bin/busybox"), "each platform's whole filesystem");

    // A docker tarball holds one image, never a manifest list: refused before any node is asked.
    let docker = BuildOutput::docker(out.path().join("docker.tar").to_string_lossy().into_owned());
    let error = refused(&world.env(), &split(&ctx, docker)).await;
    assert!(matches!(error, BuildError::DockerTarballList), "{error}");
    assert_eq!(
        error.to_string(),
        "docker exporter does not support exporting manifest lists, use the oci exporter instead"
    );
    assert_eq!(solves_per_node(&nodes).concat().len(), 2, "only the tar build was solved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_of_several_outputs_or_output_attributes_is_refused_by_name_before_anything_is_built() {
    let world = World::new();
    let (nodes, ctx) = two_node_farm(&world).await;
    let out = tempfile::tempdir().unwrap();
    let at = |name: &str| out.path().join(name).to_string_lossy().into_owned();
    let outputs = vec![BuildOutput::local(at("fs")), BuildOutput::tar(at("fs.tar"))];
    let error = refused(&world.env(), &BuildRequest { outputs, ..split(&ctx, BuildOutput::CacheOnly) }).await;
    assert!(matches!(error, BuildError::SplitOutputs { .. }), "{error}");
    let named = format!("(--output type=local,dest={} --output type=tar,dest={})", at("fs"), at("fs.tar"));
    assert!(error.to_string().contains(&named), "{error}");
    // What an output gives its exporter does not reach a split build's own exporters yet.
    let zstd = [("compression".to_owned(), "zstd".to_owned()), ("oci-mediatypes".to_owned(), "true".to_owned())];
    let given = BuildOutput::local(at("fs")).with_attrs(zstd.into_iter().collect());
    let error = refused(&world.env(), &split(&ctx, given)).await;
    assert!(matches!(error, BuildError::SplitOutputAttrs { .. }), "{error}");
    assert!(error.to_string().contains("(compression, oci-mediatypes)"), "{error}");
    assert!(solves_per_node(&nodes).concat().is_empty(), "no node was asked to build");
}

#[tokio::test(flavor = "multi_thread")]
async fn loading_a_split_build_into_a_classic_image_store_is_refused_before_anything_is_built() {
    let world = World::new();
    let (nodes, ctx) = two_node_farm(&world).await;
    // An engine without the containerd image store, as the current context's.
    let classic = GcEngine::start();
    let env = buildlane_core::docker_config::Environment { docker_host: Some(classic.host()), ..world.env() };
    let load = BuildRequest { tags: vec!["buildlane-test/split-classic:1".into()], ..split(&ctx, BuildOutput::load()) };
    let error = refused(&env, &load).await;
    assert!(matches!(error, BuildError::LoadMultiPlatform { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "the engine at {} keeps images in its classic store, which cannot load a multi-platform image: load one platform, push, or enable the engine's containerd image store",
            classic.host()
        )
    );
    assert!(solves_per_node(&nodes).concat().is_empty(), "no node was asked to build");
}
