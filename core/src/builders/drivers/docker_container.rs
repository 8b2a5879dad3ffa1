//! The docker-container driver: BuildKit in a container named `buildx_buildkit_<node>`, created,
//! started, stopped and removed exactly as buildx does, so either tool can manage the other's builders.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use bollard::auth::DockerCredentials;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, RestartPolicy, RestartPolicyNameEnum};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, LogsOptions, RemoveContainerOptions, RemoveVolumeOptions,
    StopContainerOptions, UploadToContainerOptions,
};
use futures_util::StreamExt;
use tracing::instrument;

use super::{
    exec_stdio, Creation, Driver, DriverDetails, DriverError, EndpointSource, LifecycleEvent, NodeChannel, NodeProbe,
    NodeStatus, Progress, DOCKER_CONTAINER,
};
use crate::builders::store::Node;
use crate::buildkit::Control;
use crate::docker_config::contexts::DockerContext;
use crate::docker_config::credentials::{Credential, CredentialStore};
use crate::engine::{Engine, EngineError};
use crate::images::reference::ImageReference;

/// A container on the context's engine that Buildlane starts with the flags and config file given.
pub(super) const CREATION: Creation =
    Creation { allowed: true, endpoint: EndpointSource::DockerContext, runs_daemon: true };

pub const DEFAULT_IMAGE: &str = "moby/buildkit:buildx-stable-1";
const STATE_DIR: &str = "/var/lib/buildkit";
const CONFIG_FILE: &str = "buildkitd.toml";
/// buildx polls `buildctl debug workers` this many times, sleeping `try × 120 ms` in between.
const READY_TRIES: u32 = 15;

pub fn container_name(node: &str) -> String {
    format!("buildx_buildkit_{node}")
}

pub fn state_volume(node: &str) -> String {
    format!("{}_state", container_name(node))
}

/// Driver options accepted by buildx's docker-container driver.
const OPTION_KEYS: &[&str] = &[
    "image",
    "network",
    "cgroup-parent",
    "restart-policy",
    "memory",
    "memory-swap",
    "cpu-quota",
    "cpu-period",
    "cpu-shares",
    "cpuset-cpus",
    "cpuset-mems",
    "default-load",
];

/// Parsed driver options (`--driver-opt key=value`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerOptions {
    pub image: Option<String>,
    pub network: Option<String>,
    pub cgroup_parent: Option<String>,
    pub restart_policy: Option<(RestartPolicyNameEnum, i64)>,
    pub env: Vec<String>,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<i64>,
    pub cpu_shares: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
}

impl ContainerOptions {
    /// Validates stored driver options, rejecting unknown keys and bad values with the key named.
    pub fn parse(opts: &BTreeMap<String, String>) -> Result<Self, DriverError> {
        let mut out = ContainerOptions::default();
        for (key, value) in opts {
            let int = |v: &str| {
                v.parse::<i64>().map_err(|_| DriverError::InvalidOptionValue {
                    key: key.clone(),
                    reason: format!("\"{v}\" is not a whole number"),
                })
            };
            if let Some(name) = key.strip_prefix("env.") {
                out.env.push(format!("{name}={value}"));
                continue;
            }
            match key.as_str() {
                "image" => out.image = Some(value.clone()),
                "network" => out.network = Some(value.clone()),
                "cgroup-parent" => out.cgroup_parent = Some(value.clone()),
                "restart-policy" => out.restart_policy = Some(parse_restart_policy(value)?),
                "memory" => out.memory = Some(parse_bytes(key, value)?),
                "memory-swap" => out.memory_swap = Some(if value == "-1" { -1 } else { parse_bytes(key, value)? }),
                "cpu-quota" => out.cpu_quota = Some(int(value)?),
                "cpu-period" => out.cpu_period = Some(int(value)?),
                "cpu-shares" => out.cpu_shares = Some(int(value)?),
                "cpuset-cpus" => out.cpuset_cpus = Some(value.clone()),
                "cpuset-mems" => out.cpuset_mems = Some(value.clone()),
                "default-load" => {
                    value.parse::<bool>().map_err(|_| DriverError::InvalidOptionValue {
                        key: key.clone(),
                        reason: format!("\"{value}\" is not true or false"),
                    })?;
                }
                _ => {
                    return Err(DriverError::UnsupportedOption {
                        driver: DOCKER_CONTAINER,
                        key: key.clone(),
                        hint: format!(" (known: {}, env.<NAME>)", OPTION_KEYS.join(", ")),
                    })
                }
            }
        }
        Ok(out)
    }

