//! What BuildKit history tests arrange: Dockerfiles with a line no other build has (so no step is
//! cached from another test), the history of the engine's own builder, a build run through
//! Buildlane or a terminal's buildx, and its record found by the folder it was built from.

use buildlane_core::builds::{BuildOutcome, BuildState};
use buildlane_core::history::{BuildHistory, HistoryEntry};

use super::build::{build, context, request, Seen};
use super::World;

/// A value no other build used: put in a RUN line, it makes the step run rather than hit the cache.
pub fn nonce() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

pub fn registry() -> String {
    std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set")
}

/// The history of the engine's own builder.
pub async fn history(world: &World) -> BuildHistory {
    BuildHistory::connect(&world.builders(), "", None).await.expect("the engine's BuildKit keeps a history")
}

/// The name buildx gives a build of the context folder `dir`: the folder's own name.
pub fn folder_name(dir: &tempfile::TempDir) -> String {
    dir.path().file_name().unwrap().to_string_lossy().into_owned()
}

/// The record of the only build of the folder `name`, as listed.
pub async fn listed(history: &BuildHistory, name: &str) -> HistoryEntry {
    let entries = history.list().await.unwrap();
    let mine: Vec<_> = entries.into_iter().filter(|e| e.name == name).collect();
    assert_eq!(mine.len(), 1, "one record named {name}: {mine:#?}");
    mine.into_iter().next().unwrap()
}

/// Buildlane builds `dockerfile` from a folder of its own on the engine's builder, and it succeeds.
pub async fn built(world: &World, dockerfile: &str) -> (tempfile::TempDir, BuildOutcome) {
    let ctx = context(&[("Dockerfile", dockerfile)]);
    let outcome = build(world, request(&ctx), &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    (ctx, outcome)
}

/// A terminal's `docker buildx build` whose third Dockerfile line, `RUN exit 3`, fails; its record.
pub async fn failed_terminal_build(world: &World) -> (BuildHistory, HistoryEntry) {
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo {}\nRUN exit 3\n", registry(), nonce()))]);
    let out = world.docker(&["buildx", "build", "--progress", "plain", &ctx.path().to_string_lossy()]);
    assert!(!out.status.success(), "the build fails");
    let history = history(world).await;
    let entry = listed(&history, &folder_name(&ctx)).await;
    (history, entry)
}
