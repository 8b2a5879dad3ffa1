//! Registry credentials exactly where the docker CLI keeps them: a helper per registry (`credHelpers`),
//! else the default helper (`credsStore`), else config.json's own `auths`. Helpers are the
//! `docker-credential-<name> get` protocol: the server URL on stdin, `{"Username","Secret"}` on stdout.
//!
//! Secrets never leave this module in a message: errors name the registry and the helper only, and
//! [`Credential`]'s Debug redacts.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::docker_config::{DockerConfigError, DockerConfigFile, Environment};
use crate::images::reference::DOCKER_HUB;

/// The key the docker CLI stores Docker Hub's credentials under.
const DOCKER_HUB_SERVER: &str = "https://index.docker.io/v1/";
/// A helper that has not answered by then is stuck (e.g. waiting on a locked keychain).
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token from `docker login` against a token service.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Credential::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(transparent)]
    Config(#[from] DockerConfigError),
    #[error("the credentials for {registry} in config.json are not valid base64 \"user:password\"")]
    MalformedAuth { registry: String },
    #[error(
        "credential helper docker-credential-{helper} (configured for {registry}) is not installed or not on PATH"
    )]
    HelperMissing { helper: String, registry: String },
    #[error("credential helper docker-credential-{helper} failed for {registry}: {message}")]
    HelperFailed { helper: String, registry: String, message: String },
}

/// Looks credentials up for a registry in one docker config folder.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    config_dir: PathBuf,
    /// Where helpers are searched; `None` is the process's PATH.
    helper_path: Option<OsString>,
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// The server key the CLI uses for a registry.
fn server_url(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_SERVER
    } else {
        registry
    }
}

/// `https://host/v1/` and `host` name the same registry in `auths`, as the CLI's ConvertToHostname has it.
fn hostname(key: &str) -> &str {
    let key = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
        other => other,
    }
}

impl CredentialStore {
    pub fn new(env: &Environment) -> Self {
        Self { config_dir: env.docker_config_dir(), helper_path: None }
    }

    /// Searches credential helpers in `path` instead of the process's PATH.
    pub fn with_helper_path(mut self, path: impl Into<OsString>) -> Self {
        self.helper_path = Some(path.into());
        self
    }

    fn config(&self) -> Result<DockerConfigFile, CredentialError> {
        Ok(DockerConfigFile::load(&self.config_dir)?)
    }

    /// Registries the user has logged in to or configured a helper for, by host name, sorted.
    pub fn configured_registries(&self) -> Result<Vec<String>, CredentialError> {
        let config = self.config()?;
        let mut hosts: Vec<String> =
            config.auths.keys().chain(config.cred_helpers.keys()).map(|k| hostname(k).to_owned()).collect();
        hosts.sort();
        hosts.dedup();
        Ok(hosts)
    }

