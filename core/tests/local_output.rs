//! `--output type=local,dest=DIR`: a builder writes only inside the folder it was given.
//!
//! `fake_hostile_builder_*` tests stand up a BuildKit stand-in (nothing real sends a malicious
//! stream) that serves `Control.Session` on a unix socket, as a remote builder does. Buildlane
//! attaches its real session to it with `Session::attach_control`, and the stand-in then speaks
//! HTTP/2 inside that session and calls the real `FileSend.DiffCopy` receiver with the entries it
//! chose. The last test writes over a symlink already in the destination with the real engine.

mod support;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bollard::fsutil::types::packet::PacketType;
use bollard::fsutil::types::{Packet, Stat};
use bollard::moby::buildkit::v1::control_server::{Control as ControlService, ControlServer};
use bollard::moby::buildkit::v1::{self as pb, BytesMessage};
use bollard::moby::filesync::packet::file_send_client::FileSendClient;
use buildlane_core::buildkit::transport::remote_channel;
use buildlane_core::buildkit::Control;
use buildlane_core::builds::BuildOutput;
use buildlane_core::session::{Session, SessionServices};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;
use tonic::{Request, Response, Status, Streaming};

const DIR: u32 = 1 << 31;
const SYMLINK: u32 = 1 << 27;

/// One entry the hostile builder sends, with its data if it is a regular file.
struct Entry {
    stat: Stat,
    data: &'static str,
}

fn file(path: &str, data: &'static str) -> Entry {
    Entry { stat: Stat { path: path.into(), mode: 0o644, ..Default::default() }, data }
}

fn dir(path: &str) -> Entry {
    Entry { stat: Stat { path: path.into(), mode: DIR | 0o755, ..Default::default() }, data: "" }
}

fn link(path: &str, target: &str) -> Entry {
    Entry {
        stat: Stat { path: path.into(), mode: SYMLINK | 0o777, linkname: target.into(), ..Default::default() },
        data: "",
    }
}

fn hard_link(path: &str, target: &str) -> Entry {
    Entry { stat: Stat { path: path.into(), mode: 0o644, linkname: target.into(), ..Default::default() }, data: "" }
}

/// What the builder's DiffCopy ended with: `Ok` after the receiver's FIN, or its error.
type Outcome = Result<(), String>;

