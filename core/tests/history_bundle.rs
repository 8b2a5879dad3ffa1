//! `.dockerbuild` bundles on the real engine: records exported from the engine's BuildKit open as the
//! same builds (refs, names, statuses, errors with their Dockerfile line), replay from the bundle into
//! the lanes and logs the live record replays into, and are laid out as buildx's
//! `util/desktop/bundle/export.go` (through containerd's archive exporter) lays them out. A bundle made
//! by `docker buildx history export` cannot be made here (buildx 0.13.1 has no `history` command: it
//! came in 0.20, `export` in 0.23), so the layout is checked against what its source writes.

mod support;

use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

use buildlane_core::builds::{BuildOutput, BuildState};
use buildlane_core::history::bundle::{Bundle, BundleError, ExportProgress, ExportSelection};
use buildlane_core::history::{BuildHistory, BuildSpec, HistoryEntry, HistoryError, HistoryStatus};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::build::{build, context, request, Seen};
use support::history::{built, failed_terminal_build, history, nonce, registry};
use support::World;
use tokio_util::sync::CancellationToken;

fn refs(specs: &[&str]) -> ExportSelection {
    ExportSelection::Builds(specs.iter().map(|r| BuildSpec::Ref((*r).to_owned())).collect())
}

/// What a user reads of a record, whichever side it came from.
fn shown(e: &HistoryEntry) -> impl PartialEq + std::fmt::Debug {
    (
        e.build_ref.clone(),
        e.name.clone(),
        e.status,
        e.created_at.clone(),
        e.completed_at.clone(),
        e.duration_ms,
        (e.steps_total, e.steps_completed, e.steps_cached),
        (e.context.clone(), e.dockerfile.clone(), e.target.clone(), e.platforms.clone()),
        (e.build_args.clone(), e.labels.clone(), e.outputs.clone()),
        e.error.clone(),
    )
}

async fn export(history: &BuildHistory, selection: &ExportSelection, dest: &Path) -> Vec<ExportProgress> {
    let heard = Mutex::new(Vec::new());
    let summary = history
        .export(selection, false, dest, &|p| heard.lock().unwrap().push(p), CancellationToken::new())
        .await
        .expect("the records export");
    assert_eq!(summary.path, dest.to_string_lossy());
    assert_eq!(summary.bytes, std::fs::metadata(dest).unwrap().len());
    heard.into_inner().unwrap()
}

#[tokio::test]
async fn two_builds_exported_open_as_the_same_records_and_replay_as_the_live_ones() {
    let world = World::new();
    let mut live = Vec::new();
    for i in 0..2 {
        let dockerfile = format!(
            "FROM {}/busybox:latest\nRUN echo {} build-{i} && for n in 1 2 3; do echo line $n; done\n",
            registry(),
            nonce()
        );
        let (ctx, outcome) = built(&world, &dockerfile).await;
        live.push((ctx, outcome.build_ref));
    }
    let history = history(&world).await;
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("two.dockerbuild");
    let heard = export(&history, &refs(&[&live[0].1, &live[1].1]), &dest).await;
    let last = heard.last().expect("progress is reported");
    assert_eq!((last.records, last.blobs_written, last.bytes_written), (2, last.blobs_total, last.bytes_total));

    let bundle = Bundle::open(&dest).await.expect("the bundle opens");
    let opened = bundle.entries();
    assert_eq!(opened.len(), 2);
    for (ctx, build_ref) in &live {
        let spec = BuildSpec::Ref(build_ref.clone());
        let recorded = history.get(&spec).await.unwrap();
        let from_file = opened.iter().find(|e| &e.build_ref == build_ref).expect("the build is in the bundle");
        assert_eq!(shown(from_file), shown(&recorded), "the same record");
        assert_eq!(from_file.name, ctx.path().file_name().unwrap().to_string_lossy(), "named after its folder");
        assert_eq!(from_file.status, HistoryStatus::Completed);
        assert!(!from_file.recorded && from_file.builder.is_empty(), "a file's build is nobody's here");

        let (live_watch, file_watch) = (Seen::default(), Seen::default());
        let live_replay = history.replay(&spec, &live_watch.record(), CancellationToken::new()).await.unwrap();
        let file_replay = bundle.replay(&spec, &file_watch.record(), CancellationToken::new()).await.unwrap();
        let (live_seen, file_seen) = (live_watch.get(), file_watch.get());
        assert_eq!(file_seen.steps, live_seen.steps, "the same steps, lanes and times");
        assert_eq!(file_seen.logs, live_seen.logs, "the same logs, step by step");
        assert!(file_seen.logs.values().any(|l| l.contains("line 3")));
        assert_eq!(file_replay.outcome.steps, live_replay.outcome.steps);
        assert_eq!(file_replay.outcome.state, BuildState::Succeeded);
    }
    // Offsets count from the newest, as in the live history.
    assert_eq!(bundle.get(&BuildSpec::Offset(0)).unwrap().build_ref, live[1].1);
    assert_eq!(bundle.get(&BuildSpec::Offset(1)).unwrap().build_ref, live[0].1);
    assert!(matches!(bundle.get(&BuildSpec::Offset(2)), Err(BundleError::NoSuchOffset { count: 2, .. })));
    assert!(matches!(bundle.get(&BuildSpec::Ref("nosuchref".into())), Err(BundleError::NotFound { .. })));

    for (_, build_ref) in &live {
        history.delete(build_ref).await.unwrap();
    }
}

