//! The Cache panel, used as a person would: open it on the default builder, see the bar and the
//! totals, preview a prune with filters, prune, and check with `docker buildx du` that the record
//! went. The engine's cache is shared, so the prune is confined to a record this test made.

use buildlane_e2e::App;
use fantoccini::Locator;

/// Builds a step with a cache mount of its own on the default builder; returns that mount's record id.
fn make_cache_mount(app: &App) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mark = format!("buildlane-e2e-cache-{}-{nanos}", std::process::id());
    let ctx = tempfile::tempdir().unwrap();
    let registry = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set (scripts/engine.sh env)");
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {registry}/busybox:latest\nRUN --mount=type=cache,id={mark},target=/c echo {mark} > /c/f\n"),
    )
    .unwrap();
    let out = app.docker(&["buildx", "build", "--builder", "default", "-q", ctx.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = app.docker(&["buildx", "du", "--verbose", "--builder", "default"]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    listing
        .split("\n\n")
        .find(|block| block.contains(&mark) && block.contains("exec.cachemount"))
        .and_then(|block| block.lines().find_map(|l| l.strip_prefix("ID:")))
        .map(|id| id.trim().to_owned())
        .unwrap_or_else(|| panic!("no cache mount record for {mark} in:\n{listing}"))
}

#[tokio::test]
async fn the_cache_panel_shows_the_cache_previews_a_filtered_prune_and_prunes_it() {
    let app = App::launch().await;
    let id = make_cache_mount(&app);
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    let row = "[data-testid=builder-row][data-builder=default]";
    let size = app.wait_for(&format!("{row} [data-testid=cache-badge-size]"), 20).await;
    let started = std::time::Instant::now();
    while size.text().await.unwrap().trim() == "…" {
        assert!(started.elapsed().as_secs() < 20, "the row never showed its cache size");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.wait_for(&format!("{row} [data-testid=cache-badge]"), 5).await.click().await.unwrap();

    let panel = app.wait_for("[data-testid=cache-panel][data-builder=default]", 20).await;
    app.wait_for("[data-testid=cache-bar] [data-testid=cache-bar-part]", 20).await;
    let total = app.wait_for("[data-testid=cache-total]", 5).await.text().await.unwrap();
    assert!(total.ends_with('B'), "a size as buildx prints it: {total}");
    // The largest records are listed; the test's small one need not be among them.
    app.wait_for("[data-testid=cache-records] [data-testid=cache-record]", 10).await;

    let filters = panel.find(Locator::Css("textarea[name=filters]")).await.unwrap();
    // One filter per line: WebDriver types a line break as its Enter key.
    let enter = char::from(fantoccini::key::Key::Enter);
    filters.send_keys(&format!("type=exec.cachemount{enter}id=^{id}$")).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        let count = app.wait_for("[data-testid=prune-preview-count]", 10).await.text().await.unwrap();
        if count.trim() == "1" {
            break;
        }
        if started.elapsed().as_secs() >= 20 {
            let typed = filters.prop("value").await.unwrap();
            app.screenshot("cache-panel-preview-failed").await;
            panic!("the preview shows {count} records, not the one filtered by {typed:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.screenshot("cache-panel-preview").await;

    app.wait_for("[data-testid=prune-submit]", 5).await.click().await.unwrap();
    let outcome = app.wait_for("[data-testid=prune-outcome]", 30).await.text().await.unwrap();
    assert!(outcome.starts_with("Removed 1 record"), "{outcome}");
    // The panel reads the cache again after a prune: the preview of the same filters is now empty.
    let started = std::time::Instant::now();
    while app.wait_for("[data-testid=prune-preview-count]", 10).await.text().await.unwrap().trim() != "0" {
        assert!(started.elapsed().as_secs() < 20, "the preview still lists the pruned record");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.screenshot("cache-panel-pruned").await;

    let listing = app.docker(&["buildx", "du", "--verbose", "--builder", "default"]);
    assert!(!String::from_utf8_lossy(&listing.stdout).contains(&id), "buildx still lists the pruned record");
    app.close().await;
}
