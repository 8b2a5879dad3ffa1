//! Secret values go to the builder and nowhere else: not into progress events or their logs, the
//! build record and its log, the Copy-as-CLI line, or the returned outcome.

mod support;

use std::sync::Mutex;

use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildRequest, BuildState};
use buildlane_core::progress::ProgressUpdate;
use sha2::{Digest, Sha256};
use support::build::{context, request};
use support::World;
use tokio_util::sync::CancellationToken;

/// A value no build could print by chance.
fn unique(what: &str) -> String {
    let seed = format!("{what}-{}-{:?}", std::process::id(), std::time::SystemTime::now());
    hex::encode(Sha256::digest(seed.as_bytes()))
}

#[tokio::test]
async fn secret_values_from_a_file_and_the_environment_reach_the_build_and_nothing_else() {
    let world = World::new();
    let (file_value, env_value) = (unique("file"), unique("env"));
    let secret_dir = tempfile::tempdir().unwrap();
    let secret_file = secret_dir.path().join("token");
    std::fs::write(&secret_file, &file_value).unwrap();
    let variable = format!("BUILDLANE_TEST_SECRET_{}", std::process::id());
    std::env::set_var(&variable, &env_value);
    // The step proves each secret arrived (by its digest) without printing it.
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest\nRUN --mount=type=secret,id=from_file --mount=type=secret,id=from_env \\\n    sha256sum /run/secrets/from_file /run/secrets/from_env\n",
            world.registry
        ),
    )]);
    let request = BuildRequest {
        no_cache: true,
        secrets: vec![format!("id=from_file,src={}", secret_file.display()), format!("id=from_env,env={variable}")],
        ..request(&ctx)
    };
    let events = Mutex::new(Vec::<String>::new());
    let progress = |update: ProgressUpdate| events.lock().unwrap().push(serde_json::to_string(&update).unwrap());
    let mut recording = Records::new(&world.env()).recording();
    let outcome = builds::run(&world.builders(), &request, None, &progress, CancellationToken::new(), &mut recording)
        .await
        .unwrap();
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);

    let events = events.into_inner().unwrap().join("\n");
    for value in [&file_value, &env_value] {
        let digest = hex::encode(Sha256::digest(value.as_bytes()));
        assert!(events.contains(&digest), "the build received the secret");
    }
    let history = Records::new(&world.env());
    let mut seen = vec![
        ("progress events and their logs", events),
        ("the outcome", serde_json::to_string(&outcome).unwrap()),
        ("Copy as CLI", builds::command_line(&request)),
    ];
    for entry in std::fs::read_dir(history.dir()).unwrap() {
        let path = entry.unwrap().path();
        seen.push(("a build record file", std::fs::read_to_string(&path).unwrap()));
    }
    assert!(seen.len() >= 5, "the record and its log were written");
    for (where_, text) in &seen {
        for value in [&file_value, &env_value] {
            assert!(!text.contains(value.as_str()), "{where_} holds a secret value");
        }
    }
    std::env::remove_var(&variable);
}

#[tokio::test]
async fn a_secret_file_that_is_not_a_small_regular_file_is_refused() {
    let world = World::new();
    let ctx = context(&[(
        "Dockerfile",
        &format!("FROM {}/busybox:latest\nRUN --mount=type=secret,id=big wc -c /run/secrets/big\n", world.registry),
    )]);
    let big = tempfile::NamedTempFile::new().unwrap();
    big.as_file().set_len(buildlane_core::buildkit::session::secrets::MAX_SECRET_BYTES + 1).unwrap();
    for (src, expected) in [
        ("/dev/zero".to_owned(), "secret big: /dev/zero is not a regular file".to_owned()),
        (
            big.path().display().to_string(),
            format!("secret big: {} is larger than 512000 bytes, the most a secret may be", big.path().display()),
        ),
    ] {
        let request = BuildRequest { no_cache: true, secrets: vec![format!("id=big,src={src}")], ..request(&ctx) };
        let mut recording = Records::new(&world.env()).recording();
        let result =
            builds::run(&world.builders(), &request, None, &|_| {}, CancellationToken::new(), &mut recording).await;
        let message = match result {
            Ok(outcome) => outcome.failure.expect("the build fails").message,
            Err(e) => e.to_string(),
        };
        assert!(message.contains(&expected), "{message}");
    }
}
