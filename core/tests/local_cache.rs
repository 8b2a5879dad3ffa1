//! Local cache folders (`--cache-to type=local,dest=DIR`, `--cache-from type=local,src=DIR`), served
//! over the session as containerd's content service, against the real engine and buildx 0.13.1.

mod support;

use std::path::Path;

use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildRequest, BuildState};
use buildlane_core::progress::StepState;
use support::build::{build, context, request, Seen};
use support::own_cache::prune_marked;
use support::World;
use tokio_util::sync::CancellationToken;

fn nonce() -> String {
    format!("{}-{:?}", std::process::id(), std::time::SystemTime::now())
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn blob(dir: &Path, digest: &str) -> std::path::PathBuf {
    dir.join("blobs/sha256").join(digest.strip_prefix("sha256:").unwrap())
}

/// Checks `dir` is an OCI layout whose index.json tags a cache manifest (an index, as BuildKit
/// writes by default) of which every blob is there with its digest.
fn assert_cache_layout(dir: &Path) {
    assert_eq!(json(&dir.join("oci-layout"))["imageLayoutVersion"], "1.0.0");
    let index = json(&dir.join("index.json"));
    let latest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "latest")
        .unwrap_or_else(|| panic!("no latest in {index}"));
    let digest = latest["digest"].as_str().unwrap();
    let manifest = json(&blob(dir, digest));
    let mut entries: Vec<serde_json::Value> = manifest["manifests"]
        .as_array()
        .or(manifest["layers"].as_array())
        .unwrap_or_else(|| panic!("not a cache manifest: {manifest}"))
        .clone();
    assert!(entries.iter().any(|e| e["mediaType"] == "application/vnd.buildkit.cacheconfig.v0"), "{manifest}");
    entries.extend(manifest.get("config").cloned());
    assert!(entries.len() > 1, "the cache has layers: {manifest}");
    for entry in &entries {
        let digest = entry["digest"].as_str().unwrap();
        let data = std::fs::read(blob(dir, digest)).unwrap_or_else(|e| panic!("blob {digest}: {e}"));
        let sum = format!("sha256:{}", hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&data)));
        assert_eq!(sum, digest, "blob content matches its digest");
    }
}

fn run_step_cached(outcome: &builds::BuildOutcome) -> StepState {
    outcome.steps.iter().find(|s| s.name.starts_with("RUN echo")).unwrap_or_else(|| panic!("{:?}", outcome.steps)).state
}

