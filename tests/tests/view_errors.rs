//! A view that throws while drawing shows what failed and a way back, never a blank pane.

use buildlane_e2e::App;
use fantoccini::Locator;

/// A build record as another version or a hand edit may leave it: one step listed twice. The core
/// reads it as it is; drawing its lanes used to throw and leave the Build view blank.
fn record_with_a_step_listed_twice(build_ref: &str) -> serde_json::Value {
    let step = serde_json::json!({
        "id": "sha256:0123", "lane": "linux/amd64", "name": "RUN make", "stage": null, "position": "2/2",
        "state": "done", "startedMs": 10, "completedMs": 200, "error": null,
        "bytesCurrent": 0, "bytesTotal": 0, "logLines": 0
    });
    serde_json::json!({
        "request": {
            "context": "/srv/app", "dockerfile": "", "platforms": ["linux/amd64"], "tags": [], "buildArgs": [],
            "labels": [], "target": "", "noCache": false, "output": { "type": "cacheOnly" }, "provenance": "min",
            "sbom": false, "sbomGenerator": "", "builder": "", "secrets": [], "cacheFrom": [], "cacheTo": []
        },
        "outcome": {
            "buildRef": build_ref, "builder": "default", "state": "succeeded", "digest": null,
            "platforms": ["linux/amd64"], "tags": [], "durationMs": 210, "failure": null,
            "steps": [step.clone(), step], "exporterResponse": {}
        },
        "startedAt": "2026-01-01T00:00:00.000Z"
    })
}

#[tokio::test]
async fn a_build_record_the_lanes_cannot_draw_shows_the_error_with_a_way_back() {
    let app = App::launch().await;
    let builds = app.data_dir().join("builds");
    std::fs::create_dir_all(&builds).unwrap();
    let build_ref = "twicelisted";
    std::fs::write(
        builds.join(format!("{build_ref}.json")),
        serde_json::to_vec(&record_with_a_step_listed_twice(build_ref)).unwrap(),
    )
    .unwrap();

    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    // The builder's own platforms lengthen the form above the recent builds when they arrive: a click
    // in that moment landed beside the row (twice in CI, the record never opened).
    app.wait_for("[data-testid=build-platforms][data-source=builder]", 60).await;
    let recent = app.wait_for(&format!("[data-testid=recent-build][data-ref={build_ref}] button.open"), 10).await;
    recent.click().await.unwrap();

    // The error, in place of the view, with what failed.
    let failed = app.wait_for("[data-testid=view-error][data-view=Build]", 10).await;
    let message = app.wait_for("[data-testid=view-error-message]", 5).await.text().await.unwrap();
    assert!(message.contains("each_key_duplicate"), "the view says what failed: {message}");
    assert!(failed.is_displayed().await.unwrap());
    app.screenshot("view-error").await;

    // Trying again draws the same record again: the same error, still with its way back.
    app.wait_for("[data-testid=view-error-retry]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=view-error][data-view=Build]", 10).await;

    // The way back closes the record: the Build view works again, form and all.
    app.wait_for("[data-testid=view-error-back]", 5).await.click().await.unwrap();
    app.wait_gone("[data-testid=view-error]", 10).await;
    app.wait_for("[data-testid=build-empty]", 10).await;
    app.wait_for("[data-testid=build-form]", 5).await;
    assert!(!app.client.find_all(Locator::Css("[data-testid=recent-build]")).await.unwrap().is_empty());
    app.close().await;
}
