//! Arranges the real services for a test: the project's engine (scripts/engine.sh), a private docker
//! config folder with buildx 0.13.1 as its CLI plugin, and the engine's own docker CLI as the peer.

#![allow(dead_code)]

pub mod build;
pub mod gc_engine;
pub mod history;
pub mod hostile_builder;
pub mod index;
pub mod nodes;
pub mod own_cache;
pub mod proxy;
pub mod registry_proxy;
pub mod sshd;
pub mod tls;
pub mod written;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use buildlane_core::builders::Builders;
use buildlane_core::docker_config::Environment;

/// One test's docker world: its own DOCKER_CONFIG (so its own buildx store), the shared test engine.
pub struct World {
    pub dir: tempfile::TempDir,
    pub host: String,
    pub registry: String,
    docker_cli: PathBuf,
}

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: start the test engine with `scripts/engine.sh start` and `eval \"$(scripts/engine.sh env)\"` (scripts/test.sh does both)")
    })
}

impl World {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let plugins = dir.path().join("cli-plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::os::unix::fs::symlink(required("BUILDLANE_BUILDX"), plugins.join("docker-buildx")).unwrap();
        World {
            host: required("DOCKER_HOST"),
            registry: required("BUILDLANE_REGISTRY"),
            docker_cli: Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"),
            dir,
        }
    }