    pub fn image(&self) -> &str {
        self.image.as_deref().unwrap_or(DEFAULT_IMAGE)
    }
}

fn parse_restart_policy(value: &str) -> Result<(RestartPolicyNameEnum, i64), DriverError> {
    let invalid = |reason: String| DriverError::InvalidOptionValue { key: "restart-policy".into(), reason };
    let (name, count) = value.split_once(':').map_or((value, None), |(n, c)| (n, Some(c)));
    let policy = match name {
        "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => {
            return Err(invalid(format!("unknown policy \"{other}\" (no, always, unless-stopped, on-failure[:N])")))
        }
    };
    let retries = match count {
        Some(c) if policy == RestartPolicyNameEnum::ON_FAILURE => {
            c.parse::<i64>().map_err(|_| invalid(format!("\"{c}\" is not a retry count")))?
        }
        Some(_) => return Err(invalid(format!("only on-failure takes a retry count, not \"{value}\""))),
        None => 0,
    };
    Ok((policy, retries))
}

/// Sizes as the docker CLI reads them (`512m`, `2g`; binary units).
fn parse_bytes(key: &str, value: &str) -> Result<i64, DriverError> {
    let lower = value.trim().to_ascii_lowercase();
    let digits_end = lower.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let multiplier: f64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0_f64.powi(4),
        "p" => 1024.0_f64.powi(5),
        _ => f64::NAN,
    };
    match number.parse::<f64>() {
        Ok(n) if multiplier.is_finite() && n >= 0.0 => Ok((n * multiplier) as i64),
        _ => Err(DriverError::InvalidOptionValue {
            key: key.to_owned(),
            reason: format!("\"{value}\" is not a size such as 512m or 2g"),
        }),
    }
}

/// The container buildx creates for a node; `cgroupfs` and `userns` come from the engine's `docker info`.
pub fn container_spec(node: &Node, opts: &ContainerOptions, cgroupfs: bool, userns: bool) -> ContainerCreateBody {
    let mut cmd = Vec::new();
    if node.files.contains_key(CONFIG_FILE) {
        cmd.extend(["--config".to_owned(), format!("/etc/buildkit/{CONFIG_FILE}")]);
    }
    cmd.extend(node.flags.iter().cloned());
    let (restart, retries) = opts.restart_policy.unwrap_or((RestartPolicyNameEnum::UNLESS_STOPPED, 0));
    let host_config = HostConfig {
        privileged: Some(true),
        init: Some(true),
        restart_policy: Some(RestartPolicy { name: Some(restart), maximum_retry_count: Some(retries) }),
        mounts: Some(vec![Mount {
            typ: Some(MountType::VOLUME),
            source: Some(state_volume(&node.name)),
            target: Some(STATE_DIR.to_owned()),
            ..Default::default()
        }]),
        network_mode: opts.network.clone(),
        memory: opts.memory,
        memory_swap: opts.memory_swap,
        cpu_quota: opts.cpu_quota,
        cpu_period: opts.cpu_period,
        cpu_shares: opts.cpu_shares,
        cpuset_cpus: opts.cpuset_cpus.clone(),
        cpuset_mems: opts.cpuset_mems.clone(),
        cgroup_parent: cgroupfs.then(|| opts.cgroup_parent.clone().unwrap_or_else(|| "/docker/buildx".to_owned())),
        userns_mode: userns.then(|| "host".to_owned()),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(opts.image().to_owned()),
        env: (!opts.env.is_empty()).then(|| opts.env.clone()),
        cmd: (!cmd.is_empty()).then_some(cmd),
        host_config: Some(host_config),
        ..Default::default()
    }
}

