//! Taking one test's build out of the engine's build cache, and nothing else. The engine and its
//! cache are shared by every test binary and everyone running tests: a whole-cache prune
//! (`docker builder prune --all`) pulls records from under builds in flight elsewhere, and after
//! one, `docker buildx build --load` on the engine answered "failed to solve: not found" for every
//! later build until the engine was restarted.

use std::collections::BTreeSet;

use buildlane_core::builders::cache::prune::PruneForm;
use buildlane_core::builders::cache::CacheRecord;
use tokio_util::sync::CancellationToken;

use super::World;

async fn engine_records(world: &World) -> Vec<CacheRecord> {
    let usage = world.builders().disk_usage(Some("default"), None, &[]).await.unwrap();
    usage.nodes.into_iter().flat_map(|n| n.records).collect()
}

/// Makes sure the engine's own builder holds no record whose description has `marker` (a RUN
/// step's text no other build has), nor any record made on top of one, so that the step must come
/// from elsewhere (an imported cache) next time: removes those there are (a step taken from an
/// imported cache may have left none) and fails the test if any stays. Returns how many it removed.
pub async fn prune_marked(world: &World, marker: &str) -> usize {
    let records = engine_records(world).await;
    let mut marked: BTreeSet<&str> =
        records.iter().filter(|r| r.description.contains(marker)).map(|r| r.id.as_str()).collect();
    if marked.is_empty() {
        return 0;
    }
    // BuildKit keeps a record while a child of it stays: take the descendants too.
    loop {
        let children: Vec<&str> = records
            .iter()
            .filter(|r| !marked.contains(r.id.as_str()) && r.parents.iter().any(|p| marked.contains(p.as_str())))
            .map(|r| r.id.as_str())
            .collect();
        if children.is_empty() {
            break;
        }
        marked.extend(children);
    }
    let ids: Vec<String> = marked.iter().map(|id| format!("^{id}$")).collect();
    let form = PruneForm { all: true, filters: vec![format!("id={}", ids.join("|"))], ..Default::default() };
    // A build's records stay in use for a moment after it ends (BuildKit lets go of them after
    // answering), and a prune passes over records in use: prune until they are gone, 10 s at most.
    let mut left = Vec::new();
    for _ in 0..40 {
        world.builders().prune(Some("default"), None, &form, None, &|_| {}, CancellationToken::new()).await.unwrap();
        left = engine_records(world)
            .await
            .into_iter()
            .filter(|r| marked.contains(r.id.as_str()))
            .map(|r| (r.id, r.in_use))
            .collect::<Vec<_>>();
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(left.is_empty(), "the marked records stayed in the engine's cache (id, in use): {left:?}");
    marked.len()
}
