//! The Build view's history, used as a person would: with the list open, a build started with
//! `docker buildx build` in a terminal shows up and completes; opened, its logs replay into lanes
//! beside its configuration, with notes where the engine's BuildKit (0.13) lacks what the view would
//! show; it is pinned, unpinned and deleted from the window.

use std::path::Path;
use std::process::Command;

use buildlane_e2e::App;
use fantoccini::Locator;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

#[tokio::test]
async fn a_terminal_build_shows_in_the_history_replays_and_is_pinned_and_deleted() {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo {nonce} && sleep 2\n", env("BUILDLANE_REGISTRY"));
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();

    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();
    app.wait_for("[data-testid=history-list]", 10).await;

    // The terminal's build, on the same builder store as the window.
    let cli = {
        let (config, path) = (app.config_dir().to_owned(), context.path().to_owned());
        tokio::task::spawn_blocking(move || {
            Command::new(Path::new(&env("BUILDLANE_ENGINE_BIN")).join("docker"))
                .args(["buildx", "build", "--progress", "plain", &path.to_string_lossy()])
                .env("DOCKER_CONFIG", config)
                .env("DOCKER_HOST", env("DOCKER_HOST"))
                .output()
                .expect("docker CLI runs")
        })
    };
    let row = format!("[data-testid=history-row][title^='{name} ']");
    app.wait_for(&row, 60).await;
    let out = cli.await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let done = app.wait_for(&format!("{row}[data-status=completed]"), 30).await;
    let build_ref = done.attr("data-ref").await.unwrap().expect("the row carries its ref");

    // Opened: its steps in lanes, its configuration beside them.
    done.click().await.unwrap();
    app.wait_for(&format!("[data-testid=history-details][data-ref='{build_ref}']"), 10).await;
    app.wait_for("[data-testid=build-result]", 30).await;
    let steps = app.client.find_all(Locator::Css("[data-testid=build-step]")).await.unwrap();
    assert!(!steps.is_empty(), "the replay filled the lanes");
    // BuildKit 0.13 counts no warnings and filters nothing itself: said where it shows.
    let warnings = app.wait_for("[data-testid=history-warnings] [data-capability=warnings]", 10).await;
    assert!(
        warnings.text().await.unwrap().contains("BuildKit 0.16 and later"),
        "the warnings row says why it is empty"
    );
    app.wait_for("[data-testid=history-capability][data-capability=filters]", 5).await;
    app.screenshot("history-view").await;

    app.wait_for("[data-testid=history-pin]", 5).await.click().await.unwrap();
    app.wait_for(&format!("{row}[data-pinned=true]"), 10).await;
    app.wait_for("[data-testid=history-pin]", 5).await.click().await.unwrap();
    app.wait_for(&format!("{row}[data-pinned=false]"), 10).await;

    app.wait_for("[data-testid=history-delete]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=history-delete-confirm]", 5).await.click().await.unwrap();
    app.wait_gone(&row, 10).await;
    app.close().await;
}