fn api_err(engine: &Engine, e: bollard::errors::Error) -> DriverError {
    DriverError::Engine(EngineError::from_bollard(engine.host(), e))
}

fn is_status(e: &bollard::errors::Error, code: u16) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code, .. } if *status_code == code)
}

/// A node whose BuildKit runs in a container on the engine of its docker context.
pub struct DockerContainerDriver {
    node: Node,
    engine: DockerContext,
    credentials: CredentialStore,
}

impl DockerContainerDriver {
    pub fn new(node: Node, engine: DockerContext, credentials: CredentialStore) -> Self {
        Self { node, engine, credentials }
    }

    async fn probe(&self, probe: &mut NodeProbe) -> Result<(), DriverError> {
        let engine = Engine::connect(&self.engine).await?;
        probe.status = status(&engine, &self.node.name).await?;
        if probe.status == NodeStatus::Running {
            probe.control = Some(control(&engine, &self.node.name).await?);
            probe.host = Some(engine.info().await?);
        }
        Ok(())
    }
}

#[async_trait]
impl Driver for DockerContainerDriver {
    fn validate_options(&self) -> Result<(), DriverError> {
        ContainerOptions::parse(&self.node.driver_opts).map(drop)
    }

    fn is_engine_buildkit(&self) -> bool {
        false
    }

    async fn connect(&self) -> Result<NodeChannel, DriverError> {
        self.boot(&|_| {}).await?;
        let engine = Engine::connect(&self.engine).await?;
        Ok(NodeChannel { control: control(&engine, &self.node.name).await?, session_host: None })
    }

    async fn boot(&self, progress: Progress<'_>) -> Result<(), DriverError> {
        boot(&Engine::connect(&self.engine).await?, &self.node, &self.credentials, progress).await
    }

    async fn stop(&self, progress: Progress<'_>) -> Result<(), DriverError> {
        stop(&Engine::connect(&self.engine).await?, &self.node.name, progress).await
    }

    async fn remove(&self, keep_state: bool, progress: Progress<'_>) -> Result<(), DriverError> {
        remove(&Engine::connect(&self.engine).await?, &self.node.name, keep_state, progress).await
    }

    async fn describe(&self) -> NodeProbe {
        let mut probe = NodeProbe::new();
        if let Err(e) = self.probe(&mut probe).await {
            probe.error = Some(e);
        }
        probe
    }

    async fn details(&self) -> DriverDetails {
        let container = container_name(&self.node.name);
        // An option the engine would refuse shows as given: the node's error says what is wrong with it.
        let mut image = ContainerOptions::parse(&self.node.driver_opts)
            .map(|opts| opts.image().to_owned())
            .unwrap_or_else(|_| self.node.driver_opts.get("image").cloned().unwrap_or_else(|| DEFAULT_IMAGE.into()));
        let mut state = None;
        if let Ok(engine) = Engine::connect(&self.engine).await {
            if let Ok(found) = engine.docker().inspect_container(&container, None).await {
                if let Some(used) = found.config.and_then(|c| c.image) {
                    image = used;
                }
                state = found.state.and_then(|s| s.status).map(|s| s.to_string());
            }
        }
        DriverDetails::Container {
            host: self.engine.host.clone(),
            state_volume: state_volume(&self.node.name),
            container,
            image,
            state,
        }
    }
}

/// `inactive` without a container, `running` or `stopped` with one.
#[instrument(skip_all, fields(node = %node))]
async fn status(engine: &Engine, node: &str) -> Result<NodeStatus, DriverError> {
    match engine.docker().inspect_container(&container_name(node), None).await {
        Ok(c) if c.state.as_ref().and_then(|s| s.running).unwrap_or(false) => Ok(NodeStatus::Running),
        Ok(_) => Ok(NodeStatus::Stopped),
        Err(e) if is_status(&e, 404) => Ok(NodeStatus::Inactive),
        Err(e) => Err(api_err(engine, e)),
    }
}

