//! A BuildKit stand-in for what no real builder does on purpose (fake_hostile_builder): it serves
//! `Control` on a unix socket, as a remote builder's daemon does. Buildlane attaches its real
//! session to it (`Session::attach_control`); the stand-in then speaks HTTP/2 inside that session,
//! as BuildKit does, and calls the session's real services with whatever the test says. As a
//! whole remote builder it also answers `ListWorkers` (one linux/amd64 worker), an empty `Status`,
//! and `Solve` with the outcome of those calls, as BuildKit fails a solve whose export failed.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bollard::moby::buildkit::v1::control_server::{Control as ControlService, ControlServer};
use bollard::moby::buildkit::v1::{self as pb, BytesMessage};
use buildlane_core::buildkit::session::{Session, SessionServices};
use buildlane_core::buildkit::transport::remote_channel;
use buildlane_core::buildkit::Control;
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
    /// How the session calls ended, for `Solve` to answer with (whole-builder fakes only).
    ended: tokio::sync::Mutex<Option<oneshot::Receiver<Outcome>>>,
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
        let ended = self.ended.lock().await.take().ok_or_else(|| Status::unimplemented("fake"))?;
        match ended.await {
            Ok(Ok(())) => Ok(Response::new(pb::SolveResponse::default())),
            Ok(Err(message)) => Err(Status::unknown(format!("failed to copy files: {message}"))),
            Err(_) => Err(Status::unknown("the fake builder's session went away")),
        }
    }
    async fn status(&self, _: Request<pb::StatusRequest>) -> Result<Response<Self::StatusStream>, Status> {
        let (_, none) = mpsc::channel(1);
        Ok(Response::new(ReceiverStream::new(none)))
    }
    async fn list_workers(
        &self,
        _: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let platform = bollard_buildkit_proto::pb::Platform {
            architecture: "amd64".into(),
            os: "linux".into(),
            ..Default::default()
        };
        let worker = bollard::moby::buildkit::v1::types::WorkerRecord {
            id: "fake".into(),
            platforms: vec![platform],
            ..Default::default()
        };
        Ok(Response::new(pb::ListWorkersResponse { record: vec![worker] }))
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

/// A hostile builder listening on a unix socket until dropped.
pub struct Listening {
    pub address: String,
    _sockets: tempfile::TempDir,
    server: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn listen(fake: FakeHostileBuilder) -> Listening {
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join("buildkitd.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ControlServer::new(fake))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    Listening { address: format!("unix://{}", socket.display()), _sockets: sockets, server }
}

/// Attaches a real session offering `services` to a hostile builder that does `act` in it, and
/// returns how that ended. The session is closed before this returns.
pub async fn fake_hostile_builder(
    services: SessionServices,
    act: impl FnOnce(Channel) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + 'static,
) -> Outcome {
    let (done, outcome) = oneshot::channel();
    let fake = FakeHostileBuilder { act: Mutex::new(Some((Box::new(act), done))), ended: Default::default() };
    let listening = listen(fake);
    let control = Control::new(listening.address.clone(), remote_channel(&listening.address, None).await.unwrap());
    let session = Session::attach_control(&control, "hostile", "key", services).await.unwrap();
    let outcome = outcome.await.expect("the fake builder reports");
    drop(session);
    outcome
}

/// A whole hostile remote builder: the session of the build that uses it gets `act`, and the
/// build's solve ends as those calls did. Register it as a remote builder at its `address`.
pub fn fake_hostile_remote_builder(
    act: impl FnOnce(Channel) -> Pin<Box<dyn Future<Output = Outcome> + Send>> + Send + 'static,
) -> Listening {
    let (done, outcome) = oneshot::channel();
    listen(FakeHostileBuilder {
        act: Mutex::new(Some((Box::new(act), done))),
        ended: tokio::sync::Mutex::new(Some(outcome)),
    })
}
