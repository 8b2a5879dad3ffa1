//! `--output type=oci|docker|tar,dest=FILE`: the file appears whole or not at all. A real build
//! is cancelled while its tarball streams in; the `fake_*` builder (support/hostile_builder.rs)
//! streams into the real session's `FileSend.DiffCopy` as BuildKit does and stops midway, or
//! exports two tarballs in lockstep, which a real build cannot be made to do on cue.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bollard::moby::filesync::v1::file_send_client::FileSendClient;
use bollard::moby::filesync::v1::BytesMessage;
use buildlane_core::buildkit::session::filesend::{OutputDestination, TarballDestination};
use buildlane_core::buildkit::session::SessionServices;
use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildOutput, BuildState};
use support::hostile_builder::fake_hostile_builder;
use tokio::sync::{mpsc, Barrier};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

fn entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

fn tarball_to(dest: &Path) -> SessionServices {
    let output = OutputDestination::Tarball(TarballDestination::File(dest.to_path_buf()));
    SessionServices { outputs: HashMap::from([(0, output)]), ..Default::default() }
}

#[tokio::test]
async fn fake_hostile_builder_an_export_that_stops_midway_leaves_no_temporary_file() {
    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("image.tar");
    let watched: PathBuf = folder.path().to_path_buf();
    let outcome = fake_hostile_builder(tarball_to(&dest), move |channel| {
        Box::pin(async move {
            let (chunks, outbound) = mpsc::channel(4);
            let call =
                tokio::spawn(
                    async move { FileSendClient::new(channel).diff_copy(ReceiverStream::new(outbound)).await },
                );
            chunks.send(BytesMessage { data: vec![7; 4096] }).await.unwrap();
            // The export has started once its temporary file is there; then the builder goes away.
            while entries(&watched).is_empty() {
                tokio::task::yield_now().await;
            }
            call.abort();
            Err("the builder stopped midway".to_owned())
        })
    })
    .await;
    assert!(outcome.is_err());
    // The session serves the aborted call to its end on its own tasks: wait for it to let go.
    assert_eq!(settled(folder.path()).await, Vec::<String>::new(), "no temporary file and no half image.tar");
}

#[tokio::test]
async fn fake_builder_two_tarball_outputs_in_one_folder_keep_their_own_bytes() {
    let folder = tempfile::tempdir().unwrap();
    let together = Arc::new(Barrier::new(2));
    let export = |dest: PathBuf, byte: u8| {
        let together = together.clone();
        fake_hostile_builder(tarball_to(&dest), move |channel| {
            Box::pin(async move {
                let (chunks, outbound) = mpsc::channel(1);
                let call =
                    tokio::spawn(
                        async move { FileSendClient::new(channel).diff_copy(ReceiverStream::new(outbound)).await },
                    );
                // Chunk by chunk in step with the other export, so both are in flight at once.
                for _ in 0..20 {
                    together.wait().await;
                    chunks.send(BytesMessage { data: vec![byte; 1000] }).await.unwrap();
                }
                drop(chunks);
                call.await.unwrap().map(drop).map_err(|s| s.message().to_owned())
            })
        })
    };
    let (oci, docker) =
        tokio::join!(export(folder.path().join("out.oci"), b'o'), export(folder.path().join("out.docker"), b'd'));
    oci.unwrap();
    docker.unwrap();
    assert_eq!(entries(folder.path()), vec!["out.docker", "out.oci"]);
    assert_eq!(std::fs::read(folder.path().join("out.oci")).unwrap(), vec![b'o'; 20_000]);
    assert_eq!(std::fs::read(folder.path().join("out.docker")).unwrap(), vec![b'd'; 20_000]);
}

/// Waits (at most 30 s) for the session to let go of what a stopped export left, then returns
/// what is in the folder.
async fn settled(folder: &Path) -> Vec<String> {
    let emptied = async {
        while !entries(folder).is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), emptied).await;
    entries(folder)
}

#[tokio::test]
async fn a_build_cancelled_while_its_tarball_streams_in_leaves_no_temporary_file() {
    let world = support::World::new();
    // 256 MiB of zeros: quick to make, a few seconds to stream, so the cancel lands mid-transfer.
    let ctx = support::build::context(&[(
        "Dockerfile",
        &format!("FROM {}/busybox:latest\nRUN dd if=/dev/zero of=/big bs=1M count=256\n", world.registry),
    )]);
    let folder = tempfile::tempdir().unwrap();
    let dest = folder.path().join("image.tar");
    let mut request = support::build::request(&ctx);
    request.outputs = vec![BuildOutput::tar(dest.to_string_lossy().into_owned())];
    let cancel = CancellationToken::new();
    let watcher = {
        let (cancel, watched) = (cancel.clone(), folder.path().to_path_buf());
        tokio::spawn(async move {
            while !entries(&watched).iter().any(|n| n.ends_with(".partial")) {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            cancel.cancel();
        })
    };
    let seen = support::build::Seen::default();
    let mut recording = Records::new(&world.env()).recording();
    let outcome = builds::run(&world.builders(), &request, None, &seen.record(), cancel, &mut recording).await.unwrap();
    watcher.abort();
    assert_eq!(outcome.state, BuildState::Cancelled, "{:?}", outcome.failure);
    assert_eq!(settled(folder.path()).await, Vec::<String>::new(), "no temporary file and no half image.tar");
}
