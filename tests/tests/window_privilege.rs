//! What a script in the window can reach: only the commands the UI uses (each granted by name, no
//! core plugin), only the Dockerfile of the build context, never a login's password, and a refusal
//! never stops the window.

use buildlane_e2e::App;
use serde_json::json;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

/// The window still answers the user: the Build view opens from the rail.
async fn still_answers(app: &App) {
    app.wait_for("[data-testid=rail-build]", 10).await.click().await.unwrap();
    app.wait_for("[data-testid=build-form]", 10).await;
    app.wait_for("a[href='#builders']", 10).await.click().await.unwrap();
    app.wait_for("[data-testid=builders-loaded]", 30).await;
}

#[tokio::test]
async fn commands_the_window_is_not_granted_are_refused_and_the_window_goes_on() {
    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;

    // Core plugin commands `core:default` would grant: the user's home folder, the app's version,
    // the window's title. The UI uses none of them.
    for (command, args) in [
        ("plugin:path|resolve_directory", json!({ "directory": 11 })),
        ("plugin:app|version", json!({})),
        ("plugin:window|title", json!({ "label": "main" })),
        ("plugin:event|listen", json!({ "event": "x", "target": { "kind": "Any" }, "handler": 0 })),
    ] {
        let refused = app.invoke(command, args).await.expect_err(command);
        assert!(refused.contains("not allowed"), "{command}: {refused}");
    }
    // A command the app does not have at all.
    let refused = app.invoke("read_file", json!({ "path": "/etc/passwd" })).await.expect_err("read_file");
    assert!(refused.contains("not allowed") || refused.contains("not found"), "{refused}");

    // The commands the UI uses still answer the page.
    let contexts = app.invoke("list_contexts", json!({})).await.expect("list_contexts is granted");
    assert!(contexts["contexts"].as_array().is_some_and(|c| !c.is_empty()), "{contexts}");
    still_answers(&app).await;
    app.close().await;
}

#[tokio::test]
async fn the_dockerfile_reader_shows_only_the_build_context_and_no_login_leaks() {
    use base64::Engine as _;
    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    // A login as `docker login` writes it.
    let registry = required("BUILDLANE_AUTH_REGISTRY");
    let password = required("BUILDLANE_AUTH_HTPASSWD_PASSWORD");
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{password}", required("BUILDLANE_AUTH_HTPASSWD_USER")));
    let config = app.config_dir().join("config.json");
    std::fs::write(&config, json!({ "auths": { registry.clone(): { "auth": auth } } }).to_string()).unwrap();

    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let ctx = context.path().display().to_string();
    let source = app.invoke("dockerfile_source", json!({ "context": ctx, "dockerfile": "" })).await;
    assert_eq!(source, Ok(json!("FROM scratch\n")));

    let config_path = config.display().to_string();
    let refused = app
        .invoke("dockerfile_source", json!({ "context": ctx, "dockerfile": config_path }))
        .await
        .expect_err("a file outside the context is refused");
    assert!(refused.contains("outside the build context"), "{refused}");
    assert!(!refused.contains(&auth), "{refused}");
    // The outline carries the file's text and the frontend's parse errors quote it: the same rule.
    let refused = app
        .invoke("dockerfile_outline", json!({ "builder": "", "context": ctx, "dockerfile": config_path, "target": "" }))
        .await
        .expect_err("the outline of a file outside the context is refused");
    assert!(refused.contains("outside the build context") && !refused.contains(&auth), "{refused}");
    // /dev/zero never ends: refused without reading, and the window does not stall.
    let refused = app
        .invoke("dockerfile_source", json!({ "context": "/dev", "dockerfile": "zero" }))
        .await
        .expect_err("a device is refused");
    assert!(refused.contains("Dockerfile /dev/zero is not a regular file"), "{refused}");
    still_answers(&app).await;

    // Whatever the page can ask about registries, contexts, builders and builds, no answer (nor
    // refusal) carries the login's password or its encoded form.
    for (command, args) in [
        ("list_contexts", json!({})),
        ("list_builders", json!({})),
        ("list_registries", json!({})),
        ("recent_builds", json!({})),
        ("list_repositories", json!({ "registry": registry, "last": null, "operation": "catalog" })),
        ("list_tags", json!({ "registry": registry, "repository": "nothing/here", "last": null, "operation": "tags" })),
        ("inspect_image", json!({ "reference": format!("{registry}/nothing/here:1"), "operation": "inspect" })),
    ] {
        let answer = match app.invoke(command, args).await {
            Ok(value) => value.to_string(),
            Err(reason) => reason,
        };
        assert!(!answer.contains(&password) && !answer.contains(&auth), "{command} leaks the login: {answer}");
    }
    app.close().await;
}
