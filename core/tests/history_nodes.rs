//! The history of a builder of two nodes, each its own BuildKit: the shared engine's, and a private
//! engine's (two dockerds, two embedded BuildKits, so two separate histories), each reached as a
//! remote node through a relay. A docker-container node cannot boot on these machines (no BuildKit
//! image can be pulled), so remote nodes stand for them; the history code is the same for both.
//! Each build goes to the node its platform is pinned on; the history lists both with their
//! node, reads and deletes each on its own node, follows both live, and when one node goes away
//! lists the other's and names the one missing.

mod support;

use std::time::Duration;

use buildlane_core::builders::CreateBuilderRequest;
use buildlane_core::builds::{BuildOutcome, BuildRequest, BuildState};
use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::history::{BuildHistory, BuildSpec, HistoryError, HistoryEvent, ReplaySource};
use futures_util::StreamExt;
use support::build::{build, context, request, Seen};
use support::gc_engine::GcEngine;
use support::nodes::{farm, silent_daemon, CountingNode};
use support::{no_progress, World};
use tokio_util::sync::CancellationToken;

/// A build of a context of its own (so its record is told apart) for `platform`, which sends it to
/// the node pinned to that platform.
async fn build_for(world: &World, platform: &str) -> BuildOutcome {
    let nonce = format!("{}-{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let ctx = context(&[("Dockerfile", "FROM scratch\nCOPY nonce /nonce\n"), ("nonce", &nonce)]);
    let request = BuildRequest { builder: "farm".into(), platforms: vec![platform.into()], ..request(&ctx) };
    let outcome = build(world, request, &Seen::default()).await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{outcome:#?}");
    outcome
}

/// Builder `farm`: node `farm0` (linux/amd64) on the shared engine's BuildKit, node `farm1`
/// (linux/arm64) on the private engine's.
struct Farm {
    world: World,
    shared: CountingNode,
    private: CountingNode,
    // Dropped last: the relay to it goes first.
    _engine: GcEngine,
}

async fn two_node_farm() -> Farm {
    let world = World::new();
    let engine = GcEngine::start();
    let shared = CountingNode::start(&world.host).await;
    let private = CountingNode::start(&engine.host()).await;
    farm(&world, "farm", &[(&shared, "linux/amd64"), (&private, "linux/arm64")]).await;
    Farm { world, shared, private, _engine: engine }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_nodes_builds_are_listed_with_their_node_and_read_and_deleted_there() {
    let farm = two_node_farm().await;
    let on_first = build_for(&farm.world, "linux/amd64").await;
    let on_second = build_for(&farm.world, "linux/arm64").await;
    assert_eq!((farm.shared.solves().len(), farm.private.solves().len()), (1, 1), "one build on each node");

    let history = BuildHistory::connect(&farm.world.builders(), "farm", None).await.unwrap();
    assert_eq!(history.nodes(), ["farm0", "farm1"]);
    let listing = history.listing().await.unwrap();
    assert!(listing.unreachable.is_empty(), "{:#?}", listing.unreachable);
    let node_of = |build_ref: &str| -> Vec<String> {
        listing.entries.iter().filter(|e| e.build_ref == build_ref).map(|e| e.node.clone()).collect()
    };
    assert_eq!(node_of(&on_first.build_ref), ["farm0"]);
    assert_eq!(node_of(&on_second.build_ref), ["farm1"], "the private engine's record, listed once, on its node");

    // The second node's record opens from that node: its record, its logs blob replayed.
    let second = BuildSpec::Ref(on_second.build_ref.clone());
    let entry = history.get(&second).await.unwrap();
    assert_eq!((entry.node.as_str(), entry.platforms.clone()), ("farm1", vec!["linux/arm64".to_owned()]));
    let replay = history.replay(&second, &|_| {}, CancellationToken::new()).await.unwrap();
    assert_eq!(replay.source, ReplaySource::LogsBlob);
    assert!(replay.outcome.steps.iter().any(|s| s.name.contains("COPY nonce /nonce")), "{:#?}", replay.outcome.steps);

    // Deleting it deletes it on its node; the first node's record stays.
    history.delete(&on_second.build_ref).await.unwrap();
    let after = history.list().await.unwrap();
    assert!(!after.iter().any(|e| e.build_ref == on_second.build_ref), "deleted on farm1");
    assert!(after.iter().any(|e| e.build_ref == on_first.build_ref && e.node == "farm0"));
    assert!(matches!(history.get(&second).await, Err(HistoryError::NotFound { .. })));
}

#[tokio::test(flavor = "multi_thread")]
async fn builds_on_either_node_are_followed_live_with_their_node() {
    let farm = two_node_farm().await;
    let history = BuildHistory::connect(&farm.world.builders(), "farm", None).await.unwrap();
    let mut events = Box::pin(history.watch().await.unwrap());
    let built = build_for(&farm.world, "linux/arm64").await;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(event) = events.next().await {
            if let HistoryEvent::Completed { entry } = event.unwrap() {
                if entry.build_ref == built.build_ref {
                    return entry;
                }
            }
        }
        panic!("the history stream ended");
    })
    .await
    .expect("the build's completion is seen");
    assert_eq!(ended.node, "farm1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_gone_away_is_named_and_the_others_records_are_still_listed() {
    let mut farm = two_node_farm().await;
    let on_first = build_for(&farm.world, "linux/amd64").await;
    let on_second = build_for(&farm.world, "linux/arm64").await;
    farm.private.cut();

    let history = BuildHistory::connect(&farm.world.builders(), "farm", None).await.unwrap();
    assert_eq!(history.nodes(), ["farm0"]);
    let listing = history.listing().await.unwrap();
    assert!(listing.entries.iter().any(|e| e.build_ref == on_first.build_ref && e.node == "farm0"));
    let [gone] = &listing.unreachable[..] else { panic!("one node missing: {:#?}", listing.unreachable) };
    assert_eq!((gone.node.as_str(), gone.code), ("farm1", ErrorCode::EngineUnreachable), "{gone:#?}");
    assert!(gone.message.starts_with("node farm1: "), "{}", gone.message);

    // The view hears of it first thing, and from the builder's support.
    let mut events = Box::pin(history.watch().await.unwrap());
    match events.next().await.unwrap().unwrap() {
        HistoryEvent::NodeFailed { failure } => assert_eq!(failure.node, "farm1"),
        other => panic!("the missing node first: {other:#?}"),
    }
    let support = history.support().await.unwrap();
    assert_eq!(support.nodes.iter().map(|n| n.node.as_str()).collect::<Vec<_>>(), ["farm0"]);
    assert_eq!(support.unreachable.iter().map(|n| n.node.as_str()).collect::<Vec<_>>(), ["farm1"]);

    // A record that may be on the missing node is not said to be nowhere.
    let missing = history.get(&BuildSpec::Ref(on_second.build_ref.clone())).await.unwrap_err();
    assert!(matches!(missing, HistoryError::NodesUnasked { .. }), "{missing:?}");
    assert_eq!(missing.code(), ErrorCode::EngineUnreachable);
    assert!(missing.to_string().ends_with("farm1 could not be asked"), "{missing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_that_accepts_and_never_answers_is_named_once_its_time_is_up() {
    let world = World::new();
    let shared = CountingNode::start(&world.host).await;
    farm(&world, "farm", &[(&shared, "linux/amd64")]).await;
    let socket = world.dir.path().join("silent.sock");
    let silent = CreateBuilderRequest {
        name: "farm".into(),
        append: true,
        node: "farm1".into(),
        endpoint: format!("unix://{}", socket.display()),
        platforms: vec!["linux/arm64".into()],
        ..Default::default()
    };
    world.builders().create(&silent, None, &no_progress).await.unwrap();
    let _silent = silent_daemon(&socket);
    let built = build_for(&world, "linux/amd64").await;

    let builders = world.builders().with_probe_timeout(Duration::from_secs(3));
    let asked = async {
        let history = BuildHistory::connect(&builders, "farm", None).await.unwrap();
        let listing = history.listing().await.unwrap();
        let mut events = Box::pin(history.watch().await.unwrap());
        let first = events.next().await.unwrap().unwrap();
        (listing, first)
    };
    let (listing, first) = tokio::time::timeout(Duration::from_secs(60), asked).await.expect("the history came back");
    assert!(listing.entries.iter().any(|e| e.build_ref == built.build_ref && e.node == "farm0"));
    let [silent] = &listing.unreachable[..] else { panic!("one node missing: {:#?}", listing.unreachable) };
    assert_eq!((silent.node.as_str(), silent.code), ("farm1", ErrorCode::EngineUnreachable));
    assert_eq!(silent.message, "node farm1: BuildKit did not answer within 3s");
    match first {
        HistoryEvent::NodeFailed { failure } => assert_eq!(failure, *silent),
        other => panic!("the silent node first: {other:#?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_kept_on_two_nodes_under_one_ref_opens_as_the_named_nodes() {
    let world = World::new();
    // Two nodes on one BuildKit keep the same records, as buildx's nodes of one build keep one ref.
    let (first, mut second) = (CountingNode::start(&world.host).await, CountingNode::start(&world.host).await);
    farm(&world, "farm", &[(&first, "linux/amd64"), (&second, "linux/arm64")]).await;
    let built = build_for(&world, "linux/amd64").await;
    let spec = BuildSpec::Ref(built.build_ref.clone());

    let builders = world.builders();
    let history = || BuildHistory::connect(&builders, "farm", None);
    assert_eq!(history().await.unwrap().get(&spec).await.unwrap().node, "farm0", "unnamed: the first node's");
    let on_second = history().await.unwrap().only_node("farm1").unwrap();
    assert_eq!(on_second.get(&spec).await.unwrap().node, "farm1");
    assert_eq!(on_second.nodes(), ["farm1"]);

    let nowhere = history().await.unwrap().only_node("farm7").err().unwrap();
    assert_eq!(nowhere.to_string(), "builder farm has no node farm7");
    assert_eq!(nowhere.code(), ErrorCode::NotFound);
    second.cut();
    let gone = history().await.unwrap().only_node("farm1").err().unwrap();
    assert_eq!(gone.code(), ErrorCode::EngineUnreachable);
    assert!(gone.to_string().starts_with("node farm1: "), "{gone}");
}
