//! The Secrets service: `RUN --mount=type=secret,id=…` reads a secret the client holds, from a file
//! or an environment variable, without it entering the image or the build cache.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bollard::moby::buildkit::secrets::v1::secrets_server::Secrets;
use bollard::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use tonic::{Request, Response, Status};
use tracing::instrument;

/// Where one secret's value comes from (`--secret id=npmrc,src=~/.npmrc` or `id=token,env=TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    Env(String),
}

/// The build's secrets by id.
#[derive(Debug, Clone, Default)]
pub struct SecretStore(pub BTreeMap<String, SecretSource>);

#[tonic::async_trait]
impl Secrets for SecretStore {
    #[instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_secret(&self, request: Request<GetSecretRequest>) -> Result<Response<GetSecretResponse>, Status> {
        let id = request.into_inner().id;
        // The secret's value never goes into an error message, only where it was looked for.
        let data = match self.0.get(&id) {
            None => return Err(Status::not_found(format!("secret {id} not provided to this build"))),
            Some(SecretSource::File(path)) => tokio::fs::read(path)
                .await
                .map_err(|e| Status::not_found(format!("secret {id}: cannot read {}: {e}", path.display())))?,
            Some(SecretSource::Env(var)) => std::env::var_os(var)
                .map(|v| v.into_encoded_bytes())
                .ok_or_else(|| Status::not_found(format!("secret {id}: environment variable {var} is not set")))?,
        };
        Ok(Response::new(GetSecretResponse { data }))
    }
}