    /// The credential for `registry` (`docker.io`, `127.0.0.1:5056`), or `None` for anonymous access.
    #[tracing::instrument(skip(self), err)]
    pub async fn get(&self, registry: &str) -> Result<Option<Credential>, CredentialError> {
        let config = self.config()?;
        let helper = config
            .cred_helpers
            .iter()
            .find(|(key, _)| hostname(key) == registry)
            .map(|(_, helper)| helper.clone())
            .or(config.creds_store.clone())
            .filter(|h| !h.is_empty());
        if let Some(helper) = helper {
            return self.ask_helper(&helper, registry).await;
        }
        let Some(entry) = config.auths.iter().find(|(key, _)| hostname(key) == registry).map(|(_, e)| e) else {
            return Ok(None);
        };
        if let Some(token) = entry.identity_token.as_deref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(token.to_owned())));
        }
        let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        let malformed = || CredentialError::MalformedAuth { registry: registry.to_owned() };
        let decoded = base64::engine::general_purpose::STANDARD.decode(auth.trim()).map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (username, password) = decoded.split_once(':').ok_or_else(malformed)?;
        Ok(Some(Credential::Basic { username: username.to_owned(), password: password.to_owned() }))
    }

    async fn ask_helper(&self, helper: &str, registry: &str) -> Result<Option<Credential>, CredentialError> {
        let program = format!("docker-credential-{helper}");
        let failed = |message: String| CredentialError::HelperFailed {
            helper: helper.to_owned(),
            registry: registry.to_owned(),
            message,
        };
        let mut command = tokio::process::Command::new(&program);
        command.arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        if let Some(path) = &self.helper_path {
            command.env("PATH", path);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CredentialError::HelperMissing { helper: helper.to_owned(), registry: registry.to_owned() })
            }
            Err(e) => return Err(failed(e.to_string())),
        };
        if let Some(mut stdin) = child.stdin.take() {
            // A helper may exit without reading (a broken pipe here); its exit status and output tell why.
            let _ = stdin.write_all(server_url(registry).as_bytes()).await;
        }
        let output = tokio::time::timeout(HELPER_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| failed(format!("no answer within {} s", HELPER_TIMEOUT.as_secs())))?
            .map_err(|e| failed(e.to_string()))?;
        if !output.status.success() {
            // The helper protocol's way of saying "no credentials for this server".
            let said = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            if said.contains("credentials not found") {
                return Ok(None);
            }
            let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
            let message = if said.is_empty() { stderr } else { said };
            let message: String = message.chars().take(200).collect();
            return Err(failed(if message.is_empty() { format!("exited with {}", output.status) } else { message }));
        }
        let answer: HelperAnswer =
            serde_json::from_slice(&output.stdout).map_err(|_| failed("its answer is not the expected JSON".into()))?;
        if answer.username == "<token>" {
            return Ok(Some(Credential::IdentityToken(answer.secret)));
        }
        if answer.username.is_empty() && answer.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credential::Basic { username: answer.username, password: answer.secret }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(config: &str) -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), config).unwrap();
        let env = Environment { docker_config: Some(dir.path().to_owned()), ..Default::default() };
        let store = CredentialStore::new(&env).with_helper_path(dir.path());
        (dir, store)
    }

    #[tokio::test]
    async fn auths_entries_match_by_host_name_whatever_their_spelling() {
        let (_dir, store) = store(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"http://127.0.0.1:5056/v2/":{"auth":"YTpiOmM="},
               "tok.example":{"identitytoken":"t0k"},"bad.example":{"auth":"!!"}}}"#,
        );
        assert_eq!(
            store.get("docker.io").await.unwrap(),
            Some(Credential::Basic { username: "u".into(), password: "p".into() })
        );
        // Only the first colon separates the user: passwords may contain colons.
        assert_eq!(
            store.get("127.0.0.1:5056").await.unwrap(),
            Some(Credential::Basic { username: "a".into(), password: "b:c".into() })
        );
        assert_eq!(store.get("tok.example").await.unwrap(), Some(Credential::IdentityToken("t0k".into())));
        assert_eq!(store.get("ghcr.io").await.unwrap(), None);
        let err = store.get("bad.example").await.unwrap_err().to_string();
        assert_eq!(err, "the credentials for bad.example in config.json are not valid base64 \"user:password\"");
        assert_eq!(
            store.configured_registries().unwrap(),
            ["127.0.0.1:5056", "bad.example", "docker.io", "tok.example"]
        );
    }

    #[tokio::test]
    async fn a_missing_helper_is_named_and_secrets_stay_out_of_debug() {
        let (_dir, store) = store(r#"{"credHelpers":{"ghcr.io":"nowhere"}}"#);
        let err = store.get("ghcr.io").await.unwrap_err().to_string();
        assert_eq!(
            err,
            "credential helper docker-credential-nowhere (configured for ghcr.io) is not installed or not on PATH"
        );
        let shown = format!("{:?}", Credential::Basic { username: "u".into(), password: "hunter2".into() });
        assert!(!shown.contains("hunter2"));
    }
}
