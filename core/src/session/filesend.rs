//! The FileSend service: BuildKit streams a tarball output (oci, docker, tar exporters) back to the
//! client, which writes it to the file the user chose.

use std::path::PathBuf;

use bollard::moby::filesync::v1::file_send_server::FileSend;
use bollard::moby::filesync::v1::BytesMessage;
use tokio::io::AsyncWriteExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::instrument;

/// Where the tarball goes.
#[derive(Debug, Clone)]
pub struct TarballDestination(pub PathBuf);

#[tonic::async_trait]
impl FileSend for TarballDestination {
    type DiffCopyStream = ReceiverStream<Result<BytesMessage, Status>>;

    #[instrument(skip_all, fields(dest = %self.0.display()))]
    async fn diff_copy(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::DiffCopyStream>, Status> {
        let mut inbound = request.into_inner();
        let io = |e: std::io::Error| Status::internal(format!("cannot write {}: {e}", self.0.display()));
        // Written beside the destination and renamed at the end, so a failed build leaves no half file.
        let partial = self.0.with_extension("partial");
        let mut file = tokio::fs::File::create(&partial).await.map_err(io)?;
        while let Some(message) = inbound.message().await? {
            file.write_all(&message.data).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        tokio::fs::rename(&partial, &self.0).await.map_err(io)?;
        let (_, rx) = tokio::sync::mpsc::channel(1);
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
