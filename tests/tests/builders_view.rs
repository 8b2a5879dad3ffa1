//! The Builders view, used as a person would, checked against what `docker buildx` sees.

use buildlane_e2e::App;

#[tokio::test]
async fn the_builders_view_lists_the_default_builder_with_native_and_emulated_platforms() {
    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    let row = app.wait_for("[data-testid=builder-row][data-builder=default]", 10).await;
    let status = row.find(fantoccini::Locator::Css("[data-testid=node-status]")).await.unwrap();
    assert_eq!(status.text().await.unwrap().trim(), "running");
    let amd64 =
        row.find(fantoccini::Locator::Css("[data-testid=platform-chip][data-platform='linux/amd64']")).await.unwrap();
    assert_eq!(amd64.attr("data-emulated").await.unwrap().as_deref(), Some("false"));
    let arm64 =
        row.find(fantoccini::Locator::Css("[data-testid=platform-chip][data-platform='linux/arm64']")).await.unwrap();
    assert_eq!(arm64.attr("data-emulated").await.unwrap().as_deref(), Some("true"));
    app.wait_for("[data-testid=engine-status][data-state=reachable]", 10).await;
    let shot = app.screenshot("builders").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 0);
    app.close().await;
}

#[tokio::test]
async fn a_builder_created_in_the_form_shows_in_buildx_ls_and_removing_it_removes_it() {
    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=create-builder-open]", 5).await.click().await.unwrap();
    app.wait_for("input[name=name]", 5).await.send_keys("from-the-form").await.unwrap();
    app.wait_for("[name=platforms]", 5).await.send_keys("linux/arm64").await.unwrap();
    // Booting needs the BuildKit image, which cannot be pulled here: create without booting.
    let boot = app.wait_for("input[name=bootstrap]", 5).await;
    if boot.prop("checked").await.unwrap().as_deref() == Some("true") {
        boot.click().await.unwrap();
    }
    app.screenshot("create-builder-form").await;
    app.wait_for("[data-testid=create-builder-submit]", 5).await.click().await.unwrap();

    let row = app.wait_for("[data-testid=builder-row][data-builder=from-the-form]", 20).await;
    let status = row.find(fantoccini::Locator::Css("[data-testid=node-status]")).await.unwrap();
    assert_eq!(status.text().await.unwrap().trim(), "inactive");
    assert!(app.buildx_ls_names().contains(&"from-the-form".to_owned()));

    row.find(fantoccini::Locator::Css("[data-testid=builder-remove]")).await.unwrap().click().await.unwrap();
    app.wait_for("[data-testid=confirm-remove]", 5).await.click().await.unwrap();
    app.wait_gone("[data-testid=builder-row][data-builder=from-the-form]", 20).await;
    assert!(!app.buildx_ls_names().contains(&"from-the-form".to_owned()));
    app.close().await;
}
