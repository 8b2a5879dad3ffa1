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
