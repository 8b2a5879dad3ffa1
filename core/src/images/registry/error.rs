//! What can go wrong talking to a registry, in words that say what to do next. Built from HTTP
//! statuses, the distribution error envelope and the transport's error chain; never from credentials.

use std::error::Error as _;

use oci_client::errors::{OciDistributionError, OciEnvelope, OciErrorCode};

use crate::docker_config::credentials::CredentialError;
use crate::images::reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    InvalidReference(#[from] ReferenceError),
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("registry host {registry} not found: the name does not resolve")]
    UnknownHost { registry: String },
    #[error("cannot connect to registry {registry}: {reason}")]
    Unreachable { registry: String, reason: String },
    #[error("registry {registry} did not answer in time")]
    Timeout { registry: String },
    #[error(
        "registry {registry} answered in plain http, not TLS: turn on \"insecure (plain http)\" for it if you trust it"
    )]
    PlainHttpRegistry { registry: String },
    #[error(
        "registry {registry} expects HTTPS but was asked over plain http: turn off \"insecure (plain http)\" for it"
    )]
    HttpsRegistry { registry: String },
    #[error("TLS with registry {registry} failed: {reason}")]
    Tls { registry: String, reason: String },
    #[error("authentication required for {registry}/{repository}: log in with `docker login {registry}`")]
    AuthRequired { registry: String, repository: String },
    #[error("registry {registry} refused the stored credentials for {repository}: log in again with `docker login {registry}`")]
    AuthRejected { registry: String, repository: String },
    #[error("access to {registry}/{repository} is denied (403) for these credentials")]
    Forbidden { registry: String, repository: String },
    #[error("repository {repository} not found in registry {registry}")]
    RepositoryNotFound { registry: String, repository: String },
    #[error("tag \"{tag}\" not found in {registry}/{repository}")]
    TagNotFound { registry: String, repository: String, tag: String },
    #[error("digest {digest} not found in {registry}/{repository}")]
    DigestNotFound { registry: String, repository: String, digest: String },
    #[error("registry {registry} does not list {what} (HTTP {status})")]
    Unsupported { registry: String, what: &'static str, status: u16 },
    #[error("registry {registry} is rate limiting requests (429){}", retry_note(*.retry_after_secs))]
    RateLimited { registry: String, retry_after_secs: Option<u64> },
    #[error("registry {registry} failed with HTTP {status}{}", detail_note(.message))]
    Server { registry: String, status: u16, message: String },
    #[error("malformed {what} from registry {registry}: {reason}")]
    Malformed { registry: String, what: String, reason: String },
    #[error("refused {what}: its content has digest {actual}, not the {expected} it was fetched by")]
    DigestMismatch { what: String, expected: String, actual: String },
    #[error("refused {what}: larger than {limit} bytes")]
    TooLarge { what: String, limit: usize },
    #[error("registry {registry}: {reason}")]
    Other { registry: String, reason: String },
}

fn retry_note(secs: Option<u64>) -> String {
    match secs {
        Some(s) => format!(": retry after {s} s"),
        None => ": wait a while before retrying".into(),
    }
}

fn detail_note(message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        String::new()
    } else {
        format!(": {}", message.chars().take(200).collect::<String>())
    }
}

