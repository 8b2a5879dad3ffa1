//! Every error a caller shows, sorted into the few kinds a caller acts on: the window picks a hint
//! and a Retry button by it, the CLI an exit status. Each error's classification lives here, in
//! one exhaustive match per error with no catch-all arm, so a new variant does not compile until
//! someone decides its kind.

use serde::Serialize;
use ts_rs::TS;

use crate::builders::cache::filter::FilterError;
use crate::builders::cache::CacheError;
use crate::builders::drivers::DriverError;
use crate::builders::store::StoreError;
use crate::builders::BuilderError;
use crate::buildkit::BuildkitError;
use crate::builds::records::RecordsError;
use crate::builds::{BuildError, SplitOutputError};
use crate::docker_config::contexts::ContextError;
use crate::dockerfile::DockerfileError;
use crate::engine::EngineError;
use crate::history::bundle::BundleError;
use crate::history::HistoryError;
use crate::images::compose::ComposeError;
use crate::images::engine::EngineImagesError;
use crate::images::manifest::InspectError;
use crate::images::reference::ReferenceError;
use crate::images::registries::RegistriesError;
use crate::images::registry::RegistryError;
use crate::ssh::SshError;

/// What a caller does differently per kind of failure (the window's hint and Retry, the CLI's exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, TS)]
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

/// An error that knows its [`ErrorCode`]; callers turn any of them into what they show in one place.
pub trait Coded: std::error::Error {
    fn code(&self) -> ErrorCode;
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::InvalidName(_) => ErrorCode::InvalidInput,
            StoreError::NotFound(_) => ErrorCode::NotFound,
            StoreError::Locked { .. } => ErrorCode::StoreLocked,
            StoreError::Corrupt { .. } => ErrorCode::StoreCorrupt,
            StoreError::Io { .. } => ErrorCode::Internal,
        }
    }
}

impl Coded for EngineError {
    fn code(&self) -> ErrorCode {
        match self {
            EngineError::Unreachable { .. } => ErrorCode::EngineUnreachable,
            EngineError::UnsupportedHost { .. } => ErrorCode::InvalidInput,
            EngineError::Api { status: 404, .. } => ErrorCode::NotFound,
            EngineError::Api { .. } | EngineError::Other { .. } => ErrorCode::Internal,
        }
    }
}

impl Coded for SshError {
    fn code(&self) -> ErrorCode {
        match self {
            SshError::InvalidUrl(_) => ErrorCode::InvalidInput,
            // No ssh to run, or ssh could not get to the far side's engine.
            SshError::Spawn(_) | SshError::Exited { .. } => ErrorCode::EngineUnreachable,
        }
    }
}

impl Coded for ContextError {
    fn code(&self) -> ErrorCode {
        match self {
            ContextError::NotFound(_) => ErrorCode::NotFound,
            ContextError::Config(_) | ContextError::BadMeta { .. } => ErrorCode::InvalidInput,
        }
    }
}

impl Coded for DriverError {
    fn code(&self) -> ErrorCode {
        match self {
            DriverError::UnknownDriver(_)
            | DriverError::MalformedOption(_)
            | DriverError::UnsupportedOption { .. }
            | DriverError::InvalidOptionValue { .. }
            | DriverError::TlsOptionsMissing(_)
            | DriverError::InvalidEndpoint { .. } => ErrorCode::InvalidInput,
            DriverError::ImageUnavailable { .. } => ErrorCode::ImageUnavailable,
            DriverError::BootFailed { .. } => ErrorCode::BootFailed,
            DriverError::Engine(e) => e.code(),
            DriverError::Buildkit(_) | DriverError::NoAnswer { .. } => ErrorCode::EngineUnreachable,
        }
    }
}

