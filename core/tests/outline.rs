//! The Build form's Dockerfile outline, asked of the engine's own BuildKit through the gateway
//! bridge and compared with what `docker buildx build --print=targets|outline` reports.

mod support;

use std::path::Path;

use buildlane_core::builds::BuildError;
use buildlane_core::dockerfile::outline::{outline, OutlineRequest};
use buildlane_core::dockerfile::{DockerfileOutline, OutlineOrigin};
use serde_json::Value;
use support::build::context;
use support::World;

fn dockerfile(registry: &str) -> String {
    format!(
        "ARG BASE={registry}/busybox:latest\n\
         FROM --platform=$BUILDPLATFORM ${{BASE}} AS builder\n\
         # GREETING the word to print\n\
         ARG GREETING=hello\n\
         ARG TARGETARCH\n\
         RUN --mount=type=secret,id=token,required=true cat /run/secrets/token\n\
         RUN --mount=type=ssh echo $GREETING\n\
         \n\
         FROM ${{BASE}} AS final\n\
         ARG VERSION\n\
         ARG CHANNEL=stable\n\
         COPY --from=builder /etc/hostname /x\n"
    )
}

/// `docker buildx build --print=WHAT,format=json [--target T] DIR` as JSON.
fn buildx_print(world: &World, what: &str, target: &str, dir: &str) -> Value {
    let print = format!("--print={what},format=json");
    let mut args = vec!["buildx", "build", &print];
    if !target.is_empty() {
        args.extend(["--target", target]);
    }
    args.push(dir);
    let out = std::process::Command::new(
        std::path::Path::new(&std::env::var("BUILDLANE_ENGINE_BIN").unwrap()).join("docker"),
    )
    .args(&args)
    .env_clear()
    .env("PATH", std::env::var("PATH").unwrap_or_default())
    .env("HOME", world.config_dir())
    .env("DOCKER_CONFIG", world.config_dir())
    .env("DOCKER_HOST", &world.host)
    .env("BUILDX_EXPERIMENTAL", "1")
    .output()
    .unwrap();
    assert!(out.status.success(), "buildx {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn line(v: &Value) -> u64 {
    v["location"]["ranges"][0]["start"]["line"].as_u64().unwrap_or(0)
}

/// The stages as buildx lists them: name, base, platform, default, line.
fn buildx_stages(targets: &Value) -> Vec<(String, String, Option<String>, bool, u64)> {
    targets["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["base"].as_str().unwrap().to_owned(),
                t["platform"].as_str().map(str::to_owned),
                t["default"].as_bool().unwrap_or(false),
                line(t),
            )
        })
        .collect()
}

fn our_stages(o: &DockerfileOutline) -> Vec<(String, String, Option<String>, bool, u64)> {
    o.stages
        .iter()
        .map(|s| (s.name.clone().unwrap(), s.base.clone(), s.platform.clone(), s.default, u64::from(s.line)))
        .collect()
}

type Args = Vec<(String, Option<String>, Option<String>, u64)>;
type Mounts = Vec<(String, bool, u64)>;

/// The target's ARGs (name, default, description, line), secrets and SSH mounts as buildx lists them.
fn buildx_outline(outline: &Value) -> (String, Args, Mounts, Mounts) {
    let list = |key: &str| outline[key].as_array().cloned().unwrap_or_default();
    let mounts = |key: &str| {
        list(key)
            .iter()
            .map(|m| (m["name"].as_str().unwrap().to_owned(), m["required"].as_bool().unwrap_or(false), line(m)))
            .collect()
    };
    let args = list("args")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["value"].as_str().map(str::to_owned),
                a["description"].as_str().map(str::to_owned),
                line(a),
            )
        })
        .collect();
    (outline["name"].as_str().unwrap().to_owned(), args, mounts("secrets"), mounts("ssh"))
}

