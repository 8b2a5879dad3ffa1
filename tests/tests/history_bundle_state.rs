//! A build of a `.dockerbuild` file, used as a person would: opened from the file, it shows the same
//! Timing panel a builder's record shows, read from the file's logs; and going to another view and
//! back finds the file still open, its build still selected and shown.

use buildlane_e2e::App;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

/// A build from a terminal exported to a file through the History view, then the file opened and
/// its build shown; the build's ref and the folder holding the file.
async fn open_from_file(app: &App) -> (String, tempfile::TempDir) {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN echo {nonce} > /a && sleep 1\nRUN echo two > /b\n",
        env("BUILDLANE_REGISTRY")
    );
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("timed.dockerbuild").display().to_string();

    app.docker_ok(&["buildx", "build", "--progress", "plain", &context.path().to_string_lossy()]);
    let build_ref = app.open_history_record(&name).await;
    app.wait_for(".run [data-testid=bundle-export-open]", 10).await.click().await.unwrap();
    app.wait_for(".run [data-testid=bundle-export-path]", 5).await.send_keys(&file).await.unwrap();
    app.wait_for(".run [data-testid=bundle-export-start]", 5).await.click().await.unwrap();
    app.wait_for(".run [data-testid=bundle-export-done]", 60).await;
    app.invoke("delete_build", serde_json::json!({ "builder": "", "buildRef": build_ref })).await.unwrap();

    app.wait_for("[data-testid=bundle-open-path]", 5).await.send_keys(&file).await.unwrap();
    app.wait_for("[data-testid=bundle-open]", 5).await.click().await.unwrap();
    app.wait_for(&format!("[data-testid=bundle-row][data-ref='{build_ref}']"), 30).await.click().await.unwrap();
    app.wait_for("[data-testid=history-from-file]", 10).await;
    app.wait_for("[data-testid=build-result]", 30).await;
    (build_ref, out_dir)
}

#[tokio::test]
async fn a_build_opened_from_a_file_shows_its_timing() {
    let app = App::launch().await;
    let (build_ref, _dir) = open_from_file(&app).await;
    // Deleted from the builder already: the timing can only have come from the file.
    let panel = format!("[data-testid=timing-panel][data-ref='{build_ref}']");
    let summary = app.wait_for(&format!("{panel} [data-testid=timing-summary]"), 60).await;
    assert!(summary.text().await.unwrap().contains("Real time"));
    app.wait_for(&format!("{panel} [data-testid=timing-kind][data-kind=exec]"), 5).await;
    app.wait_for(&format!("{panel} [data-testid=project-history][data-count='1']"), 10).await;
    app.screenshot("history-bundle-timing").await;
    app.close().await;
}

#[tokio::test]
async fn an_opened_file_and_its_build_stay_open_across_views() {
    let app = App::launch().await;
    let (build_ref, _dir) = open_from_file(&app).await;

    app.wait_for("[data-testid=rail-images]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=images-view]", 10).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();

    // The history side, the file still open, its build still selected and shown.
    app.wait_for("[data-testid=bundle-opened]", 10).await;
    let row = app.wait_for(&format!("[data-testid=bundle-row][data-ref='{build_ref}']"), 10).await;
    assert!(row.attr("class").await.unwrap().unwrap_or_default().contains("selected"), "its build still selected");
    app.wait_for(&format!("[data-testid=history-details][data-ref='{build_ref}']"), 10).await;
    app.wait_for("[data-testid=history-from-file]", 5).await;
    app.close().await;
}
