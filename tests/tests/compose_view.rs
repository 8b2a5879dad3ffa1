//! "Compose index" in the Images view, used as a person would: two single-platform images pushed by
//! buildx, picked from the registry browser as sources, previewed (two platforms, no conflict),
//! pushed under a new tag with its steps shown, and the pushed index opened in the inspector, which
//! shows both platforms.

use buildlane_e2e::App;
use fantoccini::Locator;

fn registry() -> String {
    std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set (eval \"$(scripts/engine.sh env)\")")
}

/// Pushes `<registry>/e2e/compose-src:<tag>` for one platform (FROM scratch: no emulation needed).
fn push_single(app: &App, registry: &str, platform: &str, tag: &str) {
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("f.txt"), platform).unwrap();
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\nCOPY f.txt /f.txt\n").unwrap();
    let output = format!("type=image,name={registry}/e2e/compose-src:{tag},push=true,oci-mediatypes=true");
    let out = app.docker(&[
        "buildx",
        "build",
        "--platform",
        platform,
        "--provenance=false",
        "--output",
        &output,
        &context.path().display().to_string(),
    ]);
    assert!(out.status.success(), "buildx build failed: {}", String::from_utf8_lossy(&out.stderr));
}

async fn pick_tag(app: &App, tag: &str) {
    let filter = app.wait_for("input[name=tag-filter]", 5).await;
    filter.clear().await.unwrap();
    filter.send_keys(tag).await.unwrap();
    app.wait_for(&format!("[data-testid=tag][data-tag='{tag}']"), 60).await.click().await.unwrap();
    app.wait_for("[data-testid=compose-add-picked]:not([disabled])", 10).await.click().await.unwrap();
}

#[tokio::test]
async fn two_single_platform_images_composed_and_pushed_show_both_platforms_in_the_inspector() {
    let registry = registry();
    let id = std::process::id();
    let app = App::launch().await;
    let (amd, arm) = (format!("{id}-amd64"), format!("{id}-arm64"));
    push_single(&app, &registry, "linux/amd64", &amd);
    push_single(&app, &registry, "linux/arm64", &arm);

    app.wait_for("[data-testid=rail-images]", 30).await.click().await.unwrap();
    app.wait_for("[data-testid=images-view]", 10).await;
    app.wait_for("[data-testid=registry-add-open]", 5).await.click().await.unwrap();
    app.wait_for("input[name=registry]", 5).await.send_keys(&registry).await.unwrap();
    app.wait_for("[data-testid=registry-add]", 5).await.click().await.unwrap();
    app.wait_for(&format!("[data-testid=registry][data-registry='{registry}']"), 10).await.click().await.unwrap();
    app.wait_for("[data-testid=repository]", 30).await;
    app.wait_for("input[name=repository-filter]", 5).await.send_keys("e2e/compose-src").await.unwrap();
    app.wait_for("[data-testid=repository][data-repository='e2e/compose-src']", 60).await.click().await.unwrap();

    app.wait_for("[data-testid=compose-toggle]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=compose-panel]", 5).await;
    pick_tag(&app, &amd).await;
    pick_tag(&app, &arm).await;

    // The core's preview: one entry per platform, each from its source, no conflict.
    app.wait_for("[data-testid=compose-entry][data-platform='linux/arm64']", 30).await;
    let entries = app.client.find_all(Locator::Css("[data-testid=compose-entry]")).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert!(app.client.find_all(Locator::Css("[data-testid=compose-conflicts]")).await.unwrap().is_empty());

    let target = format!("{registry}/e2e/compose-out:{id}");
    app.wait_for("input[name=compose-tag]", 5).await.send_keys(&target).await.unwrap();
    app.wait_for("[data-testid=compose-push]:not([disabled])", 10).await.click().await.unwrap();
    app.wait_for("[data-testid=compose-pushed]", 60).await;
    let steps = app.wait_for("[data-testid=compose-steps]", 5).await.text().await.unwrap();
    assert!(steps.contains("pushing sha256:") && steps.contains(&target), "{steps}");
    app.screenshot("compose").await;

    app.wait_for("[data-testid=compose-open]", 5).await.click().await.unwrap();
    for platform in ["linux/amd64", "linux/arm64"] {
        app.wait_for(&format!("[data-testid=platform-card][data-platform='{platform}']"), 60).await;
    }
    let cards = app.client.find_all(Locator::Css("[data-testid=platform-card]")).await.unwrap();
    assert_eq!(cards.len(), 2);
}
