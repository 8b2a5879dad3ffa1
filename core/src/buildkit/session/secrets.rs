//! The Secrets service: `RUN --mount=type=secret,id=…` reads a secret the client holds, from a file
//! or an environment variable, without it entering the image or the build cache.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bollard::moby::buildkit::secrets::v1::secrets_server::Secrets;
use bollard::moby::buildkit::secrets::v1::{GetSecretRequest, GetSecretResponse};
use tonic::{Request, Response, Status};
use tracing::instrument;

/// The most a secret file may hold: a secret is a token or a key, held in memory here and by the
/// builder. The build refuses a larger one before it starts ([`crate::builds`]), and this service
/// never reads more, whatever the file became since.
pub const MAX_SECRET_BYTES: u64 = 500 * 1024;

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
            Some(SecretSource::File(path)) => read_bounded(&id, path).await?,
            Some(SecretSource::Env(var)) => std::env::var_os(var)
                .map(|v| v.into_encoded_bytes())
                .ok_or_else(|| Status::not_found(format!("secret {id}: environment variable {var} is not set")))?,
        };
        Ok(Response::new(GetSecretResponse { data }))
    }
}

/// A secret file's bytes: only a regular file, never more than [`MAX_SECRET_BYTES`].
async fn read_bounded(id: &str, path: &std::path::Path) -> Result<Vec<u8>, Status> {
    use tokio::io::AsyncReadExt;
    let unreadable = |e: std::io::Error| Status::not_found(format!("secret {id}: cannot read {}: {e}", path.display()));
    let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
    if !file.metadata().await.map_err(unreadable)?.is_file() {
        return Err(Status::invalid_argument(format!("secret {id}: {} is not a regular file", path.display())));
    }
    let mut data = Vec::new();
    file.take(MAX_SECRET_BYTES + 1).read_to_end(&mut data).await.map_err(unreadable)?;
    if data.len() as u64 > MAX_SECRET_BYTES {
        return Err(Status::invalid_argument(format!(
            "secret {id}: {} is larger than {MAX_SECRET_BYTES} bytes, the most a secret may be",
            path.display()
        )));
    }
    Ok(data)
}
