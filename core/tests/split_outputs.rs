//! A split build's local outputs: each node exports its platforms, and Buildlane merges them as
//! buildx 0.13 cannot (it refuses oci and tar outputs for multi-node builds): one OCI layout
//! tarball whose index holds every node's platforms and attestations, a load of that layout into
//! the engine, a filesystem tar with every platform's folder. The nodes are the engine's own
//! BuildKit behind relays that note which platforms each solve asked for.

mod support;

use std::collections::BTreeMap;
use std::io::Read;

use buildlane_core::builds::{BuildError, BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::gc_engine::GcEngine;
use support::nodes::{farm, CountingNode};
use support::World;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Every file of a tarball by path.
fn files_of(tarball: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(std::fs::File::open(tarball).unwrap());
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.header().entry_type().is_file() {
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            files.insert(path, data);
        }
    }
    files
}

fn blob<'a>(files: &'a BTreeMap<String, Vec<u8>>, digest: &str) -> &'a [u8] {
    let path = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    files.get(&path).unwrap_or_else(|| panic!("{digest} is in the layout"))
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON")
}

fn two_node_farm_dockerfile(world: &World) -> String {
    format!(
        "FROM {}/busybox:latest\nARG TARGETPLATFORM\nRUN uname -m > /machine && echo $TARGETPLATFORM > /platform\nCMD [\"cat\", \"/machine\"]\n",
        world.registry
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_writes_one_oci_layout_whose_index_holds_every_nodes_platforms() {
    let world = World::new();
    let (amd64, arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, "farm", &[(&amd64, "linux/amd64"), (&arm64, "linux/arm64")]).await;
    let ctx = context(&[("Dockerfile", &two_node_farm_dockerfile(&world))]);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("farm.tar");
    let tag = format!("{}/buildlane-test/split-oci:{}", world.registry, std::process::id());
    let outcome = build(
        &world,
        BuildRequest {
            builder: "farm".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec![tag.clone()],
            output: BuildOutput::Oci { dest: dest.to_string_lossy().into_owned() },
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!((amd64.solves(), arm64.solves()), (vec!["linux/amd64".to_owned()], vec!["linux/arm64".to_owned()]));
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [std::ffi::OsString::from("farm.tar")], "nothing of the nodes' own tarballs is left");

    let files = files_of(&dest);
    // Every blob is there under its own digest.
    for (path, data) in files.iter().filter(|(p, _)| p.starts_with("blobs/")) {
        assert_eq!(sha256(data), path.replace("blobs/sha256/", "sha256:"), "{path}");
    }
    assert_eq!(json(&files["oci-layout"])["imageLayoutVersion"], "1.0.0");
    let top = json(&files["index.json"]);
    let named = top["manifests"].as_array().unwrap();
    assert_eq!(named.len(), 1, "{top}");
    assert_eq!(named[0]["mediaType"], OCI_INDEX);
    assert_eq!(named[0]["annotations"]["io.containerd.image.name"], tag.as_str(), "{top}");
    let digest = named[0]["digest"].as_str().unwrap();
    assert_eq!(outcome.digest.as_deref(), Some(digest));
    let index_bytes = blob(&files, digest);
    assert_eq!(named[0]["size"], index_bytes.len());

    // One index of both nodes' platforms, each with its attestation manifest, as imagetools
    // create assembles a pushed split build's index.
    let index = json(index_bytes);
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
        let manifest_bytes = blob(&files, entry["digest"].as_str().unwrap());
        assert_eq!(entry["size"], manifest_bytes.len());
        let manifest = json(manifest_bytes);
        let parts = std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap());
        for part in parts {
            assert_eq!(part["size"], blob(&files, part["digest"].as_str().unwrap()).len(), "{part}");
        }
    }

    // Into the engine and on to the registry, and each platform runs.
    world.docker_ok(&["load", "-i", &dest.to_string_lossy()]);
    world.docker_ok(&["push", &tag]);
    let pushed = world.imagetools(&["--raw"], &tag);
    assert_eq!(sha256(pushed.as_bytes()), digest, "the registry holds the layout's index as it is");
    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")] {
        let ran = world.docker_ok(&["run", "--rm", "--pull", "always", "--platform", platform, &tag]);
        assert_eq!(ran.trim(), machine, "{platform}");
    }
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_loads_one_image_of_every_nodes_platforms_into_the_engine() {
    let world = World::new();
    let (amd64, arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, "farm", &[(&amd64, "linux/amd64"), (&arm64, "linux/arm64")]).await;
    let ctx = context(&[("Dockerfile", &two_node_farm_dockerfile(&world))]);
    let tag = format!("buildlane-test/split-load:{}", std::process::id());
    let outcome = build(
        &world,
        BuildRequest {
            builder: "farm".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec![tag.clone()],
            output: BuildOutput::Load,
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!((amd64.solves(), arm64.solves()), (vec!["linux/amd64".to_owned()], vec!["linux/arm64".to_owned()]));
    let id = world.docker_ok(&["image", "inspect", "--format", "{{.Id}}", &tag]);
    assert_eq!(Some(id.trim()), outcome.digest.as_deref(), "the engine holds the merged index");
    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")] {
        let ran = world.docker_ok(&["run", "--rm", "--platform", platform, &tag]);
        assert_eq!(ran.trim(), machine, "{platform}");
    }
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_build_writes_one_tar_with_each_platforms_folder_and_refuses_a_docker_tarball() {
    let world = World::new();
    let (amd64, arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, "farm", &[(&amd64, "linux/amd64"), (&arm64, "linux/arm64")]).await;
    let ctx = context(&[("Dockerfile", &two_node_farm_dockerfile(&world))]);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("rootfs.tar");
    let split = |output: BuildOutput| BuildRequest {
        builder: "farm".into(),
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        output,
        ..request(&ctx)
    };
    let outcome =
        build(&world, split(BuildOutput::Tar { dest: dest.to_string_lossy().into_owned() }), &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let files = files_of(&dest);
    assert_eq!(String::from_utf8_lossy(&files["linux_amd64/machine"]).trim(), "x86_64");
    assert_eq!(String::from_utf8_lossy(&files["linux_arm64/machine"]).trim(), "aarch64");
    assert!(files.contains_key("linux_arm64/bin/busybox"), "each platform's whole filesystem");

    // A docker tarball holds one image, never a manifest list: refused before any node is asked.
    let docker = split(BuildOutput::Docker { dest: out.path().join("docker.tar").to_string_lossy().into_owned() });
    let mut recording = buildlane_core::builds::records::Records::new(&world.env()).recording();
    let error = buildlane_core::builds::run(
        &world.builders(),
        &docker,
        None,
        &|_| {},
        tokio_util::sync::CancellationToken::new(),
        &mut recording,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, BuildError::SplitDockerOutput { .. }), "{error}");
    assert!(error.to_string().contains("docker exporter does not support exporting manifest lists"), "{error}");
    assert_eq!(amd64.solves().len() + arm64.solves().len(), 2, "only the tar build was solved");
}

#[tokio::test(flavor = "multi_thread")]
async fn loading_a_split_build_into_a_classic_image_store_is_refused_before_anything_is_built() {
    let world = World::new();
    let (amd64, arm64) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, "farm", &[(&amd64, "linux/amd64"), (&arm64, "linux/arm64")]).await;
    // An engine without the containerd image store, as the current context's.
    let classic = GcEngine::start();
    let env = buildlane_core::docker_config::Environment { docker_host: Some(classic.host()), ..world.env() };
    let ctx = context(&[("Dockerfile", &two_node_farm_dockerfile(&world))]);
    let load = BuildRequest {
        builder: "farm".into(),
        platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
        tags: vec!["buildlane-test/split-classic:1".into()],
        output: BuildOutput::Load,
        ..request(&ctx)
    };
    let mut recording = buildlane_core::builds::records::Records::new(&env).recording();
    let error = buildlane_core::builds::run(
        &buildlane_core::builders::Builders::new(env.clone()),
        &load,
        None,
        &|_| {},
        tokio_util::sync::CancellationToken::new(),
        &mut recording,
    )
    .await
    .unwrap_err();
    assert!(matches!(error, BuildError::LoadMultiPlatform { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "the engine at {} keeps images in its classic store, which cannot load a multi-platform image: load one platform, push, or enable the engine's containerd image store",
            classic.host()
        )
    );
    assert!(amd64.solves().is_empty() && arm64.solves().is_empty(), "no node was asked to build");
}
