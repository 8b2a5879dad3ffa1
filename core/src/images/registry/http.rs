//! The requests Buildlane makes itself: GET a manifest, a repository or tag list, a token.
//! oci-client's `pull_manifest_raw`, `catalog`, `list_tags` and token flow read any body whole (and the
//! first drops the response headers), so they can neither refuse an oversized body before holding it,
//! nor report the Content-Type `imagetools` shows, nor the `Retry-After` of a 429.

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

use super::error::{transport, RegistryError, Target};

/// What a GET brought back.
pub(crate) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn content_type(&self) -> Option<String> {
        let value = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(value.split(';').next().unwrap_or(value).trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// `Retry-After` in seconds (only the delta form: registries do not send dates in practice).
    pub fn retry_after(&self) -> Option<u64> {
        self.headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
    }
}

/// GETs `url`, refusing a body over `limit` bytes as soon as it is known to be larger.
pub(crate) async fn get_limited(
    client: &reqwest::Client,
    url: &str,
    accept: &str,
    authorization: Option<&HeaderValue>,
    limit: usize,
    target: &Target<'_>,
) -> Result<Response, RegistryError> {
    let mut request = client.get(url).header(ACCEPT, accept);
    if let Some(auth) = authorization {
        request = request.header(AUTHORIZATION, auth.clone());
    }
    let response = request.send().await.map_err(|e| transport(target.registry, &e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = read_limited(response, limit, target.registry, || target.describe()).await?;
    Ok(Response { status, headers, body })
}

/// A response's body, refused as soon as it is known to be over `limit` bytes (by its Content-Length,
/// or by what has arrived), so a hostile server cannot make Buildlane hold more.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
    registry: &str,
    what: impl Fn() -> String,
) -> Result<Bytes, RegistryError> {
    let too_large = || RegistryError::TooLarge { what: what(), limit };
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport(registry, &e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
