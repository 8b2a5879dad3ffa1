//! The Auth service: BuildKit asks the client for registry credentials (to pull bases and push
//! results), answered from the user's docker config and credential helpers. Only Credentials is
//! served; BuildKit falls back to it when the token methods are unimplemented.

use bollard::moby::filesync::v1::auth_server::Auth;
use bollard::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse, GetTokenAuthorityRequest,
    GetTokenAuthorityResponse, VerifyTokenAuthorityRequest, VerifyTokenAuthorityResponse,
};
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::docker_config::credentials::{Credential, CredentialStore};

/// Where BuildKit says it talks to Docker Hub, and where the docker config keeps its credentials.
const DOCKER_HUB_API: &str = "registry-1.docker.io";
const DOCKER_HUB: &str = "docker.io";

pub struct Credentials(pub CredentialStore);

#[tonic::async_trait]
impl Auth for Credentials {
    #[instrument(skip_all, fields(host = %request.get_ref().host))]
    async fn credentials(&self, request: Request<CredentialsRequest>) -> Result<Response<CredentialsResponse>, Status> {
        let host = request.into_inner().host;
        let registry = if host == DOCKER_HUB_API { DOCKER_HUB } else { host.as_str() };
        let found = self.0.get(registry).await.map_err(|e| Status::unavailable(e.to_string()))?;
        let response = match found {
            None => CredentialsResponse::default(),
            Some(Credential::Basic { username, password }) => CredentialsResponse { username, secret: password },
            Some(Credential::IdentityToken(token)) => CredentialsResponse { username: String::new(), secret: token },
        };
        Ok(Response::new(response))
    }

    async fn fetch_token(&self, _: Request<FetchTokenRequest>) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("BuildKit falls back to Credentials"))
    }

    async fn get_token_authority(
        &self,
        _: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("BuildKit falls back to Credentials"))
    }

    async fn verify_token_authority(
        &self,
        _: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("BuildKit falls back to Credentials"))
    }
}
