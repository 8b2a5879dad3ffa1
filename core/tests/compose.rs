//! Composing an index, checked against `docker buildx imagetools create` (0.13.1) on the same images
//! in the local registry: the dry run's JSON byte for byte (annotations at both levels, Docker media
//! types, an index merged with an image, one index kept as it is), a push into another repository
//! (blobs mounted, never uploaded) that holds what buildx's push holds, `--append`; then what buildx
//! 0.13.1 has no flag for (`--platform`, `--prefer-index=false`), and the failures: a missing source,
//! an unreachable registry, a platform two sources bring, a malformed manifest, a failed copy, each
//! leaving the tag as it was.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::images::compose::{self, ComposeError, ComposeRequest, Composition, PushEvent};
use buildlane_core::images::manifest::{self, Depth, InspectOptions};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registry::RegistryClient;
use support::registry_proxy::{Fault, FaultyProxy};
use support::World;

/// Images made once per run: single-platform images (OCI and Docker media types), a second amd64
/// image, and a two-platform index with provenance attestations.
struct Images {
    amd64: String,
    arm64: String,
    arm_v7: String,
    other_amd64: String,
    docker_amd64: String,
    docker_arm64: String,
    index: String,
}

fn images(world: &World) -> &'static Images {
    static IMAGES: OnceLock<Images> = OnceLock::new();
    IMAGES.get_or_init(|| {
        let repo = format!("{}/compose-test/src", world.registry);
        let tag = |name: &str| format!("{repo}:{}-{name}", std::process::id());
        // FROM scratch and one COPY build for any platform without emulation.
        let ctx = tempfile::tempdir().unwrap();
        std::fs::write(ctx.path().join("file.txt"), "compose\n").unwrap();
        std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\nCOPY file.txt /file.txt\n").unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("file.txt"), "another amd64 image\n").unwrap();
        std::fs::write(other.path().join("Dockerfile"), "FROM scratch\nCOPY file.txt /file.txt\n").unwrap();
        let single = |platform: &str, name: &str, oci: bool, dir: &std::path::Path| {
            let reference = tag(name);
            let output = format!("type=image,name={reference},push=true,oci-mediatypes={oci}");
            let args = ["buildx", "build", "-q", "--platform", platform, "--provenance=false", "--output", &output];
            let mut all = args.to_vec();
            all.push(dir.to_str().unwrap());
            world.docker_ok(&all);
            reference
        };
        let index = tag("index");
        world.docker_ok(&[
            "buildx",
            "build",
            "-q",
            "--platform",
            "linux/amd64,linux/arm64",
            "--provenance=mode=min",
            "--push",
            "-t",
            &index,
            ctx.path().to_str().unwrap(),
        ]);
        Images {
            amd64: single("linux/amd64", "amd64", true, ctx.path()),
            arm64: single("linux/arm64", "arm64", true, ctx.path()),
            arm_v7: single("linux/arm/v7", "arm-v7", true, ctx.path()),
            other_amd64: single("linux/amd64", "other-amd64", true, other.path()),
            docker_amd64: single("linux/amd64", "docker-amd64", false, ctx.path()),
            docker_arm64: single("linux/arm64", "docker-arm64", false, ctx.path()),
            index,
        }
    })
}

/// `docker buildx imagetools create ARGS…` stdout.
fn buildx_create(world: &World, args: &[&str]) -> String {
    let mut all = vec!["buildx", "imagetools", "create"];
    all.extend_from_slice(args);
    world.docker_ok(&all)
}

fn request(sources: &[&str], tags: &[&str]) -> ComposeRequest {
    ComposeRequest::new(sources.iter().map(|s| s.to_string()).collect(), tags.iter().map(|t| t.to_string()).collect())
}

async fn planned(world: &World, request: &ComposeRequest) -> Composition {
    compose::plan(&world.registry_client(), request).await.unwrap()
}

