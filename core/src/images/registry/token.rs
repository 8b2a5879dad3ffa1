//! Identity-token logins (`identitytoken` in config.json, or a credential helper answering with the
//! user `<token>`): like the docker CLI, Buildlane trades the refresh token for an access token at
//! the registry's token service (OAuth2 `grant_type=refresh_token`, a form POST to the challenge's
//! realm), one per scope. oci-client only knows basic credentials and anonymous token requests, so
//! this exchange is written here; the challenge is parsed with http-auth, as oci-client does.

use std::time::{Duration, Instant};

use http_auth::parser::ChallengeParser;
use reqwest::header::{HeaderMap, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde::Deserialize;

use super::error::{transport, RegistryError};
use super::http::read_limited;

/// Token answers larger than this are refused: a JWT with its claims is a few kilobytes.
pub const MAX_TOKEN_BYTES: usize = 1024 * 1024;

/// How the docker CLI names itself to token services.
const CLIENT_ID: &str = "buildlane";
/// Token lifetime when the service does not say (the distribution token spec's default).
const DEFAULT_EXPIRY: Duration = Duration::from_secs(60);
/// Tokens are renewed this long before they expire, so none runs out mid-request.
const RENEW_MARGIN: Duration = Duration::from_secs(10);

/// A `WWW-Authenticate: Bearer realm=…,service=…` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub realm: String,
    pub service: Option<String>,
}

/// The bearer challenge among a response's `WWW-Authenticate` headers, if any.
pub(crate) fn bearer_challenge(headers: &HeaderMap) -> Option<Challenge> {
    headers.get_all(WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()).find_map(|value| {
        ChallengeParser::new(value).filter_map(Result::ok).find(|c| c.scheme.eq_ignore_ascii_case("bearer")).and_then(
            |c| {
                let param = |name: &str| {
                    c.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_unescaped())
                };
                Some(Challenge { realm: param("realm")?, service: param("service") })
            },
        )
    })
}

/// An access token and when to stop using it.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub token: String,
    renew_at: Instant,
}

impl AccessToken {
    pub fn is_fresh(&self) -> bool {
        Instant::now() < self.renew_at
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    /// Older token services answer with `token` only.
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Trades `refresh_token` for an access token to `scope` at the challenge's realm.
#[tracing::instrument(skip(client, refresh_token), fields(realm = %challenge.realm), err)]
pub(crate) async fn exchange(
    client: &reqwest::Client,
    registry: &str,
    repository: &str,
    challenge: &Challenge,
    scope: &str,
    refresh_token: &str,
) -> Result<AccessToken, RegistryError> {
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "refresh_token");
        if let Some(service) = &challenge.service {
            form.append_pair("service", service);
        }
        form.append_pair("scope", scope);
        form.append_pair("client_id", CLIENT_ID);
        form.append_pair("refresh_token", refresh_token);
        form.finish()
    };
    let response = client
        .post(&challenge.realm)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| transport(registry, &e))?;
    let status = response.status().as_u16();
    let rejected = || RegistryError::AuthRejected { registry: registry.to_owned(), repository: repository.to_owned() };
    if matches!(status, 400 | 401 | 403) {
        return Err(rejected());
    }
    answer(response, registry, challenge).await
}

/// An anonymous or basic-auth token for `scope` (the distribution token spec's GET), for every request:
/// oci-client's blob and referrer reads are handed it ready-made rather than left to fetch their own
/// (its flow reads the answer whole).
#[tracing::instrument(skip(client, basic), fields(realm = %challenge.realm), err)]
pub(crate) async fn fetch(
    client: &reqwest::Client,
    registry: &str,
    repository: &str,
    challenge: &Challenge,
    scope: &str,
    basic: Option<(&str, &str)>,
) -> Result<AccessToken, RegistryError> {
    let query = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        // A push that mounts from another repository needs two scopes: the spec's GET repeats the parameter.
        for scope in scope.split(' ').filter(|s| !s.is_empty()) {
            form.append_pair("scope", scope);
        }
        if let Some(service) = &challenge.service {
            form.append_pair("service", service);
        }
        form.finish()
    };
    let separator = if challenge.realm.contains('?') { '&' } else { '?' };
    let mut request = client.get(format!("{}{separator}{query}", challenge.realm));
    if let Some((user, password)) = basic {
        request = request.basic_auth(user, Some(password));
    }
    let response = request.send().await.map_err(|e| transport(registry, &e))?;
    let status = response.status().as_u16();
    if matches!(status, 401 | 403) {
        return Err(if basic.is_some() {
            RegistryError::AuthRejected { registry: registry.to_owned(), repository: repository.to_owned() }
        } else {
            RegistryError::AuthRequired { registry: registry.to_owned(), repository: repository.to_owned() }
        });
    }
    answer(response, registry, challenge).await
}

/// A token service's answer once its auth refusals are sorted out: a 200 read within
/// [`MAX_TOKEN_BYTES`], any other status malformed.
async fn answer(
    response: reqwest::Response,
    registry: &str,
    challenge: &Challenge,
) -> Result<AccessToken, RegistryError> {
    let what = || format!("token from {}", challenge.realm);
    let malformed = |reason: String| RegistryError::Malformed { registry: registry.to_owned(), what: what(), reason };
    let status = response.status().as_u16();
    if status != 200 {
        return Err(malformed(format!("HTTP {status}")));
    }
    let body = read_limited(response, MAX_TOKEN_BYTES, registry, what).await?;
    let answer: TokenResponse = serde_json::from_slice(&body).map_err(|e| malformed(e.to_string()))?;
    let token = answer.access_token.or(answer.token).filter(|t| !t.is_empty());
    let token = token.ok_or_else(|| malformed("no access_token in the answer".into()))?;
    let lifetime = answer.expires_in.map_or(DEFAULT_EXPIRY, Duration::from_secs);
    Ok(AccessToken { token, renew_at: Instant::now() + lifetime.saturating_sub(RENEW_MARGIN) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_bearer_challenge_is_read_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Basic realm="x""#));
        headers.append(
            WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="https://auth.example/token",service="registry.example""#),
        );
        assert_eq!(
            bearer_challenge(&headers),
            Some(Challenge { realm: "https://auth.example/token".into(), service: Some("registry.example".into()) })
        );
        let mut basic = HeaderMap::new();
        basic.append(WWW_AUTHENTICATE, HeaderValue::from_static(r#"Basic realm="x""#));
        assert_eq!(bearer_challenge(&basic), None);
    }
}
