//! Build options and outputs: args, target, labels, load into the engine (and push too), OCI tarball,
//! several outputs of one build, a large context, and the local build record.

mod support;

use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::own_cache::prune_marked;
use support::written::Written;
use support::World;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn args_target_and_labels_reach_the_image_loaded_into_the_engine() {
    let world = World::new();
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {r}/busybox:latest AS base\nARG GREETING=hello\nRUN echo \"greeting: $GREETING\" | tee /greeting\n\nFROM base AS final\nRUN echo never-built\n",
            r = world.registry
        ),
    )]);
    let tag = format!("buildlane-test/loaded:{}", std::process::id());
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            tags: vec![tag.clone()],
            build_args: vec!["GREETING=bonjour".into()],
            labels: vec!["org.example.team=builds".into()],
            target: "base".into(),
            no_cache: true,
            outputs: vec![BuildOutput::load()],
            ..request(&ctx)
        },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert!(seen.get().logs.values().any(|l| l.contains("greeting: bonjour")));
    assert!(!seen.get().steps.values().any(|s| s.name.contains("never-built")), "the target stops at base");
    let label =
        world.docker_ok(&["image", "inspect", "--format", "{{index .Config.Labels \"org.example.team\"}}", &tag]);
    assert_eq!(label.trim(), "builds");
    assert_eq!(world.docker_ok(&["run", "--rm", &tag, "cat", "/greeting"]).trim(), "greeting: bonjour");
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test]
async fn an_oci_tarball_is_written_where_asked() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo tar > /t\n", world.registry))]);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("image.tar");
    let outcome = build(
        &world,
        BuildRequest {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            outputs: vec![BuildOutput::oci(dest.to_string_lossy().into_owned())],
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let listing = std::process::Command::new("tar").arg("-tf").arg(&dest).output().unwrap();
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(names.lines().any(|n| n == "index.json") && names.contains("oci-layout"), "{names}");
}

#[tokio::test]
async fn a_tar_output_holds_the_result_filesystem() {
    let world = World::new();
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo in-the-tar > /marker\n", world.registry))]);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("rootfs.tar");
    let output = BuildOutput::tar(dest.to_string_lossy().into_owned());
    let outcome = build(&world, BuildRequest { outputs: vec![output], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let marker = std::process::Command::new("tar").arg("-xOf").arg(&dest).arg("marker").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&marker.stdout).trim(), "in-the-tar");
}

#[tokio::test]
async fn one_build_writes_a_folder_a_filesystem_tar_and_an_oci_tarball_each_where_asked() {
    let world = World::new();
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo thrice > /marker\n", world.registry))]);
    let out = tempfile::tempdir().unwrap();
    let at = |name: &str| out.path().join(name).to_string_lossy().into_owned();
    let folder = BuildOutput::local(at("rootfs"));
    let tar = BuildOutput::tar(at("rootfs.tar"));
    let oci = BuildOutput::oci(at("image.tar"));
    let tag = format!("{}/buildlane-test/three-outputs:{}", world.registry, std::process::id());

    // Three exporters of one solve, each sending its files back under its own id.
    let outcome = build(
        &world,
        BuildRequest {
            tags: vec![tag.clone()],
            outputs: vec![folder.clone(), tar.clone(), oci.clone()],
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;

    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let (folder, tar, oci) = (Written::read(&folder), Written::read(&tar), Written::read(&oci));
    assert_eq!(folder.text("marker"), "thrice");
    assert_eq!(folder.0, tar.0, "the folder and the tar hold the same filesystem");
    let index = oci.json("index.json");
    assert_eq!(index["manifests"][0]["annotations"]["io.containerd.image.name"], tag.as_str(), "{index}");
    assert_eq!(outcome.tags, [tag], "the OCI tarball's image is named by the tags");
    let mut left: Vec<_> = std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["image.tar", "rootfs", "rootfs.tar"], "no partial file left beside them");
}

#[tokio::test]
async fn a_local_output_writes_the_result_into_a_folder() {
    let world = World::new();
    let ctx = context(&[
        ("Dockerfile", "FROM scratch AS files\nCOPY tree /\n"),
        ("tree/top.txt", "top"),
        ("tree/sub/deep.txt", "deep"),
    ]);
    std::os::unix::fs::symlink("top.txt", ctx.path().join("tree/link")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("result");
    let output = BuildOutput::local(dest.to_string_lossy().into_owned());
    let outcome = build(&world, BuildRequest { outputs: vec![output], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!(std::fs::read_to_string(dest.join("top.txt")).unwrap(), "top");
    assert_eq!(std::fs::read_to_string(dest.join("sub/deep.txt")).unwrap(), "deep");
    assert_eq!(std::fs::read_link(dest.join("link")).unwrap(), std::path::Path::new("top.txt"));
}

#[tokio::test]
async fn a_context_of_twenty_thousand_files_arrives_whole() {
    let world = World::new();
    let ctx = context(&[
        (
            "Dockerfile",
            &format!("FROM {}/busybox:latest\nCOPY files /files\nRUN find /files -type f | wc -l\n", world.registry),
        ),
        (".dockerignore", "ignored\n"),
        ("ignored/big", "not sent"),
    ]);
    for dir in 0..100 {
        let d = ctx.path().join(format!("files/d{dir:03}"));
        std::fs::create_dir_all(&d).unwrap();
        for file in 0..200 {
            std::fs::write(d.join(format!("f{file:03}.txt")), format!("{dir}-{file}")).unwrap();
        }
    }
    let seen = Seen::default();
    let outcome = build(&world, BuildRequest { no_cache: true, ..request(&ctx) }, &seen).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let seen = seen.get();
    let count =
        seen.steps.values().find(|s| s.name.starts_with("RUN find")).and_then(|s| seen.logs.get(&s.id)).cloned();
    assert_eq!(count.as_deref().map(str::trim), Some("20000"));
}

#[tokio::test]
async fn every_build_is_recorded_with_its_request_outcome_and_logs() {
    let world = World::new();
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo recorded-output\n", world.registry))]);
    let req = BuildRequest { no_cache: true, ..request(&ctx) };
    let outcome = build(&world, req.clone(), &Seen::default()).await;
    let history = Records::new(&world.env());
    let records = history.recent(10);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].request, req);
    assert_eq!(records[0].outcome.build_ref, outcome.build_ref);
    let logs = history.logs(&outcome.build_ref).unwrap();
    assert!(logs.iter().any(|l| l.text.contains("recorded-output")));
}

#[tokio::test]
async fn a_push_to_a_registry_that_needs_a_login_uses_the_docker_config() {
    let world = World::new();
    let registry = world.log_in_to_auth_registry();
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo private > /p\n", world.registry))]);
    let tag = format!("{registry}/private/app:{}", std::process::id());
    let outcome = build(
        &world,
        BuildRequest { tags: vec![tag.clone()], outputs: vec![BuildOutput::push()], ..request(&ctx) },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    // The peer, logged in through the same config, finds the pushed image.
    let inspected = world.docker_ok(&["buildx", "imagetools", "inspect", &tag]);
    assert!(inspected.contains(&outcome.digest.unwrap()), "{inspected}");
}

#[tokio::test]
async fn push_and_load_puts_the_image_in_the_registry_and_the_engine() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo both > /b\n", world.registry))]);
    let tag = format!("{}/buildlane-test/pushed-and-loaded:{}", world.registry, std::process::id());
    let outcome = build(
        &world,
        BuildRequest {
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::push(), BuildOutput::load()],
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let inspected = world.docker_ok(&["buildx", "imagetools", "inspect", &tag]);
    assert!(inspected.contains(outcome.digest.as_deref().unwrap()), "{inspected}");
    assert_eq!(world.docker_ok(&["run", "--rm", &tag, "cat", "/b"]).trim(), "both");
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test]
async fn a_secret_from_a_file_is_readable_in_its_run_step_only() {
    let world = World::new();
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest\nRUN --mount=type=secret,id=token wc -c < /run/secrets/token && ls /run/secrets\nRUN ls /run/secrets 2>&1 || echo no-secrets-here\n",
            world.registry
        ),
    )]);
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "s3cr3t-value").unwrap();
    let seen = Seen::default();
    let secrets = vec![format!("id=token,src={}", secret.path().display())];
    let outcome = build(&world, BuildRequest { secrets, no_cache: true, ..request(&ctx) }, &seen).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let logs: String = seen.get().logs.values().cloned().collect();
    assert!(logs.contains("12\n") && logs.contains("token"), "{logs}");
    assert!(!logs.contains("s3cr3t-value"));

    let missing = BuildRequest { secrets: vec!["id=token,src=/nonexistent/secret".to_owned()], ..request(&ctx) };
    let (builders, seen) = (world.builders(), Seen::default());
    let record = seen.record();
    let mut recording = Records::new(builders.contexts().environment()).recording();
    let refused =
        builds::run(&builders, &missing, None, &record, CancellationToken::new(), &mut recording).await.unwrap_err();
    assert_eq!(refused.to_string(), "secret token: file /nonexistent/secret does not exist");
}

