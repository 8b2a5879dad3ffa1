//! Drives the real Buildlane window: tauri-driver starts the app under the current X display
//! (Xvfb in CI) and WebKitWebDriver answers WebDriver calls for its web view.
//!
//! tauri-driver listens on fixed ports, so these tests run one at a time (`--test-threads=1`).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

pub mod memory;

const DRIVER_PORT: u16 = 4444;
const NATIVE_PORT: u16 = 4445;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run the end-to-end tests through scripts/test.sh"))
}

/// The engine's docker CLI (on the project's engine) with `config` as its config folder.
pub fn docker_in(config: &Path, args: &[&str]) -> Output {
    Command::new(Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"))
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env("DOCKER_HOST", required("DOCKER_HOST"))
        .output()
        .expect("docker CLI runs")
}

/// A remote BuildKit daemon at `socket` that accepts every connection and never says a word, as
/// one behind a stalled tunnel; it goes with the task.
pub fn silent_daemon(socket: &Path) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).expect("the silent daemon's socket");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    })
}

/// The app binary under test: `BUILDLANE_APP`, else the workspace's debug build.
fn app_binary() -> PathBuf {
    std::env::var_os("BUILDLANE_APP").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/debug/buildlane-window")
            .canonicalize()
            .expect("target/debug/buildlane-window exists (cargo build -p buildlane)")
    })
}

/// Where screenshots go for people to look at.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// A running app window with its own docker config folder, on the project's test engine.
pub struct App {
    pub client: Client,
    driver: Driver,
    world: tempfile::TempDir,
}

impl App {
    /// The window on the project's engine (`DOCKER_HOST`).
    pub async fn launch() -> App {
        App::launch_on(&required("DOCKER_HOST")).await
    }

    /// The window with `DOCKER_HOST=host` (an [`EngineProxy`], say); the test's docker CLI still
    /// talks to the project's engine.
    pub async fn launch_on(app_host: &str) -> App {
        App::launch_prepared(app_host, |_| {}).await
    }

