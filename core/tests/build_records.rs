//! Build records: the user's alone on disk, kept within limits, and written for every build that
//! ran, also one whose builder went away mid-build.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime};

use buildlane_core::builds::records::{BuildRecord, Records, Retention};
use buildlane_core::builds::{self, BuildOutcome, BuildOutput, BuildRequest, BuildState};
use buildlane_core::docker_config::Environment;
use buildlane_core::progress::LogChunk;
use support::build::{context, request, Seen};
use support::proxy::EngineProxy;
use support::World;
use tokio_util::sync::CancellationToken;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn record(build_ref: &str, started: SystemTime) -> BuildRecord {
    let started_at: chrono::DateTime<chrono::Utc> = started.into();
    BuildRecord {
        request: BuildRequest { context: "/src/app".into(), ..Default::default() },
        outcome: BuildOutcome {
            build_ref: build_ref.into(),
            builder: "default".into(),
            state: BuildState::Succeeded,
            digest: None,
            platforms: Vec::new(),
            tags: Vec::new(),
            duration_ms: 1,
            failure: None,
            steps: Vec::new(),
            exporter_response: Default::default(),
            platform_results: Vec::new(),
        },
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

fn write(history: &Records, build_ref: &str, started: SystemTime) {
    let mut recorder = history.start(build_ref).unwrap();
    recorder.logs(&[LogChunk { step: "s".into(), stream: 1, text: format!("{build_ref} printed this\n") }]);
    recorder.finish(&record(build_ref, started)).unwrap();
}

fn refs_on_disk(history: &Records) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(history.dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_record_written_before_steps_carried_their_dockerfile_line_still_loads() {
    let world = World::new();
    let history = Records::new(&world.env());
    write(&history, "new", SystemTime::now());
    // As the version before kept a failed build: a step without `dockerfileLine`.
    let step = r#"{"id":"sha256:v3","lane":"linux/arm64","name":"RUN false","stage":null,"position":"2/2","state":"failed","startedMs":0,"completedMs":5,"error":"exit code: 1","bytesCurrent":0,"bytesTotal":0,"logLines":0}"#;
    let old = format!(
        r#"{{"request":{{"context":"/src/app"}},"outcome":{{"buildRef":"old","builder":"default","state":"failed","digest":null,"platforms":["linux/arm64"],"tags":[],"durationMs":5,"failure":{{"message":"exit code: 1","platform":"linux/arm64","step":{step},"dockerfileLine":2,"dockerfileEndLine":null,"dockerfileName":null,"dockerfileSource":null,"vertex":null,"exitCode":null,"lastLines":[],"succeededPlatforms":[]}},"steps":[{step}],"exporterResponse":{{}}}},"startedAt":"2026-01-01T00:00:00.000Z"}}"#
    );
    std::fs::write(history.dir().join("old.json"), old).unwrap();
    let records = history.recent(10);
    let old = records.iter().find(|r| r.outcome.build_ref == "old").expect("the old record loads");
    assert_eq!(old.outcome.steps[0].dockerfile_line, None);
    assert_eq!(old.outcome.failure.as_ref().and_then(|f| f.dockerfile_line), Some(2));
}

#[test]
fn a_record_of_one_output_written_before_builds_had_several_loads_as_a_list_of_it() {
    let world = World::new();
    let history = Records::new(&world.env());
    write(&history, "new", SystemTime::now());
    // As the version before kept its request: one `output`, push and load being one of them.
    for (build_ref, output) in [
        ("both", serde_json::json!({ "type": "pushAndLoad" })),
        ("folder", serde_json::json!({ "type": "local", "dest": "out" })),
        ("cache", serde_json::json!({ "type": "cacheOnly" })),
    ] {
        let mut json = serde_json::to_value(record(build_ref, SystemTime::now())).unwrap();
        let request = json["request"].as_object_mut().unwrap();
        request.remove("outputs");
        request.insert("output".into(), output);
        std::fs::write(history.dir().join(format!("{build_ref}.json")), json.to_string()).unwrap();
    }
    let outputs = |build_ref: &str| history.get(build_ref).expect(build_ref).request.outputs;
    assert_eq!(outputs("both"), [BuildOutput::push(), BuildOutput::load()]);
    assert_eq!(outputs("folder"), [BuildOutput::local("out")]);
    assert_eq!(outputs("cache"), [BuildOutput::CacheOnly]);
    assert_eq!(history.recent(10).len(), 4, "listed too");
}

#[test]
fn a_record_kept_before_provenance_was_an_attestation_re_runs_as_buildx_would_run_its_flags() {
    let world = World::new();
    let history = Records::new(&world.env());
    write(&history, "new", SystemTime::now());
    // As the version before kept its request: a mode, `min` being buildx's default too.
    for (build_ref, mode) in [("min", "min"), ("max", "max"), ("off", "off")] {
        let mut json = serde_json::to_value(record(build_ref, SystemTime::now())).unwrap();
        json["request"]["provenance"] = mode.into();
        std::fs::write(history.dir().join(format!("{build_ref}.json")), json.to_string()).unwrap();
    }
    let rerun = |build_ref: &str| builds::command_line(&history.get(build_ref).expect(build_ref).request);
    assert_eq!(rerun("min"), "docker buildx build /src/app");
    assert_eq!(rerun("max"), "docker buildx build --provenance 'mode=max' /src/app");
    assert_eq!(rerun("off"), "docker buildx build --provenance false /src/app");
    let max = history.get("max").unwrap().request.provenance;
    assert_eq!(max, builds::ProvenanceAttest::Attrs("type=provenance,mode=max".into()));
}

#[test]
fn a_records_outputs_keep_what_they_gave_their_exporters_for_a_re_run() {
    let world = World::new();
    let history = Records::new(&world.env());
    let given = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let outputs = vec![
        BuildOutput::push().with_attrs(given(&[("name", "127.0.0.1:5055/app:1"), ("compression", "zstd")])),
        BuildOutput::oci("layout").with_attrs(given(&[("tar", "false")])),
        BuildOutput::image(),
    ];
    let mut built = record("attrs", SystemTime::now());
    built.request.outputs = outputs.clone();
    history.start("attrs").unwrap().finish(&built).unwrap();

    assert_eq!(history.get("attrs").unwrap().request.outputs, outputs);
    assert_eq!(
        buildlane_core::builds::command_line(&history.get("attrs").unwrap().request),
        "docker buildx build --output 'type=registry,compression=zstd,name=127.0.0.1:5055/app:1' \
         --output 'type=oci,dest=layout,tar=false' --output 'type=image' /src/app"
    );
}

#[test]
fn records_and_their_logs_are_readable_by_the_user_alone() {
    let world = World::new();
    let history = Records::new(&world.env());
    write(&history, "first", SystemTime::now());
    assert_eq!(mode(history.dir()), 0o700);
    assert_eq!(mode(&history.dir().join("first.log")), 0o600);
    assert_eq!(mode(&history.dir().join("first.json")), 0o600);
    // A folder an earlier version left open is closed when the next build is recorded.
    std::fs::set_permissions(history.dir(), std::fs::Permissions::from_mode(0o755)).unwrap();
    write(&history, "second", SystemTime::now());
    assert_eq!(mode(history.dir()), 0o700);
}

#[test]
fn only_the_newest_records_within_the_age_limit_are_kept() {
    let world = World::new();
    let day = Duration::from_secs(24 * 60 * 60);
    let history = Records::new(&world.env()).with_retention(Retention { max_records: 3, max_age: 30 * day });
    let now = SystemTime::now();
    write(&history, "ancient", now - 40 * day);
    // The app stopped mid-build long ago: a log without a record.
    let orphan = history.dir().join("crashed.log");
    std::fs::write(&orphan, "").unwrap();
    std::fs::File::options().write(true).open(&orphan).unwrap().set_modified(now - 31 * day).unwrap();
    // A build running right now: its log has no record yet.
    let _running = history.start("running").unwrap();
    for (index, name) in ["b1", "b2", "b3", "b4", "b5"].iter().enumerate() {
        write(&history, name, now - Duration::from_secs(60 * (5 - index as u64)));
    }
    assert_eq!(refs_on_disk(&history), ["b3.json", "b3.log", "b4.json", "b4.log", "b5.json", "b5.log", "running.log"]);
    let listed: Vec<String> = history.recent(50).into_iter().map(|r| r.outcome.build_ref).collect();
    assert_eq!(listed, ["b5", "b4", "b3"]);
}

#[test]
fn the_default_limits_are_two_hundred_records_and_thirty_days() {
    assert_eq!(Retention::default(), Retention { max_records: 200, max_age: Duration::from_secs(30 * 24 * 60 * 60) });
}

#[tokio::test]
async fn a_build_whose_engine_goes_away_mid_build_is_recorded_with_the_error() {
    let world = World::new();
    let mut proxy = EngineProxy::new(&world.dir.path().join("engine.sock"), &world.host);
    proxy.start();
    let env = Environment { docker_host: Some(proxy.host()), ..world.env() };
    let builders = buildlane_core::builders::Builders::new(env.clone());
    let ctx =
        context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo running && sleep 60\n", world.registry))]);
    let seen = Seen::default();
    let stop = async {
        while !seen.get().logs.values().any(|l| l.contains("running")) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proxy.stop();
    };
    let request = BuildRequest { no_cache: true, ..request(&ctx) };
    let progress = seen.record();
    let mut recording = Records::new(builders.contexts().environment()).recording();
    let (result, ()) =
        tokio::join!(builds::run(&builders, &request, None, &progress, CancellationToken::new(), &mut recording), stop);

    let records = Records::new(&env).recent(10);
    assert_eq!(records.len(), 1, "the build is recorded");
    let recorded = &records[0];
    assert_eq!(recorded.outcome.state, BuildState::Failed);
    let failure = recorded.outcome.failure.as_ref().expect("the record says why");
    match result {
        Err(e) => assert_eq!(failure.message, e.to_string()),
        Ok(outcome) => assert_eq!(outcome.failure.as_ref(), Some(failure)),
    }
    assert!(!failure.message.is_empty());
    let logs = Records::new(&env).logs(&recorded.outcome.build_ref).unwrap();
    assert!(logs.iter().any(|l| l.text.contains("running")), "the log up to the failure is kept");
}

#[tokio::test]
async fn a_build_whose_engine_cannot_be_reached_is_recorded_with_the_error() {
    let world = World::new();
    let gone = world.dir.path().join("stopped-engine.sock");
    let env = Environment { docker_host: Some(format!("unix://{}", gone.display())), ..world.env() };
    let builders = buildlane_core::builders::Builders::new(env.clone());
    let ctx = context(&[("Dockerfile", "FROM scratch\n")]);
    let request = BuildRequest { tags: vec!["app:1".into()], ..request(&ctx) };
    let mut recording = Records::new(builders.contexts().environment()).recording();
    let error =
        builds::run(&builders, &request, None, &|_| {}, CancellationToken::new(), &mut recording).await.unwrap_err();
    assert!(error.to_string().contains("stopped-engine.sock"), "{error}");

    let records = Records::new(&env).recent(10);
    assert_eq!(records.len(), 1, "the build is recorded");
    assert_eq!(records[0].request, request);
    assert_eq!(records[0].outcome.state, BuildState::Failed);
    assert!(records[0].outcome.tags.is_empty(), "a build that never ran claims no tags");
    assert_eq!(records[0].outcome.failure.as_ref().map(|f| f.message.clone()), Some(error.to_string()));
}
