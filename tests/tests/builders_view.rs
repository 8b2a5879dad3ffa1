//! The Builders view, used as a person would, checked against what `docker buildx` sees.

use buildlane_e2e::{docker_in, silent_daemon, App};

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
async fn a_builder_created_and_removed_in_the_terminal_comes_and_goes_without_a_refresh() {
    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=builder-row][data-builder=default]", 10).await;

    app.docker_ok(&["buildx", "create", "--name", "from-the-terminal", "--driver", "docker-container"]);
    let row = "[data-testid=builder-row][data-builder=from-the-terminal]";
    app.wait_for(row, 10).await;
    app.docker_ok(&["buildx", "rm", "from-the-terminal"]);
    app.wait_gone(row, 10).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_node_that_never_answers_reads_unknown_while_the_other_builders_are_listed() {
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join("silent.sock");
    let mut daemon = None;
    // The window opens on a store that already has it, as a laptop away from its remote builder's network.
    let app = App::launch_prepared(&std::env::var("DOCKER_HOST").unwrap(), |config| {
        // Created while nothing listens there: buildx's create waits up to 20 s for a silent daemon.
        let address = format!("unix://{}", socket.display());
        let out = docker_in(config, &["buildx", "create", "--name", "silent", "--driver", "remote", &address]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        daemon = Some(silent_daemon(&socket));
    })
    .await;

    // At launch: the default builder, and the silent node not known yet.
    app.wait_for("[data-testid=builders-loaded]", 10).await;
    let status = "[data-testid=builder-row][data-builder=silent] [data-testid=node-status]";
    assert_eq!(app.wait_for(status, 5).await.text().await.unwrap().trim(), "unknown");
    let platforms = "[data-testid=builder-row][data-builder=silent] [data-testid=node-platforms-unknown]";
    assert_eq!(app.wait_for(platforms, 5).await.text().await.unwrap(), "asking its BuildKit…");
    assert_eq!(default_node(&app).await.0, "running");
    app.screenshot("builders-silent-node").await;
    // As `docker buildx ls` shows it 20 s on.
    let started = std::time::Instant::now();
    while app.wait_for(status, 5).await.text().await.unwrap().trim() != "inactive" {
        assert!(started.elapsed().as_secs() < 40, "the silent node is still unknown after 40 s");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    app.close().await;
    drop(daemon);
}

/// The default builder's node, as its row shows it: status text and platform chips.
async fn default_node(app: &App) -> (String, usize) {
    let row = app.wait_for("[data-testid=builder-row][data-builder=default]", 10).await;
    let status = row.find(fantoccini::Locator::Css("[data-testid=node-status]")).await.unwrap().text().await.unwrap();
    let chips = row.find_all(fantoccini::Locator::Css("[data-testid=platform-chip]")).await.unwrap().len();
    (status.trim().to_owned(), chips)
}

async fn wait_for_default_node(app: &App, status: &str, secs: u64) -> (String, usize) {
    let started = std::time::Instant::now();
    loop {
        let seen = default_node(app).await;
        if seen.0 == status {
            return seen;
        }
        assert!(started.elapsed().as_secs() < secs, "the default node reads {seen:?}, not {status}, after {secs} s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn while_the_engine_is_away_the_default_node_reads_unknown_and_comes_back_when_it_answers() {
    // The window's engine is a socket this test owns in front of the shared engine, which keeps running.
    let mut engine = buildlane_e2e::EngineProxy::new();
    engine.start();
    let app = App::launch_on(&engine.host()).await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=engine-status][data-state=reachable]", 15).await;
    let (_, chips) = wait_for_default_node(&app, "running", 10).await;
    assert!(chips > 0, "a running node shows its platforms");

    engine.stop();
    app.wait_for("[data-testid=engine-banner]", 30).await;
    let (status, chips) = wait_for_default_node(&app, "unknown", 5).await;
    assert_eq!((status.as_str(), chips), ("unknown", 0), "no state or platforms from before the engine went");
    app.wait_for("[data-testid=builder-row][data-builder=default] [data-testid=node-platforms-unknown]", 5).await;
    app.screenshot("builders-engine-away").await;

    engine.start();
    app.wait_for("[data-testid=engine-status][data-state=reachable]", 60).await;
    let (_, chips) = wait_for_default_node(&app, "running", 30).await;
    assert!(chips > 0, "the platforms are back with the engine");
    app.close().await;
}