    pub fn config_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("buildx")
    }

    pub fn env(&self) -> Environment {
        Environment {
            home: Some(self.dir.path().to_owned()),
            docker_config: Some(self.dir.path().to_owned()),
            buildx_config: None,
            docker_host: Some(self.host.clone()),
            docker_context: None,
            xdg_data_home: None,
        }
    }

    pub fn builders(&self) -> Builders {
        Builders::new(self.env())
    }

    /// Runs the engine's docker CLI in this world.
    pub fn docker(&self, args: &[&str]) -> Output {
        Command::new(&self.docker_cli)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("DOCKER_CONFIG", self.dir.path())
            .env("DOCKER_HOST", &self.host)
            .output()
            .expect("docker CLI runs")
    }

    /// Runs the docker CLI and returns stdout, failing the test with stderr when it fails. The test
    /// registry (distribution 2.8) now and then answers 500 to a HEAD of a manifest buildx is pushing
    /// twice (seen in CI); that answer alone is tried again, twice at most.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        self.docker_ok_retrying(args, &[])
    }

    /// `docker_ok`, also trying again (twice at most in all) when the CLI fails saying one of `transient`.
    pub fn docker_ok_retrying(&self, args: &[&str], transient: &[&str]) -> String {
        let mut out = self.docker(args);
        for _ in 0..2 {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let retry = ["500 Internal Server Error"].iter().chain(transient).any(|t| stderr.contains(t));
            if out.status.success() || !retry {
                break;
            }
            out = self.docker(args);
        }
        assert!(out.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `docker buildx ls --format json`, one builder per line (0.13.1 prints each twice: deduplicated).
    pub fn buildx_ls(&self) -> Vec<serde_json::Value> {
        let mut builders: Vec<serde_json::Value> = Vec::new();
        for line in self.docker_ok(&["buildx", "ls", "--format", "json"]).lines().filter(|l| !l.trim().is_empty()) {
            let builder: serde_json::Value = serde_json::from_str(line).expect("buildx prints JSON lines");
            if !builders.iter().any(|b| b["Name"] == builder["Name"]) {
                builders.push(builder);
            }
        }
        builders
    }

    /// The builder `docker buildx ls` marks current (`name*`; 0.13.1's JSON has no such field).
    pub fn buildx_current(&self) -> Option<String> {
        self.docker_ok(&["buildx", "ls"])
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .find_map(|name| name.strip_suffix('*').map(|n| n.trim().to_owned()))
    }

    /// Writes this world's config.json with a login (`auths`) for the htpasswd test registry, as
    /// `docker login` would; returns that registry's address.
    pub fn log_in_to_auth_registry(&self) -> String {
        use base64::Engine as _;
        let registry = required("BUILDLANE_AUTH_REGISTRY");
        let pair =
            format!("{}:{}", required("BUILDLANE_AUTH_HTPASSWD_USER"), required("BUILDLANE_AUTH_HTPASSWD_PASSWORD"));
        let auth = base64::engine::general_purpose::STANDARD.encode(pair);
        let config = format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#);
        std::fs::write(self.dir.path().join("config.json"), config).unwrap();
        registry
    }

    /// A locally built image standing in for moby/buildkit, which cannot be pulled here: it keeps
    /// running like buildkitd would, but has no buildctl, so a builder using it never gets ready.
    pub fn stand_in_image(&self) -> String {
        let tag = "buildlane-test/buildkit-stand-in:1".to_owned();
        if self.docker(&["image", "inspect", &tag]).status.success() {
            return tag;
        }
        let ctx = tempfile::tempdir().unwrap();
        std::fs::write(
            ctx.path().join("Dockerfile"),
            format!(
                "FROM {}/busybox:latest\nENTRYPOINT [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\", \"buildkitd\"]\n",
                self.registry
            ),
        )
        .unwrap();
        self.docker_ok(&["build", "-q", "-t", &tag, ctx.path().to_str().unwrap()]);
        tag
    }

    /// Removes whatever a test left in the engine for a builder node.
    pub fn cleanup_node(&self, node: &str) {
        let container = format!("buildx_buildkit_{node}");
        let _ = self.docker(&["rm", "-f", "-v", &container]);
        let _ = self.docker(&["volume", "rm", "-f", &format!("{container}_state")]);
    }
}

pub fn no_progress(_: buildlane_core::builders::drivers::LifecycleEvent) {}

impl World {
    /// A registry client with this world's credentials (helpers searched in `helper_path` if given).
    pub fn registry_client(&self) -> buildlane_core::images::registry::RegistryClient {
        let store = buildlane_core::docker_config::credentials::CredentialStore::new(&self.env())
            .with_helper_path(format!("{}:{}", self.dir.path().display(), std::env::var("PATH").unwrap_or_default()));
        buildlane_core::images::registry::RegistryClient::new(store)
    }

    /// Writes config.json in this world's docker config folder.
    pub fn write_docker_config(&self, json: &serde_json::Value) {
        std::fs::write(self.dir.path().join("config.json"), serde_json::to_vec_pretty(json).unwrap()).unwrap();
    }

    /// Builds and pushes a 3-platform image (linux/amd64, linux/arm64, linux/arm/v7) with buildx's default
    /// provenance attestations, once per test binary run; returns its reference.
    pub fn pushed_multi_platform_image(&self, repository: &str) -> String {
        // A tag of its own: re-pushing one tag makes distribution 2.8 rewrite its link file in place,
        // and a HEAD that reads it meanwhile gets 500 "invalid checksum digest format".
        let reference = format!("{}/{repository}:v{}", self.registry, std::process::id());
        let ctx = tempfile::tempdir().unwrap();
        // The COPY layer has the same bytes on every platform: the one layer they all share.
        std::fs::write(ctx.path().join("shared.txt"), "same on every platform\n").unwrap();
        std::fs::write(
            ctx.path().join("Dockerfile"),
            format!(
                "FROM {}/busybox:latest\nCOPY shared.txt /shared.txt\nARG TARGETPLATFORM\nRUN echo $TARGETPLATFORM > /platform.txt\nENV GREETING=hello\nWORKDIR /srv\nLABEL org.example.test=images\nCMD [\"cat\", \"/platform.txt\"]\n",
                self.registry
            ),
        )
        .unwrap();
        let args = [
            "buildx",
            "build",
            "--platform",
            "linux/amd64,linux/arm64,linux/arm/v7",
            "--push",
            "-t",
            &reference,
            ctx.path().to_str().unwrap(),
        ];
        // The engine's own push can still race with itself on that file (HEAD while it PUTs the
        // tag); that is the registry's fault, not the build's, so one retry.
        let first = self.docker(&args);
        if !first.status.success() && String::from_utf8_lossy(&first.stderr).contains("500 Internal Server Error") {
            self.docker_ok(&args);
        } else {
            assert!(first.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&first.stderr));
        }
        reference
    }

    /// `docker buildx imagetools inspect ARGS… REF` stdout.
    pub fn imagetools(&self, args: &[&str], reference: &str) -> String {
        let mut all = vec!["buildx", "imagetools", "inspect"];
        all.extend_from_slice(args);
        all.push(reference);
        self.docker_ok(&all)
    }
}

/// The engine's own BuildKit exposed on a unix socket, as a remote BuildKit daemon would listen:
/// each connection performs the engine's `/grpc` upgrade, then carries plain gRPC.
pub fn expose_engine_buildkit(socket: &std::path::Path, engine_host: &str) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    let engine_host = engine_host.to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine_host = engine_host.clone();
            tokio::spawn(async move {
                if let Ok(mut upgraded) = buildlane_core::buildkit::transport::upgrade(&engine_host, "/grpc", &[]).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    })
}
