//! Benchmark (run by scripts/bench-window.sh, not a test): how smooth the real window stays while a
//! build's RUN step prints 100,000 lines, or (`window-frames prune`) while the Cache panel prunes a
//! few hundred records one by one. Measures the interval between animation frames in the web
//! view: idle, during an equally long quiet build, and during the chatty one, or idle and during
//! the prune; prints a table.
//!
//! Frame times depend on how busy the machine is, so a second table counts the window's work, most of
//! which does not: how many frames follow a DOM change (each one the web view must lay out, paint and
//! composite again — with software rendering the dearest part), DOM mutations per second, script
//! time per progress update and per clock tick, and the time each frame spends from its animation
//! callbacks to the next task (style, layout, paint).

use std::path::Path;
use std::time::{Duration, Instant};

use buildlane_e2e::App;
use serde_json::Value;

const START_PROBE: &str = include_str!("window-probe.js");
const STOP_PROBE: &str = "const p = window.__probe; p.stop = true; p.undo.forEach((f) => f()); \
    return { frames: p.frames, render: p.render, updates: p.updates, updateBytes: p.updateBytes, ticks: p.ticks, \
    added: p.added, removed: p.removed, text: p.text, attrs: p.attrs, changed: p.changed, seconds: (performance.now() - p.started) / 1000 };";

/// The `p` quantile of sorted values; 0 for none.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn sorted(values: &Value) -> Vec<f64> {
    let mut out: Vec<f64> =
        values.as_array().map(|a| a.iter().filter_map(|v| v.as_f64()).collect()).unwrap_or_default();
    out.sort_by(f64::total_cmp);
    out
}

/// What the probe saw over one interval.
struct Probe {
    frames: Vec<f64>,
    render: Vec<f64>,
    updates: Vec<f64>,
    update_bytes: f64,
    ticks: Vec<f64>,
    mutations: [f64; 4],
    /// Frames drawn after the DOM changed.
    changed: f64,
    seconds: f64,
}

impl Probe {
    fn from(v: Value) -> Probe {
        let n = |k: &str| v[k].as_f64().unwrap_or(0.0);
        Probe {
            frames: sorted(&v["frames"]),
            render: sorted(&v["render"]),
            updates: sorted(&v["updates"]),
            update_bytes: n("updateBytes"),
            ticks: sorted(&v["ticks"]),
            mutations: [n("added"), n("removed"), n("text"), n("attrs")],
            changed: n("changed"),
            seconds: n("seconds").max(0.001),
        }
    }

    fn per_second(&self, x: f64) -> f64 {
        x / self.seconds
    }
}

async fn probe(app: &App) -> Probe {
    Probe::from(app.client.execute(STOP_PROBE, vec![]).await.unwrap())
}

/// Runs the build in `context` from the open Build view and returns what the probe saw.
async fn during_build(app: &App, context: &Path) -> (Duration, Probe) {
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
    (elapsed, probe(app).await)
}

