//! Engines reached over ssh, as the docker CLI reaches them: a real sshd (Debian's openssh-server) on
//! loopback in front of the project's engine, a docker context or DOCKER_HOST at `ssh://…`, and the
//! docker CLI with buildx 0.13.1 through the same sshd as the peer.

mod support;

use buildlane_core::builders::drivers::{exec_stdio, DriverError, NodeStatus};
use buildlane_core::builders::{BuilderError, CreateBuilderRequest, RemoveOptions};
use buildlane_core::builds::{self, BuildOutput, BuildRequest, BuildState};
use buildlane_core::docker_config::contexts::Contexts;
use buildlane_core::docker_config::Environment;
use buildlane_core::engine::{Engine, EngineError};
use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::progress::StepState;
use support::build::{context, request, Seen};
use support::sshd::{current_user, free_port, kill_ssh_to, ssh_runs_to, FarSide, Sshd};
use support::{no_progress, World};
use tokio_util::sync::CancellationToken;

fn in_front_of_the_engine(world: &World) -> Sshd {
    let docker_cli = std::path::Path::new(&std::env::var("BUILDLANE_ENGINE_BIN").unwrap()).join("docker");
    Sshd::start(FarSide::Docker { engine_host: world.host.clone(), docker_cli })
}

/// The engine behind DOCKER_HOST=`host`, as Buildlane connects to it.
async fn connect_through(world: &World, host: &str) -> Result<Engine, EngineError> {
    let env = Environment { docker_host: Some(host.to_owned()), ..world.env() };
    Engine::connect(&Contexts::new(env).resolve(None).unwrap()).await
}

#[tokio::test]
async fn builders_of_an_ssh_docker_context_are_the_ones_buildx_lists_through_it() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let url = sshd.url(&current_user());
    world.docker_ok(&["context", "create", "over-ssh", "--docker", &format!("host={url}")]);

    let before = ssh_runs_to(sshd.port).len();
    let peer = world.docker_ok(&["--context", "over-ssh", "buildx", "ls", "--format", "json"]);
    let docker_runs = ssh_runs_to(sshd.port)[before..].to_vec();
    let list = world.builders().list(Some("over-ssh")).await.unwrap();
    let our_runs = ssh_runs_to(sshd.port)[before + docker_runs.len()..].to_vec();

    let peer: Vec<serde_json::Value> =
        peer.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect();
    let theirs = peer.iter().find(|b| b["Name"] == "over-ssh").expect("buildx lists the context's builder");
    let ours = list.builders.iter().find(|b| b.name == "over-ssh").expect("the context's builder is listed");
    assert_eq!((ours.driver.as_str(), ours.context_builder), ("docker", true));
    let node = &ours.nodes[0];
    assert_eq!(node.error, None);
    assert_eq!(theirs["Nodes"][0]["Status"], "running");
    assert_eq!(
        (node.name.as_str(), node.endpoint.as_str(), format!("{:?}", node.status)),
        (
            theirs["Nodes"][0]["Name"].as_str().unwrap(),
            theirs["Nodes"][0]["Endpoint"].as_str().unwrap(),
            "Running".to_owned()
        )
    );
    let their_platforms: Vec<&str> =
        theirs["Nodes"][0]["Platforms"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    let our_platforms: Vec<&str> = node.platforms.iter().map(|p| p.platform.as_str()).collect();
    assert_eq!(our_platforms, their_platforms);
    assert_eq!(node.buildkit_version.as_deref(), theirs["Nodes"][0]["Version"].as_str());

    // The same ssh as the docker CLI's: docker 26 puts the timeout first; docker 28 and later put it
    // after the user and port and add -T (no terminal, whatever the user's ssh config says), as we do.
    // Ours first asks for the endpoint's shared connection.
    let expected =
        format!("-l {} -p {} -o ConnectTimeout=30 -T -- 127.0.0.1 docker system dial-stdio", current_user(), sshd.port);
    let shared = |run: &str| {
        let options = run.strip_suffix(&expected).unwrap_or_default();
        options.starts_with("-o ControlMaster=auto -o ControlPath=/") && options.ends_with(" -o ControlPersist=60 ")
    };
    assert!(!our_runs.is_empty() && our_runs.iter().all(|run| shared(run)), "{our_runs:?}");
    let words = |run: &str| {
        let mut words: Vec<String> = run.replace(" -T", "").split(' ').map(str::to_owned).collect();
        words.sort();
        words
    };
    assert!(!docker_runs.is_empty() && docker_runs.iter().all(|run| words(run) == words(&expected)), "{docker_runs:?}");
}

