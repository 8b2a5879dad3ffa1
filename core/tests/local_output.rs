//! `--output type=local,dest=DIR`: a builder writes only inside the folder it was given.
//!
//! `fake_hostile_builder_*` tests drive the real session's `FileSend.DiffCopy` receiver from a
//! BuildKit stand-in (support/hostile_builder.rs: nothing real sends a malicious stream) with the
//! entries the test chose. The last test writes over a symlink already in the destination with
//! the real engine.

mod support;

use std::collections::HashMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use bollard::fsutil::types::packet::PacketType;
use bollard::fsutil::types::{Packet, Stat};
use bollard::moby::filesync::packet::file_send_client::FileSendClient;
use buildlane_core::builders::CreateBuilderRequest;
use buildlane_core::buildkit::session::filesend::OutputDestination;
use buildlane_core::buildkit::session::SessionServices;
use buildlane_core::builds::BuildOutput;
use support::hostile_builder::{fake_hostile_builder, fake_hostile_remote_builder, Outcome};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

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

/// fsutil's sender, inside the session: stats, an empty stat, then data for each request.
async fn send_entries(channel: Channel, entries: Vec<Entry>) -> Outcome {
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
    let output = OutputDestination::Folder(dest.to_path_buf());
    let services = SessionServices { outputs: HashMap::from([(0, output)]), ..Default::default() };
    fake_hostile_builder(services, move |channel| Box::pin(send_entries(channel, entries))).await
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
async fn fake_hostile_builder_a_build_that_writes_through_its_own_symlink_fails_naming_the_entry() {
    let world = support::World::new();
    let f = Folders::new();
    let outside = f.outside.to_string_lossy().into_owned();
    let entries = vec![link("a", &outside), file("a/x", "pwned")];
    let builder = fake_hostile_remote_builder(move |channel| Box::pin(send_entries(channel, entries)));
    let create = CreateBuilderRequest {
        name: "hostile".into(),
        driver: "remote".into(),
        endpoint: builder.address.clone(),
        ..Default::default()
    };
    world.builders().create(&create, None, &support::no_progress).await.unwrap();
    let ctx = support::build::context(&[("Dockerfile", "FROM scratch\n")]);
    let mut request = support::build::request(&ctx);
    request.builder = "hostile".into();
    request.outputs = vec![BuildOutput::local(f.dest.to_string_lossy().into_owned())];
    let outcome = support::build::build(&world, request, &support::build::Seen::default()).await;
    assert_eq!(outcome.state, buildlane_core::builds::BuildState::Failed);
    let message = outcome.failure.expect("a failure to show").message;
    assert!(
        message.contains("builder sent `a/x` after `a` as a symlink: parent is not a directory"),
        "the user is told which entry: {message}"
    );
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
    request.outputs = vec![BuildOutput::local(f.dest.to_string_lossy().into_owned())];
    let seen = support::build::Seen::default();
    let outcome = support::build::build(&world, request, &seen).await;
    assert_eq!(outcome.failure.map(|x| x.message), None);
    f.assert_outside_untouched();
    assert!(std::fs::symlink_metadata(f.dest.join("etc")).unwrap().is_dir());
    assert_eq!(std::fs::read_to_string(f.dest.join("etc/passwd")).unwrap(), "root");
}

/// Everything a user can see of an entry: kind, mode, target or content, time, hard links.
fn tree(root: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&path).unwrap().display())
            } else if std::os::unix::fs::FileTypeExt::is_fifo(&meta.file_type()) {
                "fifo".to_owned()
            } else if meta.is_dir() {
                pending.push(path.clone());
                "dir".to_owned()
            } else {
                format!("{:?} links={}", std::fs::read_to_string(&path).unwrap(), meta.nlink())
            };
            let name = path.strip_prefix(root).unwrap().display().to_string();
            out.push(format!(
                "{name} {:o} {what} mtime={}.{:09}",
                meta.mode() & 0o7777,
                meta.mtime(),
                meta.mtime_nsec()
            ));
        }
    }
    out.sort();
    out
}