fn context(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

fn ms(x: f64) -> String {
    format!("{x:.1} ms")
}

fn sum(xs: &[f64]) -> f64 {
    // An empty sum of f64 is -0.0; print it as 0.
    xs.iter().sum::<f64>() + 0.0
}

#[tokio::main]
async fn main() {
    let registry = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set");
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    match std::env::args().nth(1).as_deref() {
        None | Some("build") => build_frames(&registry, nonce).await,
        Some("prune") => prune_frames(&registry, nonce).await,
        Some(other) => panic!("unknown scenario {other}: build or prune"),
    }
}

/// The `build` scenario: idle in the Build view, then a quiet build and a chatty one.
async fn build_frames(registry: &str, nonce: u128) {
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
    let idle = probe(&app).await;
    let (quiet_time, quiet) = during_build(&app, quiet.path()).await;
    let (chatty_time, chatty) = during_build(&app, chatty.path()).await;
    app.close().await;

    let header = format!(
        "idle (2 s) | quiet build ({:.1} s) | RUN printing 100,000 lines ({:.1} s) |",
        quiet_time.as_secs_f64(),
        chatty_time.as_secs_f64()
    );
    print_tables(&header, &[&idle, &quiet, &chatty]);
}

/// The `prune` scenario: the Cache panel of the engine's own builder prunes a few hundred records
/// this run made, streamed one by one to its progress bar. (A docker-container builder cannot boot
/// on these machines, no BuildKit image can be pulled; the panel and the stream are the same for
/// every driver.) The engine's cache is shared, so the prune's filter names this run's records by id.
async fn prune_frames(registry: &str, nonce: u128) {
    let steps: usize = std::env::var("PRUNE_STEPS").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let mark = format!("bench-prune-{nonce}");
    // Each step leaves two cache mounts and a layer; on the engine's BuildKit the prune removes
    // the mounts and keeps the chain of layers.
    let mut dockerfile = format!("FROM {registry}/busybox:latest\n");
    for i in 1..=steps {
        dockerfile.push_str(&format!(
            "RUN --mount=type=cache,id={mark}-a{i},target=/a --mount=type=cache,id={mark}-b{i},target=/b \
             echo {mark} {i} > /a/f && echo {i} > /b/f && echo {i} > /f{i}\n"
        ));
    }
    let ctx = context(&dockerfile);
    let app = App::launch().await;
    eprintln!("bench: building {steps} steps for the prune");
    // Into the cache only: a result in the engine's image store would hold the layers (shared records stay).
    let built = app.docker(&[
        "buildx",
        "build",
        "--builder",
        "default",
        "--output",
        "type=cacheonly",
        "-q",
        &ctx.path().display().to_string(),
    ]);
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let listing = app.docker(&["buildx", "du", "--verbose", "--builder", "default"]);
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let ids: Vec<&str> = listing
        .split("\n\n")
        .filter(|block| block.contains(&mark))
        .filter_map(|block| block.lines().find_map(|l| l.strip_prefix("ID:")))
        .map(str::trim)
        .collect();
    assert!(!ids.is_empty(), "no records of {mark} in buildx du");

    app.wait_for("[data-testid=builders-loaded]", 30).await;
    let row = "[data-testid=builder-row][data-builder=default]";
    app.wait_for(&format!("{row} [data-testid=cache-badge]"), 20).await.click().await.unwrap();
    app.wait_for("[data-testid=cache-panel][data-builder=default] [data-testid=cache-bar]", 30).await;
    // Set at once (WebDriver would type it key by key, a preview each time).
    let anchored: Vec<String> = ids.iter().map(|id| format!("^{id}$")).collect();
    let filter = format!("id={}", anchored.join("|"));
    app.client
        .execute(
            "const t = document.querySelector('[data-testid=cache-panel] textarea[name=filters]'); \
             t.value = arguments[0]; t.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![filter.into()],
        )
        .await
        .unwrap();
    // The preview follows the filter a moment later (the one shown before it lists more).
    let started = Instant::now();
    let mut previewed = String::new();
    let count = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let count = app.wait_for("[data-testid=prune-preview-count]", 30).await.text().await.unwrap();
        if count == previewed && count.trim().parse::<usize>().is_ok_and(|n| n > 0 && n <= ids.len()) {
            break count;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the preview lists {count} of {} records", ids.len());
        previewed = count;
    };
    app.client.execute(START_PROBE, vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = probe(&app).await;
    app.client.execute(START_PROBE, vec![]).await.unwrap();
    let started = Instant::now();
    app.wait_for("[data-testid=prune-submit]", 5).await.click().await.unwrap();
    eprintln!("bench: pruning the {} records the preview lists", count.trim());
    let outcome = app.wait_for("[data-testid=prune-outcome]", 900).await.text().await.unwrap();
    let elapsed = started.elapsed();
    let streaming = probe(&app).await;
    app.close().await;
    let removed = outcome.split_whitespace().nth(1).unwrap_or_default();
    assert!(outcome.starts_with("Removed "), "{outcome}");

    let header = format!("Cache panel idle (2 s) | pruning {removed} records ({:.1} s) |", elapsed.as_secs_f64());
    print_tables(&header, &[&idle, &streaming]);
}

/// The frame-time table and the work table, one column per probe.
fn print_tables(header: &str, columns: &[&Probe]) {
    let row = |label: &str, cell: &dyn Fn(&Probe) -> String| {
        let cells: Vec<String> = columns.iter().map(|p| cell(p)).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    let rule = "|---".repeat(columns.len() + 1) + "|";
    println!("| window frame times | {header}");
    println!("{rule}");
    row("frames drawn", &|p| p.frames.len().to_string());
    for (label, q) in [("median", 0.5), ("95th percentile", 0.95), ("longest", 1.0)] {
        row(label, &|p| ms(percentile(&p.frames, q)));
    }
    row("frames over 50 ms", &|p| p.frames.iter().filter(|t| **t > 50.0).count().to_string());
    println!();
    println!("| window work | {header}");
    println!("{rule}");
    row("progress updates", &|p| format!("{} ({:.0} KiB)", p.updates.len(), p.update_bytes / 1024.0));
    row("script per update, median / longest", &|p| match p.updates.is_empty() {
        true => "—".into(),
        false => format!("{} / {}", ms(percentile(&p.updates, 0.5)), ms(percentile(&p.updates, 1.0))),
    });
    row("clock ticks, script per tick median", &|p| match p.ticks.is_empty() {
        true => "—".into(),
        false => format!("{} × {}", p.ticks.len(), ms(percentile(&p.ticks, 0.5))),
    });
    row("script for updates + ticks, per second", &|p| ms(p.per_second(sum(&p.updates) + sum(&p.ticks))));
    row("render per frame, median / 95th", &|p| {
        format!("{} / {}", ms(percentile(&p.render, 0.5)), ms(percentile(&p.render, 0.95)))
    });
    row("frames after a DOM change, per second", &|p| format!("{:.1}", p.per_second(p.changed)));
    row("DOM nodes added + removed per second", &|p| format!("{:.0}", p.per_second(p.mutations[0] + p.mutations[1])));
    row("DOM text changes per second", &|p| format!("{:.0}", p.per_second(p.mutations[2])));
    row("DOM attribute changes per second", &|p| format!("{:.0}", p.per_second(p.mutations[3])));
}