#[tokio::test]
async fn a_local_cache_folder_is_written_as_an_oci_layout_and_reused_once_the_engine_cache_is_gone() {
    let world = World::new();
    let nonce = nonce();
    let ctx = context(&[(
        "Dockerfile",
        &format!("FROM {}/busybox:latest\nRUN echo '{nonce}' > /nonce\nRUN echo second > /second\n", world.registry),
    )]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("cache");
    let to = format!("type=local,dest={},mode=max", dir.display());
    let req = BuildRequest { cache_to: vec![to.clone()], ..request(&ctx) };
    assert!(builds::command_line(&req).contains(&to), "{}", builds::command_line(&req));
    let exported = build(&world, req, &Seen::default()).await;
    assert_eq!(exported.state, BuildState::Succeeded, "{:?}", exported.failure);
    assert_cache_layout(&dir);
    assert_eq!(std::fs::read_dir(dir.join("ingest")).map(|d| d.count()).unwrap_or(0), 0, "no ingest left");

    // Exporting again into the same folder keeps one `latest` and reuses the blobs.
    let again = build(&world, BuildRequest { cache_to: vec![to], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(again.state, BuildState::Succeeded, "{:?}", again.failure);
    assert_eq!(json(&dir.join("index.json"))["manifests"].as_array().unwrap().len(), 1);

    assert!(prune_marked(&world, &nonce).await > 0, "the step's records were in the engine's cache");
    let from = format!("type=local,src={}", dir.display());
    let imported = build(&world, BuildRequest { cache_from: vec![from], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(imported.state, BuildState::Succeeded, "{:?}", imported.failure);
    assert_eq!(run_step_cached(&imported), StepState::Cached, "{:?}", imported.steps);
}

#[tokio::test]
async fn local_cache_folders_are_exchanged_with_buildx_both_ways() {
    let world = World::new();
    let nonce = nonce();
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo '{nonce}' > /nonce\n", world.registry))]);
    let out = tempfile::tempdir().unwrap();
    let by_buildx = out.path().join("by-buildx");
    let ctx_path = ctx.path().to_str().unwrap();
    world.docker_ok(&[
        "buildx",
        "build",
        "--cache-to",
        &format!("type=local,dest={},mode=max", by_buildx.display()),
        ctx_path,
    ]);
    assert_cache_layout(&by_buildx);
    assert!(prune_marked(&world, &nonce).await > 0, "the step's records were in the engine's cache");
    let from = format!("type=local,src={}", by_buildx.display());
    let imported = build(&world, BuildRequest { cache_from: vec![from], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(imported.state, BuildState::Succeeded, "{:?}", imported.failure);
    assert_eq!(run_step_cached(&imported), StepState::Cached, "{:?}", imported.steps);

    // And the reverse: a folder Buildlane wrote, imported by buildx.
    let by_buildlane = out.path().join("by-buildlane");
    let to = format!("type=local,dest={},mode=max", by_buildlane.display());
    let exported = build(&world, BuildRequest { cache_to: vec![to], ..request(&ctx) }, &Seen::default()).await;
    assert_eq!(exported.state, BuildState::Succeeded, "{:?}", exported.failure);
    // Built from an imported cache: whatever of the step the engine kept goes too.
    prune_marked(&world, &nonce).await;
    let printed = world.docker(&[
        "buildx",
        "build",
        "--progress",
        "plain",
        "--cache-from",
        &format!("type=local,src={}", by_buildlane.display()),
        ctx_path,
    ]);
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let log = String::from_utf8_lossy(&printed.stderr);
    let vertex = log.lines().find(|l| l.contains("] RUN echo")).and_then(|l| l.split_whitespace().next()).unwrap();
    assert!(log.lines().any(|l| l == format!("{vertex} CACHED")), "buildx did not reuse the cache:\n{log}");
}

#[tokio::test]
async fn unusable_local_cache_folders_are_refused_before_the_build() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", "FROM scratch\n")]);
    let out = tempfile::tempdir().unwrap();
    let refuse = |req: BuildRequest| {
        let builders = world.builders();
        async move {
            let seen = Seen::default();
            let record = seen.record();
            let mut recording = Records::new(builders.contexts().environment()).recording();
            builds::run(&builders, &req, None, &record, CancellationToken::new(), &mut recording)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    let missing = out.path().join("missing");
    let err =
        refuse(BuildRequest { cache_from: vec![format!("type=local,src={}", missing.display())], ..request(&ctx) })
            .await;
    assert_eq!(err, format!("cannot import cache: {} does not exist", missing.display()));

    let plain = out.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let err =
        refuse(BuildRequest { cache_from: vec![format!("type=local,src={}", plain.display())], ..request(&ctx) }).await;
    assert_eq!(err, format!("cannot import cache: {} is not an OCI layout (no readable index.json)", plain.display()));

    std::fs::write(plain.join("index.json"), r#"{"schemaVersion":2,"manifests":[]}"#).unwrap();
    let err =
        refuse(BuildRequest { cache_from: vec![format!("type=local,src={}", plain.display())], ..request(&ctx) }).await;
    assert_eq!(err, format!("cannot import cache: {}/index.json names no cache tagged \"latest\"", plain.display()));

    let err = refuse(BuildRequest { cache_from: vec!["type=local".into()], ..request(&ctx) }).await;
    assert_eq!(
        err,
        "invalid cache import \"type=local\": expected type=registry,ref=REF, type=local,src=DIR or type=inline"
    );

    let file = out.path().join("file");
    std::fs::write(&file, "not a folder").unwrap();
    let err =
        refuse(BuildRequest { cache_to: vec![format!("type=local,dest={}/cache", file.display())], ..request(&ctx) })
            .await;
    assert!(err.starts_with(&format!("cannot export cache: {}/cache: ", file.display())), "{err}");
}

/// buildx and Buildlane export cache into one folder at the same time, round after round; both
/// take BuildKit's `index.json.lock` while tagging, so every tag either wrote is there at the end.
#[tokio::test]
async fn buildx_and_buildlane_writing_one_cache_folder_at_once_lose_no_tag() {
    let world = std::sync::Arc::new(World::new());
    let nonce = nonce();
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo '{nonce}' > /nonce\n", world.registry))]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("shared");
    let rounds = 4;
    for round in 0..rounds {
        let peer = world.clone();
        let (ctx_path, dest) = (ctx.path().to_string_lossy().into_owned(), dir.display().to_string());
        let by_buildx = tokio::task::spawn_blocking(move || {
            let to = format!("type=local,dest={dest},tag=buildx-{round}");
            peer.docker(&["buildx", "build", "--cache-to", &to, &ctx_path])
        });
        let to = format!("type=local,dest={},tag=buildlane-{round}", dir.display());
        let ours = build(&world, BuildRequest { cache_to: vec![to], ..request(&ctx) }, &Seen::default()).await;
        let theirs = by_buildx.await.unwrap();
        assert_eq!(ours.state, BuildState::Succeeded, "{:?}", ours.failure);
        assert!(theirs.status.success(), "buildx, round {round}: {}", String::from_utf8_lossy(&theirs.stderr));
    }
    let index = json(&dir.join("index.json"));
    let mut tags: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str().map(str::to_owned))
        .collect();
    tags.sort();
    let mut expected: Vec<String> =
        (0..rounds).flat_map(|r| [format!("buildx-{r}"), format!("buildlane-{r}")]).collect();
    expected.sort();
    assert_eq!(tags, expected, "{index}");
    for m in index["manifests"].as_array().unwrap() {
        assert!(blob(&dir, m["digest"].as_str().unwrap()).is_file(), "every tagged manifest is there: {m}");
    }
    assert!(!dir.join("index.json.lock").exists(), "no lock file is left behind");
}