/// BuildKit inside the node's container, through `buildctl dial-stdio`.
async fn control(engine: &Engine, node: &str) -> Result<Control, DriverError> {
    let name = container_name(node);
    let channel = exec_stdio::buildkit_channel(engine, &name).await.map_err(crate::buildkit::BuildkitError::from)?;
    Ok(Control::new(format!("{} ({name})", engine.host()), channel))
}

/// Makes the node's BuildKit run: creates the container when missing, starts it when stopped, then
/// waits until BuildKit answers.
#[instrument(skip_all, fields(node = %node.name))]
async fn boot(
    engine: &Engine,
    node: &Node,
    credentials: &CredentialStore,
    progress: Progress<'_>,
) -> Result<(), DriverError> {
    let opts = ContainerOptions::parse(&node.driver_opts)?;
    let name = container_name(&node.name);
    match engine.docker().inspect_container(&name, None).await {
        Ok(_) => {
            progress(LifecycleEvent::StartingContainer { container: name.clone() });
            start(engine, &name).await?;
        }
        Err(e) if is_status(&e, 404) => create(engine, node, &opts, credentials, progress).await?,
        Err(e) => return Err(api_err(engine, e)),
    }
    wait_ready(engine, &node.name, progress).await
}

async fn start(engine: &Engine, name: &str) -> Result<(), DriverError> {
    match engine.docker().start_container(name, None).await {
        Ok(()) => Ok(()),
        Err(e) if is_status(&e, 304) => Ok(()),
        Err(e) => Err(api_err(engine, e)),
    }
}

async fn create(
    engine: &Engine,
    node: &Node,
    opts: &ContainerOptions,
    credentials: &CredentialStore,
    progress: Progress<'_>,
) -> Result<(), DriverError> {
    let image = opts.image().to_owned();
    if let Err(pull_error) = pull(engine, &image, credentials, progress).await {
        match engine.docker().inspect_image(&image).await {
            Ok(_) => progress(LifecycleEvent::UsingLocalImage { image: image.clone(), pull_error }),
            Err(_) => return Err(DriverError::ImageUnavailable { image, reason: pull_error }),
        }
    }
    let name = container_name(&node.name);
    progress(LifecycleEvent::CreatingContainer { container: name.clone() });
    let info = engine.docker().info().await.map_err(|e| api_err(engine, e))?;
    let cgroupfs = info.cgroup_driver.as_ref().is_some_and(|d| d.to_string() == "cgroupfs");
    let userns = info.security_options.unwrap_or_default().iter().any(|o| o.split(',').any(|kv| kv == "name=userns"));
    let spec = container_spec(node, opts, cgroupfs, userns);
    let created = engine
        .docker()
        .create_container(Some(CreateContainerOptions { name: Some(name.clone()), ..Default::default() }), spec)
        .await;
    match created {
        Ok(_) => {
            if !node.files.is_empty() {
                copy_files(engine, &name, &node.files).await?;
            }
            progress(LifecycleEvent::StartingContainer { container: name.clone() });
            start(engine, &name).await
        }
        // Someone (buildx, another Buildlane) created it meanwhile: use theirs, as buildx does.
        Err(e) if is_status(&e, 409) => Ok(()),
        Err(e) => Err(api_err(engine, e)),
    }
}

