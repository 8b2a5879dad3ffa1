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
