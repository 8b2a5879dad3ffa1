//! Benchmark (run by scripts/bench-history.sh, not a test): a builder's history at scale in the real
//! window (`BUILDLANE_APP`, a release build, on the engine at `BUILDLANE_BENCH_ENGINE`, which keeps
//! `BUILDLANE_BENCH_RECORDS` records, one of them, `BUILDLANE_BENCH_LOG_REF`, a build whose RUN
//! printed 100,000 lines). Each launch times the History tab's click to its first row and to every
//! record counted, scrolls the list to its end recording the interval between animation frames,
//! opens the 100,000-line record and times its replay into lanes (frames too), and reads the PSS of
//! the process tree idle, after listing and after the replay. Prints medians over `RUNS` launches
//! (3 by default); frame percentiles pool every launch's frames.

use std::path::Path;
use std::time::Duration;

use buildlane_e2e::memory::Pss;
use buildlane_e2e::App;
use serde_json::Value;

/// Clicks the History tab and resolves with the milliseconds until a history row is added to the DOM
/// and until the list counts `expected` records (the observer is set up in the same task as the
/// click, so nothing is missed).
const LIST: &str = r#"
const [expected, done] = arguments;
const started = performance.now();
let first = null;
const isRow = (n) => n.nodeType === 1 && (n.matches('[data-testid=history-row]') || n.querySelector('[data-testid=history-row]'));
const observer = new MutationObserver((records) => {
  if (first === null && records.some((r) => [...r.addedNodes].some(isRow))) first = performance.now() - started;
});
observer.observe(document.body, { childList: true, subtree: true });
const check = () => {
  const shown = document.querySelector('[data-testid=history-count]');
  const count = shown ? parseInt(shown.textContent, 10) || 0 : 0;
  const elapsed = performance.now() - started;
  if (count >= expected || elapsed > 120000) {
    observer.disconnect();
    done({ first, all: count >= expected ? elapsed : -1, count });
    return;
  }
  requestAnimationFrame(check);
};
document.querySelector('[data-testid=build-side-history]').click();
requestAnimationFrame(check);
"#;

/// Scrolls the history list `step` pixels a frame to its end; resolves with the frame intervals, the
/// time taken and the most rows that were ever in the DOM.
const SCROLL_TO_END: &str = r#"
const [step, done] = arguments;
const scroller = document.querySelector('[data-testid=history-list]');
scroller.scrollTop = 0;
const frames = [];
let maxRows = 0;
const started = performance.now();
let previous = started;
const tick = (now) => {
  frames.push(now - previous);
  previous = now;
  maxRows = Math.max(maxRows, scroller.querySelectorAll('[data-testid=history-row]').length);
  const end = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1;
  if (end || now - started > 120000) { done({ frames, elapsed: end ? performance.now() - started : -1, maxRows }); return; }
  scroller.scrollTop += step;
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
"#;

/// Finds the record `ref` in the list (scrolling from the top), clicks it and resolves when the
/// replay has ended (the build's result is shown): frame intervals meanwhile, the time to the first
/// step in the lanes and to the end, the result's state; `null` when the record is not listed.
const REPLAY: &str = r#"
const [ref, done] = arguments;
const scroller = document.querySelector('[data-testid=history-list]');
scroller.scrollTop = 0;
const searching = performance.now();
const open = (row) => {
  const frames = [];
  const started = performance.now();
  let previous = started;
  let firstStep = null;
  const tick = (now) => {
    frames.push(now - previous);
    previous = now;
    if (firstStep === null && document.querySelector('[data-testid=build-step]')) firstStep = performance.now() - started;
    const result = document.querySelector('[data-testid=build-result][data-state]');
    if (result || now - started > 120000) {
      done({ frames, elapsed: result ? performance.now() - started : -1, firstStep, state: result ? result.dataset.state : null });
      return;
    }
    requestAnimationFrame(tick);
  };
  row.click();
  requestAnimationFrame(tick);
};
const find = () => {
  const row = scroller.querySelector(`[data-testid=history-row][data-ref='${ref}']`);
  if (row) { open(row); return; }
  if (scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 1 || performance.now() - searching > 60000) { done(null); return; }
  scroller.scrollTop += scroller.clientHeight;
  requestAnimationFrame(find);
};
requestAnimationFrame(find);
"#;

/// Selects the step whose name holds `text` and resolves, two frames later, with what its log pane
/// says of its length and how many elements the page holds.
const LOG_SHOWN: &str = r#"
const [text, done] = arguments;
const step = [...document.querySelectorAll('[data-testid=build-step]')].find((s) => s.textContent.includes(text));
if (step) step.click();
requestAnimationFrame(() => requestAnimationFrame(() => {
  const count = document.querySelector('[data-testid=build-log] .count');
  done({ log: count ? count.textContent.trim() : null, elements: document.getElementsByTagName('*').length });
}));
"#;

/// Pixels the list scrolls a frame: eight 44-pixel rows.
const SCROLL_STEP: f64 = 44.0 * 8.0;
/// Long enough for a start's or a replay's garbage to be collected and WebKit's caches to settle.
const SETTLE: Duration = Duration::from_secs(5);

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run scripts/bench-history.sh"))
}

fn numbers(values: &Value) -> Vec<f64> {
    values.as_array().map(|a| a.iter().filter_map(Value::as_f64).collect()).unwrap_or_default()
}

/// What one launch saw.
struct Run {
    first_row: f64,
    all_rows: f64,
    counted: u64,
    scroll: f64,
    scroll_frames: Vec<f64>,
    max_rows: u64,
    first_step: f64,
    replay: f64,
    replay_frames: Vec<f64>,
    replay_state: String,
    log: String,
    elements: u64,
    idle: Pss,
    listed: Pss,
    replayed: Pss,
}

