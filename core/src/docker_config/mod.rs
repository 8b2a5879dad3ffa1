//! The docker CLI's configuration folder (`$DOCKER_CONFIG` or `~/.docker`) and the parts of its
//! `config.json` that Buildlane reads.

pub mod contexts;
pub mod credentials;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The process environment that decides where the docker CLI and buildx look. Captured once, so that
/// tests (and the app's context switcher) can state it explicitly instead of mutating the process env.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub home: Option<PathBuf>,
    pub docker_config: Option<PathBuf>,
    pub buildx_config: Option<PathBuf>,
    pub docker_host: Option<String>,
    pub docker_context: Option<String>,
    pub xdg_data_home: Option<PathBuf>,
}

impl Environment {
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            home: var("HOME").map(PathBuf::from),
            docker_config: var("DOCKER_CONFIG").map(PathBuf::from),
            buildx_config: var("BUILDX_CONFIG").map(PathBuf::from),
            docker_host: var("DOCKER_HOST"),
            docker_context: var("DOCKER_CONTEXT"),
            xdg_data_home: var("XDG_DATA_HOME").map(PathBuf::from),
        }
    }

    /// `$DOCKER_CONFIG`, else `~/.docker`.
    pub fn docker_config_dir(&self) -> PathBuf {
        match (&self.docker_config, &self.home) {
            (Some(dir), _) => dir.clone(),
            (None, Some(home)) => home.join(".docker"),
            (None, None) => PathBuf::from(".docker"),
        }
    }

    /// Buildlane's own data (build records, added registries): `$XDG_DATA_HOME/buildlane`, else
    /// `~/.local/share/buildlane`.
    pub fn data_dir(&self) -> PathBuf {
        match (&self.xdg_data_home, &self.home) {
            (Some(dir), _) => dir.join("buildlane"),
            (None, Some(home)) => home.join(".local/share/buildlane"),
            (None, None) => PathBuf::from(".buildlane"),
        }
    }

    /// buildx's store root: `$BUILDX_CONFIG`, else `buildx/` beside config.json (it moves with DOCKER_CONFIG).
    pub fn buildx_store_dir(&self) -> PathBuf {
        self.buildx_config.clone().unwrap_or_else(|| self.docker_config_dir().join("buildx"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid JSON: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
}

/// The fields of config.json this app uses. Unknown fields are ignored, as the CLI does.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DockerConfigFile {
    #[serde(rename = "currentContext", default)]
    pub current_context: Option<String>,
    /// Registry credentials stored in the file itself, keyed by server (`https://index.docker.io/v1/`, `127.0.0.1:5056`).
    #[serde(default)]
    pub auths: BTreeMap<String, AuthEntry>,
    /// The credential helper for every registry without its own (`docker-credential-<name>`).
    #[serde(rename = "credsStore", default)]
    pub creds_store: Option<String>,
    /// A credential helper per registry.
    #[serde(rename = "credHelpers", default)]
    pub cred_helpers: BTreeMap<String, String>,
}

/// One `auths` entry: base64 `user:password` and/or an identity token (never logged: Debug redacts).
#[derive(Clone, Default, Deserialize)]
pub struct AuthEntry {
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(rename = "identitytoken", default)]
    pub identity_token: Option<String>,
}

impl std::fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthEntry")
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("identity_token", &self.identity_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl DockerConfigFile {
    /// Reads `<dir>/config.json`; a missing file is an empty configuration, as for the CLI.
    pub fn load(dir: &Path) -> Result<Self, DockerConfigError> {
        let path = dir.join("config.json");
        match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(Self::default()),
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| DockerConfigError::Parse { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(DockerConfigError::Read { path, source }),
        }
    }
}
