//! The registries the Images view lists: those the docker config has credentials for, and those the
//! user added, kept in `<data dir>/registries.json` so they are there the next time the app opens.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::docker_config::Environment;
use crate::images::reference::is_loopback;
use crate::images::registry::RegistryClient;

#[derive(Debug, thiserror::Error)]
pub enum RegistriesError {
    #[error("\"{0}\" is not a registry host: write it as host[:port], e.g. ghcr.io or 127.0.0.1:5000")]
    InvalidName(String),
    #[error("{0} is not in the added registries")]
    NotAdded(String),
    #[error("saved registries {path}: {reason}")]
    Io { path: PathBuf, reason: String },
    #[error("saved registries {path} are not readable ({reason}); the file is left as it is")]
    Corrupt { path: PathBuf, reason: String },
}

/// A registry host as typed: `127.0.0.1:5055`, `GHCR.io/` (a scheme or path is a mistake worth saying).
pub fn registry_host(input: &str) -> Result<String, RegistriesError> {
    let name = input.trim().trim_end_matches('/');
    let valid =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(RegistriesError::InvalidName(input.to_owned()))
    }
}

/// Where a registry in the list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum RegistrySource {
    /// Logged in to, or a credential helper configured, in the docker config.
    DockerConfig,
    /// Added in the Images view.
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RegistryEntry {
    pub name: String,
    pub plain_http: bool,
    pub source: RegistrySource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct RegistryList {
    pub registries: Vec<RegistryEntry>,
    /// Why the docker config or the saved registries could not be read, when they could not.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedRegistry {
    name: String,
    plain_http: bool,
}

/// The listing, on the client whose plain-http switches it keeps in step with what was saved.
pub struct Registries {
    client: RegistryClient,
    path: PathBuf,
}

impl Registries {
    /// Loads the saved registries' switches into `client`; a missing or unreadable file shows up in
    /// [`Registries::list`] instead.
    pub fn new(env: &Environment, client: RegistryClient) -> Self {
        let registries = Self { client, path: env.data_dir().join("registries.json") };
        for saved in registries.saved().unwrap_or_default() {
            registries.client.set_plain_http(&saved.name, saved.plain_http);
        }
        registries
    }

    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// Added registries first (in the order added), then the docker config's.
    pub fn list(&self) -> RegistryList {
        let mut problems = Vec::new();
        let saved = self.saved().unwrap_or_else(|e| {
            problems.push(e.to_string());
            Vec::new()
        });
        let configured = self.client.credentials().configured_registries().unwrap_or_else(|e| {
            problems.push(e.to_string());
            Vec::new()
        });
        let mut registries: Vec<RegistryEntry> = saved
            .iter()
            .map(|s| RegistryEntry { name: s.name.clone(), plain_http: s.plain_http, source: RegistrySource::User })
            .collect();
        registries.extend(configured.into_iter().filter(|name| !saved.iter().any(|s| &s.name == name)).map(|name| {
            RegistryEntry { plain_http: self.client.is_plain_http(&name), name, source: RegistrySource::DockerConfig }
        }));
        RegistryList { registries, problem: (!problems.is_empty()).then(|| problems.join("; ")) }
    }

    /// Adds `input` (or changes its plain-http switch); loopback hosts default to plain http.
    #[tracing::instrument(skip(self), err)]
    pub fn add(&self, input: &str, plain_http: Option<bool>) -> Result<RegistryList, RegistriesError> {
        let name = registry_host(input)?;
        let plain_http = plain_http.unwrap_or_else(|| is_loopback(&name));
        let mut saved = self.saved()?;
        match saved.iter_mut().find(|s| s.name == name) {
            Some(existing) => existing.plain_http = plain_http,
            None => saved.push(SavedRegistry { name: name.clone(), plain_http }),
        }
        self.save(&saved)?;
        self.client.set_plain_http(&name, plain_http);
        Ok(self.list())
    }

    /// Forgets an added registry (the docker config's stay: they come from the config).
    #[tracing::instrument(skip(self), err)]
    pub fn remove(&self, input: &str) -> Result<RegistryList, RegistriesError> {
        let name = registry_host(input)?;
        let mut saved = self.saved()?;
        let before = saved.len();
        saved.retain(|s| s.name != name);
        if saved.len() == before {
            return Err(RegistriesError::NotAdded(name));
        }
        self.save(&saved)?;
        self.client.set_plain_http(&name, is_loopback(&name));
        Ok(self.list())
    }

    fn saved(&self) -> Result<Vec<SavedRegistry>, RegistriesError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RegistriesError::Io { path: self.path.clone(), reason: e.to_string() }),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| RegistriesError::Corrupt { path: self.path.clone(), reason: e.to_string() })
    }

    /// Written beside the old file and renamed over it, so a crash leaves one or the other whole.
    fn save(&self, saved: &[SavedRegistry]) -> Result<(), RegistriesError> {
        let io = |e: std::io::Error| RegistriesError::Io { path: self.path.clone(), reason: e.to_string() };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        serde_json::to_writer_pretty(&mut file, saved).map_err(|e| io(e.into()))?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(&self.path).map_err(|e| io(e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker_config::credentials::CredentialStore;

    fn env(dir: &Path) -> Environment {
        Environment {
            docker_config: Some(dir.join("docker")),
            xdg_data_home: Some(dir.join("data")),
            ..Environment::default()
        }
    }

    fn registries(dir: &Path) -> Registries {
        let env = env(dir);
        Registries::new(&env, RegistryClient::new(CredentialStore::new(&env)))
    }

    fn names(list: &RegistryList) -> Vec<(&str, bool, RegistrySource)> {
        list.registries.iter().map(|r| (r.name.as_str(), r.plain_http, r.source)).collect()
    }

    #[test]
    fn registry_names_are_hosts() {
        assert_eq!(registry_host(" 127.0.0.1:5055/ ").unwrap(), "127.0.0.1:5055");
        assert_eq!(registry_host("GHCR.io").unwrap(), "ghcr.io");
        assert_eq!(
            registry_host("https://ghcr.io").unwrap_err().to_string(),
            "\"https://ghcr.io\" is not a registry host: write it as host[:port], e.g. ghcr.io or 127.0.0.1:5000"
        );
        assert!(registry_host("").is_err());
    }

    #[test]
    fn added_registries_are_there_when_the_app_opens_again_until_removed() {
        let dir = tempfile::tempdir().unwrap();
        let first = registries(dir.path());
        first.add("127.0.0.1:5055", None).unwrap();
        first.add("registry.example:5000", Some(true)).unwrap();
        let list = first.add("ghcr.io", None).unwrap();
        assert_eq!(
            names(&list),
            [
                ("127.0.0.1:5055", true, RegistrySource::User),
                ("registry.example:5000", true, RegistrySource::User),
                ("ghcr.io", false, RegistrySource::User),
            ]
        );

        let reopened = registries(dir.path());
        assert_eq!(reopened.list(), list);
        assert!(reopened.client().is_plain_http("registry.example:5000"), "the saved switch is applied");

        let list = reopened.remove("registry.example:5000").unwrap();
        assert_eq!(names(&list).len(), 2);
        assert!(!reopened.client().is_plain_http("registry.example:5000"));
        assert_eq!(registries(dir.path()).list(), list);
        assert_eq!(
            reopened.remove("registry.example:5000").unwrap_err().to_string(),
            "registry.example:5000 is not in the added registries"
        );
    }

    #[test]
    fn a_corrupt_file_is_reported_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = env(dir.path()).data_dir().join("registries.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"{not json").unwrap();
        let registries = registries(dir.path());
        let problem = registries.list().problem.unwrap();
        assert!(problem.starts_with(&format!("saved registries {} are not readable", path.display())), "{problem}");
        assert!(matches!(registries.add("ghcr.io", None), Err(RegistriesError::Corrupt { .. })));
        assert_eq!(std::fs::read(&path).unwrap(), b"{not json");
    }
}
