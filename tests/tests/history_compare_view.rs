//! Why a build missed the cache, in the window: two terminal builds of one Dockerfile with another
//! build arg; the newer opened from the history, "Compare with…" the older, and the first step
//! that missed the cache is named with the changed arg and its values.

use std::path::Path;

use buildlane_e2e::App;
use fantoccini::Locator;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

/// A terminal's `docker buildx build` of `context` with `GREETING=greeting`, on the app's builder store.
fn buildx_build(app: &App, context: &Path, greeting: &str) {
    let arg = format!("GREETING={greeting}");
    let out = app.docker(&["buildx", "build", "--progress", "plain", "--build-arg", &arg, &context.to_string_lossy()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
async fn comparing_two_records_names_the_build_arg_that_made_a_step_miss_the_cache() {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN echo {nonce} > /nonce\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\n",
        env("BUILDLANE_REGISTRY")
    );
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();

    let app = App::launch().await;
    buildx_build(&app, context.path(), "hello");
    buildx_build(&app, context.path(), "goodbye");

    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();
    let row = format!("[data-testid=history-row][title^='{name} '][data-status=completed]");
    app.wait_for(&row, 30).await;
    // The list is virtual: rows show once it has measured its height.
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows = app.client.find_all(Locator::Css(&row)).await.unwrap();
        if rows.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(rows.len(), 2, "both builds are listed");
    // Newest first: the second build.
    let newer = rows[0].attr("data-ref").await.unwrap().expect("a row carries its ref");
    let older = rows[1].attr("data-ref").await.unwrap().expect("a row carries its ref");
    rows[0].click().await.unwrap();
    app.wait_for(&format!("[data-testid=history-details][data-ref='{newer}']"), 10).await;

    app.wait_for("[data-testid=history-compare-open]", 10).await.click().await.unwrap();
    let picked = app.wait_for("[data-testid=history-compare-with]", 5).await;
    assert_eq!(
        picked.prop("value").await.unwrap().as_deref(),
        Some(older.as_str()),
        "the earlier build of it comes first"
    );
    app.wait_for("[data-testid=history-compare-run]", 5).await.click().await.unwrap();

    let ended =
        app.wait_for("[data-testid=compare-result], [data-testid=history-compare] [data-testid=error]", 60).await;
    app.screenshot("history-compare").await;
    assert_eq!(
        ended.attr("data-testid").await.unwrap().as_deref(),
        Some("compare-result"),
        "{}",
        ended.text().await.unwrap()
    );
    let first = app.wait_for("[data-testid=compare-first-miss]", 5).await;
    let text = first.text().await.unwrap();
    assert!(text.contains("RUN echo \"$GREETING\" > /greeting"), "{text}");
    assert!(text.contains("build arg GREETING changed: \"hello\" → \"goodbye\""), "{text}");
    let missed = app.client.find_all(Locator::Css("[data-testid=compare-step][data-missed=true]")).await.unwrap();
    assert_eq!(missed.len(), 1, "only the RUN that reads the arg missed");

    // Both records go again, from the window.
    for build_ref in [&newer, &older] {
        app.wait_for(&format!("[data-testid=history-row][data-ref='{build_ref}']"), 5).await.click().await.unwrap();
        app.wait_for(&format!("[data-testid=history-details][data-ref='{build_ref}']"), 10).await;
        // Delete waits for the replay the click started.
        app.wait_for("[data-testid=build-result]", 30).await;
        app.wait_for("[data-testid=history-delete]", 5).await.click().await.unwrap();
        app.wait_for("[data-testid=history-delete-confirm]", 5).await.click().await.unwrap();
        app.wait_gone(&format!("[data-testid=history-row][data-ref='{build_ref}']"), 10).await;
    }
    app.close().await;
}
