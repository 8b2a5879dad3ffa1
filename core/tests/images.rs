//! The inspector against the real local registry, checked against `docker buildx imagetools inspect`
//! on the same references: an image pushed by a real 3-platform build, and the busybox index.

mod support;

use buildlane_core::images::manifest::{inspect, Depth, InspectOptions, Inspection, ManifestKind};
use buildlane_core::images::reference::ImageReference;
use serde_json::Value;
use support::World;

async fn inspected(world: &World, reference: &str) -> Inspection {
    let reference: ImageReference = reference.parse().unwrap();
    inspect(&world.registry_client(), &reference, InspectOptions::default()).await.unwrap()
}

/// Platforms, digests, media types, sizes and annotations of the index equal imagetools' `--raw` and
/// `{{json .}}`; attestation entries are folded under the platform their annotation names.
fn assert_matches_imagetools(world: &World, reference: &str, ours: &Inspection) {
    let raw = world.imagetools(&["--raw"], reference);
    assert_eq!(ours.raw.trim_end(), raw.trim_end(), "raw bytes differ");
    let json: Value = serde_json::from_str(&world.imagetools(&["--format", "{{json .}}"], reference)).unwrap();
    assert_eq!(json["name"], ours.name);
    assert_eq!(json["manifest"]["digest"], ours.digest);
    assert_eq!(json["manifest"]["mediaType"], ours.media_type);
    assert_eq!(json["manifest"]["size"], ours.size);
    let entries = json["manifest"]["manifests"].as_array().unwrap();
    let mut platforms = 0;
    for entry in entries {
        let digest = entry["digest"].as_str().unwrap();
        let annotations = entry["annotations"].as_object();
        let subject = annotations.and_then(|a| a.get("vnd.docker.reference.digest")).and_then(Value::as_str);
        match subject {
            Some(subject) => {
                let owner = ours.platforms.iter().find(|p| p.digest == subject).expect("attested platform is listed");
                let att = owner.attestations.iter().find(|a| a.digest == digest).expect("attestation folded under it");
                assert_eq!(att.size, entry["size"]);
                assert_eq!(att.media_type, entry["mediaType"]);
                assert!(!ours.platforms.iter().any(|p| p.digest == digest), "an attestation is not a platform");
            }
            None => {
                platforms += 1;
                let p = ours.platforms.iter().find(|p| p.digest == digest).expect("platform listed");
                assert_eq!(p.media_type, entry["mediaType"]);
                assert_eq!(p.manifest_size, entry["size"]);
                let plat = &entry["platform"];
                let mut name = format!("{}/{}", plat["os"].as_str().unwrap(), plat["architecture"].as_str().unwrap());
                if let Some(v) = plat["variant"].as_str() {
                    name = format!("{name}/{v}");
                }
                assert_eq!(p.platform, name);
                let theirs: serde_json::Map<String, Value> = annotations.cloned().unwrap_or_default();
                assert_eq!(serde_json::to_value(&p.annotations).unwrap(), Value::Object(theirs));
                // imagetools' `image` map holds each platform's config.
                let config = &json["image"][&name];
                let ours_config: Value = serde_json::from_str(p.config_raw.as_deref().unwrap()).unwrap();
                assert_eq!(config["created"], ours_config["created"]);
                assert_eq!(config["config"], ours_config["config"]);
            }
        }
    }
    assert_eq!(ours.platforms.len(), platforms);
    assert!(ours.platforms.iter().all(|p| p.platform != "unknown/unknown"));
}