#[tokio::test]
async fn an_engine_at_docker_host_ssh_answers_as_it_does_to_the_docker_cli() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let engine = connect_through(&world, &sshd.url(&current_user())).await.unwrap();
    let info = engine.info().await.unwrap();
    let direct = world.docker_ok(&["version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}"]);
    assert_eq!(format!("{} {}", info.version, info.api_version), direct.trim());
}

#[tokio::test]
async fn a_build_on_the_default_builder_through_ssh_lands_in_the_engine() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let env = Environment { docker_host: Some(sshd.url(&current_user())), ..world.env() };
    let tag = format!("buildlane-test/over-ssh:{}", std::process::id());
    let ctx = context(&[
        ("Dockerfile", &format!("FROM {}/busybox:latest\nCOPY sent.txt /sent.txt\n", world.registry)),
        ("sent.txt", &format!("sent over ssh by {}\n", std::process::id())),
    ]);
    let seen = Seen::default();
    let mut recording = buildlane_core::builds::records::Records::new(&env).recording();
    let outcome = builds::run(
        &buildlane_core::builders::Builders::new(env.clone()),
        &BuildRequest { tags: vec![tag.clone()], outputs: vec![BuildOutput::load()], ..request(&ctx) },
        None,
        &seen.record(),
        tokio_util::sync::CancellationToken::new(),
        &mut recording,
    )
    .await
    .unwrap();
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);

    // The image is in the engine itself, and has the file the session sent through ssh.
    let out = world.docker_ok(&["run", "--rm", &tag, "cat", "/sent.txt"]);
    assert_eq!(out, format!("sent over ssh by {}\n", std::process::id()));
    world.docker_ok(&["image", "rm", &tag]);
}

#[tokio::test]
async fn a_docker_container_builder_on_an_ssh_context_runs_in_the_far_engine() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    world.docker_ok(&["context", "create", "far", "--docker", &format!("host={}", sshd.url(&current_user()))]);
    // BuildKit's image cannot be pulled here: a stand-in that runs but has no buildctl.
    let image = world.stand_in_image();
    let name = format!("over-ssh-{}", std::process::id());
    let builders = world.builders();
    let create = CreateBuilderRequest {
        name: name.clone(),
        driver: "docker-container".into(),
        driver_opts: vec![format!("image={image}")],
        ..Default::default()
    };
    builders.create(&create, Some("far"), &no_progress).await.unwrap();
    // The container is made and started over ssh; `buildctl dial-stdio` is exec'd in it over ssh and
    // finds no buildctl, so the node never gets ready.
    let booted = builders.boot(&name, &no_progress).await;
    assert!(matches!(booted, Err(BuilderError::Driver(DriverError::BootFailed { .. }))), "{booted:?}");
    let container = format!("buildx_buildkit_{name}0");
    assert_eq!(world.docker_ok(&["inspect", "-f", "{{.State.Running}}", &container]).trim(), "true");
    let list = builders.list(Some("far")).await.unwrap();
    let node = &list.builders.iter().find(|b| b.name == name).expect("listed").nodes[0];
    assert_eq!((node.endpoint.as_str(), node.status), ("far", NodeStatus::Running), "{:?}", node.error);

    builders.remove(&name, RemoveOptions::default(), &no_progress).await.unwrap();
    assert!(!world.docker(&["inspect", &container]).status.success(), "the container is removed");
    world.cleanup_node(&format!("{name}0"));
}

#[tokio::test]
async fn a_process_in_a_container_of_the_far_engine_is_a_byte_stream_through_ssh() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let container = format!("buildlane-ssh-exec-{}", std::process::id());
    world.docker_ok(&["run", "-d", "--name", &container, &world.stand_in_image()]);
    let engine = connect_through(&world, &sshd.url(&current_user())).await.unwrap();
    // How the docker-container driver reaches BuildKit (`buildctl dial-stdio`), with `cat` in its place.
    let mut stream = exec_stdio::dial(&engine, &container, &["cat"]).await.unwrap();
    stream.write_all(b"through ssh and back\n").await.unwrap();
    let mut echoed = [0u8; 21];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"through ssh and back\n");
    world.docker_ok(&["rm", "-f", &container]);
}

