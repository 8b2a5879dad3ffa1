//! Benchmark (run by scripts/bench-window.sh, not a test): how smooth the real window stays while a
//! build's RUN step prints 100,000 lines. Measures the interval between animation frames in the web
//! view: idle, during an equally long quiet build, and during the chatty one; prints a table.

use std::path::Path;
use std::time::{Duration, Instant};

use buildlane_e2e::App;

const START_PROBE: &str = "window.__frames = []; window.__stopFrames = false; let last = performance.now(); \
    const tick = (t) => { window.__frames.push(t - last); last = t; if (!window.__stopFrames) requestAnimationFrame(tick); }; \
    requestAnimationFrame(tick);";
const STOP_PROBE: &str = "window.__stopFrames = true; return window.__frames;";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sorted(frames: &serde_json::Value) -> Vec<f64> {
    let mut out: Vec<f64> =
        frames.as_array().map(|a| a.iter().filter_map(|v| v.as_f64()).collect()).unwrap_or_default();
    out.sort_by(f64::total_cmp);
    if out.is_empty() {
        out.push(0.0);
    }
    out
}

/// Runs the build in `context` from the open Build view and returns its frame times.
async fn frames_during_build(app: &App, context: &Path) -> (Duration, Vec<f64>) {
    let field = app.wait_for("input[name=context]", 10).await;
    field.clear().await.unwrap();
    field.send_keys(&context.display().to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    app.client.execute(START_PROBE, vec![]).await.unwrap();
    let started = Instant::now();
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();
    // The result of this build (not an earlier one) carries its own state once it ends.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.wait_for("[data-testid=build-result][data-state]", 300).await;
    let elapsed = started.elapsed();
    (elapsed, sorted(&app.client.execute(STOP_PROBE, vec![]).await.unwrap()))
}

fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

#[tokio::main]
async fn main() {
    let registry = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set");
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    // Both take about five seconds; only one prints (100,000 lines, spread out as a real step would).
    let quiet = context(&format!(
        "FROM {registry}/busybox:latest\nRUN echo q{nonce} && for i in $(seq 1 50); do sleep 0.1; done\n"
    ));
    let chatty = context(&format!(
        "FROM {registry}/busybox:latest\nRUN echo c{nonce} && for i in $(seq 1 50); do seq 1 2000; sleep 0.1; done\n"
    ));

    let app = App::launch().await;
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("input[name=context]", 10).await;
    app.client.execute(START_PROBE, vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = sorted(&app.client.execute(STOP_PROBE, vec![]).await.unwrap());
    let (quiet_time, quiet_frames) = frames_during_build(&app, quiet.path()).await;
    let (chatty_time, chatty_frames) = frames_during_build(&app, chatty.path()).await;
    app.close().await;

    let columns = [&idle, &quiet_frames, &chatty_frames];
    println!(
        "| window frame times | idle (2 s) | quiet build ({:.1} s) | RUN printing 100,000 lines ({:.1} s) |",
        quiet_time.as_secs_f64(),
        chatty_time.as_secs_f64()
    );
    println!("|---|---|---|---|");
    println!("| frames drawn | {} | {} | {} |", idle.len(), quiet_frames.len(), chatty_frames.len());
    for (label, p) in [("median", 0.5), ("95th percentile", 0.95), ("longest", 1.0)] {
        let cells: Vec<String> = columns.iter().map(|f| format!("{:.1} ms", percentile(f, p))).collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    let over: Vec<String> = columns.iter().map(|f| f.iter().filter(|t| **t > 50.0).count().to_string()).collect();
    println!("| frames over 50 ms | {} |", over.join(" | "));
}