#[tokio::test]
async fn a_failed_builds_error_line_survives_the_round_trip() {
    let world = World::new();
    let (history, entry) = failed_terminal_build(&world).await;

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("failed.dockerbuild");
    export(&history, &refs(&[&entry.build_ref]), &dest).await;
    let bundle = Bundle::open(&dest).await.unwrap();
    let spec = BuildSpec::Ref(entry.build_ref.clone());
    let opened = bundle.get(&spec).unwrap();
    assert_eq!(opened.status, HistoryStatus::Failed);
    let error = opened.error.clone().expect("the error came along");
    assert_eq!(error, entry.error.clone().unwrap());
    assert_eq!((error.dockerfile_name.as_deref(), error.dockerfile_line), (Some("Dockerfile"), Some(3)));
    assert_eq!(error.lines, ["RUN exit 3"]);
    assert!(error.message.contains("exit code: 3"), "{}", error.message);

    let replay = bundle.replay(&spec, &|_| {}, CancellationToken::new()).await.unwrap();
    assert_eq!(replay.outcome.state, BuildState::Failed);
    let failure = replay.outcome.failure.expect("a failure to show");
    assert_eq!(failure.dockerfile_line, Some(3));
    assert!(failure.step.expect("the failed step").name.contains("exit 3"));

    history.delete(&entry.build_ref).await.unwrap();
}

/// A bundle's tar, read without Buildlane: each entry's name, mode and bytes, in order.
fn unpack(path: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let raw = std::fs::read(path).unwrap();
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip'd, as buildx writes it");
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&raw[..]));
    let mut out = Vec::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.path_bytes().to_vec()).unwrap();
        let mode = entry.header().mode().unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        out.push((name, mode, data));
    }
    out
}

fn blob<'a>(files: &'a [(String, u32, Vec<u8>)], digest: &str) -> &'a [u8] {
    let name = format!("blobs/sha256/{}", digest.strip_prefix("sha256:").unwrap());
    &files.iter().find(|f| f.0 == name).unwrap_or_else(|| panic!("{name} is in the bundle")).2
}

fn json(data: &[u8]) -> Value {
    serde_json::from_slice(data).unwrap()
}

