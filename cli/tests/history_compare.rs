//! `buildlane history compare` on the real engine: two terminal builds of one Dockerfile with
//! another build arg, compared from BuildKit's records; the text names the first step that missed
//! the cache, its Dockerfile line and the arg with both values; an identical rebuild missed nothing.

mod support;

use std::path::Path;

use support::{buildlane, buildx, docker_config, required};

/// `docker buildx build` of `context` with `GREETING=greeting`; the build's ref.
fn buildx_build(config: &Path, context: &Path, greeting: &str) -> String {
    let metadata = config.join(format!("metadata-{greeting}.json"));
    let greeting = format!("GREETING={greeting}");
    let (metadata_arg, context) = (metadata.to_string_lossy(), context.to_string_lossy());
    buildx(
        config,
        &["build", "--progress", "plain", "--build-arg", &greeting, "--metadata-file", &metadata_arg, &context],
    );
    let metadata: serde_json::Value = serde_json::from_slice(&std::fs::read(&metadata).unwrap()).unwrap();
    let full = metadata["buildx.build.ref"].as_str().expect("buildx names the build's ref");
    full.rsplit('/').next().unwrap().to_owned()
}

#[test]
fn compare_names_the_first_step_that_missed_its_line_and_the_changed_build_arg() {
    let home = docker_config();
    let context = home.path().join("context");
    std::fs::create_dir(&context).unwrap();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN echo {nonce} > /nonce\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\n",
        required("BUILDLANE_REGISTRY")
    );
    std::fs::write(context.join("Dockerfile"), dockerfile).unwrap();
    let older = buildx_build(home.path(), &context, "hello");
    let newer = buildx_build(home.path(), &context, "goodbye");
    let again = buildx_build(home.path(), &context, "goodbye");

    let text = buildlane(home.path(), &["history", "compare", &older, &newer]);
    assert!(text.contains("First step to miss the cache: [3/3] RUN echo \"goodbye\" > /greeting\n"), "{text}");
    assert!(text.contains("     4 | RUN echo \"$GREETING\" > /greeting\n"), "{text}");
    assert!(text.contains("Because:\n  - build arg GREETING changed: \"hello\" -> \"goodbye\"\n"), "{text}");

    let text = buildlane(home.path(), &["history", "compare", &again, &newer]);
    assert!(text.contains("\nNo step missed the cache.\n"), "{text}");

    buildlane(home.path(), &["history", "rm", &older, &newer, &again]);
}
