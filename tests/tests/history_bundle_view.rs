//! `.dockerbuild` files in the Build view's history, used as a person would: a build record is
//! exported to a file typed into the view, then that file is opened, its build listed as from the
//! file, and opened it replays into lanes with its configuration, read-only.

use buildlane_e2e::App;
use fantoccini::Locator;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

#[tokio::test]
async fn a_record_exported_from_the_history_view_opens_from_its_file() {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = tempfile::tempdir().unwrap();
    let dockerfile =
        format!("FROM {}/busybox:latest\nRUN echo {nonce} && echo from-a-file\n", env("BUILDLANE_REGISTRY"));
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("one.dockerbuild").display().to_string();

    let app = App::launch().await;
    let built = app.docker(&["buildx", "build", "--progress", "plain", &context.path().to_string_lossy()]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();
    let row = format!("[data-testid=history-row][title^='{name} '][data-status=completed]");
    let done = app.wait_for(&row, 60).await;
    let build_ref = done.attr("data-ref").await.unwrap().expect("the row carries its ref");
    done.click().await.unwrap();
    app.wait_for("[data-testid=build-result]", 30).await;

    // Export the record shown to a file typed in.
    app.wait_for(".run [data-testid=bundle-export-open]", 10).await.click().await.unwrap();
    app.wait_for(".run [data-testid=bundle-export-path]", 5).await.send_keys(&file).await.unwrap();
    app.wait_for(".run [data-testid=bundle-export-start]", 5).await.click().await.unwrap();
    let exported = app.wait_for(".run [data-testid=bundle-export-done]", 60).await;
    assert!(exported.text().await.unwrap().contains("Exported 1 build"));
    assert!(std::fs::metadata(&file).unwrap().len() > 0, "the file is written");

    // Open it: its build is listed as from the file, and replays from it, read-only.
    app.wait_for("[data-testid=bundle-open-path]", 5).await.send_keys(&file).await.unwrap();
    app.wait_for("[data-testid=bundle-open]", 5).await.click().await.unwrap();
    let opened = app.wait_for("[data-testid=bundle-opened]", 30).await;
    assert_eq!(opened.attr("data-path").await.unwrap().as_deref(), Some(file.as_str()));
    let from_file = app.wait_for(&format!("[data-testid=bundle-row][data-ref='{build_ref}']"), 10).await;
    assert!(from_file.attr("title").await.unwrap().unwrap().starts_with(&format!("{name} ")));
    from_file.click().await.unwrap();
    app.wait_for("[data-testid=history-from-file]", 10).await;
    app.wait_for(&format!("[data-testid=history-details][data-ref='{build_ref}']"), 10).await;
    app.wait_for("[data-testid=build-result]", 30).await;
    let steps = app.client.find_all(Locator::Css("[data-testid=build-step]")).await.unwrap();
    assert!(!steps.is_empty(), "the replay from the file filled the lanes");
    assert!(app.client.find_all(Locator::Css("[data-testid=history-pin]")).await.unwrap().is_empty(), "read-only");
    app.wait_for("[data-testid=history-attachments]", 10).await;
    app.screenshot("history-bundle").await;

    // Back to the builder's own history.
    app.wait_for("[data-testid=bundle-close]", 5).await.click().await.unwrap();
    app.wait_for(&row, 10).await;
    app.invoke("delete_build", serde_json::json!({ "builder": "", "buildRef": build_ref })).await.unwrap();
    app.close().await;
}
