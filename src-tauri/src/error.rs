//! The one place core errors become what the UI shows: a code it can act on and the core's message.

use buildlane_core::builders::BuilderError;
use buildlane_core::builds::BuildError;
use buildlane_core::context::ContextError;
use buildlane_core::dockerfile::DockerfileError;
use buildlane_core::drivers::DriverError;
use buildlane_core::engine::EngineError;
use buildlane_core::engine_images::EngineImagesError;
use buildlane_core::manifest::InspectError;
use buildlane_core::reference::ReferenceError;
use buildlane_core::registries::RegistriesError;
use buildlane_core::registry::RegistryError;
use buildlane_core::store::StoreError;
use serde::Serialize;
use ts_rs::TS;

/// What the UI does differently per kind of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    AlreadyExists,
    EngineUnreachable,
    StoreLocked,
    StoreCorrupt,
    ImageUnavailable,
    BootFailed,
    Cancelled,
    Internal,
    AuthRequired,
    Forbidden,
    RateLimited,
    DigestMismatch,
    Malformed,
    RegistryUnreachable,
}

/// Every command rejects with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn cancelled(what: &str) -> Self {
        Self::new(ErrorCode::Cancelled, format!("{what} was cancelled"))
    }
}

fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::InvalidName(_) => ErrorCode::InvalidInput,
        StoreError::NotFound(_) => ErrorCode::NotFound,
        StoreError::Locked { .. } => ErrorCode::StoreLocked,
        StoreError::Corrupt { .. } => ErrorCode::StoreCorrupt,
        StoreError::Io { .. } => ErrorCode::Internal,
    }
}

fn engine_code(e: &EngineError) -> ErrorCode {
    match e {
        EngineError::Unreachable { .. } => ErrorCode::EngineUnreachable,
        EngineError::UnsupportedHost { .. } => ErrorCode::InvalidInput,
        EngineError::Api { status: 404, .. } => ErrorCode::NotFound,
        EngineError::Api { .. } | EngineError::Other { .. } => ErrorCode::Internal,
    }
}

fn driver_code(e: &DriverError) -> ErrorCode {
    match e {
        DriverError::UnknownDriver(_)
        | DriverError::MalformedOption(_)
        | DriverError::UnsupportedOption { .. }
        | DriverError::InvalidOptionValue { .. }
        | DriverError::TlsOptionsMissing(_)
        | DriverError::InvalidEndpoint { .. } => ErrorCode::InvalidInput,
        DriverError::ImageUnavailable { .. } => ErrorCode::ImageUnavailable,
        DriverError::BootFailed { .. } => ErrorCode::BootFailed,
        DriverError::Engine(e) => engine_code(e),
        DriverError::Buildkit(_) => ErrorCode::EngineUnreachable,
    }
}

fn builder_code(e: &BuilderError) -> ErrorCode {
    match e {
        BuilderError::ReservedName
        | BuilderError::MissingName
        | BuilderError::CannotCreateDockerDriver
        | BuilderError::MissingEndpoint
        | BuilderError::UnexpectedEndpoint(_)
        | BuilderError::RemoteDaemonSettings(_)
        | BuilderError::OtherContext(_)
        | BuilderError::ContextBuilder(..)
        | BuilderError::InvalidFlags(_)
        | BuilderError::BuildkitdConfig { .. }
        | BuilderError::Platform(_) => ErrorCode::InvalidInput,
        BuilderError::AlreadyExists(_) => ErrorCode::AlreadyExists,
        BuilderError::NotFound(_) => ErrorCode::NotFound,
        BuilderError::Store(e) => store_code(e),
        BuilderError::Context(ContextError::NotFound(_)) => ErrorCode::NotFound,
        BuilderError::Context(_) => ErrorCode::InvalidInput,
        BuilderError::Driver(e) => driver_code(e),
        BuilderError::Engine(e) => engine_code(e),
    }
}

impl From<BuilderError> for AppError {
    fn from(e: BuilderError) -> Self {
        AppError::new(builder_code(&e), e.to_string())
    }
}