    /// The window opened on a docker config folder `prepare` has been handed first (to create
    /// builders there with [`docker_in`], say), on `DOCKER_HOST=app_host`.
    pub async fn launch_prepared(app_host: &str, prepare: impl FnOnce(&Path)) -> App {
        assert!(std::env::var_os("DISPLAY").is_some(), "no DISPLAY: run under xvfb-run (scripts/test.sh does)");
        let world = tempfile::tempdir().unwrap();
        let plugins = world.path().join("cli-plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::os::unix::fs::symlink(required("BUILDLANE_BUILDX"), plugins.join("docker-buildx")).unwrap();
        prepare(world.path());
        let driver = Command::new("tauri-driver")
            .args(["--port", &DRIVER_PORT.to_string(), "--native-port", &NATIVE_PORT.to_string()])
            .env("DOCKER_CONFIG", world.path())
            .env("DOCKER_HOST", app_host)
            // Build records and added registries stay in the test's world, not the user's.
            .env("XDG_DATA_HOME", world.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tauri-driver is installed (scripts/setup.sh)");
        let driver = Driver(driver);
        // tauri-driver answers on its port at once but hands a new session to WebKitWebDriver, which
        // may not listen yet: the session then failed with the connection closed (once in CI).
        let started = Instant::now();
        for port in [DRIVER_PORT, NATIVE_PORT] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(started.elapsed() < Duration::from_secs(20), "tauri-driver's drivers did not listen on {port}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert("tauri:options".into(), serde_json::json!({ "application": app_binary() }));
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{DRIVER_PORT}"))
            .await
            .expect("WebDriver session with the app");
        App { client, driver, world }
    }

    /// The app's process id (the app runs under tauri-driver's WebKitWebDriver), for benchmarks
    /// that read its memory or start time from /proc.
    pub fn app_pid(&self) -> u32 {
        let binary = app_binary();
        descendants(self.driver.0.id())
            .into_iter()
            .find(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
            .unwrap_or_else(|| panic!("no process of {} under tauri-driver", binary.display()))
    }

    /// The app's docker config folder (DOCKER_CONFIG), where a test puts a login as `docker login` would.
    pub fn config_dir(&self) -> &Path {
        self.world.path()
    }

    /// Calls a command from the page's own script, as any script in the web view could, bypassing
    /// the UI: `Ok` with what it returned or `Err` with why it was refused.
    pub async fn invoke(&self, command: &str, args: serde_json::Value) -> Result<serde_json::Value, String> {
        const INVOKE: &str = r#"
            const [command, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(command, args).then(
                (value) => done({ ok: value === undefined ? null : value }),
                (reason) => done({ err: typeof reason === 'string' ? reason : JSON.stringify(reason) }),
            );
        "#;
        let answer = self
            .client
            .execute_async(INVOKE, vec![command.into(), args])
            .await
            .unwrap_or_else(|e| panic!("the page could not call {command}: {e}"));
        match answer.get("err") {
            Some(reason) => Err(reason.as_str().unwrap_or_default().to_owned()),
            None => Ok(answer["ok"].clone()),
        }
    }

    /// The element with `data-testid`, waiting up to `secs` for it; when it never shows, the test
    /// fails with what the window showed instead.
    pub async fn wait_for(&self, css: &str, secs: u64) -> Element {
        match self.client.wait().at_most(Duration::from_secs(secs)).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(e) => {
                panic!("{css} did not appear within {secs} s: {e}\nthe window showed:\n{}", self.page_text().await)
            }
        }
    }

    /// The text the window shows (its first and last 6,000 characters: the Build view's form alone
    /// filled the first 8,000, hiding its right pane), for a failing test to say what a user would
    /// have seen.
    pub async fn page_text(&self) -> String {
        const TEXT: &str = "if (!document.body) return '(no page)'; const t = document.body.innerText; \
            return t.length > 12000 ? t.slice(0, 6000) + '\\n[…]\\n' + t.slice(-6000) : t;";
        match self.client.execute(TEXT, vec![]).await {
            Ok(text) => text.as_str().unwrap_or_default().to_owned(),
            Err(e) => format!("(the page could not be read: {e})"),
        }
    }

    /// Opens the Build view with `context` typed in, once the form has settled: the builder's own
    /// platforms read (the common ones stand in until then) and the Dockerfile's outline or its parse
    /// error shown, so that Build builds what the form says.
    pub async fn open_build_form(&self, context: &Path) {
        self.wait_for("[data-testid=builders-loaded]", 30).await;
        self.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
        self.wait_for("input[name=context]", 10).await.send_keys(&context.display().to_string()).await.unwrap();
        self.wait_for("[data-testid=build-platforms][data-source=builder]", 60).await;
        self.wait_for("[data-testid=build-outline], [data-testid=build-outline-error]", 60).await;
    }

    /// Ticks each of `platforms` in the Build form (left ticked when it already is).
    pub async fn tick_platforms(&self, platforms: &[&str]) {
        for platform in platforms {
            let checkbox = self.wait_for(&format!("input[name=platform][value='{platform}']"), 20).await;
            if checkbox.prop("checked").await.unwrap().as_deref() != Some("true") {
                checkbox.click().await.unwrap();
            }
        }
    }

    /// Opens the Build view's history and in it the completed record named `name` (as a terminal
    /// build of a context folder is named); its ref, once its replay has shown the build's result.
    pub async fn open_history_record(&self, name: &str) -> String {
        self.wait_for("[data-testid=builders-loaded]", 30).await;
        self.wait_for("[data-testid=rail-build]", 5).await.click().await.unwrap();
        self.wait_for("[data-testid=build-side-history]", 10).await.click().await.unwrap();
        let row =
            self.wait_for(&format!("[data-testid=history-row][title^='{name} '][data-status=completed]"), 60).await;
        let build_ref = row.attr("data-ref").await.unwrap().expect("a history row carries its ref");
        row.click().await.unwrap();
        self.wait_for(&format!("[data-testid=history-details][data-ref='{build_ref}']"), 10).await;
        self.wait_for("[data-testid=build-result]", 30).await;
        build_ref
    }

    /// How many elements match `css` now. Counted by the page's own script in one go: WebKitWebDriver's
    /// find-all fails (stale element) when a match goes while it collects them, as in a list re-rendering.
    pub async fn count(&self, css: &str) -> usize {
        let count = self
            .client
            .execute("return document.querySelectorAll(arguments[0]).length;", vec![css.into()])
            .await
            .unwrap_or_else(|e| panic!("the page could not count {css}: {e}"));
        count.as_u64().expect("a count") as usize
    }

    /// Waits until no element matches `css`.
    pub async fn wait_gone(&self, css: &str, secs: u64) {
        let started = Instant::now();
        while self.count(css).await > 0 {
            assert!(started.elapsed() < Duration::from_secs(secs), "{css} still shown after {secs} s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A picture of the screen (Xvfb's, which the window fills) for people to look at. Taken from
    /// the X server, not through WebDriver: WebKitGTK's automation waits for a composited frame
    /// that a web view painting without compositing (src-tauri/src/webview.rs) never presents.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let path = screenshot_dir().join(format!("{name}.png"));
        let taken = tokio::process::Command::new("import")
            .args(["-window", "root"])
            .arg(&path)
            .status()
            .await
            .expect("ImageMagick's import runs (scripts/setup.sh installs it)");
        assert!(taken.success(), "import could not take the screenshot {name}");
        path
    }

    /// Where the app keeps its own data (build records, added registries): `$XDG_DATA_HOME/buildlane`.
    pub fn data_dir(&self) -> PathBuf {
        self.world.path().join("data/buildlane")
    }

    /// The engine's docker CLI, seeing the same builder store as the app.
    pub fn docker(&self, args: &[&str]) -> Output {
        docker_in(self.world.path(), args)
    }

    /// Runs the docker CLI, failing the test with stderr when it fails. The test registry
    /// (distribution 2.8) now and then answers 500 to a HEAD of a manifest buildx is pushing (seen in
    /// CI); that answer alone is tried again, twice at most.
    pub fn docker_ok(&self, args: &[&str]) -> Output {
        let mut out = self.docker(args);
        for _ in 0..2 {
            if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("500 Internal Server Error") {
                break;
            }
            out = self.docker(args);
        }
        assert!(out.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Builder names `docker buildx ls --format json` reports.
    pub fn buildx_ls_names(&self) -> Vec<String> {
        let out = self.docker(&["buildx", "ls", "--format", "json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|b| b["Name"].as_str().map(str::to_owned))
            .collect();
        names.dedup();
        names
    }

    /// Closes the window; dropping the App then stops tauri-driver with SIGTERM, so that it also
    /// stops WebKitWebDriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// tauri-driver, stopped when dropped: also when a test panics or its session could not be made, as
/// one left running holds its ports and every later test fails on them.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

/// `pid` and every process under it, parents before their children.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        for task in std::fs::read_dir(format!("/proc/{}/task", out[i])).into_iter().flatten().flatten() {
            let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            out.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
        i += 1;
    }
    out
}

/// A unix socket in front of the project's engine that the test switches off (refusing new
/// connections and cutting open ones, as a stopping engine does) and on again, so a window can
/// see its engine go away without the shared engine stopping.
pub struct EngineProxy {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    engine_socket: PathBuf,
    serving: Option<tokio::task::JoinHandle<()>>,
}

impl EngineProxy {
    /// A proxy, not yet listening, to the engine at `DOCKER_HOST` (`unix://…`).
    pub fn new() -> EngineProxy {
        let dir = tempfile::tempdir().unwrap();
        let engine = required("DOCKER_HOST");
        let engine_socket =
            PathBuf::from(engine.strip_prefix("unix://").expect("the project's engine listens on a unix socket"));
        EngineProxy { socket: dir.path().join("engine.sock"), _dir: dir, engine_socket, serving: None }
    }

    /// `unix://` and the proxy's socket.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// Listens and forwards every connection to the engine, bytes as they come.
    pub fn start(&mut self) {
        let listener = tokio::net::UnixListener::bind(&self.socket).expect("proxy socket");
        let engine = self.engine_socket.clone();
        self.serving = Some(tokio::spawn(async move {
            // Owned here, so stopping (aborting this task) drops every open connection with it.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let engine = engine.clone();
                connections.spawn(async move {
                    if let Ok(mut upstream) = tokio::net::UnixStream::connect(engine).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        }));
    }

    /// Stops answering: the socket goes and every open connection is cut.
    pub fn stop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.abort();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Default for EngineProxy {
    fn default() -> Self {
        EngineProxy::new()
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
