//! Writing to a registry: whether a blob or manifest is already in a repository, a blob mounted from
//! another repository of the same registry (the distribution spec's cross-repository mount) or else
//! streamed across without being held, and a manifest put under its digest or a tag. oci-client
//! pushes whole images from memory and cannot mount, so these requests are made here, with the same
//! credentials, tokens (for the push scope) and error reading as the reads.

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Method;

use super::error::{transport, Subject, Target};
use super::{basic_header, bearer_header, http, pull_scope, token, RegistryClient, RegistryError, MANIFEST_ACCEPT};
use crate::docker_config::credentials::Credential;
use crate::images::reference::{registry_api_host, ImageReference};

/// A refusal's body is read this far, for the registry's own words.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// How a blob came to be in the target repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobTransfer {
    AlreadyThere,
    /// Mounted from a repository of the same registry: no byte moved.
    Mounted,
    /// Read from the source and written to the target.
    Uploaded,
}

/// The scope of a write to `repository` (a push reads too: HEADs and mounts).
fn push_scope(repository: &str) -> String {
    format!("repository:{repository}:pull,push")
}

impl RegistryClient {
    fn api_url(&self, registry: &str, path: &str) -> String {
        format!("{}://{}{path}", self.scheme(registry), registry_api_host(registry))
    }

    /// The Authorization for `scope` known without asking anyone: a fresh token, else basic
    /// credentials; an identity token is traded for an access token. Also says whether the user
    /// has credentials for the registry.
    async fn authorization(
        &self,
        target: &Target<'_>,
        scope: &str,
    ) -> Result<(Option<HeaderValue>, Option<Credential>), RegistryError> {
        let (registry, repository) = (target.registry, target.repository);
        let credential = self.credential(registry).await?;
        let value = match (&credential, self.fresh_token(registry, scope)) {
            (Some(Credential::IdentityToken(refresh)), _) => {
                let token = self.scoped_token(registry, repository, scope, refresh).await?;
                Some(bearer_header(&token.token.token, target)?)
            }
            (_, Some(token)) => Some(bearer_header(&token.token.token, target)?),
            (Some(Credential::Basic { username, password }), None) => Some(basic_header(username, password, target)?),
            (None, None) => None,
        };
        Ok((value, credential))
    }

    /// Sends what `build` makes with the credentials `scope` needs; on a bearer challenge, once more
    /// with a token for `scope`. Also says whether the user has credentials for the registry.
    async fn send_for(
        &self,
        target: &Target<'_>,
        scope: &str,
        build: impl Fn(&reqwest::Client, Option<&HeaderValue>) -> reqwest::RequestBuilder,
    ) -> Result<(reqwest::Response, bool), RegistryError> {
        let registry = target.registry;
        let (authorization, credential) = self.authorization(target, scope).await?;
        let had = credential.is_some();
        let http = self.http(registry);
        let response = build(http, authorization.as_ref()).send().await.map_err(|e| transport(registry, &e))?;
        let challenge = token::bearer_challenge(response.headers()).filter(|_| response.status() == 401);
        let Some(challenge) = challenge.filter(|_| !matches!(credential, Some(Credential::IdentityToken(_)))) else {
            return Ok((response, had));
        };
        let token = self.challenged_token(registry, target.repository, &challenge, scope, credential.as_ref()).await?;
        let value = bearer_header(&token.token.token, target)?;
        let response = build(http, Some(&value)).send().await.map_err(|e| transport(registry, &e))?;
        Ok((response, had))
    }

    /// Whether `repository` holds the blob (`blobs`) or manifest (`manifests`) `digest`.
    async fn holds(&self, target: &Target<'_>, kind: &str, digest: &str) -> Result<bool, RegistryError> {
        let url = self.api_url(target.registry, &format!("/v2/{}/{kind}/{digest}", target.repository));
        let scope = push_scope(target.repository);
        let (response, had) = self
            .send_for(target, &scope, |http, auth| with_auth(http.head(&url).header(ACCEPT, MANIFEST_ACCEPT), auth))
            .await?;
        match response.status().as_u16() {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(refusal(target, response, had).await),
        }
    }

    /// Whether `repository`'s repository holds the blob `digest`.
    #[tracing::instrument(skip(self), fields(repository = %repository), err)]
    pub async fn has_blob(&self, repository: &ImageReference, digest: &str) -> Result<bool, RegistryError> {
        let target = Target {
            registry: &repository.registry,
            repository: &repository.repository,
            what: Subject::Blob { digest },
        };
        self.holds(&target, "blobs", digest).await
    }

    /// Whether `repository`'s repository holds the manifest `digest`.
    #[tracing::instrument(skip(self), fields(repository = %repository), err)]
    pub async fn has_manifest(&self, repository: &ImageReference, digest: &str) -> Result<bool, RegistryError> {
        let target = Target {
            registry: &repository.registry,
            repository: &repository.repository,
            what: Subject::Manifest { selector: digest },
        };
        self.holds(&target, "manifests", digest).await
    }