impl Coded for FilterError {
    fn code(&self) -> ErrorCode {
        match self {
            FilterError::Malformed(_)
            | FilterError::MissingValue(_)
            | FilterError::UnknownKey { .. }
            | FilterError::SeveralValues(_)
            | FilterError::ConflictingUntil
            | FilterError::Duration { .. }
            | FilterError::Syntax { .. } => ErrorCode::InvalidInput,
        }
    }
}

impl Coded for CacheError {
    fn code(&self) -> ErrorCode {
        match self {
            CacheError::Filter(e) => e.code(),
            CacheError::InvalidSize { .. } | CacheError::Unsupported { .. } => ErrorCode::InvalidInput,
            CacheError::NodeNotRunning { .. } => ErrorCode::EngineUnreachable,
            CacheError::Driver { source, .. } => source.code(),
            // BuildKit refusing the request itself (a filter it cannot parse) is the input's fault.
            CacheError::Buildkit { source: BuildkitError::Call { code: tonic::Code::InvalidArgument, .. }, .. } => {
                ErrorCode::InvalidInput
            }
            CacheError::Buildkit { .. } => ErrorCode::EngineUnreachable,
            CacheError::Builder(e) => e.code(),
        }
    }
}

impl Coded for BuilderError {
    fn code(&self) -> ErrorCode {
        match self {
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
            | BuilderError::DriverMismatch { .. }
            | BuilderError::DuplicateEndpoint { .. }
            | BuilderError::LastNode { .. }
            | BuilderError::MissingNodeName
            | BuilderError::DynamicBuilder(_)
            | BuilderError::Platform(_) => ErrorCode::InvalidInput,
            BuilderError::AlreadyExists(_) | BuilderError::NodeExists { .. } => ErrorCode::AlreadyExists,
            BuilderError::NotFound(_) | BuilderError::NodeNotFound { .. } => ErrorCode::NotFound,
            BuilderError::Store(e) => e.code(),
            BuilderError::Context(e) => e.code(),
            BuilderError::Driver(e) => e.code(),
            BuilderError::Engine(e) => e.code(),
        }
    }
}

impl Coded for BuildError {
    fn code(&self) -> ErrorCode {
        match self {
            // Everything the request names is the form's to fix, the Dockerfile included: the window
            // shows these beside the form when no step has run.
            BuildError::ContextMissing(_)
            | BuildError::ContextNotFolder(_)
            | BuildError::ContextUnreadable { .. }
            | BuildError::DockerfileMissing(_)
            | BuildError::Dockerfile(_)
            | BuildError::DockerfileSyntax { .. }
            | BuildError::EmptyPlatform
            | BuildError::Platform(_)
            | BuildError::PlatformUnavailable { .. }
            | BuildError::Tag { .. }
            | BuildError::KeyValue { .. }
            | BuildError::Secret(_)
            | BuildError::SecretFileMissing { .. }
            | BuildError::SecretFileNotRegular { .. }
            | BuildError::SecretFileTooLarge { .. }
            | BuildError::Cache { .. }
            | BuildError::CacheDest(_)
            | BuildError::CacheSource(_)
            | BuildError::TagRequired
            | BuildError::DockerTarballList
            | BuildError::Attest(_)
            | BuildError::OutputFolderMissing(_)
            | BuildError::OutputIsFile(_)
            | BuildError::OutputIsFolder(_)
            | BuildError::NamedContext { .. }
            | BuildError::NetworkMode(_)
            | BuildError::AddHost(_)
            | BuildError::Annotation(_)
            | BuildError::Ssh(_)
            | BuildError::LoadMultiPlatform { .. }
            | BuildError::SplitOutputs { .. }
            | BuildError::SplitOutputAttrs { .. }
            | BuildError::OutputLayout(_)
            | BuildError::LayoutFolders
            | BuildError::OutputUnwritable { .. }
            | BuildError::KeepGoingOutput { .. }
            | BuildError::PushPartialNeeds(_)
            | BuildError::NotRetryable { .. } => ErrorCode::InvalidInput,
            BuildError::RetryImageGone { .. } => ErrorCode::NotFound,
            BuildError::RetryRegistry { source, .. } => source.code(),
            BuildError::Routing(e) => e.source.code(),
            BuildError::Builder(e) => e.code(),
            BuildError::Engine(e) => e.code(),
            BuildError::Buildkit(_) | BuildError::Session(_) => ErrorCode::EngineUnreachable,
        }
    }
}

