//! Buildlane's domain logic, free of any UI toolkit: which engine to talk to, buildx's builder store,
//! the drivers that run BuildKit, and the BuildKit client itself.

pub mod builders;
pub mod buildkit;
pub mod buildx_cli;
pub mod context;
pub mod credentials;
pub mod docker_config;
pub mod drivers;
pub mod engine;
pub mod manifest;
pub mod platform;
pub mod reference;
pub mod registry;
pub mod store;