impl From<BuildError> for AppError {
    fn from(e: BuildError) -> Self {
        let code = match &e {
            BuildError::Builder(inner) => return AppError::new(builder_code(inner), e.to_string()),
            BuildError::Engine(inner) => engine_code(inner),
            BuildError::Buildkit(_) | BuildError::Session(_) => ErrorCode::EngineUnreachable,
            _ => ErrorCode::InvalidInput,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<DockerfileError> for AppError {
    fn from(e: DockerfileError) -> Self {
        let code = match &e {
            DockerfileError::Read { .. } => ErrorCode::NotFound,
            DockerfileError::NotAFile { .. } | DockerfileError::TooLarge { .. } => ErrorCode::InvalidInput,
            DockerfileError::OutsideContext { .. } => ErrorCode::Forbidden,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<ContextError> for AppError {
    fn from(e: ContextError) -> Self {
        AppError::from(BuilderError::from(e))
    }
}

fn registry_code(e: &RegistryError) -> ErrorCode {
    match e {
        RegistryError::InvalidReference(_) => ErrorCode::InvalidInput,
        RegistryError::Credentials(_) | RegistryError::AuthRequired { .. } | RegistryError::AuthRejected { .. } => {
            ErrorCode::AuthRequired
        }
        RegistryError::UnknownHost { .. }
        | RegistryError::Unreachable { .. }
        | RegistryError::Timeout { .. }
        | RegistryError::PlainHttpRegistry { .. }
        | RegistryError::HttpsRegistry { .. }
        | RegistryError::Tls { .. } => ErrorCode::RegistryUnreachable,
        RegistryError::Forbidden { .. } => ErrorCode::Forbidden,
        RegistryError::RepositoryNotFound { .. }
        | RegistryError::TagNotFound { .. }
        | RegistryError::DigestNotFound { .. }
        | RegistryError::Unsupported { .. } => ErrorCode::NotFound,
        RegistryError::RateLimited { .. } => ErrorCode::RateLimited,
        RegistryError::DigestMismatch { .. } => ErrorCode::DigestMismatch,
        RegistryError::Malformed { .. } | RegistryError::TooLarge { .. } => ErrorCode::Malformed,
        RegistryError::Server { .. } | RegistryError::Other { .. } => ErrorCode::Internal,
    }
}

impl From<RegistryError> for AppError {
    fn from(e: RegistryError) -> Self {
        AppError::new(registry_code(&e), e.to_string())
    }
}

impl From<InspectError> for AppError {
    fn from(e: InspectError) -> Self {
        let code = match &e {
            InspectError::Registry(inner) => registry_code(inner),
            InspectError::SelfListing { .. } | InspectError::TooDeep { .. } | InspectError::Malformed { .. } => {
                ErrorCode::Malformed
            }
        };
        AppError::new(code, e.to_string())
    }
}

impl From<ReferenceError> for AppError {
    fn from(e: ReferenceError) -> Self {
        AppError::new(ErrorCode::InvalidInput, e.to_string())
    }
}

impl From<EngineImagesError> for AppError {
    fn from(e: EngineImagesError) -> Self {
        let code = match &e {
            EngineImagesError::NotFound { .. } => ErrorCode::NotFound,
            EngineImagesError::Reference(_) => ErrorCode::InvalidInput,
            EngineImagesError::Engine(inner) => engine_code(inner),
        };
        AppError::new(code, e.to_string())
    }
}

impl From<RegistriesError> for AppError {
    fn from(e: RegistriesError) -> Self {
        let code = match &e {
            RegistriesError::InvalidName(_) => ErrorCode::InvalidInput,
            RegistriesError::NotAdded(_) => ErrorCode::NotFound,
            RegistriesError::Corrupt { .. } => ErrorCode::Malformed,
            RegistriesError::Io { .. } => ErrorCode::Internal,
        };
        AppError::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_mistakes_are_invalid_input_with_the_core_message() {
        let e = AppError::from(BuilderError::ReservedName);
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert_eq!(e.message, "builder name \"default\" is reserved for the engine's own builder");
        let e = AppError::from(BuilderError::Driver(DriverError::MalformedOption("image".into())));
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidInput, "invalid driver option \"image\": expected key=value")
        );
    }

    #[test]
    fn registry_faults_get_codes_the_ui_acts_on() {
        let e = AppError::from(RegistryError::AuthRequired { registry: "r".into(), repository: "a".into() });
        assert_eq!(e.code, ErrorCode::AuthRequired);
        assert_eq!(e.message, "authentication required for r/a: log in with `docker login r`");
        let limited = RegistryError::RateLimited { registry: "r".into(), retry_after_secs: Some(3) };
        assert_eq!(AppError::from(InspectError::Registry(limited)).code, ErrorCode::RateLimited);
        assert_eq!(AppError::from(InspectError::TooDeep { digest: "d".into() }).code, ErrorCode::Malformed);
    }

    #[test]
    fn an_unreachable_engine_is_its_own_code() {
        let e = AppError::from(BuilderError::Engine(EngineError::Unreachable {
            host: "unix:///var/run/docker.sock".into(),
            reason: "connection refused".into(),
        }));
        assert_eq!(e.code, ErrorCode::EngineUnreachable);
        assert_eq!(e.message, "engine at unix:///var/run/docker.sock unreachable: connection refused");
    }
}
