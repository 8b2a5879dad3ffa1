//! The Images view's commands: registries, their repositories and tags, inspecting a reference and
//! comparing two platform images. Registry calls are long operations: cancellable by id.

use std::sync::Arc;

use buildlane_core::docker_config::credentials::CredentialStore;
use buildlane_core::docker_config::Environment;
use buildlane_core::engine::Engine;
use buildlane_core::images::command_line;
use buildlane_core::images::compose::{self, ComposeRequest, Composition, PushEvent};
use buildlane_core::images::engine::{self as engine_images, EngineImagesError};
use buildlane_core::images::manifest::{self, Comparison, InspectOptions, Inspection, PlatformImage};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registries::{registry_host, Registries, RegistryList};
use buildlane_core::images::registry::{Page, RegistryClient};
use tauri::ipc::Channel;
use tauri::State;

use super::{blocking, cancellable};
use crate::error::AppError;
use crate::state::AppState;

/// Repositories and tags per page: enough to fill the list, small enough to arrive at once.
const PAGE_SIZE: usize = 100;

/// The registry client and the registries listed beside it.
pub struct ImagesState {
    registries: Arc<Registries>,
}

impl ImagesState {
    pub fn new(env: &Environment) -> Self {
        Self { registries: Arc::new(Registries::new(env, RegistryClient::new(CredentialStore::new(env)))) }
    }

    fn client(&self) -> RegistryClient {
        self.registries.client().clone()
    }
}

#[tauri::command]
pub async fn list_registries(images: State<'_, ImagesState>) -> Result<RegistryList, AppError> {
    let registries = images.registries.clone();
    blocking(move || Ok(registries.list())).await
}

/// Adds (or re-adds with another switch) a registry, kept for the next time the app opens.
#[tauri::command]
pub async fn add_registry(
    images: State<'_, ImagesState>,
    name: String,
    plain_http: Option<bool>,
) -> Result<RegistryList, AppError> {
    let registries = images.registries.clone();
    blocking(move || Ok(registries.add(&name, plain_http)?)).await
}

/// Forgets a registry the user added.
#[tauri::command]
pub async fn remove_registry(images: State<'_, ImagesState>, name: String) -> Result<RegistryList, AppError> {
    let registries = images.registries.clone();
    blocking(move || Ok(registries.remove(&name)?)).await
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

/// The selected context's engine, for its image store.
async fn selected_engine(state: &AppState) -> Result<Engine, AppError> {
    let context = state.builders.contexts().resolve(state.selected_context().as_deref())?;
    Engine::connect(&context).await.map_err(|e| EngineImagesError::from(e).into())
}

/// The repositories of the engine's tagged images (all in one page).
#[tauri::command]
pub async fn list_engine_repositories(state: State<'_, AppState>, operation: String) -> Result<Page, AppError> {
    let engine = selected_engine(&state).await?;
    cancellable(&state, operation, "listing the engine's images", async move {
        Ok(engine_images::repositories(&engine).await?)
    })
    .await
}

#[tauri::command]
pub async fn list_engine_tags(
    state: State<'_, AppState>,
    repository: String,
    operation: String,
) -> Result<Page, AppError> {
    let engine = selected_engine(&state).await?;
    cancellable(&state, operation, "listing the engine's tags", async move {
        Ok(engine_images::tags(&engine, repository.trim()).await?)
    })
    .await
}

/// An image of the engine's store (`repo:tag`), shown like a single-platform registry image.
#[tauri::command]
pub async fn inspect_engine_image(
    state: State<'_, AppState>,
    reference: String,
    operation: String,
) -> Result<Inspection, AppError> {
    let engine = selected_engine(&state).await?;
    cancellable(&state, operation, "inspecting the engine's image", async move {
        Ok(engine_images::inspect(&engine, reference.trim()).await?)
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

/// "Copy as CLI" for a reference that could not be inspected (an inspection carries its own).
#[tauri::command]
pub fn image_cli_command(reference: String) -> String {
    command_line::imagetools_inspect(reference.trim())
}

/// The index a composition makes, and what it holds, without writing anything (the dry run).
#[tauri::command]
pub async fn compose_plan(
    state: State<'_, AppState>,
    images: State<'_, ImagesState>,
    request: ComposeRequest,
    operation: String,
) -> Result<Composition, AppError> {
    let client = images.client();
    client.forget_credentials();
    cancellable(&state, operation, "composing the index", async move { Ok(compose::plan(&client, &request).await?) })
        .await
}

/// Composes and pushes, each step sent to `on_progress`; cancelling stops before any further write.
#[tauri::command]
pub async fn compose_push(
    state: State<'_, AppState>,
    images: State<'_, ImagesState>,
    request: ComposeRequest,
    operation: String,
    on_progress: Channel<PushEvent>,
) -> Result<Composition, AppError> {
    let client = images.client();
    client.forget_credentials();
    cancellable(&state, operation, "pushing the index", async move {
        let composition = compose::plan(&client, &request).await?;
        // A closed window only means nobody watches any more.
        compose::push(&client, &composition, &move |event| {
            let _ = on_progress.send(event);
        })
        .await?;
        Ok(composition)
    })
    .await
}