#[tokio::test]
async fn a_real_three_platform_build_is_inspected_as_imagetools_sees_it_and_more() {
    let world = World::new();
    let reference = world.pushed_multi_platform_image("images-test/app");
    let ours = inspected(&world, &reference).await;
    assert_eq!(ours.kind, ManifestKind::Index);
    assert_matches_imagetools(&world, &reference, &ours);
    let names: Vec<&str> = ours.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(names, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);

    for p in &ours.platforms {
        assert!(p.error.is_none(), "{}: {:?}", p.platform, p.error);
        assert_eq!(p.attestations.len(), 1, "{} has its provenance", p.platform);
        let provenance = p.attestations[0].provenance.as_ref().expect("provenance readable");
        assert!(provenance.predicate_type.starts_with("https://slsa.dev/provenance/"));
        assert!(
            provenance.materials.iter().any(|m| m.uri.contains("busybox")),
            "the base image is a material: {:?}",
            provenance.materials
        );
        let config = p.config.as_ref().unwrap();
        assert!(config.env.contains(&"GREETING=hello".to_owned()));
        assert_eq!(config.working_dir.as_deref(), Some("/srv"));
        assert_eq!(config.cmd, ["cat", "/platform.txt"]);
        assert_eq!(config.labels.get("org.example.test").map(String::as_str), Some("images"));
        assert_eq!(p.compressed_size, p.layers.iter().map(|l| l.size).sum::<i64>());
        assert!(p.history.iter().any(|h| h.empty_layer), "ENV/WORKDIR/CMD steps are empty layers");
        assert!(p.history.iter().any(|h| h.created_by.contains("platform.txt")));
        // busybox differs per architecture and so does the RUN output; the COPY layer is the same
        // bytes everywhere. WORKDIR's /srv carries the time it was made, so it is shared only when
        // the platforms got there in the same second: counted from the digests themselves.
        let holders = |digest: &str| {
            ours.platforms.iter().filter(|other| other.layers.iter().any(|l| l.digest == digest)).count() as u32
        };
        let shared: Vec<u32> = p.layers.iter().map(|l| l.shared_by).collect();
        assert_eq!(shared[..3], [1, 3, 1], "{}: {:?}", p.platform, p.layers);
        assert_eq!(shared[3], holders(&p.layers[3].digest), "{}: {:?}", p.platform, p.layers);
    }
    let first = &ours.platforms[0].layers;
    assert!(ours.platforms.iter().all(|p| p.layers[1].digest == first[1].digest));
    let matrix = &ours.size_matrix;
    assert_eq!(matrix.rows.len(), 3);
    let in_all = |l: &buildlane_core::images::manifest::Layer| l.shared_by == 3;
    assert_eq!(matrix.shared_by_all, first.iter().filter(|l| in_all(l)).map(|l| l.size).sum::<i64>());
    assert!(matrix.shared_by_all >= first[1].size);
    for (row, p) in matrix.rows.iter().zip(&ours.platforms) {
        assert_eq!(row.shared, matrix.shared_by_all);
        assert_eq!(row.unique, p.layers.iter().filter(|l| l.shared_by == 1).map(|l| l.size).sum::<i64>());
        assert_eq!(row.total, p.compressed_size);
    }
    assert!(ours.cli.starts_with("docker buildx imagetools inspect 127.0.0.1:"));
    assert_eq!(ours.pull_by_digest, format!("{}/images-test/app@{}", world.registry, ours.digest));
    assert_eq!(ours.pull_cli, Some(format!("docker pull {}", ours.pull_by_digest)));
    // Each raw document's "Copy as CLI", run as copied, prints the very bytes the raw tab shows.
    let printed = |cli: &str| world.docker_ok(&cli.split(' ').skip(1).collect::<Vec<_>>());
    assert_eq!(printed(ours.cli_raw.as_deref().unwrap()).trim_end(), ours.raw);
    for p in &ours.platforms {
        let cli = p.cli_raw.as_deref().unwrap();
        assert_eq!(printed(cli).trim_end(), p.raw.as_deref().unwrap(), "{}: {cli}", p.platform);
    }

    // The listing `buildlane inspect` prints needs manifests only: same platforms, sizes and
    // attestation kinds, no config or statement read.
    let options = InspectOptions { depth: Depth::Manifests, ..InspectOptions::default() };
    let listing = inspect(&world.registry_client(), &reference.parse().unwrap(), options).await.unwrap();
    assert_eq!(listing.size_matrix, ours.size_matrix);
    for (quick, full) in listing.platforms.iter().zip(&ours.platforms) {
        assert_eq!((&quick.platform, &quick.digest, &quick.layers), (&full.platform, &full.digest, &full.layers));
        assert_eq!(quick.attestations[0].statements, full.attestations[0].statements);
        assert!(quick.config_raw.is_none() && quick.attestations[0].provenance.is_none());
    }
}