/// What a request was about, so that a status can be told in its terms.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    pub registry: &'a str,
    pub repository: &'a str,
    pub what: Subject<'a>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Subject<'a> {
    Manifest { selector: &'a str },
    Blob { digest: &'a str },
    Catalog,
    Tags,
    Referrers,
}

impl Target<'_> {
    pub fn registry(&self) -> String {
        self.registry.to_owned()
    }

    /// A 404: the distribution spec's codes tell repository from manifest; the selector tells tag from digest.
    pub fn not_found(&self, envelope_code: Option<&str>) -> RegistryError {
        let (registry, repository) = (self.registry.to_owned(), self.repository.to_owned());
        if envelope_code == Some("NAME_UNKNOWN") {
            return RegistryError::RepositoryNotFound { registry, repository };
        }
        match self.what {
            Subject::Manifest { selector } if selector.contains(':') => {
                RegistryError::DigestNotFound { registry, repository, digest: selector.into() }
            }
            Subject::Manifest { selector } => RegistryError::TagNotFound { registry, repository, tag: selector.into() },
            Subject::Blob { digest } => RegistryError::DigestNotFound { registry, repository, digest: digest.into() },
            Subject::Catalog => RegistryError::Unsupported { registry, what: "its repositories", status: 404 },
            Subject::Tags | Subject::Referrers => RegistryError::RepositoryNotFound { registry, repository },
        }
    }

    /// An unsuccessful HTTP status with the body the registry sent (a distribution error envelope or anything).
    pub fn status(&self, status: u16, body: &[u8], retry_after: Option<u64>, had_credentials: bool) -> RegistryError {
        let envelope: Option<OciEnvelope> = serde_json::from_slice(body).ok();
        let code = envelope.as_ref().and_then(|e| e.errors.first()).map(|e| envelope_code(&e.code));
        let message = envelope
            .as_ref()
            .and_then(|e| e.errors.first())
            .map(|e| e.message.clone())
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
        let (registry, repository) = (self.registry.to_owned(), self.repository.to_owned());
        match status {
            401 if had_credentials => RegistryError::AuthRejected { registry, repository },
            401 => RegistryError::AuthRequired { registry, repository },
            403 if matches!(self.what, Subject::Catalog) => {
                RegistryError::Unsupported { registry, what: "its repositories", status }
            }
            403 => RegistryError::Forbidden { registry, repository },
            404 => self.not_found(code),
            429 => RegistryError::RateLimited { registry, retry_after_secs: retry_after },
            _ if code == Some("TOOMANYREQUESTS") => {
                RegistryError::RateLimited { registry, retry_after_secs: retry_after }
            }
            _ if code == Some("DENIED") => RegistryError::Forbidden { registry, repository },
            // Go's HTTPS server says this when spoken to in plain http.
            400 if message.contains("HTTP request to an HTTPS server") => RegistryError::HttpsRegistry { registry },
            _ => RegistryError::Server { registry, status, message },
        }
    }

    /// oci-client's error for a request about this target.
    pub fn oci(&self, e: OciDistributionError, had_credentials: bool) -> RegistryError {
        match e {
            OciDistributionError::UnauthorizedError { .. } => self.status(401, b"", None, had_credentials),
            OciDistributionError::AuthenticationFailure(_) => {
                RegistryError::AuthRejected { registry: self.registry(), repository: self.repository.to_owned() }
            }
            OciDistributionError::RegistryError { envelope, .. } => {
                let code = envelope.errors.first().map(|e| envelope_code(&e.code));
                match code {
                    Some("NAME_UNKNOWN" | "MANIFEST_UNKNOWN" | "BLOB_UNKNOWN" | "NOT_FOUND") => self.not_found(code),
                    Some("UNAUTHORIZED") => self.status(401, b"", None, had_credentials),
                    Some("DENIED") => self.status(403, b"", None, had_credentials),
                    Some("TOOMANYREQUESTS") => self.status(429, b"", None, had_credentials),
                    _ => RegistryError::Server {
                        registry: self.registry(),
                        status: 400,
                        message: envelope.errors.first().map(|e| e.message.clone()).unwrap_or_default(),
                    },
                }
            }
            OciDistributionError::ServerError { code, message, .. } => {
                self.status(code, message.as_bytes(), None, had_credentials)
            }
            OciDistributionError::RequestError(e) => transport(self.registry, &e),
            OciDistributionError::DigestError(oci_client::errors::DigestError::VerificationError {
                expected,
                actual,
            }) => RegistryError::DigestMismatch { what: self.describe(), expected, actual },
            OciDistributionError::JsonError(e) => {
                RegistryError::Malformed { registry: self.registry(), what: self.describe(), reason: e.to_string() }
            }
            OciDistributionError::ManifestEncodingError(e) => {
                RegistryError::Malformed { registry: self.registry(), what: self.describe(), reason: e.to_string() }
            }
            OciDistributionError::ManifestParsingError(reason)
            | OciDistributionError::VersionedParsingError(reason) => {
                RegistryError::Malformed { registry: self.registry(), what: self.describe(), reason }
            }
            other => RegistryError::Other { registry: self.registry(), reason: other.to_string() },
        }
    }

    pub fn describe(&self) -> String {
        let name = format!("{}/{}", self.registry, self.repository);
        match self.what {
            Subject::Manifest { selector } if selector.contains(':') => format!("manifest {name}@{selector}"),
            Subject::Manifest { selector } => format!("manifest {name}:{selector}"),
            Subject::Blob { digest } => format!("blob {name}@{digest}"),
            Subject::Catalog => format!("repository list of {}", self.registry),
            Subject::Tags => format!("tag list of {name}"),
            Subject::Referrers => format!("referrers of {name}"),
        }
    }
}

fn envelope_code(code: &OciErrorCode) -> &'static str {
    match code {
        OciErrorCode::NameUnknown => "NAME_UNKNOWN",
        OciErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
        OciErrorCode::BlobUnknown => "BLOB_UNKNOWN",
        OciErrorCode::NotFound => "NOT_FOUND",
        OciErrorCode::Unauthorized => "UNAUTHORIZED",
        OciErrorCode::Denied => "DENIED",
        OciErrorCode::Toomanyrequests => "TOOMANYREQUESTS",
        _ => "OTHER",
    }
}