#[tokio::test]
async fn build_cache_exported_to_the_registry_is_reused_once_the_local_cache_is_gone() {
    let world = World::new();
    let nonce = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo '{nonce}' > /nonce\n", world.registry))]);
    let cache = format!("{}/buildlane-test/cache:{}", world.registry, std::process::id());
    let exported = build(
        &world,
        BuildRequest { cache_to: vec![format!("type=registry,ref={cache},mode=max")], ..request(&ctx) },
        &Seen::default(),
    )
    .await;
    assert_eq!(exported.state, BuildState::Succeeded, "{:?}", exported.failure);
    assert!(prune_marked(&world, &nonce).await > 0, "the step's records were in the engine's cache");

    let imported = build(&world, BuildRequest { cache_from: vec![cache], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(imported.state, BuildState::Succeeded, "{:?}", imported.failure);
    let run = imported.steps.iter().find(|s| s.name.starts_with("RUN echo")).unwrap();
    assert_eq!(run.state, buildlane_core::progress::StepState::Cached, "{run:?}");
}

/// A stand-in SBOM scanner (fake_scanner: BuildKit's default one cannot be pulled here) that follows
/// BuildKit's scanner protocol: it reads the result at $BUILDKIT_SCAN_SOURCE and writes an in-toto
/// statement with an SPDX document to $BUILDKIT_SCAN_DESTINATION.
const FAKE_SCANNER: &str = r#"#!/bin/sh
set -e
machine=$(cat "$BUILDKIT_SCAN_SOURCE/machine.txt")
cat > "$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json" <<JSON
{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],
 "predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"fake-scan","dataLicense":"CC0-1.0",
  "packages":[{"SPDXID":"SPDXRef-Package-machine","name":"machine.txt","versionInfo":"$machine"}]}}