#[tokio::test]
async fn the_busybox_index_and_a_single_platform_manifest() {
    let world = World::new();
    let reference = format!("{}/busybox:latest", world.registry);
    let ours = inspected(&world, &reference).await;
    assert_matches_imagetools(&world, &reference, &ours);
    assert_eq!(ours.platforms.len(), 3);

    // One platform by digest: no index, the platform comes from its config.
    let arm64 = ours.platforms.iter().find(|p| p.platform == "linux/arm64").unwrap();
    let single = inspected(&world, &format!("{}/busybox@{}", world.registry, arm64.digest)).await;
    assert_eq!(single.kind, ManifestKind::Image);
    assert_eq!(single.platforms.len(), 1);
    assert_eq!(single.platforms[0].platform, "linux/arm64");
    assert_eq!(single.platforms[0].layers, arm64.layers);
    let raw = world.imagetools(&["--raw"], &format!("{}/busybox@{}", world.registry, arm64.digest));
    assert_eq!(single.raw.trim_end(), raw.trim_end());
}

/// Sorts each run of annotation lines (indented four spaces): buildx prints a Go map, in random order.
fn annotations_in_key_order(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("    ") {
            run.push(line.to_owned());
            continue;
        }
        run.sort();
        lines.append(&mut run);
        lines.push(line.to_owned());
    }
    run.sort();
    lines.append(&mut run);
    lines
}

#[tokio::test]
async fn the_listing_prints_what_imagetools_prints_annotations_included_then_what_buildlane_adds() {
    let world = World::new();
    // A real build's index (attestation entries carry BuildKit's annotations), copied with index and
    // per-entry annotations added, as `imagetools create --annotation` writes them.
    let built = world.pushed_multi_platform_image("images-test/annotated-source");
    let annotated = format!("{}/images-test/annotated:v{}", world.registry, std::process::id());
    world.docker_ok(&[
        "buildx",
        "imagetools",
        "create",
        "-t",
        &annotated,
        "--annotation",
        "index:org.opencontainers.image.title=Annotated",
        "--annotation",
        "manifest-descriptor:org.opencontainers.image.vendor=Buildlane",
        "--annotation",
        "manifest-descriptor:org.example.a-much-longer-key=aligned",
        &built,
    ]);
    for reference in [annotated.as_str(), built.as_str()] {
        let theirs = world.imagetools(&[], reference);
        let options = InspectOptions { depth: Depth::Manifests, ..InspectOptions::default() };
        let ours = inspect(&world.registry_client(), &reference.parse().unwrap(), options).await.unwrap();
        let text = buildlane_core::images::manifest::imagetools_text(&ours);
        assert!(text.len() > theirs.len(), "{text}");
        let (same, added) = text.split_at(theirs.len());
        assert_eq!(
            annotations_in_key_order(same),
            annotations_in_key_order(&theirs),
            "ours:\n{text}\ntheirs:\n{theirs}"
        );
        assert!(added.contains("\nPlatforms:\n  linux/amd64  sha256:"), "{added}");
        if reference == annotated {
            assert!(theirs.contains("    org.example.a-much-longer-key:   aligned\n"), "{theirs}");
            assert!(
                added.starts_with("\nIndex annotations:\n  org.opencontainers.image.title: Annotated\n"),
                "{added}"
            );
        }
    }
}
