//! A BuildKit stand-in for what no real builder does on purpose (fake_hostile_builder): it serves
//! `Control.Session` on a unix socket, as a remote builder's daemon does. Buildlane attaches its
//! real session to it with `Session::attach_control`; the stand-in then speaks HTTP/2 inside that
//! session, as BuildKit does, and calls the session's real services with whatever the test says.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bollard::moby::buildkit::v1::control_server::{Control as ControlService, ControlServer};
use bollard::moby::buildkit::v1::{self as pb, BytesMessage};
use buildlane_core::buildkit::transport::remote_channel;
use buildlane_core::buildkit::Control;
use buildlane_core::session::{Session, SessionServices};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

/// How the builder's calls into the session ended: `Ok`, or the error the session answered.
pub type Outcome = Result<(), String>;

/// What the builder does once the session is there: calls on a channel into the session.
pub type Act = Box<dyn FnOnce(Channel) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send>;

struct FakeHostileBuilder {
    act: Mutex<Option<(Act, oneshot::Sender<Outcome>)>>,
}

#[tonic::async_trait]
impl ControlService for FakeHostileBuilder {
    type PruneStream = ReceiverStream<Result<pb::UsageRecord, Status>>;
    type StatusStream = ReceiverStream<Result<pb::StatusResponse, Status>>;
    type SessionStream = ReceiverStream<Result<BytesMessage, Status>>;
    type ListenBuildHistoryStream = ReceiverStream<Result<pb::BuildHistoryEvent, Status>>;

    async fn session(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        let mut from_client = request.into_inner();
        let (to_client, outbound) = mpsc::channel(64);
        let (ours, theirs) = tokio::io::duplex(1 << 20);
        let (mut theirs_read, mut theirs_write) = tokio::io::split(theirs);
        tokio::spawn(async move {
            while let Ok(Some(message)) = from_client.message().await {
                if theirs_write.write_all(&message.data).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            let mut buf = vec![0u8; 1 << 16];
            while let Ok(n) = theirs_read.read(&mut buf).await {
                if n == 0 || to_client.send(Ok(BytesMessage { data: buf[..n].to_vec() })).await.is_err() {
                    break;
                }
            }
        });
        let (act, done) = self.act.lock().unwrap().take().expect("one session per fake builder");
        tokio::spawn(async move {
            let slot = Arc::new(Mutex::new(Some(ours)));
            let channel = Endpoint::from_static("http://session")
                .connect_with_connector(tower::service_fn(move |_| {
                    let conn = slot.lock().unwrap().take();
                    async move { conn.map(TokioIo::new).ok_or_else(|| std::io::Error::other("one connection only")) }
                }))
                .await;
            let outcome = match channel {
                Ok(channel) => act(channel).await,
                Err(e) => Err(e.to_string()),
            };
            let _ = done.send(outcome);
        });
        Ok(Response::new(ReceiverStream::new(outbound)))
    }

    async fn disk_usage(&self, _: Request<pb::DiskUsageRequest>) -> Result<Response<pb::DiskUsageResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn prune(&self, _: Request<pb::PruneRequest>) -> Result<Response<Self::PruneStream>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn solve(&self, _: Request<pb::SolveRequest>) -> Result<Response<pb::SolveResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn status(&self, _: Request<pb::StatusRequest>) -> Result<Response<Self::StatusStream>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn list_workers(
        &self,
        _: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn info(&self, _: Request<pb::InfoRequest>) -> Result<Response<pb::InfoResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn listen_build_history(
        &self,
        _: Request<pb::BuildHistoryRequest>,
    ) -> Result<Response<Self::ListenBuildHistoryStream>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn update_build_history(
        &self,
        _: Request<pb::UpdateBuildHistoryRequest>,
    ) -> Result<Response<pb::UpdateBuildHistoryResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

/// Attaches a real session offering `services` to a hostile builder that does `act` in it, and
/// returns how that ended. The session is closed before this returns.
pub async fn fake_hostile_builder(
    services: SessionServices,
    act: impl FnOnce(Channel) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + 'static,
) -> Outcome {
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join("buildkitd.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let (done, outcome) = oneshot::channel();
    let fake = FakeHostileBuilder { act: Mutex::new(Some((Box::new(act), done))) };
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ControlServer::new(fake))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let address = format!("unix://{}", socket.display());
    let control = Control::new(address.clone(), remote_channel(&address, None).await.unwrap());
    let session = Session::attach_control(&control, "hostile", "key", services).await.unwrap();
    let outcome = outcome.await.expect("the fake builder reports");
    drop(session);
    server.abort();
    outcome
}
