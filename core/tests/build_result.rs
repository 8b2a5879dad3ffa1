//! What a build's outcome says it produced: only what this build's exporter made, whatever the
//! form still holds from an earlier build.

mod support;

use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use support::build::{build, context, request, Seen};
use support::World;

#[tokio::test]
async fn a_build_only_run_after_a_push_names_no_tag_and_no_image() {
    let world = World::new();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo {nonce}\n", world.registry))]);
    let tag = format!("{}/buildlane-test/build-result:{}", world.registry, std::process::id());
    let pushed = BuildRequest { tags: vec![tag.clone()], outputs: vec![BuildOutput::push()], ..request(&ctx) };

    let push = build(&world, pushed.clone(), &Seen::default()).await;
    assert_eq!(push.state, BuildState::Succeeded, "{:?}", push.failure);
    assert_eq!(push.tags, vec![tag]);
    assert!(push.digest.is_some());

    // The same form, output switched to "Build only": the tag is still typed in, but nothing is named by it.
    let cache_only =
        build(&world, BuildRequest { outputs: vec![BuildOutput::CacheOnly], ..pushed.clone() }, &Seen::default()).await;
    assert_eq!(cache_only.state, BuildState::Succeeded, "{:?}", cache_only.failure);
    assert_eq!(cache_only.tags, Vec::<String>::new(), "a build-only result names no tag");
    assert_eq!(cache_only.digest, None);

    // A folder output writes files, not an image: no tag either.
    let folder = tempfile::tempdir().unwrap();
    let local =
        BuildRequest { outputs: vec![BuildOutput::local(folder.path().to_string_lossy().into_owned())], ..pushed };
    let local = build(&world, local, &Seen::default()).await;
    assert_eq!(local.state, BuildState::Succeeded, "{:?}", local.failure);
    assert_eq!(local.tags, Vec::<String>::new(), "a folder output names no tag");
}
