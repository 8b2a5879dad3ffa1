//! Docker contexts: which engine endpoint the docker CLI (and so buildx) talks to, resolved exactly as
//! the CLI does: `--context` > `DOCKER_HOST` (means `default`) > `DOCKER_CONTEXT` > `currentContext`
//! in config.json > `default`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::docker_config::{DockerConfigError, DockerConfigFile, Environment};

pub const DEFAULT_CONTEXT: &str = "default";
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// A docker context as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct DockerContext {
    pub name: String,
    pub description: String,
    /// The engine's address, e.g. `unix:///var/run/docker.sock`, `tcp://10.0.0.2:2376` or
    /// `ssh://me@build-box` (reached through `ssh … docker system dial-stdio`, see `crate::ssh`).
    pub host: String,
    /// TLS client material for a `tcp://` host, when the context has it.
    #[serde(skip)]
    #[ts(skip)]
    pub tls: Option<TlsFiles>,
    /// The context the docker CLI would use right now.
    pub current: bool,
}

/// Client certificate files of a context (`contexts/tls/<hash>/docker/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl DockerContext {
    /// The key buildx uses to remember the current builder for this endpoint: the context name,
    /// or for the `default` context its host.
    pub fn store_key(&self) -> &str {
        if self.name == DEFAULT_CONTEXT {
            &self.host
        } else {
            &self.name
        }
    }

    /// The endpoint buildx writes into a new builder's node: the context name, or the host for `default`.
    pub fn node_endpoint(&self) -> &str {
        self.store_key()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error(transparent)]
    Config(#[from] DockerConfigError),
    #[error("docker context \"{0}\" not found (known contexts are listed by `docker context ls`)")]
    NotFound(String),
    #[error("docker context metadata {path} is unreadable: {reason}")]
    BadMeta { path: PathBuf, reason: String },
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Metadata", default)]
    metadata: MetaFields,
    #[serde(rename = "Endpoints", default)]
    endpoints: MetaEndpoints,
}

#[derive(Deserialize, Default)]
struct MetaFields {
    #[serde(rename = "Description", default)]
    description: String,
}

#[derive(Deserialize, Default)]
struct MetaEndpoints {
    docker: Option<MetaDockerEndpoint>,
}

#[derive(Deserialize)]
struct MetaDockerEndpoint {
    #[serde(rename = "Host", default)]
    host: String,
}

/// Reads contexts from a docker config folder, in the light of an [`Environment`].
#[derive(Debug, Clone)]
pub struct Contexts {
    env: Environment,
}

impl Contexts {
    pub fn new(env: Environment) -> Self {
        Self { env }
    }

    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The name of the context the CLI would use, given an optional explicit choice (`--context`).
    pub fn current_name(&self, explicit: Option<&str>) -> Result<String, ContextError> {
        if let Some(name) = explicit {
            return Ok(name.to_owned());
        }
        if self.env.docker_host.is_some() {
            return Ok(DEFAULT_CONTEXT.to_owned());
        }
        if let Some(name) = &self.env.docker_context {
            return Ok(name.clone());
        }
        let config = DockerConfigFile::load(&self.env.docker_config_dir())?;
        Ok(config.current_context.filter(|c| !c.is_empty()).unwrap_or_else(|| DEFAULT_CONTEXT.to_owned()))
    }

    /// Every context: `default` first, then the stored ones by name. Unreadable metadata is an error
    /// for that context only; it is reported and the others are still listed.
    pub fn list(&self, explicit: Option<&str>) -> Result<(Vec<DockerContext>, Vec<ContextError>), ContextError> {
        let current = self.current_name(explicit)?;
        let mut contexts = vec![self.default_context(&current)];
        let mut problems = Vec::new();
        let meta_root = self.env.docker_config_dir().join("contexts").join("meta");
        let entries = match std::fs::read_dir(&meta_root) {
            Ok(entries) => entries.filter_map(Result::ok).map(|e| e.path().join("meta.json")).collect(),
            Err(_) => Vec::new(),
        };
        let mut stored: Vec<DockerContext> = Vec::new();
        for path in entries {
            match self.read_meta(&path, &current) {
                Ok(Some(ctx)) => stored.push(ctx),
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
        stored.sort_by(|a, b| a.name.cmp(&b.name));
        contexts.extend(stored);
        Ok((contexts, problems))
    }

    /// The context to talk to now (or the named one).
    pub fn resolve(&self, explicit: Option<&str>) -> Result<DockerContext, ContextError> {
        let name = self.current_name(explicit)?;
        if name == DEFAULT_CONTEXT {
            return Ok(self.default_context(&name));
        }
        let path = self.meta_path(&name);
        match self.read_meta(&path, &name)? {
            Some(ctx) => Ok(ctx),
            None => Err(ContextError::NotFound(name)),
        }
    }

    fn default_context(&self, current: &str) -> DockerContext {
        DockerContext {
            name: DEFAULT_CONTEXT.to_owned(),
            description: "Current DOCKER_HOST based configuration".to_owned(),
            host: self.env.docker_host.clone().unwrap_or_else(|| DEFAULT_HOST.to_owned()),
            tls: None,
            current: current == DEFAULT_CONTEXT,
        }
    }

    fn meta_path(&self, name: &str) -> PathBuf {
        self.env.docker_config_dir().join("contexts").join("meta").join(context_dir_name(name)).join("meta.json")
    }

    fn read_meta(&self, path: &Path, current: &str) -> Result<Option<DockerContext>, ContextError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ContextError::BadMeta { path: path.to_owned(), reason: e.to_string() }),
        };
        let meta: Meta = serde_json::from_slice(&bytes)
            .map_err(|e| ContextError::BadMeta { path: path.to_owned(), reason: e.to_string() })?;
        let host =
            meta.endpoints.docker.map(|d| d.host).filter(|h| !h.is_empty()).unwrap_or_else(|| DEFAULT_HOST.into());
        let tls_dir =
            self.env.docker_config_dir().join("contexts").join("tls").join(context_dir_name(&meta.name)).join("docker");
        let tls = tls_dir.join("cert.pem").exists().then(|| TlsFiles {
            ca: tls_dir.join("ca.pem"),
            cert: tls_dir.join("cert.pem"),
            key: tls_dir.join("key.pem"),
        });
        Ok(Some(DockerContext {
            current: meta.name == current,
            name: meta.name,
            description: meta.metadata.description,
            host,
            tls,
        }))
    }
}

