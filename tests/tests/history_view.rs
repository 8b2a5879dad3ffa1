//! The Build view's history, used as a person would: with the list open, a build started with
//! `docker buildx build` in a terminal shows up and completes; opened, its logs replay into lanes
//! beside its configuration, with notes where the engine's BuildKit (0.13) lacks what the view would
//! show; it is pinned, unpinned and deleted from the window. On a builder of several nodes, each
//! record names its node, a node that cannot be reached is named above the others' records, and a
//! node's record and its project's chart open that node's records.

use std::path::Path;
use std::process::Command;

use buildlane_e2e::App;
use fantoccini::Locator;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

/// A context of its own whose one step echoes a nonce and runs `then`, and the name its history
/// record gets (the folder's).
fn context_running(then: &str) -> (tempfile::TempDir, String) {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = tempfile::tempdir().unwrap();
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo {nonce} && {then}\n", env("BUILDLANE_REGISTRY"));
    std::fs::write(context.path().join("Dockerfile"), dockerfile).unwrap();
    let name = context.path().file_name().unwrap().to_string_lossy().into_owned();
    (context, name)
}

#[tokio::test]
async fn a_terminal_build_shows_in_the_history_replays_and_is_pinned_and_deleted() {
    let (context, name) = context_running("sleep 2");

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

/// A remote builder node: the engine's own BuildKit on a unix socket, as `buildkitd` would listen
/// there; dropping the handle stops it.
fn buildkit_node(socket: &Path) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    let engine = env("DOCKER_HOST");
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine = engine.clone();
            tokio::spawn(async move {
                if let Ok(mut upgraded) = buildlane_core::buildkit::transport::upgrade(&engine, "/grpc", &[]).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_builder_of_several_nodes_lists_each_nodes_builds_with_its_node_and_names_the_one_it_cannot_reach() {
    let (context, name) = context_running("true");
    let sockets = tempfile::tempdir().unwrap();
    let at = |node: &str| format!("unix://{}", sockets.path().join(format!("{node}.sock")).display());
    // Two nodes on one BuildKit, so each keeps the same records; the third has no daemon at all.
    let _nodes = [buildkit_node(&sockets.path().join("farm0.sock")), buildkit_node(&sockets.path().join("farm1.sock"))];

    let app = App::launch().await;
    app.docker_ok(&["buildx", "create", "--name", "farm", "--driver", "remote", &at("farm0")]);
    for node in ["farm1", "farm2"] {
        app.docker_ok(&[
            "buildx",
            "create",
            "--append",
            "--name",
            "farm",
            "--node",
            node,
            "--driver",
            "remote",
            &at(node),
        ]);
    }
    // Built twice on the engine's own builder (the second from cache), named by a build argument
    // (the farm's nodes have no buildx state naming their context): the project's chart has both.
    let metadata = context.path().join("metadata.json");
    let build = || {
        let (path, metadata_path) = (context.path().to_string_lossy(), metadata.to_string_lossy());
        let named = format!("BUILDKIT_BUILD_NAME={name}");
        let flags = ["--builder", "default", "-q", "--build-arg", &named, "--metadata-file", &metadata_path];
        app.docker_ok(&[&["buildx", "build"][..], &flags, &[&path]].concat());
        let metadata: serde_json::Value = serde_json::from_slice(&std::fs::read(&metadata).unwrap()).unwrap();
        metadata["buildx.build.ref"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
    };
    let (build_ref, rebuild_ref) = (build(), build());

    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("select[name=builder] option[value=farm]", 30).await;
    app.wait_for("select[name=builder]", 5).await.select_by_value("farm").await.unwrap();
    app.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();

    let failed = app.wait_for("[data-testid=history-node-failed][data-node=farm2]", 30).await;
    let said = failed.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(said.starts_with("Node farm2's builds are not listed: node farm2: "), "{said}");
    let row = format!("[data-testid=history-row][data-ref='{build_ref}']");
    app.wait_for(&row, 30).await;
    let mut nodes = Vec::new();
    for listed in app.client.find_all(Locator::Css(&row)).await.unwrap() {
        nodes.push(listed.find(Locator::Css("[data-testid=history-row-node]")).await.unwrap().text().await.unwrap());
    }
    // One record per node, made at the same instant: either may come first.
    nodes.sort();
    assert_eq!(nodes, ["farm0", "farm1"], "the build once per node that keeps it, named");

    // A row opens its own node's record, not the first node's of that ref.
    app.wait_for(&format!("{row}[data-node=farm1]"), 5).await.click().await.unwrap();
    let node = app.wait_for("[data-testid=history-details] [data-testid=history-node]", 10).await;
    assert_eq!(node.text().await.unwrap(), "farm1");
    app.wait_for(&format!("{row}[data-node=farm1][aria-current=true]"), 5).await;
    assert_eq!(app.count(&format!("{row}[aria-current=true]")).await, 1, "that row alone is the opened one");
    app.screenshot("history-nodes").await;

    // Its project's chart charts farm1's builds, and a bar opens farm1's record of that build.
    let bar = format!(
        "[data-testid=timing-panel][data-ref='{build_ref}'] [data-testid=project-build][data-ref='{rebuild_ref}']"
    );
    let bar = app.wait_for(&bar, 60).await;
    let scroll = "arguments[0].scrollIntoView({ block: 'center' });";
    app.client.execute(scroll, vec![serde_json::to_value(&bar).unwrap()]).await.unwrap();
    bar.click().await.unwrap();
    app.wait_for(&format!("[data-testid=history-details][data-ref='{rebuild_ref}']"), 10).await;
    let node = app.wait_for("[data-testid=history-details] [data-testid=history-node]", 10).await;
    assert_eq!(node.text().await.unwrap(), "farm1");
    app.wait_for(
        &format!("[data-testid=history-row][data-ref='{rebuild_ref}'][data-node=farm1][aria-current=true]"),
        5,
    )
    .await;
    app.close().await;
}
