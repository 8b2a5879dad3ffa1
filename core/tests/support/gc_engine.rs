//! A private Docker engine whose builder has a GC policy: the shared test engine has none, and a
//! BuildKit with real GC rules is what `docker buildx inspect` shows them from. It runs the test
//! engine's own dockerd with its own socket, data-root and exec-root, no bridge and no iptables
//! rules, so it never touches the shared engine; dropping it stops it (SIGTERM, so that dockerd
//! stops the containerd it started too). Used by core, CLI and window tests alike.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The engine's `builder.gc.policy`, as daemon.json takes it. dockerd turns `unused-for` into the
/// rule's keep duration and keeps other filters, so the worker reports all of these fields.
pub const GC_POLICY: &str = r#"[
  {"keepStorage": "512MB", "filter": ["unused-for=48h"]},
  {"keepStorage": "10GB", "filter": ["type=source.local"]},
  {"keepStorage": "20GB", "all": true}
]"#;

pub struct GcEngine {
    dir: tempfile::TempDir,
    dockerd: Child,
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: start the test engine with `scripts/engine.sh start` and `eval \"$(scripts/engine.sh env)\"`")
    })
}

impl GcEngine {
    /// Starts the engine and waits until it answers (a second or two).
    pub fn start() -> GcEngine {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let config = format!(
            r#"{{"data-root": "{root}/data", "exec-root": "{root}/exec", "pidfile": "{root}/docker.pid",
                "hosts": ["unix://{root}/docker.sock"], "bridge": "none", "iptables": false, "ip6tables": false,
                "builder": {{"gc": {{"enabled": true, "policy": {GC_POLICY}}}}}}}"#,
            root = root.display()
        );
        std::fs::write(root.join("daemon.json"), config).unwrap();
        let bin = required("BUILDLANE_ENGINE_BIN");
        let log = std::fs::File::create(root.join("dockerd.log")).unwrap();
        let dockerd = Command::new(Path::new(&bin).join("dockerd"))
            .arg("--config-file")
            .arg(root.join("daemon.json"))
            // dockerd finds containerd, its shim and runc on PATH, as the shared engine does.
            .env("PATH", format!("{bin}:{}", std::env::var("PATH").unwrap_or_default()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the test engine's dockerd starts");
        let engine = GcEngine { dir, dockerd };
        let started = Instant::now();
        while !engine.answers() {
            let log = std::fs::read_to_string(engine.dir.path().join("dockerd.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(60), "the GC engine did not answer within 60 s:\n{log}");
            std::thread::sleep(Duration::from_millis(100));
        }
        engine
    }

    /// `unix:///…/docker.sock`
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    fn answers(&self) -> bool {
        let Ok(mut socket) = UnixStream::connect(self.dir.path().join("docker.sock")) else {
            return false;
        };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(3)));
        let mut answer = String::new();
        socket.write_all(b"GET /_ping HTTP/1.0\r\nHost: engine\r\n\r\n").is_ok()
            && socket.read_to_string(&mut answer).is_ok()
            && answer.ends_with("OK")
    }
}

impl Drop for GcEngine {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.dockerd.id().to_string()]).status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.dockerd.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.dockerd.kill();
        let _ = self.dockerd.wait();
    }
}