/// Our dry run equals buildx's, byte for byte (buildx prints the JSON and a newline).
async fn assert_dry_run_matches(world: &World, request: &ComposeRequest) -> Composition {
    let mut args = vec!["--dry-run".to_owned()];
    for a in &request.annotations {
        args.extend(["--annotation".to_owned(), a.clone()]);
    }
    args.extend(request.sources.iter().cloned());
    let theirs = buildx_create(world, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let ours = planned(world, request).await;
    assert_eq!(format!("{}\n", ours.json), theirs, "dry run of {:?}", request.sources);
    ours
}

async fn raw(client: &RegistryClient, reference: &str) -> String {
    let fetched = client.manifest(&reference.parse::<ImageReference>().unwrap()).await.unwrap();
    String::from_utf8(fetched.bytes.to_vec()).unwrap()
}

fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

#[tokio::test]
async fn two_single_platform_images_compose_into_the_index_buildx_makes_with_annotations_at_both_levels() {
    let world = World::new();
    let images = images(&world);
    let plain = request(&[&images.amd64, &images.arm_v7], &[]);
    let ours = assert_dry_run_matches(&world, &plain).await;
    assert_eq!(ours.media_type, "application/vnd.oci.image.index.v1+json");
    let platforms: Vec<_> = ours.entries.iter().map(|e| e.platform.clone().unwrap()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm/v7"], "platforms come from each image's config");
    assert!(ours.conflicts.is_empty());

    let mut annotated = request(&[&images.amd64, &images.arm64], &[]);
    annotated.annotations = vec![
        "index:org.opencontainers.image.title=a<b>&c".into(),
        "manifest-descriptor:org.example.all=1".into(),
        "manifest-descriptor[linux/arm64]:org.example.only=arm64".into(),
    ];
    let ours = assert_dry_run_matches(&world, &annotated).await;
    let arm = ours.entries.iter().find(|e| e.platform.as_deref() == Some("linux/arm64")).unwrap();
    assert_eq!(arm.annotations.len(), 2);
    assert!(ours.json.contains(r#""org.opencontainers.image.title": "a\u003cb\u003e\u0026c""#));
}

#[tokio::test]
async fn an_index_merges_with_an_image_and_one_source_is_kept_or_wrapped_as_buildx_does() {
    let world = World::new();
    let images = images(&world);
    // The index's entries (platforms and their attestations) then the image's.
    let merged = assert_dry_run_matches(&world, &request(&[&images.index, &images.arm_v7], &[])).await;
    assert_eq!(merged.entries.len(), 5);
    assert_eq!(merged.entries.iter().filter(|e| e.attests.is_some()).count(), 2);
    assert!(merged.conflicts.is_empty(), "attestations are not platforms");
    assert_eq!(merged.sources[0].platforms, ["linux/amd64", "linux/arm64"]);
    // The same image twice is one entry.
    let twice = assert_dry_run_matches(&world, &request(&[&images.amd64, &images.amd64], &[])).await;
    assert_eq!(twice.entries.len(), 1);
    // One index: its own bytes. One image: an index of one.
    let kept = assert_dry_run_matches(&world, &request(&[&images.index], &[])).await;
    assert_eq!(kept.json, raw(&world.registry_client(), &images.index).await);
    let wrapped = assert_dry_run_matches(&world, &request(&[&images.arm64], &[])).await;
    assert_eq!(wrapped.entries.len(), 1);
}

#[tokio::test]
async fn docker_media_types_make_a_docker_manifest_list_where_annotations_do_not_go() {
    let world = World::new();
    let images = images(&world);
    let mut docker = request(&[&images.docker_amd64, &images.docker_arm64], &[]);
    docker.annotations = vec!["index:org.example=ignored".into()];
    let ours = assert_dry_run_matches(&world, &docker).await;
    assert_eq!(ours.media_type, "application/vnd.docker.distribution.manifest.list.v2+json");
    assert!(!ours.json.contains("org.example"));
    // Mixed with an OCI image: an OCI index.
    let mixed = assert_dry_run_matches(&world, &request(&[&images.docker_amd64, &images.arm64], &[])).await;
    assert_eq!(mixed.media_type, "application/vnd.oci.image.index.v1+json");
}

#[tokio::test]
async fn a_pushed_index_in_another_repository_holds_what_buildx_pushes_with_every_blob_mounted() {
    let world = World::new();
    let images = images(&world);
    let repository = unique("compose-test/pushed");
    // Ours goes through a proxy that sees each request; buildx's straight to the registry.
    let proxy = FaultyProxy::start(&world.registry, Duration::ZERO, |_, _| None).await;
    let through = |r: &str| r.replacen(&world.registry, &proxy.address, 1);
    let ours_tag = format!("{}/{repository}:ours", proxy.address);
    let theirs_tag = format!("{}/{repository}:buildx", world.registry);
    let mut ours_request = request(&[&through(&images.index), &through(&images.arm_v7)], &[&ours_tag]);
    ours_request.annotations = vec!["index:org.example.pushed=yes".into()];
    let client = world.registry_client();
    let composition = compose::plan(&client, &ours_request).await.unwrap();
    let events = std::sync::Mutex::new(Vec::new());
    compose::push(&client, &composition, &|e| events.lock().unwrap().push(e)).await.unwrap();
    let by_digest = format!("{}/{repository}@{}", world.registry, composition.sources[0].digest);
    let source_index_before_buildx = raw(&client, &by_digest).await;
    buildx_create(
        &world,
        &["-t", &theirs_tag, "--annotation", "index:org.example.pushed=yes", &images.index, &images.arm_v7],
    );

    let ours = raw(&client, &format!("{}/{repository}:ours", world.registry)).await;
    assert_eq!(ours, raw(&client, &theirs_tag).await, "the two tags hold the same index");
    assert_eq!(ours, composition.json);
    // Every platform, config and layer is readable from the new repository.
    let inspection = manifest::inspect(
        &client,
        &format!("{}/{repository}:ours", world.registry).parse().unwrap(),
        InspectOptions { referrers: false, depth: Depth::Full },
    )
    .await
    .unwrap();
    assert_eq!(inspection.platforms.len(), 3);
    assert!(inspection.platforms.iter().all(|p| p.error.is_none() && p.config_raw.is_some()));

    let uploads = format!("/v2/{repository}/blobs/uploads/");
    let seen = proxy.seen();
    assert!(seen.iter().any(|s| s.method == "POST" && s.path == uploads), "blobs were mounted");
    assert!(
        !seen.iter().any(|s| (s.method == "PUT" || s.method == "PATCH") && s.path.starts_with(&uploads)),
        "no blob was uploaded: cross-repository mounts moved them"
    );
    let events = events.into_inner().unwrap();
    assert!(events.iter().any(|e| matches!(e, PushEvent::Copied { mounted, uploaded: 0, .. } if *mounted > 0)));
    assert!(matches!(events.last(), Some(PushEvent::Pushed { to, .. }) if *to == ours_tag));

    // Each source is copied whole, as buildx copies it: the source index itself is in the tag's
    // repository (read before buildx pushed there), untagged, and the copy names it.
    let source_index = composition.sources[0].digest.clone();
    let copied: Vec<&str> = events
        .iter()
        .filter_map(|e| if let PushEvent::Copying { digest, .. } = e { Some(digest.as_str()) } else { None })
        .collect();
    assert_eq!(copied, [source_index.as_str(), composition.sources[1].digest.as_str()]);
    assert_eq!(source_index_before_buildx, raw(&client, &images.index).await);
}

#[tokio::test]
async fn append_adds_to_the_index_the_tag_holds_as_buildx_does() {
    let world = World::new();
    let images = images(&world);
    let repository = format!("{}/{}", world.registry, unique("compose-test/append"));
    let (ours_tag, theirs_tag) = (format!("{repository}:ours"), format!("{repository}:buildx"));
    for tag in [&ours_tag, &theirs_tag] {
        buildx_create(&world, &["-t", tag, &images.amd64]);
    }
    let client = world.registry_client();
    let mut append = request(&[&images.arm64], &[&ours_tag]);
    append.append = true;
    // Spawned, as the window and multi-node builds run them: plan and push are Send.
    let spawned = client.clone();
    let composition = tokio::spawn(async move {
        let composition = compose::plan(&spawned, &append).await.unwrap();
        compose::push(&spawned, &composition, &|_| {}).await.unwrap();
        composition
    })
    .await
    .unwrap();
    assert_eq!(composition.sources[0].input, ours_tag, "the tag is the first source");
    buildx_create(&world, &["--append", "-t", &theirs_tag, &images.arm64]);
    assert_eq!(raw(&client, &ours_tag).await, raw(&client, &theirs_tag).await);
    assert_eq!(composition.entries.len(), 2);
}

#[tokio::test]
async fn a_platform_filter_keeps_attestations_with_their_platform_and_prefer_index_false_keeps_one_image() {
    let world = World::new();
    let images = images(&world);
    let mut arm_only = request(&[&images.index], &[]);
    arm_only.platforms = vec!["linux/arm64".into()];
    let filtered = planned(&world, &arm_only).await;
    let arm = filtered.entries.iter().find(|e| e.attests.is_none()).unwrap();
    assert_eq!(arm.platform.as_deref(), Some("linux/arm64"));
    assert_eq!(filtered.entries.len(), 2, "arm64 and its provenance");
    assert_eq!(filtered.entries[1].attests.as_deref(), Some(arm.digest.as_str()));
    assert_eq!(filtered.dropped.len(), 2);

    let mut carbon = request(&[&images.arm64], &[]);
    carbon.prefer_index = false;
    let kept = planned(&world, &carbon).await;
    assert_eq!(kept.json, raw(&world.registry_client(), &images.arm64).await);
    assert_eq!(kept.media_type, "application/vnd.oci.image.manifest.v1+json");

    let mut removed = request(&[&images.index, &images.arm_v7], &[]);
    removed.exclude = vec![arm.digest.clone()];
    let without_arm = planned(&world, &removed).await;
    let left: Vec<_> = without_arm.entries.iter().filter(|e| e.attests.is_none()).map(|e| e.platform.clone()).collect();
    assert_eq!(left, [Some("linux/amd64".into()), Some("linux/arm/v7".into())]);
    assert_eq!(without_arm.entries.len(), 3, "amd64, its provenance and arm/v7");
}

async fn tag_is_absent(client: &RegistryClient, tag: &str) -> bool {
    client.manifest(&tag.parse().unwrap()).await.is_err_and(|e| matches!(e.code(), ErrorCode::NotFound))
}

#[tokio::test]
async fn a_missing_source_an_unreachable_registry_and_a_conflict_fail_clearly_and_push_nothing() {
    let world = World::new();
    let images = images(&world);
    let client = world.registry_client();
    let tag = format!("{}/{}:t", world.registry, unique("compose-test/refused"));

    let missing = format!("{}/compose-test/src:no-such-tag", world.registry);
    let err = compose::plan(&client, &request(&[&images.amd64, &missing], &[&tag])).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
    assert!(err.to_string().contains("no-such-tag"), "{err}");

    let err = compose::plan(&client, &request(&["127.0.0.1:9/app:v1"], &[&tag])).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::RegistryUnreachable, "{err}");
    assert!(err.to_string().contains("127.0.0.1:9"), "{err}");

    let conflicting =
        compose::plan(&client, &request(&[&images.amd64, &images.other_amd64, &images.arm64], &[&tag])).await.unwrap();
    assert_eq!(conflicting.conflicts.len(), 1);
    assert_eq!(conflicting.conflicts[0].platform, "linux/amd64");
    let err = compose::push(&client, &conflicting, &|_| {}).await.unwrap_err();
    assert!(matches!(err, ComposeError::ConflictingPlatforms { .. }));
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().starts_with("linux/amd64 comes from more than one source"), "{err}");
    assert!(tag_is_absent(&client, &tag).await, "nothing was pushed under the tag");
}

#[tokio::test]
async fn fake_faulty_proxy_a_malformed_manifest_and_a_failed_copy_leave_the_tag_as_it_was() {
    let world = World::new();
    let images = images(&world);
    let repository = unique("compose-test/faults");
    let proxy = FaultyProxy::start(&world.registry, Duration::ZERO, move |method, path| {
        if method == "GET" && path.ends_with("/manifests/garbled") {
            return Some(Fault::Status(200, "OK", "{not json".into()));
        }
        (method == "PUT" && path.contains("/manifests/sha256:")).then(|| {
            Fault::Status(
                500,
                "Storage Full (injected)",
                r#"{"errors":[{"code":"UNKNOWN","message":"storage is full"}]}"#.into(),
            )
        })
    })
    .await;
    let client = world.registry_client();
    let garbled = format!("{}/compose-test/src:garbled", proxy.address);
    let err = compose::plan(&client, &request(&[&garbled], &[])).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Malformed, "{err}");

    // The tag holds amd64; composing arm64 into it fails copying, and amd64 is what it still holds.
    let tag = format!("{}/{repository}:t", proxy.address);
    buildx_create(&world, &["-t", &format!("{}/{repository}:t", world.registry), &images.amd64]);
    let before = raw(&client, &tag).await;
    let source = images.arm64.replacen(&world.registry, &proxy.address, 1);
    let mut append = request(&[&source], &[&tag]);
    append.append = true;
    let composition = compose::plan(&client, &append).await.unwrap();
    let err = compose::push(&client, &composition, &|_| {}).await.unwrap_err();
    assert!(err.to_string().contains("storage is full"), "{err}");
    assert_eq!(raw(&client, &tag).await, before, "the tag was not touched");
}
