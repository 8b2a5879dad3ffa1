//! `buildlane history export` and `import` on the real engine: two builds exported into one
//! `.dockerbuild` file are listed by `import`, and `inspect --bundle` and `logs --bundle` print of each
//! exactly what `inspect` and `logs` print of the builder's own record. (buildx 0.13.1, the peer here,
//! has no `history` command, so the builder's side is the oracle.)

mod support;

use std::process::Output;

use support::{buildlane_output, docker_config, required};

fn ok(out: Output) -> Output {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn exported_builds_are_listed_inspected_and_replayed_from_the_file_as_from_the_builder() {
    let home = docker_config();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let mut refs = Vec::new();
    for i in 0..2 {
        let context = home.path().join(format!("app-{i}"));
        std::fs::create_dir(&context).unwrap();
        let dockerfile = format!(
            "FROM {}/busybox:latest\nRUN echo {nonce} {i} && echo second line\n",
            required("BUILDLANE_REGISTRY")
        );
        std::fs::write(context.join("Dockerfile"), dockerfile).unwrap();
        ok(buildlane_output(home.path(), &["build", "--progress", "plain", &context.to_string_lossy()]));
        let listed =
            text(&ok(buildlane_output(home.path(), &["history", "ls", "--format", "{{.Ref}} {{.Name}}"])).stdout);
        let line = listed.lines().find(|l| l.ends_with(&format!(" app-{i}"))).expect("the build is listed");
        refs.push(line.split(' ').next().unwrap().to_owned());
    }
    let file = home.path().join("builds.dockerbuild");
    let file = file.to_string_lossy();
    ok(buildlane_output(home.path(), &["history", "export", &refs[0], &refs[1], "-o", &file]));

    let listed = text(
        &ok(buildlane_output(home.path(), &["history", "import", &file, "--format", "{{.Ref}} {{.Name}} {{.Status}}"]))
            .stdout,
    );
    assert_eq!(listed, format!("{} app-1 Completed\n{} app-0 Completed\n", refs[1], refs[0]));

    for build_ref in &refs {
        for format in ["pretty", "json"] {
            let live = ok(buildlane_output(home.path(), &["history", "inspect", build_ref, "--format", format]));
            let from_file = ok(buildlane_output(
                home.path(),
                &["history", "inspect", "--bundle", &file, build_ref, "--format", format],
            ));
            assert_eq!(text(&from_file.stdout), text(&live.stdout), "inspect --format {format}");
        }
        let live = ok(buildlane_output(home.path(), &["history", "logs", build_ref]));
        let from_file = ok(buildlane_output(home.path(), &["history", "logs", "--bundle", &file, build_ref]));
        assert!(text(&live.stderr).contains("second line"));
        assert_eq!(text(&from_file.stderr), text(&live.stderr), "the same replayed logs");
    }

    // What cannot work says so, with the documented statuses.
    let garbage = home.path().join("garbage.dockerbuild");
    std::fs::write(&garbage, "not a bundle\n".repeat(100)).unwrap();
    let out = buildlane_output(home.path(), &["history", "import", &garbage.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(11), "malformed: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a .dockerbuild bundle"), "{}", text(&out.stderr));
    let out = buildlane_output(home.path(), &["history", "export", "--all", &refs[0], "-o", &file]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot specify refs when using --all"));
    let out = buildlane_output(home.path(), &["history", "inspect", "--bundle", &file, "nosuchref"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));

    ok(buildlane_output(home.path(), &["history", "rm", &refs[0], &refs[1]]));
}