impl Coded for DockerfileError {
    fn code(&self) -> ErrorCode {
        match self {
            DockerfileError::Read { .. } => ErrorCode::NotFound,
            DockerfileError::NotAFile { .. } | DockerfileError::TooLarge { .. } => ErrorCode::InvalidInput,
            DockerfileError::OutsideContext { .. } => ErrorCode::Forbidden,
        }
    }
}

impl Coded for RecordsError {
    fn code(&self) -> ErrorCode {
        match self {
            RecordsError::NotFound(_) => ErrorCode::NotFound,
            RecordsError::Io { .. } => ErrorCode::Internal,
        }
    }
}

impl Coded for HistoryError {
    fn code(&self) -> ErrorCode {
        match self {
            HistoryError::Builder(e) => e.code(),
            HistoryError::Buildkit(_) => ErrorCode::EngineUnreachable,
            HistoryError::Node { source, .. } => source.code(),
            // The record may be on a node that could not be asked.
            HistoryError::NodesUnasked { .. } | HistoryError::NoAnswer { .. } => ErrorCode::EngineUnreachable,
            HistoryError::Unreachable(failure) => failure.code,
            HistoryError::Unsupported { .. }
            | HistoryError::InvalidOffset(_)
            | HistoryError::InvalidRef(_)
            | HistoryError::InvalidFilter { .. } => ErrorCode::InvalidInput,
            HistoryError::NotFound { .. }
            | HistoryError::NoSuchNode { .. }
            | HistoryError::Empty { .. }
            | HistoryError::NoSuchOffset { .. } => ErrorCode::NotFound,
            HistoryError::Cancelled => ErrorCode::Cancelled,
            HistoryError::NoSuchAttachment { .. } => ErrorCode::NotFound,
            HistoryError::NoSteps { .. } => ErrorCode::InvalidInput,
            HistoryError::Blob { code: tonic::Code::NotFound, .. } => ErrorCode::NotFound,
            HistoryError::Blob { .. } => ErrorCode::EngineUnreachable,
            HistoryError::BlobTooLarge { .. } | HistoryError::CorruptBlob { .. } => ErrorCode::Internal,
        }
    }
}

impl Coded for BundleError {
    fn code(&self) -> ErrorCode {
        match self {
            BundleError::History(e) => e.code(),
            BundleError::Running { .. }
            | BundleError::Write { .. }
            | BundleError::NotAFile { .. }
            | BundleError::TooLarge { .. } => ErrorCode::InvalidInput,
            BundleError::Cancelled => ErrorCode::Cancelled,
            BundleError::Read { .. }
            | BundleError::NotFound { .. }
            | BundleError::NoSuchOffset { .. }
            | BundleError::NoLogs { .. } => ErrorCode::NotFound,
            BundleError::Foreign { .. } | BundleError::Damaged { .. } => ErrorCode::Malformed,
            BundleError::Scratch { .. } => ErrorCode::Internal,
        }
    }
}

impl Coded for ReferenceError {
    fn code(&self) -> ErrorCode {
        match self {
            ReferenceError::Empty | ReferenceError::Uppercase(_) | ReferenceError::Malformed { .. } => {
                ErrorCode::InvalidInput
            }
        }
    }
}

