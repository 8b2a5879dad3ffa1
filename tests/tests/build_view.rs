//! The Build view, used as a person would: fill the form, build three platforms through the
//! engine's BuildKit and watch their lanes finish; a build failing on one platform opens on the
//! failure summary with the Dockerfile line.

use std::path::Path;

use buildlane_e2e::App;
use fantoccini::Locator;

const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

fn registry() -> String {
    std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set (eval \"$(scripts/engine.sh env)\")")
}

fn context_with(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

/// Opens the Build view and fills in the context and the three platforms.
async fn open_form(app: &App, context: &Path) {
    app.open_build_form(context).await;
    app.tick_platforms(&PLATFORMS).await;
    // The builder's own list marks which platforms run through QEMU.
    let arm = app.wait_for("input[name=platform][value='linux/arm64']", 5).await;
    assert_eq!(arm.attr("data-emulated").await.unwrap().as_deref(), Some("true"));
}

/// The text of `css` once it shows (a part can render a frame after the state that brings it).
async fn text(app: &App, css: &str) -> String {
    app.wait_for(css, 10).await.text().await.unwrap().trim().to_owned()
}

#[tokio::test]
async fn three_platforms_pushed_from_the_form_finish_in_three_lanes_with_a_digest() {
    let registry = registry();
    // A RUN unique to this run, so it runs (and prints) rather than coming from the cache.
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = context_with(&format!("FROM {registry}/busybox:latest\nRUN echo {nonce} && uname -m\n"));
    let tag = format!("{registry}/e2e/build-view:{}", std::process::id());

    let app = App::launch().await;
    open_form(&app, context.path()).await;
    app.wait_for("input[name=output][value=push]", 5).await.click().await.unwrap();
    app.wait_for("textarea[name=tags]", 5).await.send_keys(&tag).await.unwrap();
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();

    // Lanes appear while it runs, then the result.
    app.wait_for("[data-testid=build-lane][data-lane='linux/arm/v7']", 30).await;
    let result = app.wait_for("[data-testid=build-result]", 300).await;
    let state = result.attr("data-state").await.unwrap();
    if state.as_deref() != Some("succeeded") {
        let errors =
            app.client.find_all(Locator::Css("[data-testid=build-failure], [data-testid=error]")).await.unwrap();
        let mut why = Vec::new();
        for e in errors {
            why.push(e.text().await.unwrap());
        }
        panic!("the build ended {state:?}: {why:?}");
    }
    for platform in PLATFORMS {
        let lane = app.wait_for(&format!("[data-testid=build-lane][data-lane='{platform}']"), 5).await;
        assert_eq!(lane.attr("data-state").await.unwrap().as_deref(), Some("done"), "{platform} lane");
        let steps = lane.find_all(Locator::Css("[data-testid=build-step]")).await.unwrap();
        assert!(!steps.is_empty(), "{platform} lane has steps");
        for step in steps {
            let s = step.attr("data-state").await.unwrap().unwrap_or_default();
            assert!(s == "done" || s == "cached", "{platform} step state {s}");
        }
    }
    let digest = text(&app, "[data-testid=build-digest]").await;
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "digest {digest}");
    assert!(text(&app, "[data-testid=build-reference]").await.starts_with(&tag));

    // The RUN step's log holds the machine of its platform; it stays selected for the picture.
    let arm = app.wait_for("[data-testid=build-lane][data-lane='linux/arm64']", 5).await;
    let mut run = None;
    for step in arm.find_all(Locator::Css("[data-testid=build-step]")).await.unwrap() {
        if step.text().await.unwrap().contains("RUN echo") {
            run = Some(step);
        }
    }
    run.expect("the arm64 lane has the RUN step").click().await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let log = text(&app, "[data-testid=build-log]").await;
        if log.contains("aarch64") {
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "the arm64 RUN log shows aarch64: {log}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let shot = app.screenshot("build-lanes").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 0);

    // The result opens in the manifest inspector: the pushed index with its three platforms.
    app.wait_for("[data-testid=build-open-image]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=images-view]", 10).await;
    for platform in PLATFORMS {
        app.wait_for(&format!("[data-testid=platform-card][data-platform='{platform}']"), 30).await;
    }
    app.close().await;
}

#[tokio::test]
async fn a_build_failing_on_one_platform_opens_on_the_failure_summary_with_its_line() {
    let registry = registry();
    let context = context_with(&format!(
        "FROM {registry}/busybox:latest\n# only arm64 fails\nRUN [ \"$(uname -m)\" != \"aarch64\" ]\n"
    ));

    let app = App::launch().await;
    open_form(&app, context.path()).await;
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();

    let failure = app.wait_for("[data-testid=build-failure]", 300).await;
    let result = app.wait_for("[data-testid=build-result]", 5).await;
    assert_eq!(result.attr("data-state").await.unwrap().as_deref(), Some("failed"));
    assert_eq!(text(&app, "[data-testid=failure-platform]").await, "linux/arm64");
    assert_eq!(text(&app, "[data-testid=failure-line]").await, "3");
    let source = failure.find(Locator::Css("[data-testid=failure-source]")).await.unwrap().text().await.unwrap();
    assert!(source.contains("RUN [ \"$(uname -m)\" != \"aarch64\" ]"), "source shown: {source}");
    let shot = app.screenshot("build-failure").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 0);

    // The lanes behind the summary: arm64 failed.
    app.wait_for("[data-testid=build-tab-lanes]", 5).await.click().await.unwrap();
    let arm = app.wait_for("[data-testid=build-lane][data-lane='linux/arm64']", 5).await;
    assert_eq!(arm.attr("data-state").await.unwrap().as_deref(), Some("failed"));
    // The failed step's detail says where it is in the Dockerfile, as the core placed it.
    app.wait_for("[data-testid=step-lines]", 5).await;
    assert_eq!(text(&app, "[data-testid=step-lines]").await, "line 3");
    assert_eq!(text(&app, "[data-testid=step-line]").await, "RUN [ \"$(uname -m)\" != \"aarch64\" ]");
    app.close().await;
}

