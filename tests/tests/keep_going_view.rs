//! Keep going and retry one platform, in the Build view as a person would: a build for amd64 and
//! arm64 whose RUN fails only on arm64, pushed with "Keep going on failure", opens on the failure
//! summary with amd64 succeeded; once the context is fixed, "Retry linux/arm64" builds arm64 alone,
//! shows it as a second attempt in the lanes, and the result holds both platforms under the tag.

use buildlane_e2e::App;

const BOTH: [&str; 2] = ["linux/amd64", "linux/arm64"];

fn registry() -> String {
    std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set (eval \"$(scripts/engine.sh env)\")")
}

async fn attr(app: &App, css: &str, name: &str) -> Option<String> {
    app.wait_for(css, 10).await.attr(name).await.unwrap()
}

#[tokio::test]
async fn a_platform_failing_in_a_build_that_keeps_going_is_retried_alone_and_the_result_holds_both() {
    let registry = registry();
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {registry}/busybox:latest\nCOPY state /state\nRUN [ \"$(uname -m)\" != aarch64 ] || grep -q fixed /state\n"),
    )
    .unwrap();
    std::fs::write(context.path().join("state"), "broken").unwrap();
    let tag = format!("{registry}/e2e/keep-going:{}", std::process::id());

    let app = App::launch().await;
    app.open_build_form(context.path()).await;
    app.tick_platforms(&BOTH).await;
    app.wait_for("input[name=output][value=push]", 5).await.click().await.unwrap();
    app.wait_for("textarea[name=tags]", 5).await.send_keys(&tag).await.unwrap();
    app.wait_for("input[name=keepGoing]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();

    // Failure first: arm64 failed at its line, amd64 finished all the same.
    app.wait_for("[data-testid=build-failure]", 300).await;
    assert_eq!(app.wait_for("[data-testid=failure-platform]", 5).await.text().await.unwrap().trim(), "linux/arm64");
    assert_eq!(app.wait_for("[data-testid=failure-line]", 5).await.text().await.unwrap().trim(), "3");
    let state = |platform: &str| format!("[data-testid=failure-platform-state][data-platform='{platform}']");
    assert_eq!(attr(&app, &state("linux/amd64"), "data-state").await.as_deref(), Some("succeeded"));
    assert_eq!(attr(&app, &state("linux/arm64"), "data-state").await.as_deref(), Some("failed"));
    app.screenshot("keep-going-failure").await;

    std::fs::write(context.path().join("state"), "fixed").unwrap();
    app.wait_for("[data-testid=failure-retry][data-platform='linux/arm64']", 5).await.click().await.unwrap();

    let result = app.wait_for("[data-testid=build-result][data-state=succeeded]", 300).await;
    let reference = app.wait_for("[data-testid=build-reference]", 5).await.text().await.unwrap();
    assert!(reference.starts_with(&tag), "{reference}");
    let chips = result.text().await.unwrap();
    assert!(BOTH.iter().all(|p| chips.contains(p)), "the result names both platforms: {chips}");
    // The lanes keep the failed attempt and show the retry as attempt 2.
    let first = "[data-testid=build-lane][data-lane='linux/arm64'][data-attempt='1']";
    let second = "[data-testid=build-lane][data-lane='linux/arm64'][data-attempt='2']";
    assert_eq!(attr(&app, first, "data-state").await.as_deref(), Some("failed"));
    assert_eq!(attr(&app, second, "data-state").await.as_deref(), Some("done"));
    app.screenshot("keep-going-retried").await;

    // The tag's index holds both platforms.
    let inspected = app.docker(&["buildx", "imagetools", "inspect", &tag]);
    let listing = String::from_utf8_lossy(&inspected.stdout);
    assert!(BOTH.iter().all(|p| listing.contains(p)), "{listing}{}", String::from_utf8_lossy(&inspected.stderr));
    app.close().await;
}
