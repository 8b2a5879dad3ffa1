//! A registry client on oci-client: repositories (catalog), tags, manifests, blobs and referrers, with
//! the user's docker credentials, plain http for loopback registries (as the engine does) or any
//! registry the user marks insecure, and every byte fetched by digest checked against that digest.

mod error;
mod http;
mod push;
mod token;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use ts_rs::TS;

pub use error::RegistryError;
use error::{Subject, Target};
pub use push::BlobTransfer;

use crate::docker_config::credentials::{Credential, CredentialStore};
use crate::images::reference::{is_loopback, registry_api_host, ImageReference};

/// Manifests larger than this are refused (containerd's own limit): no real one comes near it.
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
/// Configs and attestation documents are read whole; anything beyond this is not one.
pub const MAX_BLOB_BYTES: usize = 64 * 1024 * 1024;
/// Repository and tag lists are read whole; distribution 2.8 ignores `n` for tags and sends all of
/// them, so this leaves room for a few hundred thousand names and no more.
pub const MAX_LIST_BYTES: usize = 16 * 1024 * 1024;
pub use token::MAX_TOKEN_BYTES;

/// Every manifest kind Buildlane can show, in the order a registry should prefer.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.v1+prettyjws, \
    application/vnd.docker.distribution.manifest.v1+json";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a registry may go silent mid-request before the request fails with a timeout naming it.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// One page of a paginated list; `next` is what to pass as `last` for the following page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Page {
    pub items: Vec<String>,
    pub next: Option<String>,
}

impl Page {
    /// oci-client drops the `Link` header, so a page of exactly `n` is taken to mean there may be more.
    /// A registry that ignores `n` (distribution 2.8 does for tags) sent everything at once.
    fn from_items(items: Vec<String>, n: usize) -> Self {
        let next = if items.len() == n { items.last().cloned() } else { None };
        Page { items, next }
    }
}

/// A manifest's exact bytes, with the Content-Type the registry served it as and its digest (verified).
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Bytes,
    pub content_type: Option<String>,
    pub digest: String,
}

/// A referrer (OCI 1.1 `subject`) of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Referrer {
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub size: i64,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    credentials: CredentialStore,
    read_timeout: Duration,
    /// The user's choice per registry; without one, loopback is plain http and the rest HTTPS.
    plain_http: Mutex<HashMap<String, bool>>,
    oci_http: OnceLock<oci_client::Client>,
    oci_https: OnceLock<oci_client::Client>,
    /// reqwest clients for the requests oci-client cannot make; the plain-http one has no TLS roots,
    /// because loading the system's certificates costs more than a whole loopback inspect.
    http_plain: OnceLock<reqwest::Client>,
    http_tls: OnceLock<reqwest::Client>,
    credential_cache: Mutex<HashMap<String, Option<Credential>>>,
    /// Bearer tokens per registry and scope, from an identity-token exchange or the distribution
    /// token flow, both read within [`MAX_TOKEN_BYTES`]: oci-client's own flow reads the token
    /// service's answer whole, so it is never left to get one.
    tokens: Mutex<HashMap<(String, String), Arc<ScopedToken>>>,
}

/// An access token and the oci-client that carries it, made on first use (manifest and list reads
/// need none). oci-client keeps one credential per registry, so one scope's token needs its own client.
struct ScopedToken {
    token: token::AccessToken,
    oci: tokio::sync::OnceCell<oci_client::Client>,
}

/// The scope a read of `repository` (empty for the catalog) needs.
fn pull_scope(repository: &str) -> String {
    if repository.is_empty() {
        "registry:catalog:*".to_owned()
    } else {
        format!("repository:{repository}:pull")
    }
}

/// What one registry call goes with: the oci-client to use (holding the credential or token the call
/// needs), and whether the user has credentials for the registry at all (so a 401 says "rejected"
/// rather than "required").
struct Access {
    oci: oci_client::Client,
    had: bool,
}