/// `ctx` built into a local output at `by_buildx` by buildx and at `by_buildlane` by Buildlane.
async fn build_into_both(world: &support::World, ctx: &tempfile::TempDir, by_buildx: &Path, by_buildlane: &Path) {
    let ctx_path = ctx.path().to_string_lossy().into_owned();
    world.docker_ok(&["buildx", "build", "--output", &format!("type=local,dest={}", by_buildx.display()), &ctx_path]);
    let mut request = support::build::request(ctx);
    request.outputs = vec![BuildOutput::local(by_buildlane.to_string_lossy().into_owned())];
    let outcome = support::build::build(world, request, &support::build::Seen::default()).await;
    assert_eq!(outcome.failure.map(|f| f.message), None);
}

#[tokio::test]
async fn a_local_output_matches_buildx_entry_for_entry() {
    let world = support::World::new();
    let dockerfile = format!(
        "FROM {}/busybox:latest AS files\n\
         RUN mkdir -p /out/d/e /out/ro && echo hi > /out/d/f && chmod 0640 /out/d/f && ln -s d/f /out/link \
         && ln /out/d/f /out/hard && chmod 0750 /out/d/e && echo x > /out/ro/x && chmod 0555 /out/ro \
         && echo s > /out/suid && chmod 4755 /out/suid && echo g > /out/sgid && chmod 2755 /out/sgid \
         && mkdir /out/tmp && chmod 1777 /out/tmp && mkfifo /out/pipe\n\
         FROM scratch\nCOPY --from=files /out /\n",
        world.registry
    );
    let ctx = support::build::context(&[("Dockerfile", &dockerfile)]);
    let out = tempfile::tempdir().unwrap();
    // Folders that are not there yet, made as buildx makes them.
    let (by_buildx, by_buildlane) = (out.path().join("buildx/new"), out.path().join("buildlane/new"));
    build_into_both(&world, &ctx, &by_buildx, &by_buildlane).await;
    let theirs = tree(&by_buildx);
    assert!(theirs.iter().any(|e| e.starts_with("ro 555 dir")), "{theirs:#?}");
    assert!(theirs.iter().any(|e| e.starts_with("suid 4755 ")), "{theirs:#?}");
    assert!(theirs.iter().any(|e| e.starts_with("pipe 644 fifo")), "{theirs:#?}");
    assert_eq!(tree(&by_buildlane), theirs);
    let made = |folder: &Path| {
        let mode = |p: &Path| std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(p).unwrap()) & 0o7777;
        (mode(folder.parent().unwrap()), mode(folder))
    };
    assert_eq!(made(&by_buildlane), made(&by_buildx), "the folders made on the way");
}

#[tokio::test]
async fn a_socket_and_a_pipe_in_the_context_arrive_as_buildx_sends_them() {
    let world = support::World::new();
    let ctx = support::build::context(&[("Dockerfile", "FROM scratch\nCOPY . /ctx\n"), ("a", "a\n")]);
    // A dev server's socket left in the project, and a named pipe.
    let _socket = std::os::unix::net::UnixListener::bind(ctx.path().join("app.sock")).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        ctx.path().join("pipe"),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (by_buildx, by_buildlane) = (out.path().join("buildx"), out.path().join("buildlane"));
    build_into_both(&world, &ctx, &by_buildx, &by_buildlane).await;
    let theirs = tree(&by_buildx);
    assert!(theirs.iter().any(|e| e.starts_with("ctx/app.sock ") && e.contains(" \"\" links=1 ")), "{theirs:#?}");
    assert!(theirs.iter().any(|e| e.starts_with("ctx/pipe 644 fifo")), "{theirs:#?}");
    assert_eq!(tree(&by_buildlane), theirs);
}
