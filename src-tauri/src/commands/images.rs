//! The Images view's commands: registries, their repositories and tags, inspecting a reference and
//! comparing two platform images. Registry calls are long operations: cancellable by id.

use std::collections::BTreeMap;
use std::sync::Mutex;

use buildlane_core::credentials::CredentialStore;
use buildlane_core::docker_config::Environment;
use buildlane_core::manifest::{self, Comparison, InspectOptions, Inspection, PlatformImage};
use buildlane_core::reference::{is_loopback, ImageReference};
use buildlane_core::registry::{Page, RegistryClient};
use serde::Serialize;
use tauri::State;
use ts_rs::TS;

use super::cancellable;
use crate::error::{AppError, ErrorCode};
use crate::state::AppState;

/// Repositories and tags per page: enough to fill the list, small enough to arrive at once.
const PAGE_SIZE: usize = 100;

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
    /// Why the docker config could not be read, when it could not.
    pub problem: Option<String>,
}

/// The registry client and the registries the user added in this session.
pub struct ImagesState {
    client: RegistryClient,
    added: Mutex<BTreeMap<String, bool>>,
}

impl ImagesState {
    pub fn new(env: &Environment) -> Self {
        Self { client: RegistryClient::new(CredentialStore::new(env)), added: Mutex::new(BTreeMap::new()) }
    }

    fn list(&self) -> RegistryList {
        let (configured, problem) = match self.client.credentials().configured_registries() {
            Ok(list) => (list, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let added = self.added.lock().expect("lock is never poisoned").clone();
        let mut registries: Vec<RegistryEntry> = added
            .keys()
            .map(|name| RegistryEntry {
                name: name.clone(),
                plain_http: self.client.is_plain_http(name),
                source: RegistrySource::User,
            })
            .collect();
        registries.extend(configured.into_iter().filter(|name| !added.contains_key(name)).map(|name| RegistryEntry {
            plain_http: self.client.is_plain_http(&name),
            name,
            source: RegistrySource::DockerConfig,
        }));
        RegistryList { registries, problem }
    }
}

/// A registry host as typed: `127.0.0.1:5055`, `ghcr.io` (a scheme or path is a mistake worth saying).
fn registry_name(input: &str) -> Result<String, AppError> {
    let name = input.trim().trim_end_matches('/');
    let valid =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if valid {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(AppError::new(
            ErrorCode::InvalidInput,
            format!("\"{input}\" is not a registry host: write it as host[:port], e.g. ghcr.io or 127.0.0.1:5000"),
        ))
    }
}

#[tauri::command]
pub fn list_registries(images: State<'_, ImagesState>) -> RegistryList {
    images.list()
}

/// Adds (or re-adds with another switch) a registry; loopback ones default to plain http.
#[tauri::command]
pub fn add_registry(
    images: State<'_, ImagesState>,
    name: String,
    plain_http: Option<bool>,
) -> Result<RegistryList, AppError> {
    let name = registry_name(&name)?;
    let plain = plain_http.unwrap_or_else(|| is_loopback(&name));
    images.client.set_plain_http(&name, plain);
    images.added.lock().expect("lock is never poisoned").insert(name, plain);
    Ok(images.list())
}

#[tauri::command]
pub async fn list_repositories(
    state: State<'_, AppState>,
    images: State<'_, ImagesState>,
    registry: String,
    last: Option<String>,
    operation: String,
) -> Result<Page, AppError> {
    let registry = registry_name(&registry)?;
    let client = images.client.clone();
    cancellable(&state, operation, "listing repositories", async move {
        Ok(client.catalog(&registry, PAGE_SIZE, last.as_deref()).await?)
    })
    .await
}

#[tauri::command]
pub async fn list_tags(
    state: State<'_, AppState>,
    images: State<'_, ImagesState>,
    registry: String,
    repository: String,
    last: Option<String>,
    operation: String,
) -> Result<Page, AppError> {
    let registry = registry_name(&registry)?;
    let client = images.client.clone();
    cancellable(&state, operation, "listing tags", async move {
        Ok(client.tags(&registry, repository.trim(), PAGE_SIZE, last.as_deref()).await?)
    })
    .await
}

#[tauri::command]
pub async fn inspect_image(
    state: State<'_, AppState>,
    images: State<'_, ImagesState>,
    reference: String,
    operation: String,
) -> Result<Inspection, AppError> {
    let reference: ImageReference = reference.parse()?;
    let client = images.client.clone();
    // A retry after `docker login` should see the new credentials.
    client.forget_credentials();
    cancellable(&state, operation, "inspecting the image", async move {
        Ok(manifest::inspect(&client, &reference, InspectOptions { referrers: true, depth: manifest::Depth::Full })
            .await?)
    })
    .await
}

#[tauri::command]
pub fn compare_platforms(left: PlatformImage, right: PlatformImage) -> Comparison {
    manifest::compare(&left, &right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_names_are_hosts() {
        assert_eq!(registry_name(" 127.0.0.1:5055/ ").unwrap(), "127.0.0.1:5055");
        assert_eq!(registry_name("GHCR.io").unwrap(), "ghcr.io");
        let e = registry_name("https://ghcr.io").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert!(registry_name("").is_err());
    }
}