/// Pulls with progress and the user's registry credentials; returns the registry's or engine's
/// words on failure.
async fn pull(
    engine: &Engine,
    image: &str,
    credentials: &CredentialStore,
    progress: Progress<'_>,
) -> Result<(), String> {
    let registry = image.parse::<ImageReference>().map_err(|e| e.to_string())?.registry;
    let auth = match credentials.get(&registry).await.map_err(|e| e.to_string())? {
        None => None,
        Some(Credential::Basic { username, password }) => Some(DockerCredentials {
            username: Some(username),
            password: Some(password),
            serveraddress: Some(registry.clone()),
            ..Default::default()
        }),
        Some(Credential::IdentityToken(token)) => Some(DockerCredentials {
            identitytoken: Some(token),
            serveraddress: Some(registry.clone()),
            ..Default::default()
        }),
    };
    let options = CreateImageOptions { from_image: Some(image.to_owned()), ..Default::default() };
    let mut stream = engine.docker().create_image(Some(options), None, auth);
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| match e {
            bollard::errors::Error::DockerResponseServerError { message, .. } => message,
            bollard::errors::Error::DockerStreamError { error } => error,
            other => other.to_string(),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(detail.message.unwrap_or_else(|| "pull failed".into()));
        }
        let (current, total) = info
            .progress_detail
            .map(|d| (d.current.map(|c| c as u64), d.total.map(|t| t as u64)))
            .unwrap_or((None, None));
        progress(LifecycleEvent::PullingImage {
            image: image.to_owned(),
            status: info.status.unwrap_or_default(),
            current,
            total,
        });
    }
    Ok(())
}

/// Copies the node's files into `/etc/buildkit`, as a tar rooted at `buildkit/` extracted in `/etc`.
async fn copy_files(engine: &Engine, container: &str, files: &BTreeMap<String, Vec<u8>>) -> Result<(), DriverError> {
    let mut archive = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        archive
            .append_data(&mut header, format!("buildkit/{path}"), bytes.as_slice())
            .map_err(|e| DriverError::InvalidOptionValue { key: path.clone(), reason: e.to_string() })?;
    }
    let tar = archive
        .into_inner()
        .map_err(|e| DriverError::InvalidOptionValue { key: "files".into(), reason: e.to_string() })?;
    engine
        .docker()
        .upload_to_container(
            container,
            Some(UploadToContainerOptions { path: "/etc".into(), ..Default::default() }),
            bollard::body_full(tar.into()),
        )
        .await
        .map_err(|e| api_err(engine, e))
}

/// Runs a command in the container; Ok(()) when it exits 0, else its output as the reason.
async fn run(engine: &Engine, container: &str, cmd: &[&str]) -> Result<(), String> {
    let docker = engine.docker();
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| EngineError::from_bollard(engine.host(), e).to_string())?;
    let mut output_text = String::new();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&exec.id, Some(StartExecOptions::default()))
        .await
        .map_err(|e| EngineError::from_bollard(engine.host(), e).to_string())?
    {
        while let Some(Ok(chunk)) = output.next().await {
            output_text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
    }
    let inspect = docker.inspect_exec(&exec.id).await.map_err(|e| e.to_string())?;
    match inspect.exit_code {
        Some(0) => Ok(()),
        code => Err(format!("exit code {}{}", code.unwrap_or(-1), tail_suffix(&output_text))),
    }
}

fn tail_suffix(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(": {}", trimmed.lines().last().unwrap_or_default())
    }
}

async fn wait_ready(engine: &Engine, node: &str, progress: Progress<'_>) -> Result<(), DriverError> {
    let name = container_name(node);
    let mut attempt = 1;
    loop {
        progress(LifecycleEvent::WaitingForBuildkit { attempt });
        match run(engine, &name, &["buildctl", "debug", "workers"]).await {
            Ok(()) => {
                progress(LifecycleEvent::Ready);
                return Ok(());
            }
            Err(reason) if attempt > READY_TRIES => {
                let logs = container_logs(engine, &name).await;
                for line in logs.lines() {
                    progress(LifecycleEvent::Log { line: line.to_owned() });
                }
                let logs = if logs.trim().is_empty() {
                    String::new()
                } else {
                    format!("\ncontainer log:\n{}", logs.trim_end())
                };
                return Err(DriverError::BootFailed { node: node.to_owned(), container: name, reason, logs });
            }
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 120)).await;
                attempt += 1;
            }
        }
    }
}