#[tokio::test]
async fn a_build_whose_ssh_dies_fails_instead_of_hanging() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let env = Environment { docker_host: Some(sshd.url(&current_user())), ..world.env() };
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN sleep 600\n", world.registry))]);
    let running = tokio::sync::Notify::new();
    let progress = |update: buildlane_core::progress::ProgressUpdate| {
        if update.steps.iter().any(|s| s.name.contains("sleep 600") && s.state == StepState::Running) {
            running.notify_one();
        }
    };
    let mut recording = buildlane_core::builds::records::Records::new(&env).recording();
    let builders = buildlane_core::builders::Builders::new(env.clone());
    let request = BuildRequest { no_cache: true, ..request(&ctx) };
    let build = builds::run(&builders, &request, None, &progress, CancellationToken::new(), &mut recording);
    let kill = async {
        running.notified().await;
        kill_ssh_to(sshd.port)
    };
    let (outcome, killed) = tokio::join!(build, kill);
    assert!(killed > 0);
    let outcome = outcome.unwrap();
    assert_eq!(outcome.state, BuildState::Failed);
    let message = outcome.failure.map(|f| f.message).unwrap_or_default();
    assert_eq!(message, "transport error: ssh exited with signal: 9 (SIGKILL)");
}

#[tokio::test]
async fn an_unreachable_ssh_host_says_so_with_sshs_own_words() {
    let world = World::new();
    let host = format!("ssh://{}@127.0.0.1:{}", current_user(), free_port());
    let err = connect_through(&world, &host).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    let message = err.to_string();
    assert!(message.starts_with(&format!("engine at {host} unreachable: ssh exited with status 255: ")), "{message}");
    assert!(message.ends_with("Connection refused"), "{message}");
}

#[tokio::test]
async fn a_refused_key_says_the_server_refused_it() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let host = sshd.refused_url(&current_user());
    let err = connect_through(&world, &host).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::EngineUnreachable);
    assert!(err.to_string().ends_with("Permission denied (publickey)."), "{err}");
    assert!(
        err.to_string().starts_with(&format!("engine at {host} unreachable: ssh exited with status 255: ")),
        "{err}"
    );
}

#[tokio::test]
async fn no_docker_on_the_far_side_says_what_the_far_side_needs() {
    let world = World::new();
    let sshd = Sshd::start(FarSide::NoDocker);
    let err = connect_through(&world, &sshd.url(&current_user())).await.unwrap_err();
    let message = err.to_string();
    assert!(message.contains("ssh exited with status 127: "), "{message}");
    assert!(message.contains("docker: command not found") || message.contains("docker: not found"), "{message}");
    assert!(message.ends_with("(the remote host needs Docker 18.09 or later on its PATH)"), "{message}");
}

#[tokio::test]
async fn a_socket_path_in_the_url_is_the_far_sides_engine() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let socket = world.host.strip_prefix("unix://").unwrap();
    let engine = connect_through(&world, &format!("{}{socket}", sshd.url(&current_user()))).await.unwrap();
    engine.ping().await.unwrap();
    let missing = format!("{}/nowhere/docker.sock", sshd.url(&current_user()));
    let err = connect_through(&world, &missing).await.unwrap_err();
    assert!(err.to_string().contains("dial unix /nowhere/docker.sock: connect: no such file or directory"), "{err}");
}

#[tokio::test]
async fn listing_the_builders_of_an_ssh_context_makes_one_ssh_connection() {
    let world = World::new();
    let sshd = in_front_of_the_engine(&world);
    let url = sshd.url(&current_user());
    world.docker_ok(&["context", "create", "one-connection", "--docker", &format!("host={url}")]);

    let before = ssh_runs_to(sshd.port).len();
    let list = world.builders().list(Some("one-connection")).await.unwrap();
    let ours = list.builders.iter().find(|b| b.name == "one-connection").expect("the context's builder is listed");
    assert_eq!((ours.nodes[0].status, &ours.nodes[0].error), (NodeStatus::Running, &None));
    let sessions = ssh_runs_to(sshd.port).len() - before;
    assert!(sessions > 1, "the listing asks the engine and its BuildKit over {sessions} sessions");
    assert_eq!(sshd.logins(), 1, "{sessions} sessions over one connection");

    world.builders().list(Some("one-connection")).await.unwrap();
    assert_eq!(sshd.logins(), 1, "a second listing rides on the same connection");
}
