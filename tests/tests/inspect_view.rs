//! The Builders view's Inspect panel, used as a person would, on an engine whose builder has a GC
//! policy (the shared test engine's has none).

#[path = "../../core/tests/support/gc_engine.rs"]
mod gc_engine;

use buildlane_e2e::App;
use fantoccini::Locator;
use gc_engine::GcEngine;

#[tokio::test]
async fn inspecting_a_builder_shows_its_version_platforms_and_gc_policy_in_words() {
    let engine = GcEngine::start();
    let app = App::launch_on(&engine.host()).await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    let row = app.wait_for("[data-testid=builder-row][data-builder=default]", 10).await;
    row.find(Locator::Css("[data-testid=builder-inspect]")).await.unwrap().click().await.unwrap();

    let node = app
        .wait_for(
            "[data-testid=inspect-panel][data-builder=default] [data-testid=inspect-node][data-status=running]",
            20,
        )
        .await;
    let version = node.find(Locator::Css("[data-testid=inspect-version]")).await.unwrap().text().await.unwrap();
    assert_eq!(version.trim(), "v0.0.0+unknown");
    let chip = |platform: &str| {
        format!("[data-testid=inspect-platforms] [data-testid=platform-chip][data-platform='{platform}']")
    };
    let amd64 = node.find(Locator::Css(&chip("linux/amd64"))).await.unwrap();
    assert_eq!(amd64.attr("data-emulated").await.unwrap().as_deref(), Some("false"));
    let arm64 = node.find(Locator::Css(&chip("linux/arm64"))).await.unwrap();
    assert_eq!(arm64.attr("data-emulated").await.unwrap().as_deref(), Some("true"));

    let mut rules = Vec::new();
    for rule in node.find_all(Locator::Css("[data-testid=gc-rule]")).await.unwrap() {
        rules.push(rule.attr("data-summary").await.unwrap().unwrap_or_default());
    }
    assert_eq!(rules, ["keep 512 MiB for 48h", "keep 10 GiB", "keep 20 GiB"]);
    let first = node.find(Locator::Css("[data-testid=gc-rule]")).await.unwrap().text().await.unwrap();
    assert!(first.contains("keep 512 MiB for 48h") && first.contains("build cache records"), "{first}");
    // A running builder has nothing to boot.
    assert!(app
        .client
        .find(Locator::Css("[data-testid=inspect-panel] [data-testid=inspect-bootstrap]"))
        .await
        .is_err());
    app.screenshot("inspect-panel").await;
    app.close().await;
}

/// A builder whose "BuildKit" runs but never answers (a busybox stand-in, as moby/buildkit cannot
/// be pulled here): booting it waits, with progress, until cancelled.
#[tokio::test]
async fn bootstrap_shows_its_progress_and_a_cancel_stops_it() {
    let app = App::launch().await;
    let stand_in = "buildlane-test/buildkit-stand-in:1";
    if !app.docker(&["image", "inspect", stand_in]).status.success() {
        let ctx = tempfile::tempdir().unwrap();
        let registry = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set");
        std::fs::write(
            ctx.path().join("Dockerfile"),
            format!(
                "FROM {registry}/busybox:latest\nENTRYPOINT [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\", \"buildkitd\"]\n"
            ),
        )
        .unwrap();
        assert!(app.docker(&["build", "-q", "-t", stand_in, ctx.path().to_str().unwrap()]).status.success());
    }
    let builder = "e2e-inspect-boot";
    let image = format!("image={stand_in}");
    let created =
        app.docker(&["buildx", "create", "--name", builder, "--driver", "docker-container", "--driver-opt", &image]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    app.wait_for("[data-testid=builders-loaded]", 30).await;
    let row = app.wait_for(&format!("[data-testid=builder-row][data-builder={builder}]"), 20).await;
    row.find(Locator::Css("[data-testid=builder-inspect]")).await.unwrap().click().await.unwrap();
    let panel = format!("[data-testid=inspect-panel][data-builder={builder}]");
    app.wait_for(&format!("{panel} [data-testid=inspect-node][data-status=inactive]"), 20).await;
    app.wait_for(&format!("{panel} [data-testid=inspect-bootstrap]"), 5).await.click().await.unwrap();

    let progress = app.wait_for(&format!("{panel} [data-testid=operation-progress]"), 10).await;
    let started = std::time::Instant::now();
    loop {
        let text = progress.find(Locator::Css("[data-testid=operation-text]")).await.unwrap().text().await.unwrap();
        if text.starts_with("Waiting for BuildKit") {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "the bootstrap never waited for BuildKit: {text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.screenshot("inspect-bootstrap").await;
    progress.find(Locator::Css("[data-testid=operation-cancel]")).await.unwrap().click().await.unwrap();
    app.wait_for(&format!("{panel} [data-code=cancelled]"), 10).await;
    app.wait_gone(&format!("{panel} [data-testid=operation-progress]"), 5).await;

    let removed = app.docker(&["buildx", "rm", builder]);
    assert!(removed.status.success(), "{}", String::from_utf8_lossy(&removed.stderr));
    app.close().await;
}
