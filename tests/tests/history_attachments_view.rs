//! A build record's attachments opened in the Images view's inspector, used as a person would: a
//! build pushed from a terminal (`buildlane build --push --provenance mode=max`) opens its provenance from
//! the registry, on the pushed image's attestations; a build whose image was never pushed
//! (`docker buildx build --provenance=mode=max`) opens the provenance BuildKit recorded from the
//! builder's content store, summarised the same way.

use std::path::Path;
use std::process::Command;

use buildlane_e2e::App;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

fn nonce() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// A context whose Dockerfile builds from the test registry's busybox, unlike any other build.
fn context(nonce: u128) -> (tempfile::TempDir, String) {
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo {nonce} > /built\n", env("BUILDLANE_REGISTRY"));
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();
    (context, name)
}

#[tokio::test]
async fn a_pushed_builds_provenance_opens_in_the_inspector_from_the_registry() {
    let nonce = nonce();
    let (context, name) = context(nonce);
    let image = format!("{}/e2e/history-attachments:{nonce}", env("BUILDLANE_REGISTRY"));
    let app = App::launch().await;
    // Buildlane's CLI on the window's docker config and data: the engine's own BuildKit records no
    // exporter, so what was pushed where is known from Buildlane's record of the build.
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/buildlane");
    let built = Command::new(cli)
        .args(["build", "--push", "--provenance", "mode=max", "-t", &image])
        .arg(context.path())
        .env("DOCKER_CONFIG", app.config_dir())
        .env("DOCKER_HOST", env("DOCKER_HOST"))
        .env("XDG_DATA_HOME", app.config_dir().join("data"))
        .output()
        .expect("buildlane runs (cargo build -p buildlane)");
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));

    let build_ref = app.open_history_record(&name).await;
    let provenance =
        app.wait_for("[data-testid=history-attachment][title^='Open in the Images view from '][data-digest]", 30).await;
    assert!(provenance.text().await.unwrap().starts_with("https://slsa.dev/provenance/"), "provenance listed first");
    provenance.click().await.unwrap();

    // The Images view, on the pushed image by digest, its platform's attestations shown.
    app.wait_for("[data-testid=images-view]", 10).await;
    let summary = app.wait_for("[data-testid=attestations] [data-testid=provenance]", 60).await;
    let text = summary.text().await.unwrap();
    assert!(text.contains("busybox"), "the provenance names the base image it read: {text}");
    let input = app.wait_for("input[name=reference]", 5).await;
    let opened = input.prop("value").await.unwrap().unwrap_or_default();
    let repository = format!("{}/e2e/history-attachments@sha256:", env("BUILDLANE_REGISTRY"));
    assert!(opened.starts_with(&repository), "the pushed image opened by digest: {opened}");
    app.screenshot("history-attachment-pushed").await;

    app.invoke("delete_build", serde_json::json!({ "builder": "", "buildRef": build_ref })).await.unwrap();
    app.close().await;
}

#[tokio::test]
async fn a_provenance_never_pushed_opens_in_the_inspector_from_the_builder() {
    let nonce = nonce();
    let (context, name) = context(nonce);
    let app = App::launch().await;
    let ctx = context.path().to_string_lossy().into_owned();
    app.docker_ok(&["buildx", "build", "--progress", "plain", "--provenance=mode=max", &ctx]);

    let build_ref = app.open_history_record(&name).await;
    let provenance = app.wait_for("[data-testid=history-attachment][title='Open in the Images view']", 30).await;
    assert!(provenance.text().await.unwrap().starts_with("https://slsa.dev/provenance/"));
    provenance.click().await.unwrap();

    app.wait_for("[data-testid=images-view]", 10).await;
    let recorded = app.wait_for(&format!("[data-testid=record-attestation][data-ref='{build_ref}']"), 30).await;
    let source = app.wait_for("[data-testid=record-attestation-source][data-kind=builder]", 5).await;
    assert!(source.text().await.unwrap().contains("content store"), "it says where it was read from");
    let text = recorded.find(fantoccini::Locator::Css("[data-testid=provenance]")).await.unwrap().text().await.unwrap();
    assert!(text.contains("busybox"), "the provenance names the base image it read: {text}");
    app.wait_for("[data-testid=record-attestation-raw]", 5).await.click().await.unwrap();
    let raw = app.wait_for("[data-testid=record-attestation] pre", 5).await.text().await.unwrap();
    assert!(raw.contains("\"buildType\""), "the document as BuildKit recorded it");
    app.screenshot("history-attachment-recorded").await;

    app.invoke("delete_build", serde_json::json!({ "builder": "", "buildRef": build_ref })).await.unwrap();
    app.close().await;
}
