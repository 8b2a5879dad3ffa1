//! A build record's Timing panel, used as a person would: a project built twice from a terminal,
//! its first build opened from the History list shows its time by kind of operation (executions,
//! file operations, image pulls, local transfers), two steps having run at once, its cache usage,
//! and the project's two builds; a click on the second build's bar opens it, all cached; built again
//! from the window, the build just run shows its timing as the project's third build.

use std::path::Path;
use std::process::Command;

use buildlane_e2e::App;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

/// The dark theme's rules applied whatever the system prefers, for its screenshot.
const FORCE_DARK: &str = r#"
  document.documentElement.style.colorScheme = 'dark';
  for (const sheet of document.styleSheets) {
    for (const rule of sheet.cssRules) {
      if (rule.media && rule.media.mediaText.includes('dark')) {
        const style = document.createElement('style');
        style.textContent = [...rule.cssRules].map((r) => r.cssText).join('\n');
        document.head.appendChild(style);
      }
    }
  }
"#;

/// Scrolls `css` into view and lets WebKit paint it before a screenshot.
async fn show(app: &App, css: &str) {
    let script = format!("document.querySelector(\"{css}\").scrollIntoView({{ block: 'start' }});");
    app.client.execute(&script, vec![]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

#[tokio::test]
async fn an_opened_record_shows_its_timing_by_kind_and_its_projects_builds() {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let registry = env("BUILDLANE_REGISTRY");
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {registry}/busybox:latest AS left\nRUN echo {nonce} > /left && sleep 2\n\n\
         FROM {registry}/busybox:latest AS right\nRUN echo {nonce} > /right && sleep 2\n\n\
         FROM {registry}/busybox:latest\nCOPY --from=left /left /left\nCOPY --from=right /right /right\n\
         COPY app.txt /app.txt\n"
    );
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    std::fs::write(context.path().join("app.txt"), "hello\n").unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();

    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    // Built twice from a terminal, on the same builder store as the window.
    for _ in 0..2 {
        let out = Command::new(Path::new(&env("BUILDLANE_ENGINE_BIN")).join("docker"))
            .args(["buildx", "build", "--progress", "plain", &context.path().to_string_lossy()])
            .env("DOCKER_CONFIG", app.config_dir())
            .env("DOCKER_HOST", env("DOCKER_HOST"))
            .output()
            .expect("docker CLI runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();
    let row = format!("[data-testid=history-row][title^='{name} '][data-status=completed]");
    app.wait_for(&row, 30).await;
    // The list fills as BuildKit's history streams in: the second row may follow the first.
    let started = std::time::Instant::now();
    while app.count(&row).await < 2 && started.elapsed() < std::time::Duration::from_secs(30) {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let rows = app.client.find_all(fantoccini::Locator::Css(&row)).await.unwrap();
    assert_eq!(rows.len(), 2, "both builds listed");
    // Newest first: the last row is the first build.
    let first_ref = rows[1].attr("data-ref").await.unwrap().expect("the row carries its ref");
    let second_ref = rows[0].attr("data-ref").await.unwrap().expect("the row carries its ref");
    rows[1].click().await.unwrap();

    let panel = format!("[data-testid=timing-panel][data-ref='{first_ref}']");
    app.wait_for(&format!("{panel} [data-testid=timing-summary]"), 60).await;
    for kind in ["exec", "file", "imagePull", "localTransfer"] {
        app.wait_for(&format!("{panel} [data-testid=timing-kind][data-kind={kind}]"), 5).await;
    }
    let chart = app.wait_for(&format!("{panel} [data-testid=timing-parallelism]"), 5).await;
    let most: u32 = chart.attr("data-max").await.unwrap().unwrap().parse().unwrap();
    assert!(most >= 2, "the two stages ran at once");
    app.wait_for(&format!("{panel} [data-testid=project-history][data-count='2']"), 10).await;
    show(&app, &panel).await;
    app.screenshot("history-timing").await;

    // The project's other build, opened from its bar: everything from the cache.
    app.wait_for(&format!("[data-testid=project-build][data-ref='{second_ref}']"), 5).await.click().await.unwrap();
    let panel = format!("[data-testid=timing-panel][data-ref='{second_ref}']");
    app.wait_for(&format!("{panel} [data-testid=timing-cache][data-percent='100']"), 60).await;
    app.client.execute(FORCE_DARK, vec![]).await.unwrap();
    show(&app, &panel).await;
    app.screenshot("history-timing-dark").await;

    // Built again from the window: the build just run shows its timing too, the project's third build.
    app.wait_for("[data-testid=history-rebuild]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-result]", 120).await;
    app.wait_for("[data-testid=timing-panel] [data-testid=project-history][data-count='3']", 60).await;
    let live_ref = app
        .wait_for("[data-testid=timing-panel]", 5)
        .await
        .attr("data-ref")
        .await
        .unwrap()
        .expect("the panel names its record");
    assert!(![&first_ref, &second_ref].contains(&&live_ref), "the new build's own record");

    app.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();
    for build_ref in [first_ref, second_ref, live_ref] {
        app.wait_for(&format!("[data-testid=history-row][data-ref='{build_ref}']"), 5).await.click().await.unwrap();
        app.wait_for(&format!("[data-testid=history-details][data-ref='{build_ref}']"), 10).await;
        app.wait_for("[data-testid=build-result]", 30).await;
        app.wait_for("[data-testid=history-delete]", 5).await.click().await.unwrap();
        app.wait_for("[data-testid=history-delete-confirm]", 5).await.click().await.unwrap();
        app.wait_gone(&format!("[data-testid=history-row][data-ref='{build_ref}']"), 10).await;
    }
    app.close().await;
}
