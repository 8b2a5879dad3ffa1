//! Benchmark (run by scripts/bench-catalog.sh, not a test): a registry of 2,000 repositories in the
//! real window. Measures the time from clicking the registry to its first repository row on screen,
//! then scrolls the list to its last repository (pages load as the end nears) while recording the
//! interval between animation frames; prints a table.

use std::time::Duration;

use buildlane_e2e::App;
use serde_json::Value;

/// Clicks the registry and resolves with the milliseconds until a repository row is added to the DOM
/// (the observer is set up before the click, in the same task, so nothing is missed; the rows of the
/// registry shown before are only ever removed).
const FIRST_PAGE: &str = r#"
const [registry, done] = arguments;
const started = performance.now();
const isRow = (n) => n.nodeType === 1 && (n.matches('[data-testid=repository]') || n.querySelector('[data-testid=repository]'));
const observer = new MutationObserver((records) => {
  if (records.some((r) => [...r.addedNodes].some(isRow))) { observer.disconnect(); done(performance.now() - started); }
});
observer.observe(document.body, { childList: true, subtree: true });
document.querySelector(`[data-testid=registry][data-registry='${registry}']`).click();
"#;

/// Scrolls the repository list a step per frame until its last repository is shown; resolves with
/// the frame intervals, the time taken and the most repository rows that were ever in the DOM.
const SCROLL_TO_END: &str = r#"
const [last, step, done] = arguments;
const scroller = document.querySelector('[role=listbox][aria-label=Repositories]');
const frames = [];
let maxRows = 0;
const started = performance.now();
let previous = started;
const tick = (now) => {
  frames.push(now - previous);
  previous = now;
  maxRows = Math.max(maxRows, document.querySelectorAll('[data-testid=repository]').length);
  if (document.querySelector(`[data-testid=repository][data-repository='${last}']`)) {
    done({ frames, elapsed: performance.now() - started, maxRows });
    return;
  }
  if (now - started > 120000) { done({ frames, elapsed: -1, maxRows }); return; }
  scroller.scrollTop += step;
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"#;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let registry = std::env::var("BUILDLANE_BENCH_REGISTRY").expect("BUILDLANE_BENCH_REGISTRY names the registry");
    let repositories: usize = std::env::var("BUILDLANE_BENCH_REPOSITORIES").map_or(2000, |n| n.parse().unwrap());
    let last = format!("bench/r{:04}", repositories - 1);

    let other = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set");

    let app = App::launch().await;
    app.wait_for("[data-testid=rail-images]", 30).await.click().await.unwrap();
    // Adding a registry selects it. The benchmark's registry first (the app's first listing of it),
    // then the project's: the measured click goes back from that one's list.
    for host in [&registry, &other] {
        app.wait_for("[data-testid=registry-add-open]", 10).await.click().await.unwrap();
        app.wait_for("input[name=registry]", 5).await.send_keys(host).await.unwrap();
        app.wait_for("[data-testid=registry-add]", 5).await.click().await.unwrap();
        app.wait_for(&format!("[data-testid=registry][data-registry='{host}'][aria-pressed=true]"), 10).await;
        app.wait_for("[data-testid=repository]", 30).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let first_page = app.client.execute_async(FIRST_PAGE, vec![registry.clone().into()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let scrolled: Value =
        app.client.execute_async(SCROLL_TO_END, vec![last.clone().into(), Value::from(26 * 8)]).await.unwrap();
    let count = app.wait_for("[data-testid=repository-count]", 5).await.text().await.unwrap();
    app.close().await;

    let mut frames: Vec<f64> = scrolled["frames"].as_array().unwrap().iter().filter_map(Value::as_f64).collect();
    frames.sort_by(f64::total_cmp);
    let elapsed = scrolled["elapsed"].as_f64().unwrap();
    println!("| registry of {repositories} repositories, in the window | value |");
    println!("|---|---|");
    if let Ok(ms) = std::env::var("BUILDLANE_BENCH_CURL_MS") {
        println!("| for scale: `curl` of the first catalog page (100), median of 20 | {ms} ms |");
    }
    println!("| click → first repository row | {:.0} ms |", first_page.as_f64().unwrap());
    if elapsed < 0.0 {
        println!("| scrolled to {last} | not reached in 120 s ({count} listed) |");
    } else {
        println!("| scrolled to {last}, 8 rows a frame | {:.2} s ({count} listed) |", elapsed / 1000.0);
    }
    println!("| frames while scrolling | {} |", frames.len());
    for (label, p) in [("median frame", 0.5), ("95th percentile frame", 0.95), ("longest frame", 1.0)] {
        println!("| {label} | {:.1} ms |", percentile(&frames, p));
    }
    println!("| frames over 50 ms | {} |", frames.iter().filter(|t| **t > 50.0).count());
    println!("| most repository rows in the DOM at once | {} |", scrolled["maxRows"]);
}