/// A BuildKit stand-in: `Control.Session` only; once a session attaches it sends `entries` into
/// the session's FileSend service as fsutil's sender would, answering each data request.
struct FakeHostileBuilder {
    entries: Mutex<Option<Vec<Entry>>>,
    done: Mutex<Option<oneshot::Sender<Outcome>>>,
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
        let entries = self.entries.lock().unwrap().take().expect("one session per test");
        let done = self.done.lock().unwrap().take().expect("one session per test");
        tokio::spawn(async move {
            let _ = done.send(send_entries(ours, entries).await);
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

/// fsutil's sender, inside the session: stats, an empty stat, then data for each request.
async fn send_entries(conn: tokio::io::DuplexStream, entries: Vec<Entry>) -> Outcome {
    let slot = Arc::new(Mutex::new(Some(conn)));
    let channel = Endpoint::from_static("http://session")
        .connect_with_connector(tower::service_fn(move |_| {
            let conn = slot.lock().unwrap().take();
            async move { conn.map(TokioIo::new).ok_or_else(|| std::io::Error::other("one connection only")) }
        }))
        .await
        .map_err(|e| e.to_string())?;
    let (to_receiver, outbound) = mpsc::channel(256);
    let packet = |kind: PacketType| Packet { r#type: kind as i32, ..Default::default() };
    for entry in &entries {
        to_receiver.send(Packet { stat: Some(entry.stat.clone()), ..packet(PacketType::PacketStat) }).await.unwrap();
    }
    to_receiver.send(packet(PacketType::PacketStat)).await.unwrap();
    let mut replies = FileSendClient::new(channel)
        .diff_copy(ReceiverStream::new(outbound))
        .await
        .map_err(|s| s.message().to_owned())?
        .into_inner();
    loop {
        let reply = replies.message().await.map_err(|s| s.message().to_owned())?;
        let Some(reply) = reply else { return Err("the receiver ended without FIN".into()) };
        match PacketType::try_from(reply.r#type) {
            Ok(PacketType::PacketReq) => {
                let data = entries[reply.id as usize].data.as_bytes().to_vec();
                let id = reply.id;
                let _ = to_receiver.send(Packet { id, data, ..packet(PacketType::PacketData) }).await;
                let _ = to_receiver.send(Packet { id, ..packet(PacketType::PacketData) }).await;
            }
            Ok(PacketType::PacketFin) => {
                let _ = to_receiver.send(packet(PacketType::PacketFin)).await;
                return Ok(());
            }
            _ => return Err(format!("unexpected reply {}", reply.r#type)),
        }
    }
}

/// Attaches a real session whose local output goes to `dest` to a hostile builder that sends
/// `entries`, and returns how the transfer ended.
async fn fake_hostile_builder_sends(dest: &Path, entries: Vec<Entry>) -> Outcome {
    let sockets = tempfile::tempdir().unwrap();
    let socket = sockets.path().join("buildkitd.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    let (done, outcome) = oneshot::channel();
    let fake = FakeHostileBuilder { entries: Mutex::new(Some(entries)), done: Mutex::new(Some(done)) };
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ControlServer::new(fake))
            .serve_with_incoming(tokio_stream::wrappers::UnixListenerStream::new(listener)),
    );
    let address = format!("unix://{}", socket.display());
    let control = Control::new(address.clone(), remote_channel(&address, None).await.unwrap());
    let services = SessionServices { folder: Some(dest.to_path_buf()), ..Default::default() };
    let session = Session::attach_control(&control, "hostile", "key", services).await.unwrap();
    let outcome = outcome.await.expect("the fake builder reports");
    drop(session);
    server.abort();
    outcome
}

/// A destination and, beside it, a folder a builder must never reach.
struct Folders {
    _root: tempfile::TempDir,
    dest: PathBuf,
    outside: PathBuf,
}

impl Folders {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let dest = root.path().join("out");
        let outside = root.path().join("outside");
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "keep").unwrap();
        Folders { dest, outside, _root: root }
    }

    /// What is outside, as it was arranged: only `secret`, unchanged, with its mode.
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.outside).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["secret"], "nothing may be written outside the destination");
        assert_eq!(std::fs::read_to_string(self.outside.join("secret")).unwrap(), "keep");
        let parent: Vec<_> =
            std::fs::read_dir(self.outside.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(parent.len(), 2, "nothing new beside the destination: {parent:?}");
    }
}

#[tokio::test]
async fn fake_hostile_builder_a_symlink_then_a_file_through_it_is_refused() {
    let f = Folders::new();
    let outside = f.outside.to_string_lossy().into_owned();
    let outcome = fake_hostile_builder_sends(&f.dest, vec![link("a", &outside), file("a/x", "pwned")]).await;
    assert_eq!(outcome.unwrap_err(), "builder sent `a/x` after `a` as a symlink: parent is not a directory");
    f.assert_outside_untouched();
}

#[tokio::test]
async fn fake_hostile_builder_a_hard_link_through_a_symlink_is_refused() {
    let f = Folders::new();
    let outside = f.outside.to_string_lossy().into_owned();
    let outcome = fake_hostile_builder_sends(&f.dest, vec![link("l", &outside), hard_link("s", "l/secret")]).await;
    assert_eq!(
        outcome.unwrap_err(),
        "builder sent `s` as a hard link to `l/secret`, which is not a file it sent before"
    );
    f.assert_outside_untouched();
    assert!(!f.dest.join("s").exists(), "the outside file is not linked in");
}

#[tokio::test]
async fn fake_hostile_builder_the_same_path_twice_is_refused() {
    let f = Folders::new();
    let outcome = fake_hostile_builder_sends(&f.dest, vec![file("f", "one"), file("f", "two")]).await;
    assert_eq!(outcome.unwrap_err(), "builder sent `f` twice");
    f.assert_outside_untouched();
}

#[tokio::test]
async fn fake_hostile_builder_a_file_under_a_file_is_refused() {
    let f = Folders::new();
    let outcome = fake_hostile_builder_sends(&f.dest, vec![file("a", "file"), file("a/b", "under")]).await;
    assert_eq!(outcome.unwrap_err(), "builder sent `a/b` after `a` as a file: parent is not a directory");
    f.assert_outside_untouched();
}

#[tokio::test]
async fn fake_hostile_builder_dot_dot_and_absolute_names_are_refused() {
    let f = Folders::new();
    let escape = fake_hostile_builder_sends(&f.dest, vec![file("../outside/x", "pwned")]).await;
    assert_eq!(escape.unwrap_err(), "builder sent `../outside/x`: it leads out of the output folder");
    let hidden = fake_hostile_builder_sends(&f.dest, vec![dir("d"), file("d/../../outside/x", "pwned")]).await;
    assert_eq!(hidden.unwrap_err(), "builder sent `d/../../outside/x`: not a clean relative path");
    let absolute = format!("{}/x", f.outside.display());
    let outcome = fake_hostile_builder_sends(&f.dest, vec![file(&absolute, "pwned")]).await;
    assert_eq!(outcome.unwrap_err(), format!("builder sent `{absolute}`: an absolute path"));
    f.assert_outside_untouched();
}

#[tokio::test]
async fn fake_hostile_builder_symlinks_already_in_the_destination_are_replaced_not_followed() {
    use std::os::unix::fs::PermissionsExt;
    let f = Folders::new();
    std::fs::set_permissions(&f.outside, std::fs::Permissions::from_mode(0o750)).unwrap();
    symlink(&f.outside, f.dest.join("etc")).unwrap();
    symlink(f.outside.join("secret"), f.dest.join("secret")).unwrap();
    let entries = vec![dir("etc"), file("etc/passwd", "root"), file("secret", "new")];
    fake_hostile_builder_sends(&f.dest, entries).await.unwrap();
    f.assert_outside_untouched();
    let etc = std::fs::symlink_metadata(f.dest.join("etc")).unwrap();
    assert!(etc.is_dir(), "etc is now a folder of its own");
    assert_eq!(std::fs::read_to_string(f.dest.join("etc/passwd")).unwrap(), "root");
    assert!(std::fs::symlink_metadata(f.dest.join("secret")).unwrap().is_file());
    assert_eq!(std::fs::read_to_string(f.dest.join("secret")).unwrap(), "new");
    let mode = std::fs::metadata(&f.outside).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750, "the outside folder's mode is not changed through the link");
}

#[tokio::test]
async fn a_real_build_writes_over_a_symlink_in_the_destination_instead_of_through_it() {
    let world = support::World::new();
    let f = Folders::new();
    symlink(&f.outside, f.dest.join("etc")).unwrap();
    let ctx = support::build::context(&[("Dockerfile", "FROM scratch\nCOPY passwd /etc/passwd\n"), ("passwd", "root")]);
    let mut request = support::build::request(&ctx);
    request.output = BuildOutput::Local { dest: f.dest.to_string_lossy().into_owned() };
    let seen = support::build::Seen::default();
    let outcome = support::build::build(&world, request, &seen).await;
    assert_eq!(outcome.failure.map(|x| x.message), None);
    f.assert_outside_untouched();
    assert!(std::fs::symlink_metadata(f.dest.join("etc")).unwrap().is_dir());
    assert_eq!(std::fs::read_to_string(f.dest.join("etc/passwd")).unwrap(), "root");
}
