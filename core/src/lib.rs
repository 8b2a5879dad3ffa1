//! Buildlane's domain logic, free of any UI toolkit: which engine to talk to, buildx's builder store,
//! the drivers that run BuildKit, and the BuildKit client itself.

pub mod builders;
pub mod buildkit;
pub mod builds;
pub mod buildx_cli;
pub mod context;
pub mod credentials;
pub mod docker_config;
pub mod dockerfile;
pub mod drivers;
pub mod engine;
pub mod engine_images;
pub mod error_code;
pub mod manifest;
pub mod outline;
pub mod patterns;
pub mod platform;
pub mod progress;
pub mod records;
pub mod reference;
pub mod registries;
pub mod registry;
pub mod session;
pub mod store;
