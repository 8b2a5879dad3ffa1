//! Benchmark (run by scripts/bench-window.sh, not a test): what the window itself costs. Each run
//! launches the app (`BUILDLANE_APP`, a release build), times launch → the first frame showing the
//! builders, then sums the PSS of its process tree (the app, WebKit's web and network processes)
//! idle and after a three-platform build through the Build view; prints median, min and max.
//!
//! With `STALLED_REMOTE=1` the store also holds a remote builder whose daemon accepts connections
//! and never answers.
//!
//! Launch is the app process's start as the kernel recorded it; the page's moments are read from its
//! own clock (`performance.timeOrigin` plus the UI's `builders-listed` mark), both on wall time.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use buildlane_e2e::memory::Pss;
use buildlane_e2e::{descendants, docker_in, silent_daemon, App};

/// Milliseconds since the epoch at which `pid` started.
fn started_at_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the app's /proc stat");
    // Fields after the command name (which may hold spaces), from the state (field 3) on.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("stat has a command name").1.split_whitespace().collect();
    let ticks: f64 = fields[19].parse().expect("starttime");
    let uptime: f64 =
        std::fs::read_to_string("/proc/uptime").unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    (now - uptime + ticks / clock_ticks()) * 1000.0
}

/// USER_HZ, the unit of a process's start time in /proc.
fn clock_ticks() -> f64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("getconf runs");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("CLK_TCK is a number")
}

/// One launch: the page's moments after launch (ms) and the tree's PSS.
struct Run {
    page_start: f64,
    listed: f64,
    idle: Pss,
    built: Pss,
}

const PAGE_TIMES: &str = "const m = performance.getEntriesByName('builders-listed')[0]; \
    return m ? { origin: performance.timeOrigin, listed: m.startTime } : null;";

async fn one_run(context: &Path, stalled_remote: bool) -> Run {
    let sockets = tempfile::tempdir().unwrap();
    let mut daemon = None;
    let app = App::launch_prepared(&std::env::var("DOCKER_HOST").expect("DOCKER_HOST is set"), |config| {
        if stalled_remote {
            // Made while nothing listens: buildx's create waits 20 s for a silent daemon.
            let socket = sockets.path().join("stalled.sock");
            let address = format!("unix://{}", socket.display());
            let out = docker_in(config, &["buildx", "create", "--name", "stalled", "--driver", "remote", &address]);
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            daemon = Some(silent_daemon(&socket));
        }
    })
    .await;
    let pid = app.app_pid();
    let launched = started_at_ms(pid);
    let mut times = serde_json::Value::Null;
    for _ in 0..300 {
        times = app.client.execute(PAGE_TIMES, vec![]).await.unwrap();
        if !times.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!times.is_null(), "the page never marked builders-listed");
    let origin = times["origin"].as_f64().unwrap();
    let listed = times["listed"].as_f64().unwrap();
    // Long enough for the start's garbage to be collected and WebKit's caches to settle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = Pss::of_tree(pid);

    app.open_build_form(context).await;
    app.tick_platforms(&PLATFORMS).await;
    app.wait_for("[data-testid=build-start]", 5).await.click().await.unwrap();
    let result = app.wait_for("[data-testid=build-result][data-state]", 300).await;
    let state = result.attr("data-state").await.unwrap();
    assert_eq!(state.as_deref(), Some("succeeded"), "the three-platform build");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let built = Pss::of_tree(pid);
    let tree = descendants(pid);
    app.close().await;
    // A web process still exiting would share its pages with the next launch's and lower its PSS.
    for _ in 0..100 {
        if tree.iter().all(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(daemon);
    Run { page_start: origin - launched, listed: origin + listed - launched, idle, built }
}

const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/riscv64"];

/// Median, min and max.
fn spread(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

#[tokio::main]
async fn main() {
    let registry = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set");
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    // The store also holds a remote builder whose daemon accepts and never answers (a stalled tunnel).
    let stalled_remote = std::env::var("STALLED_REMOTE").is_ok_and(|v| v == "1");
    let mut samples = Vec::new();
    for run in 0..runs {
        // Each platform's step runs (and prints 2,000 lines) on the build machine: the registry's
        // busybox has no riscv64 image to emulate.
        let nonce = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let context = tempfile::tempdir().unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            format!(
                "FROM --platform=$BUILDPLATFORM {registry}/busybox:latest AS lines\nARG TARGETPLATFORM\n\
                 RUN echo {nonce} $TARGETPLATFORM && seq 1 2000 | tee /lines\nFROM scratch\nCOPY --from=lines /lines /\n"
            ),
        )
        .unwrap();
        samples.push(one_run(context.path(), stalled_remote).await);
        eprintln!("run {} of {runs} done", run + 1);
    }

    let store = if stalled_remote { ", a stalled remote builder in the store" } else { "" };
    println!("| window cost ({runs} launches{store}) | median | min | max |");
    println!("|---|---|---|---|");
    let row = |label: &str, values: Vec<f64>, unit: &dyn Fn(f64) -> String| {
        let (median, min, max) = spread(values);
        println!("| {label} | {} | {} | {} |", unit(median), unit(min), unit(max));
    };
    let ms = |x: f64| format!("{x:.0} ms");
    let mib = |x: f64| format!("{:.0} MiB", x / 1024.0);
    row("launch → page starts loading", samples.iter().map(|s| s.page_start).collect(), &ms);
    row("launch → builders listed", samples.iter().map(|s| s.listed).collect(), &ms);
    for (label, pick) in
        [("idle", (|s: &Run| s.idle) as fn(&Run) -> Pss), ("after a 3-platform build", |s: &Run| s.built)]
    {
        row(&format!("PSS {label}: whole tree"), samples.iter().map(|s| pick(s).total()).collect(), &mib);
        row(&format!("PSS {label}: app"), samples.iter().map(|s| pick(s).app).collect(), &mib);
        row(&format!("PSS {label}: WebKitWebProcess"), samples.iter().map(|s| pick(s).web).collect(), &mib);
        row(&format!("PSS {label}: WebKitNetworkProcess"), samples.iter().map(|s| pick(s).network).collect(), &mib);
    }
}