/// Contexts are stored under the hex sha256 of their name.
fn context_dir_name(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(dir: &Path) -> Environment {
        Environment { docker_config: Some(dir.to_owned()), ..Environment::default() }
    }

    fn write_context(dir: &Path, name: &str, host: &str) {
        let meta = dir.join("contexts/meta").join(context_dir_name(name));
        std::fs::create_dir_all(&meta).unwrap();
        let json = format!(
            r#"{{"Name":"{name}","Metadata":{{"Description":"remote box"}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
        );
        std::fs::write(meta.join("meta.json"), json).unwrap();
    }

    #[test]
    fn without_any_configuration_the_default_socket_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Contexts::new(env_with(dir.path())).resolve(None).unwrap();
        assert_eq!(ctx.name, "default");
        assert_eq!(ctx.host, "unix:///var/run/docker.sock");
        assert_eq!(ctx.store_key(), "unix:///var/run/docker.sock");
    }

    #[test]
    fn docker_host_wins_over_docker_context_and_config() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "tcp://10.1.2.3:2375");
        std::fs::write(dir.path().join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        let env = Environment {
            docker_host: Some("unix:///tmp/x.sock".into()),
            docker_context: Some("remote".into()),
            ..env_with(dir.path())
        };
        let ctx = Contexts::new(env).resolve(None).unwrap();
        assert_eq!((ctx.name.as_str(), ctx.host.as_str()), ("default", "unix:///tmp/x.sock"));
    }

    #[test]
    fn current_context_from_config_json_is_resolved_through_its_meta_file() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "tcp://10.1.2.3:2375");
        std::fs::write(dir.path().join("config.json"), r#"{"currentContext":"remote"}"#).unwrap();
        let contexts = Contexts::new(env_with(dir.path()));
        let ctx = contexts.resolve(None).unwrap();
        assert_eq!(
            (ctx.name.as_str(), ctx.host.as_str(), ctx.store_key()),
            ("remote", "tcp://10.1.2.3:2375", "remote")
        );
        let (all, problems) = contexts.list(None).unwrap();
        assert!(problems.is_empty());
        assert_eq!(
            all.iter().map(|c| (c.name.as_str(), c.current)).collect::<Vec<_>>(),
            [("default", false), ("remote", true)]
        );
    }

    #[test]
    fn an_ssh_context_keeps_its_url_whole_and_has_no_tls() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "far", "ssh://builder@10.1.2.3:2222/run/user/1000/docker.sock");
        let ctx = Contexts::new(env_with(dir.path())).resolve(Some("far")).unwrap();
        assert_eq!(
            (ctx.host.as_str(), ctx.tls.is_none(), ctx.node_endpoint()),
            ("ssh://builder@10.1.2.3:2222/run/user/1000/docker.sock", true, "far")
        );
    }

    #[test]
    fn an_unknown_context_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment { docker_context: Some("nope".into()), ..env_with(dir.path()) };
        let err = Contexts::new(env).resolve(None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "docker context \"nope\" not found (known contexts are listed by `docker context ls`)"
        );
    }

    #[test]
    fn a_corrupt_context_is_reported_and_the_others_still_listed() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "good", "tcp://10.1.2.3:2375");
        let bad = dir.path().join("contexts/meta").join(context_dir_name("bad"));
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("meta.json"), "{not json").unwrap();
        let (all, problems) = Contexts::new(env_with(dir.path())).list(None).unwrap();
        assert_eq!(all.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["default", "good"]);
        assert_eq!(problems.len(), 1);
    }
}