/// The log pane as a script sees it: lines held (as the pane counts them), the last row number in the
/// DOM, whether the scroll area is at its end, and its overflow-y.
const LOG_STATE: &str = "const log = document.querySelector('[data-testid=build-log]'); if (!log) return null; \
    const area = log.querySelector('[data-testid=build-log-lines]'); const rows = log.querySelectorAll('.row .n'); \
    return { lines: parseInt(log.querySelector('.count').textContent.replace(/[^0-9]/g, ''), 10) || 0, \
    last: rows.length ? parseInt(rows[rows.length - 1].textContent, 10) : 0, \
    atEnd: area.scrollTop + area.clientHeight >= area.scrollHeight - 17, overflow: getComputedStyle(area).overflowY };";

async fn log_state(app: &App) -> serde_json::Value {
    app.client.execute(LOG_STATE, vec![]).await.unwrap()
}

#[tokio::test]
async fn a_printing_steps_log_follows_its_tail_and_scrolls_back_when_pointed_at() {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction};
    use std::time::Duration;

    let registry = registry();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    // 18,000 lines over about six seconds: fewer than the pane holds, so none are dropped meanwhile.
    let context = context_with(&format!(
        "FROM {registry}/busybox:latest\nRUN echo {nonce} && for i in $(seq 1 60); do seq 1 300; sleep 0.1; done\n"
    ));
    let app = App::launch().await;
    app.open_build_form(context.path()).await;
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();

    // While it prints, the log shows its newest line and, with nobody pointing at it, is no live
    // scroll area (cheaper for the web view to redraw).
    app.wait_for("[data-testid=build-log]", 120).await;
    let started = std::time::Instant::now();
    let state = loop {
        let state = log_state(&app).await;
        if state["lines"].as_u64().unwrap_or(0) >= 2000 {
            break state;
        }
        if started.elapsed() > Duration::from_secs(60) {
            panic!("the RUN step's log did not grow: {state}\nthe window showed:\n{}", app.page_text().await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(state["last"], state["lines"], "the log follows its tail: {state}");
    assert_eq!(state["atEnd"], true, "{state}");
    assert_eq!(state["overflow"], "hidden", "{state}");

    // Pointing at it makes it scrollable; scrolling up stops the following while lines keep coming.
    let area = app.wait_for("[data-testid=build-log-lines]", 5).await;
    let mouse = MouseActions::new("mouse".into()).then(PointerAction::MoveToElement {
        element: area.clone(),
        duration: Some(Duration::from_millis(50)),
        x: 0.0,
        y: 0.0,
    });
    app.client.perform_actions(mouse).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log_state(&app).await["overflow"], "auto");
    // WebKitWebDriver's wheel actions reach the page as events but do not scroll it; scroll as a
    // wheel would.
    app.client.execute("arguments[0].scrollTop -= 2000;", vec![serde_json::to_value(&area).unwrap()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let scrolled = log_state(&app).await;
    assert_eq!(scrolled["atEnd"], false, "scrolled back: {scrolled}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let later = log_state(&app).await;
    assert!(later["lines"].as_u64() > scrolled["lines"].as_u64(), "lines keep coming: {scrolled} then {later}");
    assert_eq!(later["last"], scrolled["last"], "the view stays where it was scrolled to: {scrolled} then {later}");
    assert_eq!(later["atEnd"], false, "{later}");

    // A search typed while the step prints stays, and finds lines as they come.
    let search = app.wait_for("[data-testid=build-log-search]", 5).await;
    search.send_keys("299").await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(search.prop("value").await.unwrap().as_deref(), Some("299"));
    let count = text(&app, "[data-testid=build-log] .count").await;
    assert!(count.contains("matching"), "the search holds: {count}");

    app.wait_for("[data-testid=build-result][data-state]", 300).await;
    app.close().await;
}

#[tokio::test]
async fn a_dockerfile_that_does_not_parse_shows_platforms_that_never_started_and_its_line() {
    let registry = registry();
    let context = context_with(&format!("FROM {registry}/busybox:latest\nRUN echo hi\nFOO bar\n"));

    let app = App::launch().await;
    open_form(&app, context.path()).await;
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();

    app.wait_for("[data-testid=build-failure]", 120).await;
    let result = app.wait_for("[data-testid=build-result]", 5).await;
    assert_eq!(result.attr("data-state").await.unwrap().as_deref(), Some("failed"));
    // The line as BuildKit reports it, with its source.
    assert_eq!(text(&app, "[data-testid=failure-line]").await, "3");
    for platform in PLATFORMS {
        let end = app.wait_for(&format!("[data-testid=failure-platform-state][data-platform='{platform}']"), 5).await;
        assert_eq!(end.attr("data-state").await.unwrap().as_deref(), Some("notStarted"), "{platform} in the summary");
    }

    // Behind the summary, no platform lane reads "done": none of them ran, and each says why.
    app.wait_for("[data-testid=build-tab-lanes]", 5).await.click().await.unwrap();
    app.screenshot("build-parse-error").await;
    for platform in PLATFORMS {
        let lane = app.wait_for(&format!("[data-testid=build-lane][data-lane='{platform}']"), 5).await;
        assert_eq!(lane.attr("data-state").await.unwrap().as_deref(), Some("notStarted"), "{platform} lane");
        let why = lane.find(Locator::Css("[data-testid=build-lane-empty]")).await.unwrap();
        let why = why.prop("textContent").await.unwrap().unwrap_or_default();
        assert!(why.contains("unknown instruction: FOO"), "{platform} lane says why: {why}");
    }
    app.close().await;
}

/// The Build button's top edge on screen, where a person about to press it saw it.
async fn build_button_top(app: &App) -> f64 {
    app.wait_for("[data-testid=build-start]", 5).await.rectangle().await.unwrap().1
}

#[tokio::test]
async fn the_build_button_stays_put_when_the_builders_platforms_the_outline_or_its_error_arrive() {
    let broken = context_with("FROM scratch\nFOO bar\n");
    let good = context_with("FROM scratch AS base\nFROM base\n");

    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    // The form's first frame, while the builder's platforms are read again: the list's are shown.
    let first = build_button_top(&app).await;
    app.wait_for("[data-testid=build-platforms][data-source=builder]", 60).await;
    let before = build_button_top(&app).await;
    assert_eq!(before, first, "once the builder's platforms are read");

    let context = app.wait_for("input[name=context]", 10).await;
    context.send_keys(&broken.path().display().to_string()).await.unwrap();
    let error = app.wait_for("[data-testid=build-outline-error]", 30).await;
    // The file as the form names it: the context folder is in the field above.
    // Its textContent: WebDriver's element text reads a two-line clamped box as empty.
    let said = error.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(said.trim().starts_with("syntax error in Dockerfile line 2: unknown instruction: FOO"), "{said}");
    assert_eq!(build_button_top(&app).await, before, "with the parse error shown");

    context.clear().await.unwrap();
    context.send_keys(&good.path().display().to_string()).await.unwrap();
    let outline = app.wait_for("[data-testid=build-outline]", 30).await;
    assert!(outline.text().await.unwrap().contains("2 stages"), "the outline of the second context");
    assert_eq!(build_button_top(&app).await, before, "with the outline shown");
    app.close().await;
}

#[tokio::test]
async fn building_only_after_a_push_shows_no_image_from_the_push() {
    let registry = registry();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let context = context_with(&format!("FROM {registry}/busybox:latest\nRUN echo {nonce}\n"));
    let tag = format!("{registry}/e2e/build-only-after-push:{}", std::process::id());

    let app = App::launch().await;
    app.open_build_form(context.path()).await;
    app.wait_for("input[name=output][value=push]", 5).await.click().await.unwrap();
    app.wait_for("textarea[name=tags]", 5).await.send_keys(&tag).await.unwrap();
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();
    let pushed = app.wait_for("[data-testid=build-result][data-state=succeeded]", 120).await;
    assert!(text(&app, "[data-testid=build-reference]").await.starts_with(&tag));
    pushed.find(Locator::Css("[data-testid=build-open-image]")).await.expect("a pushed image opens in Images");

    // The tag stays typed in; the output changes to "Build only".
    app.wait_for("input[name=output][value=cacheOnly]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();
    // Both builds are recorded once the second has ended; the result card is then the second's.
    let started = std::time::Instant::now();
    while app.count("[data-testid=recent-build]").await < 2 {
        assert!(started.elapsed().as_secs() < 120, "the build-only run did not end");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let result = app.wait_for("[data-testid=build-result]", 5).await;
    assert_eq!(result.attr("data-state").await.unwrap().as_deref(), Some("succeeded"));
    for what in ["build-reference", "build-open-image", "build-digest"] {
        let shown = result.find_all(Locator::Css(&format!("[data-testid={what}]"))).await.unwrap();
        assert!(shown.is_empty(), "a build-only result shows no {what}");
    }
    app.screenshot("build-only-after-push").await;
    app.close().await;
}
