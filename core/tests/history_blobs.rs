//! A finished build's record read through BuildKit's content store: its logs blob holds the very
//! status stream `Control.Status` serves (the oracle `docker buildx history logs` reads), a replay of
//! it is taken from the blob, and the provenance BuildKit recorded with the result reads back as its
//! predicate's JSON, summarised as the Images inspector summarises a pushed one.

mod support;

use buildlane_core::buildkit::Control;
use buildlane_core::builds::BuildState;
use buildlane_core::history::blobs::{self, BlobKind};
use buildlane_core::history::{BuildHistory, BuildSpec, ReplaySource};
use futures_util::StreamExt;
use support::build::{build, context, request, Seen};
use support::history::nonce;
use support::World;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_finished_build_replays_from_its_logs_blob_which_holds_what_buildkit_serves_as_its_status() {
    let world = World::new();
    let registry = std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set");
    let dockerfile = format!("FROM {registry}/busybox:latest\nRUN echo {} && echo blob-line-2\n", nonce());
    let ctx = context(&[("Dockerfile", &dockerfile)]);
    let live = build(&world, request(&ctx), &Seen::default()).await;
    assert_eq!(live.state, BuildState::Succeeded);

    let control = Control::engine(&world.host).await.unwrap();
    let listed = control.listen_build_history(&live.build_ref, true).await.unwrap();
    let record = std::pin::pin!(listed.events).next().await.unwrap().unwrap().record.unwrap();
    let logs = record.logs.clone().expect("a finished record has its logs blob");
    assert_eq!(logs.media_type, blobs::STATUS_MEDIA_TYPE);
    let from_blob =
        blobs::statuses(&logs.digest, &blobs::read(&control, &logs, BlobKind::Logs).await.unwrap()).unwrap();
    let served: Vec<_> = control.status(&live.build_ref).await.unwrap().map(|s| s.unwrap()).collect::<Vec<_>>().await;
    assert_eq!(from_blob, served, "the blob is the stream Control.Status replays");

    let history = BuildHistory::connect(&world.builders(), "", None).await.unwrap();
    let spec = BuildSpec::Ref(live.build_ref.clone());
    let replay = history.replay(&spec, &|_| {}, CancellationToken::new()).await.unwrap();
    assert_eq!(replay.source, ReplaySource::LogsBlob);
    assert_eq!(replay.outcome.state, BuildState::Succeeded);
    assert_eq!(replay.outcome.steps.len(), live.steps.len());

    let recorded = history.blobs(&spec).await.unwrap();
    let provenance = recorded.attachments.iter().find(|a| a.is_provenance()).expect("BuildKit records provenance");
    let opened = history.attestation(&spec, &provenance.digest).await.unwrap();
    // BuildKit keeps the predicate alone (the statement's subject is the result, recorded beside it).
    let statement: serde_json::Value = serde_json::from_str(&opened.raw).unwrap();
    assert_eq!(statement["buildType"], "https://mobyproject.org/buildkit@v1");
    // Summarised as the Images inspector summarises a pushed one; this build pushed nothing.
    assert_eq!(recorded.pushed_image, None);
    let summary = opened.attestation.provenance.expect("read as provenance");
    assert_eq!(summary.build_type.as_deref(), Some("https://mobyproject.org/buildkit@v1"));
    assert!(summary.materials.iter().any(|m| m.uri.contains("busybox")), "{:?}", summary.materials);
    let materials = statement["materials"].as_array().expect("materials");
    assert!(materials.iter().any(|m| m["uri"].as_str().is_some_and(|u| u.contains("busybox"))), "{materials:?}");
    // As `history inspect` lists them.
    assert_eq!(recorded.materials.len(), materials.len());
    assert!(recorded.materials.iter().any(|m| m.uri.contains("busybox")));
    assert!(recorded.materials.iter().all(|m| m.digests.iter().all(|d| d.starts_with("sha256:"))));

    history.delete(&live.build_ref).await.unwrap();
}
