//! Image references as the docker CLI reads them: `alpine` is `docker.io/library/alpine:latest`,
//! `127.0.0.1:5055/app@sha256:…` keeps its registry, and a digest wins over a tag when both are given.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use ts_rs::TS;

/// The registry a name without one goes to.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's API actually answers.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference: the reference is empty")]
    Empty,
    #[error("invalid reference \"{0}\": repository names must be lowercase")]
    Uppercase(String),
    #[error("invalid reference \"{reference}\": {reason}")]
    Malformed { reference: String, reason: &'static str },
}

/// A normalised reference. Display gives the full form (`docker.io/library/alpine:latest`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ImageReference {
    /// `docker.io`, `ghcr.io`, `127.0.0.1:5055`.
    pub registry: String,
    /// `library/alpine`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageReference {
    /// A reference to something inside `repository` of `registry` by digest.
    pub fn by_digest(&self, digest: &str) -> Self {
        Self {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.into()),
        }
    }

    /// `registry/repository`, the name without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The host the registry's HTTP API answers on (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        registry_api_host(&self.registry)
    }

    /// What the manifest endpoint is asked for: the digest when there is one, else the tag.
    pub fn manifest_selector(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// `name@digest`, the reference that always pulls exactly these bytes.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}@{digest}", self.name())
    }
}

/// The API host for a registry name: `docker.io` (and its old aliases) is `registry-1.docker.io`.
pub fn registry_api_host(registry: &str) -> &str {
    match registry {
        DOCKER_HUB | "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB_API,
        other => other,
    }
}

/// Whether a registry is on this machine, where the engine and BuildKit use plain http by default.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => registry,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn valid_path_component(c: &str) -> bool {
    // distribution's grammar: [a-z0-9]+ separated by one of `.`, `_`, `__` or any run of `-`.
    let bytes = c.as_bytes();
    if bytes.is_empty() || !bytes[0].is_ascii_alphanumeric() || !bytes[bytes.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_lowercase() || b.is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && matches!(bytes[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok || sep.is_empty() {
            return false;
        }
    }
    true
}

fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn valid_digest(digest: &str) -> bool {
    match digest.split_once(':') {
        Some(("sha256", hex)) => {
            hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        Some(("sha512", hex)) => {
            hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        _ => false,
    }
}

fn looks_like_registry(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

impl FromStr for ImageReference {
    type Err = ReferenceError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        let malformed = |reason| ReferenceError::Malformed { reference: s.to_owned(), reason };
        if s.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(malformed("it contains whitespace"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                if !valid_digest(digest) {
                    return Err(malformed("the digest must be sha256: followed by 64 lowercase hex digits"));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (s, None),
        };
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_owned())),
            _ => (rest, None),
        };
        if let Some(tag) = &tag {
            if !valid_tag(tag) {
                return Err(malformed("a tag is up to 128 letters, digits, _ . and -, not starting with . or -"));
            }
        }
        let (registry, path) = match name.split_once('/') {
            Some((first, path)) if looks_like_registry(first) => (first.to_owned(), path.to_owned()),
            _ => (DOCKER_HUB.to_owned(), name.to_owned()),
        };
        if registry.chars().any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))) {
            return Err(malformed("the registry host is not a valid host name"));
        }
        let registry = if registry == "index.docker.io" { DOCKER_HUB.to_owned() } else { registry };
        if path.is_empty() {
            return Err(malformed("the repository name is missing"));
        }
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase(s.to_owned()));
        }
        if !path.split('/').all(valid_path_component) {
            return Err(malformed(
                "repository path components are lowercase letters and digits separated by . _ __ or -",
            ));
        }
        let repository = if registry == DOCKER_HUB && !path.contains('/') { format!("library/{path}") } else { path };
        let tag = if tag.is_none() && digest.is_none() { Some("latest".to_owned()) } else { tag };
        Ok(ImageReference { registry, repository, tag, digest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        s.parse::<ImageReference>().unwrap().to_string()
    }

    #[test]
    fn normalises_as_docker_does() {
        assert_eq!(norm("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(norm("alpine:3.20"), "docker.io/library/alpine:3.20");
        assert_eq!(norm("user/app"), "docker.io/user/app:latest");
        assert_eq!(norm("index.docker.io/library/alpine"), "docker.io/library/alpine:latest");
        assert_eq!(norm("ghcr.io/o/r:tag"), "ghcr.io/o/r:tag");
        assert_eq!(norm("localhost/app"), "localhost/app:latest");
        assert_eq!(norm("127.0.0.1:5055/busybox"), "127.0.0.1:5055/busybox:latest");
        let digest = format!("sha256:{}", "a".repeat(64));
        assert_eq!(norm(&format!("127.0.0.1:5055/b@{digest}")), format!("127.0.0.1:5055/b@{digest}"));
        let both: ImageReference = format!("alpine:3@{digest}").parse().unwrap();
        assert_eq!(both.manifest_selector(), digest);
        assert_eq!(both.tag.as_deref(), Some("3"));
    }

    #[test]
    fn refuses_what_docker_refuses_with_the_reason() {
        assert_eq!("".parse::<ImageReference>(), Err(ReferenceError::Empty));
        assert_eq!("Alpine".parse::<ImageReference>(), Err(ReferenceError::Uppercase("Alpine".into())));
        for bad in ["alpine:", "a b", "alpine@sha256:12", "-x", "a//b", "alpine:.x", "reg.io/", "a@md5:00"] {
            assert!(
                matches!(bad.parse::<ImageReference>(), Err(ReferenceError::Malformed { .. })),
                "{bad} should be refused"
            );
        }
        let err = "alpine@sha256:12".parse::<ImageReference>().unwrap_err().to_string();
        assert!(err.starts_with("invalid reference \"alpine@sha256:12\": the digest"), "{err}");
    }

    #[test]
    fn loopback_registries_are_recognised() {
        assert!(is_loopback("127.0.0.1:5055"));
        assert!(is_loopback("localhost:5000"));
        assert!(is_loopback("[::1]:5000"));
        assert!(!is_loopback("ghcr.io"));
        assert!(!is_loopback("10.0.0.1:5000"));
        assert_eq!(registry_api_host("docker.io"), "registry-1.docker.io");
    }
}