fn oci_client(protocol: ClientProtocol, read_timeout: Duration) -> oci_client::Client {
    oci_client::Client::new(ClientConfig {
        protocol,
        connect_timeout: Some(CONNECT_TIMEOUT),
        read_timeout: Some(read_timeout),
        platform_resolver: None,
        ..Default::default()
    })
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Checks `bytes` against `digest`; algorithms other than sha256 are compared as sha512.
fn verify(bytes: &[u8], digest: &str, what: impl Fn() -> String) -> Result<(), RegistryError> {
    let actual = match digest.split_once(':') {
        Some(("sha512", _)) => format!("sha512:{}", hex::encode(sha2::Sha512::digest(bytes))),
        _ => sha256(bytes),
    };
    if actual == digest {
        Ok(())
    } else {
        Err(RegistryError::DigestMismatch { what: what(), expected: digest.to_owned(), actual })
    }
}

impl RegistryClient {
    pub fn new(credentials: CredentialStore) -> Self {
        Self::with_read_timeout(credentials, DEFAULT_READ_TIMEOUT)
    }

    /// A client that gives up on a registry silent for `read_timeout` (tests use a short one).
    pub fn with_read_timeout(credentials: CredentialStore, read_timeout: Duration) -> Self {
        // reqwest is built without a default TLS provider (see Cargo.toml); a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        RegistryClient {
            inner: Arc::new(Inner {
                credentials,
                read_timeout,
                plain_http: Mutex::new(HashMap::new()),
                oci_http: OnceLock::new(),
                oci_https: OnceLock::new(),
                http_plain: OnceLock::new(),
                http_tls: OnceLock::new(),
                credential_cache: Mutex::new(HashMap::new()),
                tokens: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn credentials(&self) -> &CredentialStore {
        &self.inner.credentials
    }

    /// Marks a registry as plain http (insecure) or HTTPS, overriding the loopback default.
    pub fn set_plain_http(&self, registry: &str, plain: bool) {
        self.inner.plain_http.lock().expect("lock is never poisoned").insert(registry.to_owned(), plain);
    }

    pub fn is_plain_http(&self, registry: &str) -> bool {
        let chosen = self.inner.plain_http.lock().expect("lock is never poisoned").get(registry).copied();
        chosen.unwrap_or_else(|| is_loopback(registry))
    }

    /// Forgets cached credentials and tokens, so that a `docker login` made meanwhile is used.
    pub fn forget_credentials(&self) {
        self.inner.credential_cache.lock().expect("lock is never poisoned").clear();
        self.inner.tokens.lock().expect("lock is never poisoned").clear();
    }

    fn oci(&self, registry: &str) -> &oci_client::Client {
        if self.is_plain_http(registry) {
            self.inner.oci_http.get_or_init(|| oci_client(ClientProtocol::Http, self.inner.read_timeout))
        } else {
            self.inner.oci_https.get_or_init(|| oci_client(ClientProtocol::Https, self.inner.read_timeout))
        }
    }

    fn http(&self, registry: &str) -> &reqwest::Client {
        let builder =
            || reqwest::Client::builder().connect_timeout(CONNECT_TIMEOUT).read_timeout(self.inner.read_timeout);
        if self.is_plain_http(registry) {
            self.inner.http_plain.get_or_init(|| {
                builder().tls_certs_only(std::iter::empty()).build().expect("a plain-http client always builds")
            })
        } else {
            self.inner.http_tls.get_or_init(|| builder().build().unwrap_or_default())
        }
    }

    fn scheme(&self, registry: &str) -> &'static str {
        if self.is_plain_http(registry) {
            "http"
        } else {
            "https"
        }
    }

    async fn credential(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        if let Some(cached) = self.inner.credential_cache.lock().expect("lock is never poisoned").get(registry) {
            return Ok(cached.clone());
        }
        let credential = self.inner.credentials.get(registry).await?;
        self.inner.credential_cache.lock().expect("lock is never poisoned").insert(registry.into(), credential.clone());
        Ok(credential)
    }

    /// The client for an oci-client call about `repository` (empty for the catalog) of `registry`.
    /// A registry that asks for a bearer token gets one read within [`MAX_TOKEN_BYTES`], handed to
    /// oci-client ready-made; otherwise oci-client carries the basic credentials, or nothing at all
    /// (with no credential stored it sends the request as is, without a token flow of its own).
    async fn access(&self, registry: &str, repository: &str) -> Result<Access, RegistryError> {
        let credential = self.credential(registry).await?;
        let had = credential.is_some();
        let token = match &credential {
            Some(Credential::IdentityToken(refresh)) => {
                Some(self.scoped_token(registry, repository, &pull_scope(repository), refresh).await?)
            }
            _ => match self.fresh_token(registry, &pull_scope(repository)) {
                Some(token) => Some(token),
                None => self.probed_token(registry, repository, credential.as_ref()).await?,
            },
        };
        if let Some(token) = token {
            return Ok(Access { oci: self.carrier(registry, &token).await, had });
        }
        let oci = self.oci(registry).clone();
        if let Some(Credential::Basic { username, password }) = credential {
            oci.store_auth_if_needed(registry_api_host(registry), &RegistryAuth::Basic(username, password)).await;
        }
        Ok(Access { oci, had })
    }

    /// The cached token for `scope`, while it is fresh.
    fn fresh_token(&self, registry: &str, scope: &str) -> Option<Arc<ScopedToken>> {
        let tokens = self.inner.tokens.lock().expect("lock is never poisoned");
        tokens.get(&(registry.to_owned(), scope.to_owned())).filter(|t| t.token.is_fresh()).cloned()
    }

    fn remember(&self, registry: &str, scope: String, token: token::AccessToken) -> Arc<ScopedToken> {
        let entry = Arc::new(ScopedToken { token, oci: tokio::sync::OnceCell::new() });
        self.inner.tokens.lock().expect("lock is never poisoned").insert((registry.to_owned(), scope), entry.clone());
        entry
    }

    /// The oci-client that sends `token` to `registry`.
    async fn carrier(&self, registry: &str, token: &ScopedToken) -> oci_client::Client {
        token
            .oci
            .get_or_init(|| async {
                let protocol = if self.is_plain_http(registry) { ClientProtocol::Http } else { ClientProtocol::Https };
                let oci = oci_client(protocol, self.inner.read_timeout);
                let auth = RegistryAuth::Bearer(token.token.token.clone());
                oci.store_auth_if_needed(registry_api_host(registry), &auth).await;
                oci
            })
            .await
            .clone()
    }

    /// The bearer challenge of the registry's API root (`/v2/`), where token-based registries name
    /// their token service.
    async fn root_challenge(
        &self,
        registry: &str,
        repository: &str,
    ) -> Result<Option<token::Challenge>, RegistryError> {
        let target = Target { registry, repository, what: Subject::Catalog };
        let url = format!("{}://{}/v2/", self.scheme(registry), registry_api_host(registry));
        let probe = http::get_limited(self.http(registry), &url, "application/json", None, 64 * 1024, &target).await?;
        Ok(token::bearer_challenge(&probe.headers))
    }

    /// A token for reading `repository` if the registry asks for one (anonymously or with basic
    /// credentials, as the distribution token spec's GET).
    async fn probed_token(
        &self,
        registry: &str,
        repository: &str,
        credential: Option<&Credential>,
    ) -> Result<Option<Arc<ScopedToken>>, RegistryError> {
        match self.root_challenge(registry, repository).await? {
            Some(challenge) => {
                let scope = pull_scope(repository);
                Ok(Some(self.challenged_token(registry, repository, &challenge, &scope, credential).await?))
            }
            None => Ok(None),
        }
    }

    /// A token for `scope` (reading `repository`, or writing it) from the token service `challenge` names.
    async fn challenged_token(
        &self,
        registry: &str,
        repository: &str,
        challenge: &token::Challenge,
        scope: &str,
        credential: Option<&Credential>,
    ) -> Result<Arc<ScopedToken>, RegistryError> {
        let basic = match credential {
            Some(Credential::Basic { username, password }) => Some((username.as_str(), password.as_str())),
            _ => None,
        };
        let token = token::fetch(self.http(registry), registry, repository, challenge, scope, basic).await?;
        Ok(self.remember(registry, scope.to_owned(), token))
    }

    /// An access token for `scope` (of `repository`, or the catalog), from the identity token
    /// `refresh`; renewed once it nears its expiry.
    async fn scoped_token(
        &self,
        registry: &str,
        repository: &str,
        scope: &str,
        refresh: &str,
    ) -> Result<Arc<ScopedToken>, RegistryError> {
        if let Some(token) = self.fresh_token(registry, scope) {
            return Ok(token);
        }
        let Some(challenge) = self.root_challenge(registry, repository).await? else {
            // A registry that asks for no token (or only basic auth) has nothing to trade it for.
            return Err(RegistryError::AuthRejected {
                registry: registry.to_owned(),
                repository: repository.to_owned(),
            });
        };
        let token = token::exchange(self.http(registry), registry, repository, &challenge, scope, refresh).await?;
        Ok(self.remember(registry, scope.to_owned(), token))
    }

    fn oci_reference(reference: &ImageReference) -> oci_client::Reference {
        let host = registry_api_host(&reference.registry).to_owned();
        match &reference.digest {
            Some(digest) => oci_client::Reference::with_digest(host, reference.repository.clone(), digest.clone()),
            None => oci_client::Reference::with_tag(
                host,
                reference.repository.clone(),
                reference.tag.clone().unwrap_or_else(|| "latest".into()),
            ),
        }
    }

    /// One page of the registry's repositories (`/v2/_catalog`).
    #[tracing::instrument(skip(self), err)]
    pub async fn catalog(&self, registry: &str, n: usize, last: Option<&str>) -> Result<Page, RegistryError> {
        #[derive(Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let target = Target { registry, repository: "", what: Subject::Catalog };
        let body = self.list(&target, "/v2/_catalog", n, last).await?;
        let list: Catalog = serde_json::from_slice(&body).map_err(|e| RegistryError::Malformed {
            registry: target.registry(),
            what: target.describe(),
            reason: e.to_string(),
        })?;
        Ok(Page::from_items(list.repositories, n))
    }

    /// One page of a repository's tags (`/v2/<name>/tags/list`).
    #[tracing::instrument(skip(self), err)]
    pub async fn tags(
        &self,
        registry: &str,
        repository: &str,
        n: usize,
        last: Option<&str>,
    ) -> Result<Page, RegistryError> {
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let target = Target { registry, repository, what: Subject::Tags };
        let body = self.list(&target, &format!("/v2/{repository}/tags/list"), n, last).await?;
        let list: Tags = serde_json::from_slice(&body).map_err(|e| RegistryError::Malformed {
            registry: target.registry(),
            what: target.describe(),
            reason: e.to_string(),
        })?;
        Ok(Page::from_items(list.tags.unwrap_or_default(), n))
    }

    /// GETs a list (`path?n=…&last=…`) within [`MAX_LIST_BYTES`], with the registry's credentials.
    async fn list(
        &self,
        target: &Target<'_>,
        path: &str,
        n: usize,
        last: Option<&str>,
    ) -> Result<Bytes, RegistryError> {
        let registry = target.registry;
        let query = {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("n", &n.to_string());
            if let Some(last) = last {
                query.append_pair("last", last);
            }
            query.finish()
        };
        let url = format!("{}://{}{path}?{query}", self.scheme(registry), registry_api_host(registry));
        let (response, had) = self.get_with_credentials(target, &url, "application/json", MAX_LIST_BYTES).await?;
        match response.status {
            200 => Ok(response.body),
            status => Err(target.status(status, &response.body, response.retry_after(), had)),
        }
    }

    /// The exact bytes of a manifest, verified against its digest (the requested one, or the one the
    /// registry names in `Docker-Content-Digest`), refused over [`MAX_MANIFEST_BYTES`].
    #[tracing::instrument(skip(self), fields(reference = %reference), err)]
    pub async fn manifest(&self, reference: &ImageReference) -> Result<FetchedManifest, RegistryError> {
        let (registry, repository) = (reference.registry.as_str(), reference.repository.as_str());
        let selector = reference.manifest_selector();
        let target = Target { registry, repository, what: Subject::Manifest { selector } };
        let url = format!(
            "{}://{}/v2/{}/manifests/{}",
            self.scheme(registry),
            registry_api_host(registry),
            repository,
            selector
        );
        let (response, had) = self.get_with_credentials(&target, &url, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES).await?;
        let response = self.settle(reference, response, &target, had).await?;
        let content_type = response.content_type();
        let header_digest =
            response.headers.get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = response.body;
        let digest = match (&reference.digest, header_digest) {
            (Some(wanted), _) => {
                verify(&bytes, wanted, || target.describe())?;
                wanted.clone()
            }
            (None, Some(named)) => {
                verify(&bytes, &named, || target.describe())?;
                named
            }
            (None, None) => sha256(&bytes),
        };
        Ok(FetchedManifest { bytes, content_type, digest })
    }

    /// GET with the registry's credentials (or a cached token); on a bearer challenge, a token for the
    /// target's scope, once. Also says whether the user has credentials for the registry.
    async fn get_with_credentials(
        &self,
        target: &Target<'_>,
        url: &str,
        accept: &str,
        limit: usize,
    ) -> Result<(http::Response, bool), RegistryError> {
        let (registry, repository) = (target.registry, target.repository);
        let credential = self.credential(registry).await?;
        let had = credential.is_some();
        let http = self.http(registry);
        if let Some(Credential::IdentityToken(refresh)) = &credential {
            let token = self.scoped_token(registry, repository, &pull_scope(repository), refresh).await?;
            let value = bearer_header(&token.token.token, target)?;
            return Ok((http::get_limited(http, url, accept, Some(&value), limit, target).await?, had));
        }
        let authorization = match (self.fresh_token(registry, &pull_scope(repository)), &credential) {
            (Some(token), _) => Some(bearer_header(&token.token.token, target)?),
            (None, Some(Credential::Basic { username, password })) => Some(basic_header(username, password, target)?),
            (None, _) => None,
        };
        let response = http::get_limited(http, url, accept, authorization.as_ref(), limit, target).await?;
        let challenge = token::bearer_challenge(&response.headers).filter(|_| response.status == 401);
        let Some(challenge) = challenge else { return Ok((response, had)) };
        let scope = pull_scope(repository);
        let token = self.challenged_token(registry, repository, &challenge, &scope, credential.as_ref()).await?;
        let value = bearer_header(&token.token.token, target)?;
        Ok((http::get_limited(http, url, accept, Some(&value), limit, target).await?, had))
    }

    /// A manifest response as the caller wants it: 200, or the error its status means.
    async fn settle(
        &self,
        reference: &ImageReference,
        response: http::Response,
        target: &Target<'_>,
        had: bool,
    ) -> Result<http::Response, RegistryError> {
        match response.status {
            200 => Ok(response),
            404 if matches!(target.what, Subject::Manifest { .. }) => {
                Err(self.manifest_not_found(reference, target).await)
            }
            status => Err(target.status(status, &response.body, response.retry_after(), had)),
        }
    }

    /// A distribution registry says MANIFEST_UNKNOWN for a missing repository too: ask its tag list.
    async fn manifest_not_found(&self, reference: &ImageReference, target: &Target<'_>) -> RegistryError {
        match self.tags(&reference.registry, &reference.repository, 1, None).await {
            Err(RegistryError::RepositoryNotFound { registry, repository }) => {
                RegistryError::RepositoryNotFound { registry, repository }
            }
            _ => target.not_found(None),
        }
    }

    /// A blob of `reference`'s repository, read whole (at most `limit` bytes) and verified by oci-client
    /// against `digest`.
    #[tracing::instrument(skip(self), fields(reference = %reference), err)]
    pub async fn blob(&self, reference: &ImageReference, digest: &str, limit: usize) -> Result<Bytes, RegistryError> {
        let target =
            Target { registry: &reference.registry, repository: &reference.repository, what: Subject::Blob { digest } };
        let Access { oci, had } = self.access(&reference.registry, &reference.repository).await?;
        let oci_reference = Self::oci_reference(reference);
        let descriptor = oci_client::manifest::OciDescriptor { digest: digest.to_owned(), ..Default::default() };
        let mut stream = oci.pull_blob_stream(&oci_reference, &descriptor).await.map_err(|e| target.oci(e, had))?;
        if stream.content_length.is_some_and(|len| len > limit as u64) {
            return Err(RegistryError::TooLarge { what: target.describe(), limit });
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| stream_error(&target, e))?;
            if body.len() + chunk.len() > limit {
                return Err(RegistryError::TooLarge { what: target.describe(), limit });
            }
            body.extend_from_slice(&chunk);
        }
        // oci-client verifies at the end of the stream; checked here too so no path skips it.
        verify(&body, digest, || target.describe())?;
        Ok(body.freeze())
    }

    /// Artifacts whose `subject` is `digest`: the referrers API, else the tag schema (oci-client falls back).
    #[tracing::instrument(skip(self), fields(reference = %reference), err)]
    pub async fn referrers(&self, reference: &ImageReference, digest: &str) -> Result<Vec<Referrer>, RegistryError> {
        let target =
            Target { registry: &reference.registry, repository: &reference.repository, what: Subject::Referrers };
        let Access { oci, had } = self.access(&reference.registry, &reference.repository).await?;
        let oci_reference = Self::oci_reference(&reference.by_digest(digest));
        let index = oci.pull_referrers(&oci_reference, None).await.map_err(|e| target.oci(e, had))?;
        Ok(index
            .manifests
            .into_iter()
            .map(|m| Referrer {
                digest: m.digest,
                media_type: m.media_type,
                artifact_type: m.artifact_type,
                size: m.size,
                annotations: m.annotations.map(|a| a.into_iter().collect()).unwrap_or_default(),
            })
            .collect())
    }
}

/// `Basic <user:password>` as a header value that never shows in logs.
fn basic_header(username: &str, password: &str, target: &Target<'_>) -> Result<HeaderValue, RegistryError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| RegistryError::Other {
        registry: target.registry(),
        reason: "credentials contain invalid characters".into(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// `Bearer <token>` as a header value that never shows in logs.
fn bearer_header(token: &str, target: &Target<'_>) -> Result<HeaderValue, RegistryError> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| RegistryError::Malformed {
        registry: target.registry(),
        what: "token".into(),
        reason: "not a valid header value".into(),
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// oci-client's blob stream reports a digest mismatch as an io::Error wrapping its DigestError.
fn stream_error(target: &Target<'_>, e: std::io::Error) -> RegistryError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<oci_client::errors::DigestError>()) {
        Some(oci_client::errors::DigestError::VerificationError { expected, actual }) => {
            RegistryError::DigestMismatch {
                what: target.describe(),
                expected: expected.clone(),
                actual: actual.clone(),
            }
        }
        _ => RegistryError::Other { registry: target.registry(), reason: e.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_page_may_have_a_next_one() {
        assert_eq!(Page::from_items(vec!["a".into(), "b".into()], 2).next.as_deref(), Some("b"));
        assert_eq!(Page::from_items(vec!["a".into()], 2).next, None);
        assert_eq!(Page::from_items(vec!["a".into(), "b".into(), "c".into()], 2).next, None);
    }

    #[test]
    fn verification_names_both_digests() {
        let good = sha256(b"x");
        assert!(verify(b"x", &good, || "m".into()).is_ok());
        let err = verify(b"y", &good, || "manifest r/a@d".into()).unwrap_err().to_string();
        assert!(err.starts_with("refused manifest r/a@d: its content has digest sha256:"), "{err}");
        assert!(err.contains(&good));
    }
}
