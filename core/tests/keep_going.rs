//! Keep going when one platform fails, and retry it: a Dockerfile whose RUN fails only on arm64
//! (QEMU runs it), built for amd64 and arm64 with push on a one-node builder whose node is the
//! engine's own BuildKit behind a relay that notes each solve's platforms. With keep-going each
//! platform is its own solve: amd64 finishes and is pushed by digest, and nothing goes under the
//! tag unless the user asked to push what succeeded; without it the build fails as buildx's does.
//! Retrying arm64 once the context is fixed solves arm64 alone and puts both under the tag.

mod support;

use buildlane_core::builders::CreateBuilderRequest;
use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildError, BuildOutcome, BuildOutput, BuildRequest, BuildState, PlatformRetry};
use buildlane_core::error_code::{Coded, ErrorCode};
use support::build::{build, context, request, Seen};
use support::nodes::CountingNode;
use support::{no_progress, World};
use tokio_util::sync::CancellationToken;

const BOTH: [&str; 2] = ["linux/amd64", "linux/arm64"];

/// A remote builder `solo` of one node, the engine's BuildKit behind `node`.
async fn solo(world: &World, node: &CountingNode) {
    let create = CreateBuilderRequest {
        name: "solo".into(),
        driver: "remote".into(),
        endpoint: node.address.clone(),
        ..Default::default()
    };
    world.builders().create(&create, None, &no_progress).await.unwrap();
}

/// A context whose RUN (line 3) fails on arm64 until `state` says `fixed`.
fn fails_on_arm64(world: &World) -> tempfile::TempDir {
    context(&[
        (
            "Dockerfile",
            &format!(
                "FROM {}/busybox:latest\nCOPY state /state\nRUN [ \"$(uname -m)\" != aarch64 ] || grep -q fixed /state\nCMD [\"uname\", \"-m\"]\n",
                world.registry
            ),
        ),
        ("state", "broken"),
    ])
}

/// A repository of this test's own.
fn repository(world: &World, name: &str) -> String {
    format!("{}/buildlane-test/keep-going-{name}-{}", world.registry, std::process::id())
}

fn pushing(ctx: &tempfile::TempDir, tag: &str) -> BuildRequest {
    BuildRequest {
        builder: "solo".into(),
        platforms: BOTH.iter().map(|p| p.to_string()).collect(),
        tags: vec![tag.to_owned()],
        outputs: vec![BuildOutput::push()],
        keep_going: true,
        ..request(ctx)
    }
}

/// The platforms of an index as `docker buildx imagetools inspect --raw` prints it, attestations
/// (`unknown/unknown`) left out, in order.
fn platforms_of(world: &World, reference: &str) -> Vec<String> {
    let index: serde_json::Value = serde_json::from_str(&world.imagetools(&["--raw"], reference)).expect("an index");
    index["manifests"]
        .as_array()
        .expect("an index")
        .iter()
        .map(|m| {
            format!("{}/{}", m["platform"]["os"].as_str().unwrap(), m["platform"]["architecture"].as_str().unwrap())
        })
        .filter(|p| p != "unknown/unknown")
        .collect()
}

fn nothing_under(world: &World, tag: &str) -> bool {
    !world.docker(&["buildx", "imagetools", "inspect", tag]).status.success()
}

fn sorted(mut solves: Vec<String>) -> Vec<String> {
    solves.sort();
    solves
}

fn result<'a>(outcome: &'a BuildOutcome, platform: &str) -> &'a builds::keep_going::PlatformResult {
    outcome.platform_results.iter().find(|r| r.platform == platform).expect("a result per platform")
}