JSON
"#;

#[tokio::test]
async fn fake_scanner_an_sbom_is_attached_to_every_platform_and_readable_in_the_inspector() {
    let world = World::new();
    let scanner = format!("{}/buildlane-test/fake-scanner:{}", world.registry, std::process::id());
    let scanner_ctx = context(&[
        (
            "Dockerfile",
            &format!(
                "FROM {}/busybox:latest\nCOPY scan.sh /scan.sh\nRUN chmod +x /scan.sh\nENTRYPOINT [\"/scan.sh\"]\n",
                world.registry
            ),
        ),
        ("scan.sh", FAKE_SCANNER),
    ]);
    world.docker_ok(&["buildx", "build", "--push", "-t", &scanner, scanner_ctx.path().to_str().unwrap()]);

    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN uname -m > /machine.txt\n", world.registry))]);
    let tag = format!("{}/buildlane-test/with-sbom:{}", world.registry, std::process::id());
    let outcome = build(
        &world,
        BuildRequest {
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::push()],
            sbom: true,
            sbom_generator: scanner.clone(),
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);

    let reference = tag.parse().unwrap();
    let inspection =
        buildlane_core::images::manifest::inspect(&world.registry_client(), &reference, Default::default())
            .await
            .unwrap();
    assert_eq!(inspection.platforms.len(), 2);
    for (platform, machine) in inspection.platforms.iter().zip(["x86_64", "aarch64"]) {
        let attestation = platform.attestations.first().unwrap_or_else(|| panic!("{} is attested", platform.platform));
        let kinds: Vec<&str> = attestation.statements.iter().map(|s| s.predicate_type.as_str()).collect();
        assert!(kinds.contains(&"https://spdx.dev/Document"), "{}: {kinds:?}", platform.platform);
        assert!(kinds.iter().any(|k| k.starts_with("https://slsa.dev/provenance/")), "provenance too: {kinds:?}");
        let sbom = attestation.sbom.as_ref().expect("the SBOM is read");
        // The scanner read each platform's own result.
        let scanned = sbom.packages.iter().find(|p| p.name == "machine.txt").expect("the scanner's package");
        assert_eq!(scanned.version.as_deref(), Some(machine), "{}", platform.platform);
    }
}