impl Coded for RegistryError {
    fn code(&self) -> ErrorCode {
        match self {
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
}

impl Coded for InspectError {
    fn code(&self) -> ErrorCode {
        match self {
            InspectError::Registry(e) => e.code(),
            InspectError::SelfListing { .. } | InspectError::TooDeep { .. } | InspectError::Malformed { .. } => {
                ErrorCode::Malformed
            }
        }
    }
}

impl Coded for crate::images::manifest::template::TemplateError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

impl Coded for SplitOutputError {
    fn code(&self) -> ErrorCode {
        match self {
            SplitOutputError::Io { .. } | SplitOutputError::Load { .. } => ErrorCode::Internal,
            SplitOutputError::NotLayout { .. }
            | SplitOutputError::BadManifest { .. }
            | SplitOutputError::MissingBlob { .. } => ErrorCode::Malformed,
            SplitOutputError::DigestMismatch { .. } => ErrorCode::DigestMismatch,
            SplitOutputError::Compose(e) => e.code(),
        }
    }
}

impl Coded for ComposeError {
    fn code(&self) -> ErrorCode {
        match self {
            ComposeError::Registry(e) => e.code(),
            ComposeError::Malformed { .. } => ErrorCode::Malformed,
            ComposeError::NoSources
            | ComposeError::NoTags
            | ComposeError::InvalidTag { .. }
            | ComposeError::InvalidSource { .. }
            | ComposeError::CannotInferRepository { .. }
            | ComposeError::NoRepository
            | ComposeError::InvalidAnnotation(_)
            | ComposeError::UnsupportedAnnotation { .. }
            | ComposeError::InvalidPlatform(_)
            | ComposeError::Schema1 { .. }
            | ComposeError::ConflictingPlatforms { .. }
            | ComposeError::NoPlatformMatches { .. }
            | ComposeError::NothingLeft
            | ComposeError::TooManyEntries { .. } => ErrorCode::InvalidInput,
        }
    }
}

impl Coded for EngineImagesError {
    fn code(&self) -> ErrorCode {
        match self {
            EngineImagesError::NotFound { .. } => ErrorCode::NotFound,
            EngineImagesError::Reference(e) => e.code(),
            EngineImagesError::Engine(e) => e.code(),
        }
    }
}

impl Coded for RegistriesError {
    fn code(&self) -> ErrorCode {
        match self {
            RegistriesError::InvalidName(_) => ErrorCode::InvalidInput,
            RegistriesError::NotAdded(_) => ErrorCode::NotFound,
            RegistriesError::Corrupt { .. } => ErrorCode::Malformed,
            RegistriesError::Io { .. } => ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    /// Every code, for the table test below; `representative` has no catch-all arm, so a new code
    /// does not compile until it has an error that stands for it.
    const EVERY_CODE: [ErrorCode; 16] = [
        ErrorCode::InvalidInput,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::EngineUnreachable,
        ErrorCode::StoreLocked,
        ErrorCode::StoreCorrupt,
        ErrorCode::ImageUnavailable,
        ErrorCode::BootFailed,
        ErrorCode::Cancelled,
        ErrorCode::Internal,
        ErrorCode::AuthRequired,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::DigestMismatch,
        ErrorCode::Malformed,
        ErrorCode::RegistryUnreachable,
    ];

    fn unreachable_engine() -> EngineError {
        EngineError::Unreachable { host: "unix:///var/run/docker.sock".into(), reason: "connection refused".into() }
    }

    /// A core error each code stands for, reached through the wrapper a caller actually receives.
    fn representative(code: ErrorCode) -> Option<Box<dyn Coded>> {
        let path = || PathBuf::from("/x");
        Some(match code {
            ErrorCode::InvalidInput => Box::new(BuildError::KeyValue { what: "build arg", item: "A".into() }),
            ErrorCode::NotFound => Box::new(BuildError::Builder(BuilderError::NotFound("b".into()))),
            ErrorCode::AlreadyExists => Box::new(BuilderError::AlreadyExists("b".into())),
            ErrorCode::EngineUnreachable => Box::new(BuildError::Builder(BuilderError::Engine(unreachable_engine()))),
            ErrorCode::StoreLocked => {
                Box::new(BuilderError::Store(StoreError::Locked { path: path(), waited: Duration::from_secs(1) }))
            }
            ErrorCode::StoreCorrupt => {
                Box::new(BuilderError::Store(StoreError::Corrupt { path: path(), reason: "not JSON".into() }))
            }
            ErrorCode::ImageUnavailable => Box::new(BuilderError::Driver(DriverError::ImageUnavailable {
                image: "moby/buildkit".into(),
                reason: "offline".into(),
            })),
            ErrorCode::BootFailed => Box::new(BuilderError::Driver(DriverError::BootFailed {
                node: "n0".into(),
                container: "c".into(),
                reason: "timed out".into(),
                logs: String::new(),
            })),
            // Only callers cancel (a task they stopped); no core error stands for it.
            ErrorCode::Cancelled => return None,
            ErrorCode::Internal => Box::new(RecordsError::Io { path: path(), source: std::io::Error::other("disk") }),
            ErrorCode::AuthRequired => Box::new(InspectError::Registry(RegistryError::AuthRejected {
                registry: "r".into(),
                repository: "a".into(),
            })),
            ErrorCode::Forbidden => {
                Box::new(DockerfileError::OutsideContext { path: "/etc/Dockerfile".into(), context: "/ctx".into() })
            }
            ErrorCode::RateLimited => {
                Box::new(RegistryError::RateLimited { registry: "r".into(), retry_after_secs: None })
            }
            ErrorCode::DigestMismatch => Box::new(InspectError::Registry(RegistryError::DigestMismatch {
                what: "manifest".into(),
                expected: "sha256:a".into(),
                actual: "sha256:b".into(),
            })),
            ErrorCode::Malformed => Box::new(RegistriesError::Corrupt { path: path(), reason: "not JSON".into() }),
            ErrorCode::RegistryUnreachable => {
                Box::new(InspectError::Registry(RegistryError::Timeout { registry: "r".into() }))
            }
        })
    }

    #[test]
    fn each_code_is_what_a_representative_error_gets() {
        for code in EVERY_CODE {
            if let Some(error) = representative(code) {
                assert_eq!(error.code(), code, "{error}");
            }
        }
    }

    #[test]
    fn an_error_wrapping_another_takes_the_inner_code() {
        let missing = || ContextError::NotFound("ctx".into());
        assert_eq!(BuilderError::Context(missing()).code(), ErrorCode::NotFound);
        assert_eq!(BuildError::Builder(BuilderError::Context(missing())).code(), ErrorCode::NotFound);
        let gone = EngineImagesError::Engine(EngineError::Api { host: "h".into(), status: 404, message: "m".into() });
        assert_eq!(gone.code(), ErrorCode::NotFound);
        assert_eq!(EngineImagesError::Reference(ReferenceError::Empty).code(), ErrorCode::InvalidInput);
    }

    #[test]
    fn registry_faults_get_codes_the_ui_acts_on() {
        let e = RegistryError::AuthRequired { registry: "r".into(), repository: "a".into() };
        assert_eq!(e.code(), ErrorCode::AuthRequired);
        assert_eq!(e.to_string(), "authentication required for r/a: log in with `docker login r`");
        let limited = RegistryError::RateLimited { registry: "r".into(), retry_after_secs: Some(3) };
        assert_eq!(InspectError::Registry(limited).code(), ErrorCode::RateLimited);
        assert_eq!(InspectError::TooDeep { digest: "d".into() }.code(), ErrorCode::Malformed);
    }

    #[test]
    fn an_unreachable_engine_is_its_own_code() {
        let e = BuilderError::Engine(unreachable_engine());
        assert_eq!(e.code(), ErrorCode::EngineUnreachable);
        assert_eq!(e.to_string(), "engine at unix:///var/run/docker.sock unreachable: connection refused");
    }
}
