//! The ways to reach BuildKit other than the engine's own `/grpc`: a process's stdio inside a
//! container (how docker-container builders are dialled), a plain socket and TLS over tcp (remote
//! builders); and what remote builders do with a build's result (`--load`).

mod support;

use buildlane_core::builders::drivers::{exec_stdio, NodeStatus};
use buildlane_core::builders::CreateBuilderRequest;
use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildOutput, BuildRequest, BuildState};
use buildlane_core::dockerfile::outline::{outline, OutlineRequest};
use buildlane_core::dockerfile::OutlineOrigin;
use buildlane_core::engine::Engine;
use support::build::{build, context, request, Seen};
use support::tls::{expose_engine_buildkit_tls, Pki};
use support::{expose_engine_buildkit, no_progress, World};
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
            outputs: vec![BuildOutput::push()],
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

/// Driver opts that name files (`cacert`, `cert`, `key`).
type FileOpts<'a> = Vec<(&'static str, &'a std::path::Path)>;

/// A remote builder as the create form makes it: the daemon's address and its driver opts.
fn remote_builder(name: &str, address: &str, opts: &[(&str, &std::path::Path)]) -> CreateBuilderRequest {
    CreateBuilderRequest {
        name: name.into(),
        driver: "remote".into(),
        endpoint: address.into(),
        driver_opts: opts.iter().map(|(k, v)| format!("{k}={}", v.display())).collect(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_builder_over_tls_with_a_client_certificate_is_created_listed_and_builds() {
    let world = World::new();
    let pki = Pki::new(world.dir.path());
    let (address, _exposed) = expose_engine_buildkit_tls(&pki, &world.host).await;
    let builders = world.builders();
    let create = CreateBuilderRequest {
        bootstrap: true,
        ..remote_builder(
            "remote-tls",
            &address,
            &[("cacert", &pki.ca), ("cert", &pki.client_cert), ("key", &pki.client_key)],
        )
    };
    builders.create(&create, None, &no_progress).await.unwrap();

    // The store entry is buildx's: `docker buildx inspect` reaches the daemon with these opts too.
    let inspected = world.docker_ok(&["buildx", "inspect", "remote-tls"]);
    assert!(inspected.contains(&address) && inspected.contains("running"), "{inspected}");
    let list = builders.list(None).await.unwrap();
    let node = &list.builders.iter().find(|b| b.name == "remote-tls").expect("listed").nodes[0];
    assert_eq!(node.status, NodeStatus::Running, "{:?}", node.error);
    assert_eq!(node.driver_opts.get("servername"), None, "servername defaults, it is not written");
    assert!(node.platforms.iter().any(|p| p.platform == "linux/amd64" && !p.emulated), "{:?}", node.platforms);

    let ctx = context(&[
        ("Dockerfile", &format!("FROM {}/busybox:latest\nCOPY hello.txt /\nRUN cat /hello.txt\n", world.registry)),
        ("hello.txt", "hello over mutual TLS"),
    ]);
    let tag = format!("{}/buildlane-test/remote-tls:{}", world.registry, std::process::id());
    let seen = Seen::default();
    let outcome = build(
        &world,
        BuildRequest {
            builder: "remote-tls".into(),
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::push()],
            no_cache: true,
            ..request(&ctx)
        },
        &seen,
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let logs: String = seen.get().logs.values().cloned().collect();
    assert!(logs.contains("hello over mutual TLS"), "{logs}");
    assert!(outcome.digest.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_tls_builder_says_why_it_cannot_connect() {
    let world = World::new();
    let pki = Pki::new(world.dir.path());
    let (address, _exposed) = expose_engine_buildkit_tls(&pki, &world.host).await;
    let builders = world.builders();
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\n", world.registry))]);
    let missing = world.dir.path().join("certs/missing.pem");
    let cases: [(&str, FileOpts, String); 5] = [
        (
            "wrong-ca",
            vec![("cacert", &pki.other_ca), ("cert", &pki.client_cert), ("key", &pki.client_key)],
            format!("BuildKit at {address}: certificate signed by unknown authority"),
        ),
        (
            "no-client-cert",
            vec![("cacert", &pki.ca)],
            format!("BuildKit at {address} requires a client certificate: give the builder driver-opts cert=FILE and key=FILE"),
        ),
        (
            "unreadable-ca",
            vec![("cacert", &missing)],
            format!("cannot use the CA certificate {} for BuildKit at {address}: no such file or directory", missing.display()),
        ),
        (
            "key-for-another-cert",
            vec![("cacert", &pki.ca), ("cert", &pki.client_cert), ("key", &pki.server_key)],
            format!(
                "cannot use the client key {} for BuildKit at {address}: it is not the private key of {}",
                pki.server_key.display(),
                pki.client_cert.display()
            ),
        ),
        (
            "untrusted-client-cert",
            vec![("cacert", &pki.ca), ("cert", &pki.stranger_cert), ("key", &pki.stranger_key)],
            format!(
                "BuildKit at {address} refused the client certificate {}: certificate signed by unknown authority",
                pki.stranger_cert.display()
            ),
        ),
    ];
    for (name, opts, expected) in cases {
        builders.create(&remote_builder(name, &address, &opts), None, &no_progress).await.unwrap();
        let list = builders.list(None).await.unwrap();
        let node = &list.builders.iter().find(|b| b.name == name).expect("listed").nodes[0];
        // Inactive, as `docker buildx ls` shows it, with the reason beside it.
        assert_eq!((node.status, node.error.as_deref()), (NodeStatus::Inactive, None), "{name}");
        let shown = node.inactive_reason.clone().unwrap_or_default();
        assert!(shown.contains(&expected), "{name}: {shown}");
        let request = BuildRequest { builder: name.into(), ..request(&ctx) };
        let mut recording = Records::new(builders.contexts().environment()).recording();
        let refused =
            builds::run(&builders, &request, None, &|_| {}, Default::default(), &mut recording).await.unwrap_err();
        assert!(refused.to_string().contains(&expected), "{name}: {refused}");
    }

    // What buildx refuses at create time, Buildlane refuses too, before writing anything.
    let relative = remote_builder("relative", &address, &[("cacert", std::path::Path::new("certs/ca.pem"))]);
    let err = builders.create(&relative, None, &no_progress).await.unwrap_err().to_string();
    assert!(err.contains("non-absolute path 'certs/ca.pem'"), "{err}");
    let half = remote_builder("half", &address, &[("cacert", &pki.ca), ("cert", &pki.client_cert)]);
    let err = builders.create(&half, None, &no_progress).await.unwrap_err().to_string();
    assert!(err.contains("missing driver-opt key"), "{err}");
    assert!(
        !world.store_dir().join("instances/relative").exists() && !world.store_dir().join("instances/half").exists()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_on_a_remote_builder_is_loaded_into_the_engine() {
    let world = World::new();
    let socket = world.dir.path().join("buildkitd.sock");
    let _exposed = expose_engine_buildkit(&socket, &world.host);
    let address = format!("unix://{}", socket.display());
    let builders = world.builders();
    builders.create(&remote_builder("remote-load", &address, &[]), None, &no_progress).await.unwrap();

    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest\nARG TARGETARCH\nRUN echo \"loaded from a remote builder for $TARGETARCH\" > /msg\nCMD [\"cat\", \"/msg\"]\n",
            world.registry
        ),
    )]);
    let tag = format!("buildlane-test/remote-loaded:{}", std::process::id());
    let outcome = build(
        &world,
        BuildRequest {
            builder: "remote-load".into(),
            // The engine keeps images in containerd: an OCI tarball, both platforms in one image.
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::load()],
            no_cache: true,
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);

    let context = world.builders().contexts().resolve(None).unwrap();
    let engine = Engine::connect(&context).await.unwrap();
    let image = engine.docker().inspect_image(&tag).await.expect("the image is in the engine");
    assert_eq!(image.architecture.as_deref(), Some("amd64"));
    assert_eq!(world.docker_ok(&["run", "--rm", &tag]).trim(), "loaded from a remote builder for amd64");
    let _ = world.docker(&["image", "rm", &tag]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_on_a_remote_builder_is_pushed_and_loaded_into_the_engine() {
    let world = World::new();
    let socket = world.dir.path().join("buildkitd.sock");
    let _exposed = expose_engine_buildkit(&socket, &world.host);
    let address = format!("unix://{}", socket.display());
    world.builders().create(&remote_builder("remote-both", &address, &[]), None, &no_progress).await.unwrap();
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo pushed and loaded > /msg\n", world.registry);
    let ctx = context(&[("Dockerfile", &dockerfile)]);
    let tag = format!("{}/buildlane-test/remote-both:{}", world.registry, std::process::id());

    // Two exporters in one solve: BuildKit's image exporter pushes, a tarball comes back to load.
    let outcome = build(
        &world,
        BuildRequest {
            builder: "remote-both".into(),
            tags: vec![tag.clone()],
            outputs: vec![BuildOutput::push(), BuildOutput::load()],
            ..request(&ctx)
        },
        &Seen::default(),
    )
    .await;

    assert_eq!(outcome.state, BuildState::Succeeded, "{:?}", outcome.failure);
    let inspected = world.docker_ok(&["buildx", "imagetools", "inspect", &tag]);
    assert!(inspected.contains(outcome.digest.as_deref().unwrap()), "{inspected}");
    assert_eq!(world.docker_ok(&["run", "--rm", &tag, "cat", "/msg"]).trim(), "pushed and loaded");
    let _ = world.docker(&["image", "rm", &tag]);
}

// Multi-threaded, as above: `docker buildx create` connects to the exposed socket.
#[tokio::test(flavor = "multi_thread")]
async fn a_remote_builder_outlines_a_dockerfile_through_its_session_stream() {
    let world = World::new();
    let socket = world.dir.path().join("buildkitd.sock");
    let _exposed = expose_engine_buildkit(&socket, &world.host);
    let address = format!("unix://{}", socket.display());
    world.docker_ok(&["buildx", "create", "--name", "remote-outline", "--driver", "remote", &address]);
    let ctx = context(&[(
        "Dockerfile",
        &format!(
            "FROM {}/busybox:latest AS base\n# GREETING the word to print\nARG GREETING=hi\nRUN echo $GREETING\nFROM base AS final\n",
            world.registry
        ),
    )]);
    let request = OutlineRequest {
        builder: "remote-outline".into(),
        context: ctx.path().to_string_lossy().into_owned(),
        target: "base".into(),
        ..Default::default()
    };
    let o = outline(&world.builders(), &request, None).await.unwrap();
    assert_eq!(o.origin, OutlineOrigin::Builder { builder: "remote-outline".into() });
    assert_eq!(
        o.stages.iter().map(|s| (s.name.as_deref(), s.default)).collect::<Vec<_>>(),
        [(Some("base"), false), (Some("final"), true)]
    );
    assert_eq!(o.target.as_deref(), Some("base"));
    assert_eq!(
        o.args.iter().map(|a| (a.name.as_str(), a.default.as_deref(), a.description.as_deref())).collect::<Vec<_>>(),
        [("GREETING", Some("hi"), Some("the word to print"))]
    );
}
