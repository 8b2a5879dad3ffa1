//! `buildlane ls` prints the table `docker buildx ls` prints, byte for byte: the engine's own
//! builder with its platforms, a remote builder whose daemon is gone, one with pinned platforms,
//! one whose address speaks another protocol, a docker-container builder never booted, rows padded
//! as the docker CLI's formatter pads them, and nothing on stderr. Needs the
//! project's engine (`eval "$(scripts/engine.sh env)"`).

mod support;

use support::{buildlane_output, buildx, docker_config, docker_output};

#[test]
fn the_table_is_buildxs_byte_for_byte() {
    let config = docker_config();
    buildx(config.path(), &["create", "--name", "far", "--driver", "remote", "tcp://127.0.0.1:1"]);
    let pinned = ["create", "--name", "pinned", "--driver", "remote", "--platform", "linux/arm64,linux/amd64"];
    buildx(config.path(), &[&pinned[..], &["tcp://127.0.0.1:2"]].concat());
    // An address that answers, in HTTP rather than BuildKit's gRPC: inactive, as buildx shows it.
    let engine = support::required("DOCKER_HOST");
    buildx(config.path(), &["create", "--name", "elsewhere", "--driver", "remote", &engine]);
    buildx(config.path(), &["create", "--name", "unbooted", "--driver", "docker-container"]);

    let theirs = docker_output(config.path(), &["buildx", "ls"]);
    let ours = buildlane_output(config.path(), &["ls"]);
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert_eq!(text(&ours.stdout), text(&theirs.stdout));
    assert!(text(&ours.stdout).contains("linux/arm64*, linux/amd64*"), "{}", text(&ours.stdout));
    assert_eq!((text(&ours.stderr), ours.status.code()), (text(&theirs.stderr), Some(0)));
}

#[test]
fn json_lines_and_templates_are_buildxs_and_a_context_builders_last_activity_is_read() {
    let config = docker_config();
    buildx(config.path(), &["create", "--name", "far", "--driver", "remote", "tcp://127.0.0.1:1"]);
    // buildx stamps the context's own builder when it builds on it.
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    buildx(
        config.path(),
        &["build", "-q", "--builder", "default", "--output", "type=cacheonly", &context.path().to_string_lossy()],
    );

    let lines = |out: &[u8]| -> Vec<serde_json::Value> {
        String::from_utf8_lossy(out).lines().map(|l| serde_json::from_str(l).expect("JSON lines")).collect()
    };
    let theirs = lines(&docker_output(config.path(), &["buildx", "ls", "--format", "json"]).stdout);
    let mut ours = lines(&buildlane_output(config.path(), &["ls", "--format", "json"]).stdout);
    // Buildlane's one addition (buildx 0.13.1 marks the current builder only in its table).
    for builder in &mut ours {
        builder.as_object_mut().unwrap().remove("Current");
    }
    // buildx 0.13.1 writes a builder's line for the builder and again for each node: so do we.
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 4, "two builders of one node each");
    let default = theirs.iter().find(|b| b["Name"] == "default").unwrap();
    assert_ne!(default["LastActivity"], "0001-01-01T00:00:00Z", "buildx stamped it: {default}");

    // Templates of buildx's fields, plain and as a table.
    for format in ["{{.Name}} {{.DriverEndpoint}} {{.Status}}", "table {{.Name}}\t{{.Status}}\t{{.Platforms}}"] {
        let theirs = docker_output(config.path(), &["buildx", "ls", "--format", format]);
        let ours = buildlane_output(config.path(), &["ls", "--format", format]);
        assert_eq!(String::from_utf8_lossy(&ours.stdout), String::from_utf8_lossy(&theirs.stdout), "{format}");
    }
}

#[test]
fn with_the_engine_gone_its_builder_is_one_that_could_not_be_loaded_as_buildx_shows_it() {
    let config = docker_config();
    let dead = config.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&dead).unwrap());
    let host = format!("unix://{}", dead.display());
    let vars = [("DOCKER_HOST", host.as_str())];
    let docker = |args: &[&str]| {
        let mut command =
            std::process::Command::new(std::path::Path::new(&support::required("BUILDLANE_ENGINE_BIN")).join("docker"));
        command.args(args);
        support::output_with(command, config.path(), &vars)
    };
    docker(&["buildx", "create", "--name", "far", "--driver", "remote", "tcp://127.0.0.1:1"]);
    let mut ls = std::process::Command::new(env!("CARGO_BIN_EXE_buildlane"));
    ls.arg("ls");
    let (ours, theirs) = (support::output_with(ls, config.path(), &vars), docker(&["buildx", "ls"]));
    assert_eq!(String::from_utf8_lossy(&ours.stdout), String::from_utf8_lossy(&theirs.stdout));
    // The same line, in Buildlane's words for the engine's silence.
    let said = String::from_utf8_lossy(&ours.stderr);
    assert!(said.starts_with("\nCannot load builder default: engine at unix://"), "{said}");
}
