//! The ways to reach BuildKit other than the engine's own `/grpc`: a process's stdio inside a
//! container (how docker-container builders are dialled) and a plain socket (remote builders).

mod support;

use buildlane_core::buildkit::transport;
use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
use buildlane_core::drivers::{exec_stdio, NodeStatus};
use buildlane_core::engine::Engine;
use support::build::{build, context, request, Seen};
use support::World;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn the_exec_stdio_adapter_round_trips_bytes_through_a_container() {
    let world = World::new();
    let name = format!("buildlane-test-cat-{}", std::process::id());
    let image = format!("{}/busybox:latest", world.registry);
    world.docker_ok(&["run", "-d", "--rm", "--name", &name, &image, "sleep", "300"]);
    let context = world.builders().contexts().resolve(None).unwrap();
    let engine = Engine::connect(&context).await.unwrap();

    let mut conn = exec_stdio::dial(&engine, &name, &["cat"]).await.unwrap();
    // More than one frame's worth, with every byte value, so framing and binary safety both show.
    let sent: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let (mut reader, mut writer) = tokio::io::split(&mut conn);
    let write = async {
        writer.write_all(&sent).await.unwrap();
        writer.shutdown().await.unwrap();
    };
    let mut received = Vec::new();
    let read = reader.read_to_end(&mut received);
    let (_, read) = tokio::join!(write, read);
    read.unwrap();
    let _ = world.docker(&["rm", "-f", &name]);
    assert_eq!(received.len(), sent.len());
    assert!(received == sent, "bytes came back changed");
}

/// The engine's own BuildKit exposed on a unix socket, as a remote BuildKit daemon would listen:
/// each connection performs the engine's `/grpc` upgrade, then carries plain gRPC.
fn expose_engine_buildkit(socket: &std::path::Path, engine_host: &str) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    let engine_host = engine_host.to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine_host = engine_host.clone();
            tokio::spawn(async move {
                if let Ok(mut upgraded) = transport::upgrade(&engine_host, "/grpc", &[]).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    })
}

// Multi-threaded: the blocking `docker buildx create` below connects to the exposed socket, whose
// proxy task must keep running meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_builder_on_a_unix_socket_is_listed_and_builds_through_its_session_stream() {
    let world = World::new();
    let socket = world.dir.path().join("buildkitd.sock");
    let _exposed = expose_engine_buildkit(&socket, &world.host);
    let address = format!("unix://{}", socket.display());
    world.docker_ok(&["buildx", "create", "--name", "remote-test", "--driver", "remote", &address]);

    let builders = world.builders();
    let list = builders.list(None).await.unwrap();
    let node = &list.builders.iter().find(|b| b.name == "remote-test").expect("listed").nodes[0];
    assert_eq!(node.status, NodeStatus::Running, "{:?}", node.error);
    assert!(node.platforms.iter().any(|p| p.platform == "linux/amd64" && !p.emulated), "{:?}", node.platforms);
    assert!(node.platforms.iter().any(|p| p.platform == "linux/arm64" && p.emulated), "{:?}", node.platforms);

    let ctx = context(&[
        (
            "Dockerfile",
            &format!("FROM {}/busybox:latest\nCOPY hello.txt /\nRUN cat /hello.txt && uname -m\n", world.registry),
        ),
        ("hello.txt", "hello through Control.Session"),
    ]);
    let tag = format!("{}/buildlane-test/remote:{}", world.registry, std::process::id());
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            builder: "remote-test".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec![tag.clone()],
            output: BuildOutput::Push,
            no_cache: true,
            ..request(&ctx)
        },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    assert_eq!(outcome.builder, "remote-test");
    let logs: String = seen.get().logs.values().cloned().collect();
    assert!(logs.contains("hello through Control.Session") && logs.contains("aarch64"), "{logs}");
    let inspected = world.docker_ok(&["buildx", "imagetools", "inspect", &tag]);
    assert!(inspected.contains("linux/arm64"), "{inspected}");
}
