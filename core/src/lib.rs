//! Buildlane's domain logic, free of any UI toolkit: which engine to talk to, buildx's builder store,
//! the drivers that run BuildKit, the BuildKit client itself, builds, and images in registries.

pub mod annotation;
pub mod builders;
pub mod buildkit;
pub mod builds;
pub mod docker_config;
pub mod dockerfile;
pub mod engine;
pub mod error_code;
pub mod go_text;
pub mod history;
pub mod images;
pub mod platform;
pub mod progress;
pub mod ssh;

mod go_json;
mod io_error;