#[tokio::test(flavor = "multi_thread")]
async fn with_keep_going_amd64_finishes_and_is_pushed_by_digest_while_arm64_fails_and_nothing_goes_under_the_tag() {
    let world = World::new();
    let node = CountingNode::start(&world.host).await;
    solo(&world, &node).await;
    let ctx = fails_on_arm64(&world);
    let repository = repository(&world, "kept");
    let tag = format!("{repository}:1");
    let seen = Seen::default();
    let outcome = build(&world, pushing(&ctx, &tag), &seen).await;

    assert_eq!(outcome.state, BuildState::Failed);
    assert_eq!(sorted(node.solves()), BOTH, "one solve per platform");
    let (amd64, arm64) = (result(&outcome, "linux/amd64"), result(&outcome, "linux/arm64"));
    assert_eq!(amd64.state, BuildState::Succeeded, "{amd64:?}");
    assert_eq!(arm64.state, BuildState::Failed);
    assert_eq!(arm64.dockerfile_line, Some(3), "{arm64:?}");
    assert!(arm64.error.as_deref().unwrap().contains("exit code: 1"), "{arm64:?}");
    let failure = outcome.failure.as_ref().expect("why it failed");
    assert_eq!((failure.platform.as_deref(), failure.dockerfile_line), (Some("linux/arm64"), Some(3)));
    assert_eq!(failure.succeeded_platforms, ["linux/amd64"]);

    // amd64 is in the repository by digest; the tag holds nothing.
    let digest = amd64.digest.clone().expect("amd64's image");
    assert_eq!(platforms_of(&world, &format!("{repository}@{digest}")), ["linux/amd64"]);
    assert!(nothing_under(&world, &tag));
    assert!(outcome.tags.is_empty() && outcome.digest.is_none(), "{outcome:?}");

    // Its lane finished while arm64's failed.
    let seen = seen.get();
    let lane = |platform: &str| seen.steps.values().filter(|s| s.lane == platform).map(|s| s.state).collect::<Vec<_>>();
    use buildlane_core::progress::StepState;
    assert!(
        lane("linux/amd64").iter().all(|s| matches!(s, StepState::Done | StepState::Cached)),
        "{:?}",
        lane("linux/amd64")
    );
    assert!(lane("linux/arm64").contains(&StepState::Failed));
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_engines_own_buildkit_two_solves_share_the_node_and_amd64_is_pushed_by_digest() {
    let world = World::new();
    let ctx = fails_on_arm64(&world);
    let repository = repository(&world, "engine");
    let request = BuildRequest { builder: String::new(), ..pushing(&ctx, &format!("{repository}:1")) };
    let outcome = build(&world, request, &Seen::default()).await;

    assert_eq!(outcome.state, BuildState::Failed);
    let (amd64, arm64) = (result(&outcome, "linux/amd64"), result(&outcome, "linux/arm64"));
    assert_eq!((amd64.state, arm64.state), (BuildState::Succeeded, BuildState::Failed), "{outcome:?}");
    assert_eq!((amd64.node.as_str(), arm64.node.as_str()), ("default", "default"));
    let digest = amd64.digest.clone().expect("amd64's image");
    assert_eq!(platforms_of(&world, &format!("{repository}@{digest}")), ["linux/amd64"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pushing_what_succeeded_puts_an_index_of_amd64_alone_under_the_tag_and_names_arm64_missing() {
    let world = World::new();
    let node = CountingNode::start(&world.host).await;
    solo(&world, &node).await;
    let ctx = fails_on_arm64(&world);
    let tag = format!("{}:partial", repository(&world, "partial"));
    let outcome = build(&world, BuildRequest { push_partial: true, ..pushing(&ctx, &tag) }, &Seen::default()).await;

    assert_eq!(outcome.state, BuildState::Failed, "arm64 still failed");
    assert_eq!(outcome.tags, std::slice::from_ref(&tag));
    assert_eq!(platforms_of(&world, &tag), ["linux/amd64"]);
    let pushed = format!("sha256:{}", hex_sha256(world.imagetools(&["--raw"], &tag).as_bytes()));
    assert_eq!(outcome.digest.as_deref(), Some(pushed.as_str()));
    assert_eq!(builds::keep_going::missing(&outcome.platform_results), ["linux/arm64"]);
    assert_eq!(world.docker_ok(&["run", "--rm", "--platform", "linux/amd64", &tag]).trim(), "x86_64");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_keep_going_one_solve_fails_every_platform_as_buildx_fails_it() {
    let world = World::new();
    let node = CountingNode::start(&world.host).await;
    solo(&world, &node).await;
    let ctx = fails_on_arm64(&world);
    let repository = repository(&world, "together");
    let (ours, theirs) = (format!("{repository}:buildlane"), format!("{repository}:buildx"));
    let outcome = build(&world, BuildRequest { keep_going: false, ..pushing(&ctx, &ours) }, &Seen::default()).await;

    assert_eq!(outcome.state, BuildState::Failed);
    assert_eq!(node.solves(), ["linux/amd64,linux/arm64"], "one solve, as buildx makes");
    assert!(outcome.platform_results.is_empty(), "no platform ends on its own");
    let failure = outcome.failure.expect("why it failed");

    let path = ctx.path().to_string_lossy().into_owned();
    let args = ["buildx", "build", "--builder", "solo", "--platform", &BOTH.join(","), "--push", "-t", &theirs, &path];
    let buildx = world.docker(&args);
    let stderr = String::from_utf8_lossy(&buildx.stderr);
    assert!(!buildx.status.success());
    // buildx also sends solves that name no platform; one builds them all.
    let platformed: Vec<String> = node.solves()[1..].iter().filter(|p| !p.is_empty()).cloned().collect();
    assert_eq!(platformed, ["linux/amd64,linux/arm64"], "buildx's one solve");
    assert!(
        stderr.contains(&format!("ERROR: failed to solve: {}", failure.message)),
        "ours: {}\nbuildx: {stderr}",
        failure.message
    );
    let line = failure.dockerfile_line.expect("the failing line");
    assert!(stderr.contains(&format!("Dockerfile:{line}")), "line {line}; buildx: {stderr}");
    assert!(nothing_under(&world, &ours) && nothing_under(&world, &theirs));
}

/// The record of a build, and the logs it recorded.
fn recorded(
    world: &World,
    outcome: &BuildOutcome,
) -> (builds::records::BuildRecord, Vec<buildlane_core::progress::LogChunk>) {
    let records = Records::new(&world.env());
    (records.get(&outcome.build_ref).expect("the build is recorded"), records.logs(&outcome.build_ref).unwrap())
}

async fn retry(world: &World, outcome: &BuildOutcome, platform: &str, seen: &Seen) -> Result<BuildOutcome, BuildError> {
    let (record, logs) = recorded(world, outcome);
    let mut recording = Records::new(&world.env()).recording();
    let retry = PlatformRetry { record: &record, logs: &logs, platform };
    builds::retry(&world.builders(), retry, None, &seen.record(), CancellationToken::new(), &mut recording).await
}

#[tokio::test(flavor = "multi_thread")]
async fn retrying_arm64_once_fixed_solves_it_alone_and_puts_both_platforms_under_the_tag() {
    let world = World::new();
    let node = CountingNode::start(&world.host).await;
    solo(&world, &node).await;
    let ctx = fails_on_arm64(&world);
    let tag = format!("{}:retried", repository(&world, "retried"));
    let first = build(&world, pushing(&ctx, &tag), &Seen::default()).await;
    assert_eq!(first.state, BuildState::Failed);
    std::fs::write(ctx.path().join("state"), "fixed").unwrap();

    let seen = Seen::default();
    let outcome = retry(&world, &first, "linux/arm64", &seen).await.unwrap();
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!(sorted(node.solves()), ["linux/amd64", "linux/arm64", "linux/arm64"], "arm64 alone again");
    let (amd64, arm64) = (result(&outcome, "linux/amd64"), result(&outcome, "linux/arm64"));
    assert_eq!((amd64, amd64.attempt), (result(&first, "linux/amd64"), 1), "amd64 as the build left it");
    assert_eq!((arm64.state, arm64.attempt), (BuildState::Succeeded, 2));
    assert_eq!(outcome.tags, std::slice::from_ref(&tag));
    assert_eq!(platforms_of(&world, &tag), BOTH);
    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")] {
        assert_eq!(world.docker_ok(&["run", "--rm", "--platform", platform, &tag]).trim(), machine, "{platform}");
    }

    // The lanes keep the failed attempt and show the retry as attempt 2.
    let seen = seen.get();
    let arm = |attempt: Option<u32>| {
        seen.steps
            .values()
            .filter(|s| s.lane == "linux/arm64" && s.attempt == attempt)
            .map(|s| s.state)
            .collect::<Vec<_>>()
    };
    use buildlane_core::progress::StepState;
    assert!(arm(None).contains(&StepState::Failed), "{:?}", arm(None));
    assert!(!arm(Some(2)).is_empty() && arm(Some(2)).iter().all(|s| matches!(s, StepState::Done | StepState::Cached)));
    // It is a build of its own, which can be retried in turn.
    let (record, _) = recorded(&world, &outcome);
    assert_eq!(record.outcome.platform_results, outcome.platform_results);
    let again = retry(&world, &outcome, "linux/arm64", &Seen::default()).await.unwrap_err();
    assert!(matches!(again, BuildError::NotRetryable { .. }), "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_whose_other_platform_image_is_gone_from_the_registry_says_so_before_building() {
    let world = World::new();
    let node = CountingNode::start(&world.host).await;
    solo(&world, &node).await;
    let ctx = fails_on_arm64(&world);
    let repository = repository(&world, "gone");
    let first = build(&world, pushing(&ctx, &format!("{repository}:1")), &Seen::default()).await;
    let digest = result(&first, "linux/amd64").digest.clone().expect("amd64's image");
    let (registry, name) = repository.split_once('/').unwrap();
    // The client needs a TLS provider chosen, though it speaks plain http here; the core's is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let deleted =
        reqwest::Client::new().delete(format!("http://{registry}/v2/{name}/manifests/{digest}")).send().await.unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let solves = node.solves().len();

    let error = retry(&world, &first, "linux/arm64", &Seen::default()).await.unwrap_err();
    assert!(matches!(error, BuildError::RetryImageGone { .. }), "{error}");
    assert_eq!(error.code(), ErrorCode::NotFound);
    let message = error.to_string();
    assert!(message.contains("linux/amd64") && message.contains(&digest) && message.contains(name), "{message}");
    assert_eq!(node.solves().len(), solves, "nothing was built");
}

#[tokio::test(flavor = "multi_thread")]
async fn pushing_what_succeeded_needs_keep_going_and_a_push() {
    let world = World::new();
    let ctx = fails_on_arm64(&world);
    let tag = format!("{}:1", repository(&world, "refused"));
    for (request, needs) in [
        (BuildRequest { keep_going: false, push_partial: true, ..pushing(&ctx, &tag) }, "--keep-going"),
        (BuildRequest { outputs: vec![BuildOutput::CacheOnly], push_partial: true, ..pushing(&ctx, &tag) }, "--push"),
    ] {
        let (builders, mut recording) = (world.builders(), Records::new(&world.env()).recording());
        let run = builds::run(&builders, &request, None, &|_| {}, CancellationToken::new(), &mut recording);
        let error = run.await.unwrap_err();
        assert!(matches!(error, BuildError::PushPartialNeeds(n) if n == needs), "{error}");
        assert_eq!(error.code(), ErrorCode::InvalidInput);
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
