//! `buildlane history compare` on the real engine: two terminal builds of one Dockerfile with
//! another build arg, compared from BuildKit's records; the text names the first step that missed
//! the cache, its Dockerfile line and the arg with both values; an identical rebuild missed nothing.

use std::path::Path;
use std::process::Command;

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is set (eval \"$(scripts/engine.sh env)\")"))
}

/// A command with every docker and Buildlane location inside `home`, on the engine of the environment.
fn in_home(program: &Path, home: &Path) -> Command {
    let mut command = Command::new(program);
    command
        .env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("DOCKER_CONTEXT");
    command
}

/// `docker buildx build` of `context` with `GREETING=greeting`; the build's ref.
fn buildx_build(home: &Path, context: &Path, greeting: &str) -> String {
    let metadata = home.join(format!("metadata-{greeting}-{}.json", std::process::id()));
    let docker = Path::new(&env("BUILDLANE_ENGINE_BIN")).join("docker");
    let out = in_home(&docker, home)
        .args(["buildx", "build", "--progress", "plain", "--build-arg", &format!("GREETING={greeting}")])
        .arg("--metadata-file")
        .args([&metadata, context])
        .output()
        .expect("docker CLI runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&std::fs::read(&metadata).unwrap()).unwrap();
    let full = metadata["buildx.build.ref"].as_str().expect("buildx names the build's ref");
    full.rsplit('/').next().unwrap().to_owned()
}

fn buildlane(home: &Path, args: &[&str]) -> String {
    let out = in_home(Path::new(env!("CARGO_BIN_EXE_buildlane")), home).args(args).output().expect("buildlane runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn compare_names_the_first_step_that_missed_its_line_and_the_changed_build_arg() {
    let home = tempfile::tempdir().unwrap();
    // buildx as the docker CLI's plugin in this home's config.
    let plugins = home.path().join(".docker/cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::os::unix::fs::symlink(env("BUILDLANE_BUILDX"), plugins.join("docker-buildx")).unwrap();
    let context = home.path().join("context");
    std::fs::create_dir(&context).unwrap();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let dockerfile = format!(
        "FROM {}/busybox:latest\nRUN echo {nonce} > /nonce\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\n",
        env("BUILDLANE_REGISTRY")
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