    /// Puts the blob `digest` (`size` bytes) of `from`'s repository into `to`'s: nothing if it is
    /// there, a mount when both are on one registry, else a monolithic upload streamed from the source.
    #[tracing::instrument(skip(self), fields(from = %from, to = %to), err)]
    pub async fn copy_blob(
        &self,
        from: &ImageReference,
        to: &ImageReference,
        digest: &str,
        size: u64,
    ) -> Result<BlobTransfer, RegistryError> {
        if self.has_blob(to, digest).await? {
            return Ok(BlobTransfer::AlreadyThere);
        }
        let target = Target { registry: &to.registry, repository: &to.repository, what: Subject::Blob { digest } };
        let uploads = self.api_url(&to.registry, &format!("/v2/{}/blobs/uploads/", to.repository));
        let (url, scope) = if from.registry == to.registry && from.repository != to.repository {
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("mount", digest)
                .append_pair("from", &from.repository)
                .finish();
            (format!("{uploads}?{query}"), format!("{} {}", push_scope(&to.repository), pull_scope(&from.repository)))
        } else {
            (uploads.clone(), push_scope(&to.repository))
        };
        let (response, had) = self
            .send_for(&target, &scope, |http, auth| with_auth(http.post(&url).header(CONTENT_LENGTH, "0"), auth))
            .await?;
        let location = match response.status().as_u16() {
            201 => return Ok(BlobTransfer::Mounted),
            202 => upload_location(&target, &uploads, &response)?,
            _ => return Err(refusal(&target, response, had).await),
        };
        self.upload_blob(from, &target, &scope, location, digest, size).await?;
        Ok(BlobTransfer::Uploaded)
    }

    /// Streams the blob from `from` to the upload session at `location`, closing it with `digest`
    /// (the registry checks the bytes against it).
    async fn upload_blob(
        &self,
        from: &ImageReference,
        target: &Target<'_>,
        scope: &str,
        mut location: reqwest::Url,
        digest: &str,
        size: u64,
    ) -> Result<(), RegistryError> {
        let source_target =
            Target { registry: &from.registry, repository: &from.repository, what: Subject::Blob { digest } };
        let source_url = self.api_url(&from.registry, &format!("/v2/{}/blobs/{digest}", from.repository));
        let (source, had) = self
            .send_for(&source_target, &pull_scope(&from.repository), |http, auth| {
                with_auth(http.get(&source_url), auth)
            })
            .await?;
        if source.status() != 200 {
            return Err(refusal(&source_target, source, had).await);
        }
        location.query_pairs_mut().append_pair("digest", digest);
        // The body is a stream and cannot be sent twice: the session's token is already at hand.
        let (authorization, credential) = self.authorization(target, scope).await?;
        let request = self
            .http(target.registry)
            .put(location)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, size)
            .body(reqwest::Body::wrap_stream(source.bytes_stream()));
        let response =
            with_auth(request, authorization.as_ref()).send().await.map_err(|e| transport(target.registry, &e))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            _ => Err(refusal(target, response, credential.is_some()).await),
        }
    }

    /// Puts `bytes` as a manifest of `media_type` under `to`'s digest or tag.
    #[tracing::instrument(skip(self, bytes), fields(to = %to), err)]
    pub async fn put_manifest(&self, to: &ImageReference, media_type: &str, bytes: Bytes) -> Result<(), RegistryError> {
        let selector = to.manifest_selector();
        let target =
            Target { registry: &to.registry, repository: &to.repository, what: Subject::Manifest { selector } };
        let url = self.api_url(&to.registry, &format!("/v2/{}/manifests/{selector}", to.repository));
        let scope = push_scope(&to.repository);
        let (response, had) = self
            .send_for(&target, &scope, |http, auth| {
                with_auth(http.request(Method::PUT, &url).header(CONTENT_TYPE, media_type).body(bytes.clone()), auth)
            })
            .await?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            _ => Err(refusal(&target, response, had).await),
        }
    }
}

fn with_auth(request: reqwest::RequestBuilder, authorization: Option<&HeaderValue>) -> reqwest::RequestBuilder {
    match authorization {
        Some(value) => request.header(AUTHORIZATION, value.clone()),
        None => request,
    }
}

/// Where an upload session continues: its `Location`, absolute or relative to the uploads URL.
fn upload_location(
    target: &Target<'_>,
    uploads: &str,
    response: &reqwest::Response,
) -> Result<reqwest::Url, RegistryError> {
    let malformed = |reason: String| RegistryError::Malformed {
        registry: target.registry(),
        what: format!("upload session for {}", target.describe()),
        reason,
    };
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| malformed("no Location header".into()))?;
    let base = reqwest::Url::parse(uploads).map_err(|e| malformed(e.to_string()))?;
    base.join(location).map_err(|e| malformed(format!("Location {location:?}: {e}")))
}

/// The error an unsuccessful answer means, with the registry's own message.
async fn refusal(target: &Target<'_>, response: reqwest::Response, had: bool) -> RegistryError {
    let status = response.status().as_u16();
    let retry_after = response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()?.trim().parse().ok());
    let body =
        http::read_limited(response, MAX_ERROR_BYTES, target.registry, || target.describe()).await.unwrap_or_default();
    target.status(status, &body, retry_after, had)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_upload_location_continues_on_the_registry() {
        let target = Target { registry: "r.io", repository: "app", what: Subject::Blob { digest: "sha256:0" } };
        let response: reqwest::Response = ::http::Response::builder()
            .status(202)
            .header(LOCATION, "/v2/app/blobs/uploads/abc?_state=x")
            .body("")
            .unwrap()
            .into();
        let url = upload_location(&target, "http://r.io/v2/app/blobs/uploads/", &response).unwrap();
        assert_eq!(url.as_str(), "http://r.io/v2/app/blobs/uploads/abc?_state=x");
        let absolute: reqwest::Response =
            ::http::Response::builder().status(202).header(LOCATION, "https://cdn.r.io/up/1").body("").unwrap().into();
        assert_eq!(
            upload_location(&target, "http://r.io/v2/app/blobs/uploads/", &absolute).unwrap().as_str(),
            "https://cdn.r.io/up/1"
        );
    }
}