#[tokio::test]
async fn the_bundle_is_laid_out_as_buildx_writes_it() {
    let world = World::new();
    let mut built = Vec::new();
    for i in 0..2 {
        let ctx =
            context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo {} {i}\n", registry(), nonce()))]);
        // Pushed, so the record has a result: the image's manifest, which goes in as JSON.
        let tag = format!("{}/bundle-layout:{}-{i}", registry(), nonce());
        let req = buildlane_core::builds::BuildRequest {
            tags: vec![tag],
            outputs: vec![BuildOutput::push()],
            ..request(&ctx)
        };
        let outcome = build(&world, req, &Seen::default()).await;
        assert_eq!(outcome.state, BuildState::Succeeded, "{outcome:#?}");
        built.push((ctx, outcome.build_ref));
    }
    let history = history(&world).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("layout.dockerbuild");
    export(&history, &refs(&[&built[0].1, &built[1].1]), &dest).await;
    let files = unpack(&dest);

    // containerd's archive exporter: entries sorted by name, each blob once, no manifest.json.
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(names, sorted);
    assert_eq!(&names[..2], ["blobs/", "blobs/sha256/"]);
    assert_eq!(&names[names.len() - 2..], ["index.json", "oci-layout"]);
    for (name, mode, data) in &files {
        match name.as_str() {
            "blobs/" | "blobs/sha256/" => assert_eq!(*mode, 0o755),
            "index.json" => assert_eq!(*mode, 0o644),
            "oci-layout" => assert_eq!((*mode, &data[..]), (0o444, &br#"{"imageLayoutVersion":"1.0.0"}"#[..])),
            blob => {
                assert_eq!(*mode, 0o444);
                assert_eq!(blob, format!("blobs/sha256/{}", hex::encode(Sha256::digest(data))), "named by its digest");
            }
        }
    }

    // index.json names one index; its entries are the records' manifests, each with its ref.
    let index_json = json(&files.iter().find(|f| f.0 == "index.json").unwrap().2);
    assert_eq!(index_json["schemaVersion"], 2);
    assert_eq!(index_json["mediaType"], "application/vnd.oci.image.index.v1+json");
    let top = index_json["manifests"].as_array().unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["mediaType"], "application/vnd.oci.image.index.v1+json");
    let index_blob = blob(&files, top[0]["digest"].as_str().unwrap());
    assert!(index_blob.starts_with(b"{\n  \"schemaVersion\": 2,\n  \"mediaType\""), "MarshalIndent'd");
    let index = json(index_blob);
    let entries = index["manifests"].as_array().unwrap();
    let annotated: Vec<&str> =
        entries.iter().map(|m| m["annotations"]["vnd.buildkit.history.reference"].as_str().unwrap()).collect();
    assert_eq!(annotated, [built[0].1.as_str(), built[1].1.as_str()]);

    for (entry, (ctx, build_ref)) in entries.iter().zip(&built) {
        assert_eq!(entry["mediaType"], "application/vnd.oci.image.manifest.v1+json");
        let manifest = json(blob(&files, entry["digest"].as_str().unwrap()));
        assert_eq!(manifest["schemaVersion"], 2);
        assert_eq!(manifest["config"]["mediaType"], "application/vnd.buildkit.historyrecord.v0");
        let record = json(blob(&files, manifest["config"]["digest"].as_str().unwrap()));
        // The Go struct's fields, by their proto names.
        assert_eq!(record["Ref"], build_ref.as_str());
        assert_eq!(record["Frontend"], "dockerfile.v0");
        assert!(record["CreatedAt"]["seconds"].as_i64().unwrap() > 0);
        assert!(record["CompletedAt"]["seconds"].as_i64().unwrap() > 0);
        assert!(record["numTotalSteps"].as_i64().unwrap() >= 2);
        assert_eq!(record["DefaultPlatform"], "linux/amd64");
        assert_eq!(record["localState"]["LocalPath"], ctx.path().to_string_lossy().as_ref());
        assert_eq!(record["logs"]["media_type"], "application/vnd.buildkit.status.v0");

        let layers = manifest["layers"].as_array().unwrap();
        let media: Vec<&str> = layers.iter().map(|l| l["mediaType"].as_str().unwrap()).collect();
        assert_eq!(media[0], "application/vnd.buildkit.status.v0", "the logs first (no trace here)");
        assert_eq!(layers[0]["digest"], record["logs"]["digest"]);
        assert!(media.contains(&"application/vnd.in-toto+json"), "the provenance: {media:?}");
        let results: Vec<&Value> = layers.iter().filter(|l| l["mediaType"] == "application/json").collect();
        assert!(!results.is_empty(), "the result's manifest: {media:?}");
        for result in results {
            let original = result["annotations"]["vnd.export-build.descriptor.mediatype"].as_str().unwrap();
            assert!(original.starts_with("application/vnd.oci.image."), "{original}");
            assert_eq!(json(blob(&files, result["digest"].as_str().unwrap()))["mediaType"], original);
        }
        for layer in layers {
            assert_eq!(blob(&files, layer["digest"].as_str().unwrap()).len() as u64, layer["size"].as_u64().unwrap());
        }
    }

    // One record: index.json names its manifest itself, without annotations.
    let one = dir.path().join("one.dockerbuild");
    export(&history, &ExportSelection::Builds(vec![BuildSpec::Ref(built[1].1.clone())]), &one).await;
    let files = unpack(&one);
    let index_json = json(&files.iter().find(|f| f.0 == "index.json").unwrap().2);
    let top = index_json["manifests"].as_array().unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert!(top[0].get("annotations").is_none());
    let manifest = json(blob(&files, top[0]["digest"].as_str().unwrap()));
    assert_eq!(json(blob(&files, manifest["config"]["digest"].as_str().unwrap()))["Ref"], built[1].1.as_str());

    for (_, build_ref) in &built {
        history.delete(build_ref).await.unwrap();
    }
}

#[tokio::test]
async fn a_truncated_foreign_or_missing_file_is_a_clear_error() {
    let world = World::new();
    let (_ctx, outcome) = built(&world, &format!("FROM {}/busybox:latest\nRUN echo {}\n", registry(), nonce())).await;
    let history = history(&world).await;
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.dockerbuild");
    export(&history, &refs(&[&outcome.build_ref]), &whole).await;
    let bytes = std::fs::read(&whole).unwrap();

    let cut = dir.path().join("cut.dockerbuild");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let error = Bundle::open(&cut).await.err().expect("a bundle cut in half is refused");
    assert!(matches!(error, BundleError::Damaged { .. }), "{error}");
    assert!(error.to_string().starts_with(&format!("{} is damaged: ", cut.display())), "{error}");

    let garbage = dir.path().join("garbage.dockerbuild");
    std::fs::write(&garbage, b"this is not a bundle, only text\n".repeat(40)).unwrap();
    let error = Bundle::open(&garbage).await.err().unwrap();
    assert!(matches!(error, BundleError::Foreign { .. }), "{error}");
    assert!(error.to_string().contains("is not a .dockerbuild bundle"), "{error}");

    // A plain tar of other files, and a gzip'd one: foreign.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(5);
    header.set_mode(0o644);
    tar.append_data(&mut header, "hello.txt", &b"hello"[..]).unwrap();
    let plain = tar.into_inner().unwrap();
    let tarred = dir.path().join("other.tar");
    std::fs::write(&tarred, &plain).unwrap();
    assert!(matches!(Bundle::open(&tarred).await, Err(BundleError::Foreign { .. })));

    let missing = Bundle::open(&dir.path().join("nope.dockerbuild")).await.err().unwrap();
    assert!(matches!(missing, BundleError::Read { .. }), "{missing}");
    assert!(matches!(Bundle::open(dir.path()).await, Err(BundleError::NotAFile { .. })));

    // The whole one still opens.
    assert_eq!(Bundle::open(&whole).await.unwrap().entries()[0].build_ref, outcome.build_ref);
    history.delete(&outcome.build_ref).await.unwrap();
}

#[tokio::test]
async fn an_export_that_fails_or_is_cancelled_leaves_nothing_behind() {
    let world = World::new();
    let (_ctx, outcome) = built(&world, &format!("FROM {}/busybox:latest\nRUN echo {}\n", registry(), nonce())).await;
    let history = history(&world).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("kept.dockerbuild");
    std::fs::write(&dest, "an older file").unwrap();
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };

    let cancel = CancellationToken::new();
    cancel.cancel();
    let cancelled = history.export(&refs(&[&outcome.build_ref]), false, &dest, &|_| {}, cancel).await;
    assert!(matches!(cancelled, Err(BundleError::Cancelled)), "{cancelled:?}");
    let offset = history
        .export(
            &ExportSelection::Builds(vec![BuildSpec::Offset(100_000)]),
            false,
            &dest,
            &|_| {},
            CancellationToken::new(),
        )
        .await;
    assert!(matches!(offset, Err(BundleError::History(HistoryError::NoSuchOffset { .. }))), "{offset:?}");
    assert_eq!(listing(), ["kept.dockerbuild"], "no partial file");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "an older file");

    let nowhere = dir.path().join("no-such-folder").join("x.dockerbuild");
    let error = history.export(&refs(&[&outcome.build_ref]), false, &nowhere, &|_| {}, CancellationToken::new()).await;
    let error = error.expect_err("no folder to write into");
    assert!(matches!(error, BundleError::Write { .. }), "{error}");
    assert!(error.to_string().contains("no such file or directory"), "{error}");

    // --finalize on a BuildKit older than 0.15 is a pin update to the same pin: the record stays pinned.
    history.set_pinned(&outcome.build_ref, true).await.unwrap();
    history.export(&refs(&[&outcome.build_ref]), true, &dest, &|_| {}, CancellationToken::new()).await.unwrap();
    assert!(history.get(&BuildSpec::Ref(outcome.build_ref.clone())).await.unwrap().pinned);
    assert_eq!(listing(), ["kept.dockerbuild"]);
    assert_eq!(Bundle::open(&dest).await.unwrap().entries()[0].build_ref, outcome.build_ref);

    history.delete(&outcome.build_ref).await.unwrap();
}