async fn container_logs(engine: &Engine, name: &str) -> String {
    let options = LogsOptions { stdout: true, stderr: true, tail: "50".into(), ..Default::default() };
    let mut logs = engine.docker().logs(name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = logs.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    text
}

/// `docker buildx stop`: stops the container if it runs.
#[instrument(skip_all, fields(node = %node))]
async fn stop(engine: &Engine, node: &str, progress: Progress<'_>) -> Result<(), DriverError> {
    if status(engine, node).await? == NodeStatus::Running {
        let name = container_name(node);
        progress(LifecycleEvent::StoppingContainer { container: name.clone() });
        engine.docker().stop_container(&name, None::<StopContainerOptions>).await.map_err(|e| api_err(engine, e))?;
    }
    Ok(())
}

/// `docker buildx rm`: removes the container and, unless `keep_state`, its state volume.
#[instrument(skip_all, fields(node = %node))]
async fn remove(engine: &Engine, node: &str, keep_state: bool, progress: Progress<'_>) -> Result<(), DriverError> {
    let name = container_name(node);
    let container = match engine.docker().inspect_container(&name, None).await {
        Ok(c) => c,
        Err(e) if is_status(&e, 404) => return Ok(()),
        Err(e) => return Err(api_err(engine, e)),
    };
    progress(LifecycleEvent::RemovingContainer { container: name.clone() });
    let options = RemoveContainerOptions { force: true, v: true, ..Default::default() };
    engine.docker().remove_container(&name, Some(options)).await.map_err(|e| api_err(engine, e))?;
    let volume = state_volume(node);
    let has_state = container.mounts.unwrap_or_default().iter().any(|m| m.name.as_deref() == Some(volume.as_str()));
    if has_state && !keep_state {
        progress(LifecycleEvent::RemovingVolume { volume: volume.clone() });
        engine.docker().remove_volume(&volume, None::<RemoveVolumeOptions>).await.map_err(|e| api_err(engine, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn options_are_parsed_like_buildx() {
        let parsed = ContainerOptions::parse(&opts(&[
            ("image", "moby/buildkit:v0.13.1"),
            ("memory", "512m"),
            ("restart-policy", "on-failure:3"),
            ("env.BUILDKIT_STEP_LOG_MAX_SIZE", "10485760"),
        ]))
        .unwrap();
        assert_eq!(parsed.image(), "moby/buildkit:v0.13.1");
        assert_eq!(parsed.memory, Some(512 * 1024 * 1024));
        assert_eq!(parsed.restart_policy, Some((RestartPolicyNameEnum::ON_FAILURE, 3)));
        assert_eq!(parsed.env, ["BUILDKIT_STEP_LOG_MAX_SIZE=10485760"]);
    }

    #[test]
    fn bad_options_name_the_key() {
        let err = ContainerOptions::parse(&opts(&[("imagee", "x")])).unwrap_err();
        assert!(err.to_string().starts_with("invalid driver option \"imagee\" for the docker-container driver"));
        let err = ContainerOptions::parse(&opts(&[("memory", "lots")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid value for driver option memory: \"lots\" is not a size such as 512m or 2g"
        );
        assert!(ContainerOptions::parse(&opts(&[("restart-policy", "sometimes")])).is_err());
    }

    #[test]
    fn the_config_file_flag_comes_before_user_flags() {
        let mut node = Node {
            name: "b0".into(),
            endpoint: "default".into(),
            platforms: None,
            driver_opts: BTreeMap::new(),
            flags: vec!["--debug".into()],
            files: BTreeMap::new(),
        };
        node.files.insert("buildkitd.toml".into(), b"debug = true".to_vec());
        let spec = container_spec(&node, &ContainerOptions::default(), false, false);
        assert_eq!(spec.cmd.unwrap(), ["--config", "/etc/buildkit/buildkitd.toml", "--debug"]);
        assert_eq!(spec.image.as_deref(), Some(DEFAULT_IMAGE));
        let host = spec.host_config.unwrap();
        assert_eq!(host.mounts.unwrap()[0].source.as_deref(), Some("buildx_buildkit_b0_state"));
        assert_eq!(host.cgroup_parent, None);
    }
}