fn our_outline(o: &DockerfileOutline) -> (String, Args, Mounts, Mounts) {
    let mounts = |list: &[buildlane_core::dockerfile::OutlineMount]| {
        list.iter().map(|m| (m.name.clone(), m.required, u64::from(m.line))).collect()
    };
    (
        o.target.clone().unwrap(),
        o.args.iter().map(|a| (a.name.clone(), a.default.clone(), a.description.clone(), u64::from(a.line))).collect(),
        mounts(&o.secrets),
        mounts(&o.ssh),
    )
}

#[tokio::test]
async fn the_frontends_outline_equals_what_buildx_prints() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &dockerfile(&world.registry))]);
    let dir = ctx.path().to_str().unwrap();
    let builders = world.builders();
    for target in ["", "builder"] {
        let request = OutlineRequest { context: dir.into(), target: target.into(), ..Default::default() };
        let ours = outline(&builders, &request, None).await.unwrap();
        assert_eq!(ours.origin, OutlineOrigin::Builder { builder: "default".into() });
        assert_eq!(ours.source, dockerfile(&world.registry));
        assert_eq!(our_stages(&ours), buildx_stages(&buildx_print(&world, "targets", target, dir)), "{target:?}");
        let theirs = buildx_outline(&buildx_print(&world, "outline", target, dir));
        assert_eq!(our_outline(&ours), theirs, "{target:?}");
    }
    // What the comparison covers, spelled out: the default target's ARGs without built-ins, with the
    // comment's description, and the secret mount.
    let ours = outline(&builders, &OutlineRequest { context: dir.into(), ..Default::default() }, None).await.unwrap();
    let (target, args, secrets, ssh) = our_outline(&ours);
    assert_eq!(target, "final");
    assert_eq!(
        args.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(),
        ["BASE", "GREETING", "VERSION", "CHANNEL"],
        "{args:?}"
    );
    assert!(args.contains(&("GREETING".into(), Some("hello".into()), Some("the word to print".into()), 4)));
    assert!(args.contains(&("CHANNEL".into(), Some("stable".into()), None, 11)));
    assert_eq!(secrets, [("token".to_owned(), true, 6)]);
    assert_eq!(ssh, [("default".to_owned(), false, 7)]);
}

#[tokio::test]
async fn a_syntax_error_is_reported_with_its_line() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN true\nFORM nothing\n", world.registry))]);
    let request = OutlineRequest { context: ctx.path().to_string_lossy().into_owned(), ..Default::default() };
    let err = outline(&world.builders(), &request, None).await.unwrap_err();
    match &err {
        BuildError::DockerfileSyntax { line, message, file } => {
            assert_eq!(*line, Some(3), "{err}");
            assert!(message.contains("unknown instruction"), "{message}");
            assert_eq!(file, Path::new("Dockerfile"), "the file as named in the context");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(shown.starts_with("syntax error in Dockerfile line 3: unknown instruction: FORM"), "{shown}");
}

#[tokio::test]
async fn an_unreachable_engine_falls_back_to_the_local_parse() {
    let world = World::new();
    let ctx = context(&[("Dockerfile", &dockerfile(&world.registry))]);
    let mut env = world.env();
    let gone = world.config_dir().join("no-engine.sock");
    env.docker_host = Some(format!("unix://{}", gone.display()));
    let builders = buildlane_core::builders::Builders::new(env);
    let request = OutlineRequest { context: ctx.path().to_string_lossy().into_owned(), ..Default::default() };
    let local = outline(&builders, &request, None).await.unwrap();
    match &local.origin {
        OutlineOrigin::Local { reason } => assert!(reason.contains("no-engine.sock"), "{reason}"),
        other => panic!("expected the local parse, got {other:?}"),
    }
    assert_eq!(
        local.stages.iter().map(|s| (s.name.as_deref(), s.default)).collect::<Vec<_>>(),
        [(Some("builder"), false), (Some("final"), true)]
    );
    assert!(local.args.iter().any(|a| a.name == "GREETING" && a.default.as_deref() == Some("hello")));
}