async fn one_run(engine: &str, records: u64, log_ref: &str) -> Run {
    let app = App::launch_on(engine).await;
    let pid = app.app_pid();
    app.wait_for("[data-testid=builders-loaded]", 30).await;
    app.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=build-side-history]", 10).await;
    tokio::time::sleep(SETTLE).await;
    let idle = Pss::of_tree(pid);

    let listed = app.client.execute_async(LIST, vec![records.into()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let scrolled = app.client.execute_async(SCROLL_TO_END, vec![SCROLL_STEP.into()]).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let listed_pss = Pss::of_tree(pid);

    let replayed = app.client.execute_async(REPLAY, vec![log_ref.into()]).await.unwrap();
    assert!(!replayed.is_null(), "record {log_ref} is not in the window's history list");
    let shown = app.client.execute_async(LOG_SHOWN, vec!["seq 1 2000".into()]).await.unwrap();
    tokio::time::sleep(SETTLE).await;
    let replayed_pss = Pss::of_tree(pid);

    let tree = buildlane_e2e::descendants(pid);
    app.close().await;
    // A web process still exiting would share its pages with the next launch's and lower its PSS.
    for _ in 0..100 {
        if tree.iter().all(|p| !Path::new(&format!("/proc/{p}")).exists()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Run {
        first_row: listed["first"].as_f64().unwrap_or(-1.0),
        all_rows: listed["all"].as_f64().unwrap_or(-1.0),
        counted: listed["count"].as_u64().unwrap_or(0),
        scroll: scrolled["elapsed"].as_f64().unwrap_or(-1.0),
        scroll_frames: numbers(&scrolled["frames"]),
        max_rows: scrolled["maxRows"].as_u64().unwrap_or(0),
        first_step: replayed["firstStep"].as_f64().unwrap_or(-1.0),
        replay: replayed["elapsed"].as_f64().unwrap_or(-1.0),
        replay_frames: numbers(&replayed["frames"]),
        replay_state: replayed["state"].as_str().unwrap_or("none").to_owned(),
        log: shown["log"].as_str().unwrap_or("no log shown").to_owned(),
        elements: shown["elements"].as_u64().unwrap_or(0),
        idle,
        listed: listed_pss,
        replayed: replayed_pss,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    percentile(&values, 0.5)
}

/// `median 16.0 / 95th 33.0 / longest 50.0 ms, 2 of 120 over 50 ms`.
fn frames(all: Vec<f64>) -> String {
    let mut all = all;
    all.sort_by(f64::total_cmp);
    let over = all.iter().filter(|t| **t > 50.0).count();
    format!(
        "median {:.1} / 95th {:.1} / longest {:.1} ms; {over} of {} over 50 ms",
        percentile(&all, 0.5),
        percentile(&all, 0.95),
        percentile(&all, 1.0),
        all.len()
    )
}

fn ms(x: f64) -> String {
    if x < 0.0 {
        "not reached".into()
    } else if x >= 1000.0 {
        format!("{:.2} s", x / 1000.0)
    } else {
        format!("{x:.0} ms")
    }
}

/// The median PSS of `pick` over the runs, each part's median on its own.
fn pss(runs: &[Run], pick: fn(&Run) -> Pss) -> String {
    let part = |f: fn(&Pss) -> f64| median(runs.iter().map(|r| f(&pick(r))));
    Pss { app: part(|p| p.app), web: part(|p| p.web), network: part(|p| p.network) }.describe()
}

#[tokio::main]
async fn main() {
    let engine = required("BUILDLANE_BENCH_ENGINE");
    let records: u64 = required("BUILDLANE_BENCH_RECORDS").parse().expect("BUILDLANE_BENCH_RECORDS is a number");
    let log_ref = required("BUILDLANE_BENCH_LOG_REF");
    let launches: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(3);
    let mut runs = Vec::new();
    for run in 0..launches {
        runs.push(one_run(&engine, records, &log_ref).await);
        eprintln!("history window: launch {} of {launches} done", run + 1);
    }

    let med = |f: fn(&Run) -> f64| ms(median(runs.iter().map(f)));
    let last = runs.last().expect("at least one launch");
    println!("| {records} history records in the window ({launches} launches, medians) | value |");
    println!("|---|---|");
    println!("| records counted in the list | {} |", last.counted);
    println!("| History tab → first row | {} |", med(|r| r.first_row));
    println!("| History tab → every record listed | {} |", med(|r| r.all_rows));
    println!("| scrolled to the last record, 8 rows a frame | {} |", med(|r| r.scroll));
    println!("| frames while scrolling | {} |", frames(runs.iter().flat_map(|r| r.scroll_frames.clone()).collect()));
    println!("| most history rows in the DOM at once | {} |", runs.iter().map(|r| r.max_rows).max().unwrap_or(0));
    println!("| open the 100,000-line record → first step in the lanes | {} |", med(|r| r.first_step));
    println!("| open the 100,000-line record → replay done ({}) | {} |", last.replay_state, med(|r| r.replay));
    println!("| frames while replaying | {} |", frames(runs.iter().flat_map(|r| r.replay_frames.clone()).collect()));
    println!("| the RUN step's log pane says | {} |", last.log);
    println!("| elements in the page after the replay | {} |", last.elements);
    println!("| PSS idle (Build view open) | {} |", pss(&runs, |r| r.idle));
    println!("| PSS after listing {records} records | {} |", pss(&runs, |r| r.listed));
    println!("| PSS after replaying the 100,000-line log | {} |", pss(&runs, |r| r.replayed));
}