/// A transport failure, told apart by walking the error chain: DNS, refused, timeout, TLS.
pub(crate) fn transport(registry: &str, e: &reqwest::Error) -> RegistryError {
    let registry = registry.to_owned();
    if e.is_timeout() {
        return RegistryError::Timeout { registry };
    }
    let mut chain = Vec::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    let text = chain.join(": ");
    let lower = text.to_ascii_lowercase();
    if lower.contains("invalidcontenttype")
        || lower.contains("corrupt message")
        || lower.contains("wrong version number")
    {
        RegistryError::PlainHttpRegistry { registry }
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        RegistryError::Tls { registry, reason: chain.last().cloned().unwrap_or_default() }
    } else if lower.contains("dns error") || lower.contains("failed to lookup") || lower.contains("name or service") {
        RegistryError::UnknownHost { registry }
    } else if lower.contains("connection refused") {
        RegistryError::Unreachable { registry, reason: "connection refused".into() }
    } else if lower.contains("timed out") {
        RegistryError::Timeout { registry }
    } else if e.is_connect() {
        RegistryError::Unreachable { registry, reason: chain.last().cloned().unwrap_or_else(|| e.to_string()) }
    } else {
        RegistryError::Other { registry, reason: if text.is_empty() { e.to_string() } else { text } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(selector: &str) -> Target<'_> {
        Target { registry: "r.io", repository: "app", what: Subject::Manifest { selector } }
    }

    #[test]
    fn not_found_tells_repository_tag_and_digest_apart() {
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#;
        assert_eq!(
            manifest("v1").status(404, body, None, false).to_string(),
            "repository app not found in registry r.io"
        );
        assert_eq!(manifest("v1").status(404, b"", None, false).to_string(), "tag \"v1\" not found in r.io/app");
        let d = format!("sha256:{}", "0".repeat(64));
        assert_eq!(manifest(&d).status(404, b"", None, false).to_string(), format!("digest {d} not found in r.io/app"));
    }

    #[test]
    fn statuses_say_what_to_do() {
        let t = manifest("v1");
        assert_eq!(
            t.status(401, b"", None, false).to_string(),
            "authentication required for r.io/app: log in with `docker login r.io`"
        );
        assert!(t.status(401, b"", None, true).to_string().contains("log in again"));
        assert_eq!(
            t.status(403, b"", None, true).to_string(),
            "access to r.io/app is denied (403) for these credentials"
        );
        assert_eq!(
            t.status(429, b"", Some(30), false).to_string(),
            "registry r.io is rate limiting requests (429): retry after 30 s"
        );
        assert_eq!(t.status(500, b"boom", None, false).to_string(), "registry r.io failed with HTTP 500: boom");
        assert!(matches!(
            t.status(400, b"Client sent an HTTP request to an HTTPS server.\n", None, false),
            RegistryError::HttpsRegistry { .. }
        ));
    }
}
