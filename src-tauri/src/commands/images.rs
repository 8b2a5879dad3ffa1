//! The Images view's commands: registries, their repositories and tags, inspecting a reference and
//! comparing two platform images. Registry calls are long operations: cancellable by id.

use buildlane_core::credentials::CredentialStore;
use buildlane_core::docker_config::Environment;
use buildlane_core::manifest::{self, Comparison, InspectOptions, Inspection, PlatformImage};
use buildlane_core::reference::ImageReference;
use buildlane_core::registries::{registry_host, Registries, RegistryList};
use buildlane_core::registry::{Page, RegistryClient};
use tauri::State;

use super::cancellable;
use crate::error::AppError;
use crate::state::AppState;

/// Repositories and tags per page: enough to fill the list, small enough to arrive at once.
const PAGE_SIZE: usize = 100;

/// The registry client and the registries listed beside it.
pub struct ImagesState {
    registries: Registries,
}

impl ImagesState {
    pub fn new(env: &Environment) -> Self {
        Self { registries: Registries::new(env, RegistryClient::new(CredentialStore::new(env))) }
    }

    fn client(&self) -> RegistryClient {
        self.registries.client().clone()
    }
}

#[tauri::command]
pub fn list_registries(images: State<'_, ImagesState>) -> RegistryList {
    images.registries.list()
}

/// Adds (or re-adds with another switch) a registry, kept for the next time the app opens.
#[tauri::command]
pub fn add_registry(
    images: State<'_, ImagesState>,
    name: String,
    plain_http: Option<bool>,
) -> Result<RegistryList, AppError> {
    Ok(images.registries.add(&name, plain_http)?)
}

/// Forgets a registry the user added.
#[tauri::command]
pub fn remove_registry(images: State<'_, ImagesState>, name: String) -> Result<RegistryList, AppError> {
    Ok(images.registries.remove(&name)?)
}

#[tauri::command]
pub async fn list_repositories(
    state: State<'_, AppState>,
    images: State<'_, ImagesState>,
    registry: String,
    last: Option<String>,
    operation: String,
) -> Result<Page, AppError> {
    let registry = registry_host(&registry)?;
    let client = images.client();
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
    let registry = registry_host(&registry)?;
    let client = images.client();
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
    let client = images.client();
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
