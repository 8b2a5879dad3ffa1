//! `buildlane build` takes a script's `docker buildx build` flags as buildx reads them: `-f` is found
//! from the current folder (not the context), `--build-arg KEY` takes KEY's value from the
//! environment, `-o -` writes the result as a tar to standard output, nothing else with it, and
//! without an output the docker driver's image goes into the engine, its ID and metadata written;
//! named contexts (`--build-context`) and a failed step's Dockerfile lines are buildx's too, and so
//! are several `-o` on one build, each written where it names, and what an `-o` gives its exporter
//! (`name`, `push`, `compression`, `oci-mediatypes`, `tar=false`); `--provenance`, `--sbom` and
//! `--attest` are read, refused and passed on as buildx does.
//! Both tools build the same folder from the same place; what each wrote is unpacked and compared.
//! Needs the project's engine and registry (`eval "$(scripts/engine.sh env)"`).

mod support;

use std::path::Path;
use std::process::Command;

use support::{docker_config, required};

/// `program args…` run from `folder` with `config` as its docker config and FROM_ENV set; its stdout.
fn run_from(folder: &Path, config: &Path, program: &Path, args: &[&str]) -> Vec<u8> {
    let mut command = Command::new(program);
    command.args(args).current_dir(folder);
    let out = support::output_with(command, config, &[("FROM_ENV", "from the environment")]);
    assert!(out.status.success(), "{program:?} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// What `buildlane build FLAGS` and `docker buildx build -q FLAGS` wrote on stdout, each run from
/// `folder`: ours, then buildx's.
fn built_by_both(folder: &Path, config: &Path, flags: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let ours = run_from(folder, config, Path::new(env!("CARGO_BIN_EXE_buildlane")), &[&["build"][..], flags].concat());
    let theirs = run_from(folder, config, &buildx, &[&["buildx", "build", "-q"][..], flags].concat());
    (ours, theirs)
}

/// The files of a tar, as `path: contents`.
fn unpacked(tar: &[u8]) -> Vec<String> {
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("out.tar");
    std::fs::write(&archive, tar).unwrap();
    let status = Command::new("tar").arg("-xf").arg(&archive).current_dir(folder.path()).status().unwrap();
    assert!(status.success(), "a tar on standard output");
    std::fs::remove_file(&archive).unwrap();
    files_under(folder.path())
}

/// Every regular file under `folder`, as `path: contents`, sorted.
fn files_under(folder: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                pending.push(path);
            } else if entry.file_type().unwrap().is_file() {
                let name = path.strip_prefix(folder).unwrap().display().to_string();
                files.push(format!("{name}: {}", String::from_utf8_lossy(&std::fs::read(&path).unwrap())));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn a_relative_dockerfile_an_argument_from_the_environment_and_a_tar_on_stdout_as_buildx_takes_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}/busybox:latest AS made\nARG FROM_ENV\nRUN echo \"$FROM_ENV\" > /arg\n\
         FROM scratch\nCOPY --from=made /arg /arg\nCOPY a /from-current-folder\n",
        required("BUILDLANE_REGISTRY")
    );
    std::fs::write(work.path().join("Dockerfile.here"), dockerfile).unwrap();
    std::fs::create_dir(work.path().join("ctx")).unwrap();
    std::fs::write(work.path().join("ctx/a"), "a\n").unwrap();
    // The same name in the context: the one a build that looked there would take.
    std::fs::write(work.path().join("ctx/Dockerfile.here"), "FROM scratch\nCOPY a /from-context\n").unwrap();
    let flags = ["-f", "Dockerfile.here", "--build-arg", "FROM_ENV", "-o", "-", "ctx"];

    let (ours, theirs) = built_by_both(work.path(), config.path(), &flags);

    assert_eq!(unpacked(&ours), ["arg: from the environment\n", "from-current-folder: a\n"]);
    assert_eq!(unpacked(&ours), unpacked(&theirs));
}

#[test]
fn without_an_output_the_image_goes_into_the_engine_and_its_id_and_metadata_are_written_as_buildx_writes_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let nonce = format!("{}-{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo {nonce} > /nonce\n", required("BUILDLANE_REGISTRY"));
    std::fs::create_dir(work.path().join("ctx")).unwrap();
    std::fs::write(work.path().join("ctx/Dockerfile"), dockerfile).unwrap();
    let docker = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));

    let mut written = Vec::new();
    for (tool, program, command) in
        [("buildx", docker.as_path(), &["buildx", "build", "-q"][..]), ("buildlane", buildlane, &["build"][..])]
    {
        let tag = format!("cli-default-output-{tool}:{}", std::process::id());
        let (iid, metadata) = (format!("{tool}.iid"), format!("{tool}.json"));
        let flags = ["-t", &tag, "--iidfile", &iid, "--metadata-file", &metadata, "ctx"];
        run_from(work.path(), config.path(), program, &[command, &flags].concat());
        let iid = std::fs::read_to_string(work.path().join(iid)).unwrap();
        let metadata: serde_json::Value =
            serde_json::from_slice(&std::fs::read(work.path().join(metadata)).unwrap()).unwrap();
        let id = support::docker(config.path(), &["image", "inspect", "--format", "{{.Id}}", &tag]);
        support::docker(config.path(), &["image", "rm", &tag]);
        assert_eq!(id.trim(), iid, "{tool}: the engine holds the image the ID file names");
        assert_eq!(metadata["containerimage.digest"], iid.as_str(), "{tool}");
        let record = metadata["buildx.build.ref"].as_str().unwrap().to_owned();
        assert!(record.starts_with("default/default/"), "{tool}: {record}");
        written.push(metadata.as_object().unwrap().keys().cloned().collect::<Vec<_>>());
    }
    assert_eq!(written[0], written[1], "the same keys");
}

/// The Dockerfile block a failed build prints on stderr, from its `Dockerfile:N` line through the
/// closing rule.
fn excerpt(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let from = text.find("\nDockerfile:").map(|i| i + 1).expect("an excerpt");
    let block: Vec<&str> = text[from..].lines().collect();
    let end = block.iter().skip(2).position(|l| l.starts_with("-----")).expect("closed") + 3;
    block[..end].join("\n")
}

#[test]
fn a_failed_step_is_shown_in_its_dockerfile_lines_as_buildx_shows_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let dockerfile =
        format!("FROM {}/busybox:latest\n\nRUN echo one\nRUN exit 3\n\nRUN true\n", required("BUILDLANE_REGISTRY"));
    std::fs::create_dir(work.path().join("ctx")).unwrap();
    std::fs::write(work.path().join("ctx/Dockerfile"), dockerfile).unwrap();
    let run = |program: &Path, args: &[&str]| {
        let mut command = Command::new(program);
        command.args(args).current_dir(work.path());
        support::output(command, config.path())
    };
    let theirs = run(
        &Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker"),
        &["buildx", "build", "--progress", "plain", "ctx"],
    );
    let ours = run(Path::new(env!("CARGO_BIN_EXE_buildlane")), &["build", "ctx"]);
    assert_eq!((ours.status.code(), theirs.status.code()), (Some(1), Some(1)));
    let opening = |stderr: &[u8]| String::from_utf8_lossy(stderr).lines().next().unwrap_or_default().to_owned();
    assert_eq!(opening(&ours.stderr), opening(&theirs.stderr), "the builder named first");
    assert_eq!(excerpt(&ours.stderr), excerpt(&theirs.stderr));
    assert!(excerpt(&ours.stderr).contains("   4 | >>> RUN exit 3"), "{}", excerpt(&ours.stderr));
}

#[test]
fn named_contexts_a_folder_and_an_image_are_what_buildx_builds_with() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let registry = required("BUILDLANE_REGISTRY");
    std::fs::create_dir(work.path().join("ctx")).unwrap();
    std::fs::write(
        work.path().join("ctx/Dockerfile"),
        "FROM base AS made\nRUN echo from-the-image > /made\nFROM scratch\nCOPY --from=extra /shared.txt /shared.txt\nCOPY --from=made /made /made\n",
    )
    .unwrap();
    std::fs::create_dir(work.path().join("shared")).unwrap();
    std::fs::write(work.path().join("shared/shared.txt"), "from a folder\n").unwrap();
    let image = format!("base=docker-image://{registry}/busybox:latest");
    let flags = ["--build-context", "extra=shared", "--build-context", &image, "-o", "-", "ctx"];

    let (ours, theirs) = built_by_both(work.path(), config.path(), &flags);
    assert_eq!(unpacked(&ours), ["made: from-the-image\n", "shared.txt: from a folder\n"]);
    assert_eq!(unpacked(&ours), unpacked(&theirs));
}

#[test]
fn added_hosts_and_the_network_mode_reach_run_steps_as_buildx_sends_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir(work.path().join("ctx")).unwrap();
    // What a RUN step sees: its hosts file's added line, and whether it has more than a loopback
    // interface (the host's own come and go with other builds, so they are not listed).
    let dockerfile = format!(
        "FROM {}/busybox:latest AS seen\nRUN grep db.internal /etc/hosts > /hosts; \
         if [ \"$(ls /sys/class/net)\" = lo ]; then echo loopback only; else echo more; fi > /net\n\
         FROM scratch\nCOPY --from=seen /hosts /net /\n",
        required("BUILDLANE_REGISTRY")
    );
    std::fs::write(work.path().join("ctx/Dockerfile"), dockerfile).unwrap();
    for network in ["none", "host"] {
        let flags = ["--add-host", "db.internal:10.0.0.5", "--network", network, "--no-cache", "-o", "-", "ctx"];
        let (ours, theirs) = built_by_both(work.path(), config.path(), &flags);
        assert_eq!(unpacked(&ours), unpacked(&theirs), "--network {network}");
        let expected = if network == "none" { "net: loopback only\n" } else { "net: more\n" };
        assert_eq!(unpacked(&ours), ["hosts: 10.0.0.5\tdb.internal\n", expected], "--network {network}");
    }
}

/// An OCI tarball's `index.json` and the manifest it points to, as JSON.
fn oci_index_and_manifest(tar: &Path) -> (serde_json::Value, serde_json::Value) {
    let folder = tempfile::tempdir().unwrap();
    let status = Command::new("tar").arg("-xf").arg(tar).current_dir(folder.path()).status().unwrap();
    assert!(status.success(), "{tar:?} is a tar");
    let json = |path: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() };
    let index = json(&folder.path().join("index.json"));
    let digest = index["manifests"][0]["digest"].as_str().unwrap().replace(':', "/");
    let manifest = json(&folder.path().join("blobs").join(digest));
    (index, manifest)
}

#[test]
fn annotations_land_on_the_manifest_and_its_descriptor_as_buildx_puts_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo annotated > /a\n", required("BUILDLANE_REGISTRY"));
    std::fs::write(work.path().join("Dockerfile"), dockerfile).unwrap();
    let annotations = [
        "--annotation",
        "org.opencontainers.image.description=an app",
        "--annotation",
        "manifest:com.example.team=builds",
        "--annotation",
        "manifest-descriptor:com.example.tier=gold",
    ];
    let flags = [&annotations[..], &["-t", "annotated:1", "."]].concat();
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));

    let mut written = Vec::new();
    for (program, command, dest) in
        [(buildlane, &["build"][..], "ours.tar"), (buildx.as_path(), &["buildx", "build", "-q"][..], "theirs.tar")]
    {
        let output = format!("type=oci,dest={dest}");
        run_from(work.path(), config.path(), program, &[command, &["-o", &output], &flags].concat());
        written.push(oci_index_and_manifest(&work.path().join(dest)));
    }

    let (index, manifest) = &written[0];
    assert_eq!(manifest["annotations"]["org.opencontainers.image.description"], "an app");
    assert_eq!(manifest["annotations"]["com.example.team"], "builds");
    assert_eq!(index["manifests"][0]["annotations"]["com.example.tier"], "gold");
    assert_eq!(written[0].1, written[1].1, "the same manifest");
    let descriptor = |index: &serde_json::Value| {
        let mut d = index["manifests"][0].clone();
        d["annotations"].as_object_mut().unwrap().remove("org.opencontainers.image.created");
        d
    };
    assert_eq!(descriptor(&written[0].0), descriptor(&written[1].0), "the same descriptor");

    // One platform without attestations makes no index to annotate: both tools stop there.
    let index_annotation =
        ["--annotation", "index:org.opencontainers.image.title=app", "-o", "type=oci,dest=x.tar", "."];
    for (program, command) in [(buildlane, &["build"][..]), (buildx.as_path(), &["buildx", "build", "-q"][..])] {
        let mut run = Command::new(program);
        run.args([command, &index_annotation].concat()).current_dir(work.path());
        let out = support::output(run, config.path());
        assert!(!out.status.success(), "{program:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("index annotations not supported for single platform export"), "{stderr}");
    }
    let mut refused = Command::new(buildlane);
    refused.args(["build", "--annotation", "example:k=v", "."]).current_dir(work.path());
    let out = support::output(refused, config.path());
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "buildlane: unknown annotation type \"example\"");
}

#[test]
fn an_output_path_of_the_wrong_kind_is_refused_before_building_in_buildx_words() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n").unwrap();
    std::fs::write(work.path().join("a-file"), "").unwrap();
    std::fs::create_dir(work.path().join("a-folder")).unwrap();
    for output in ["type=local,dest=a-file", "type=tar,dest=a-folder", "type=oci,dest=a-folder"] {
        let (ours, theirs) = support::refused_by_both(work.path(), config.path(), &["-o", output, "."]);
        assert_eq!(ours, theirs, "{output}");
        assert!(ours.starts_with("destination "), "{ours}");
    }
}

#[test]
fn a_push_without_a_tag_or_a_name_is_refused_in_buildx_words() {
    let config = docker_config();
    let work = fresh_context("untagged-push");
    for flags in [&["--push", "."][..], &["-o", "type=registry", "."], &["-o", "type=image,push=true", "."]] {
        let (ours, theirs) = support::refused_by_both(work.path(), config.path(), flags);
        assert_eq!(ours, "tag is needed when pushing to registry", "{flags:?}");
        assert_eq!(ours, theirs, "{flags:?}");
    }
}

#[test]
fn a_docker_tarball_of_several_platforms_is_refused_before_building_in_buildx_words() {
    let config = docker_config();
    let work = fresh_context("docker-list");
    let flags = ["--platform", "linux/amd64,linux/arm64", "-o", "type=docker,dest=image.tar", "."];
    let (ours, theirs) = support::refused_by_both(work.path(), config.path(), &flags);
    assert_eq!(ours, "docker exporter does not support exporting manifest lists, use the oci exporter instead");
    assert_eq!(ours, theirs);
}

/// What a local output folder holds: its files' names, and the mode of the provenance written
/// beside them (`max` when it keeps the build's steps, BuildKit's `buildConfig`).
fn local_output(folder: &Path) -> (Vec<String>, Option<&'static str>) {
    let mut names: Vec<String> =
        std::fs::read_dir(folder).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mode = std::fs::read(folder.join("provenance.json")).ok().map(|bytes| {
        let statement: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        if statement["predicate"].get("buildConfig").is_some() {
            "max"
        } else {
            "min"
        }
    });
    (names, mode)
}

#[test]
fn a_provenance_asked_for_is_written_beside_a_local_outputs_files_in_the_mode_buildx_asks_for() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n").unwrap();
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    // Each tool writes into a folder of its own, with the same flags.
    let built = |program: &Path, command: &[&str], flags: &[&str], into: &str| {
        let dest = format!("type=local,dest={into}");
        run_from(work.path(), config.path(), program, &[command, flags, &["-o", &dest, "."]].concat());
        local_output(&work.path().join(into))
    };
    for (n, (flags, mode)) in [
        // buildx's default provenance goes with images only: none beside the files.
        (&[][..], None),
        (&["--provenance=mode=max"], Some("max")),
        // Asked for without a mode, BuildKit makes max.
        (&["--provenance=true"], Some("max")),
        (&["--provenance=mode=min"], Some("min")),
        (&["--attest", "type=provenance,mode=min,builder-id=ci"], Some("min")),
        (&["--provenance=false"], None),
    ]
    .into_iter()
    .enumerate()
    {
        let ours = built(buildlane, &["build"], flags, &format!("buildlane-{n}"));
        let files: &[&str] = if mode.is_some() { &["Dockerfile", "provenance.json"] } else { &["Dockerfile"] };
        assert_eq!(
            (ours.0.iter().map(String::as_str).collect::<Vec<_>>(), ours.1),
            (files.to_vec(), mode),
            "{flags:?}"
        );
        assert_eq!(ours, built(&buildx, &["buildx", "build", "-q"], flags, &format!("buildx-{n}")), "{flags:?}");
    }
    // An OCI tarball holds the image's manifests: the image's alone under buildx's default, an
    // attestation manifest beside it when one is asked for.
    let manifests = |program: &Path, command: &[&str], flags: &[&str], into: &str| {
        let dest = format!("type=oci,dest={into}");
        run_from(work.path(), config.path(), program, &[command, flags, &["-o", &dest, "."]].concat());
        let (_, image) = oci_index_and_manifest(&work.path().join(into));
        image["manifests"].as_array().map_or(1, Vec::len)
    };
    for (flags, count) in [(&[][..], 1), (&["--provenance=mode=min"], 2)] {
        let ours = manifests(buildlane, &["build"], flags, "buildlane.tar");
        assert_eq!(ours, count, "{flags:?}");
        assert_eq!(ours, manifests(&buildx, &["buildx", "build", "-q"], flags, "buildx.tar"), "{flags:?}");
    }
}

#[test]
fn a_docker_tarball_beside_a_provenance_asked_for_is_refused_before_building_in_buildx_words() {
    let config = docker_config();
    let work = fresh_context("docker-provenance");
    for asked in [&["--provenance=mode=min"][..], &["--provenance=true"], &["--attest", "type=provenance"]] {
        let flags = [asked, &["-o", "type=docker,dest=image.tar", "."]].concat();
        let (ours, theirs) = support::refused_by_both(work.path(), config.path(), &flags);
        assert_eq!(ours, "docker exporter does not support exporting manifest lists, use the oci exporter instead");
        assert_eq!(ours, theirs, "{asked:?}");
    }
}

#[test]
fn provenance_sbom_and_attest_values_buildx_refuses_are_refused_in_its_words() {
    let config = docker_config();
    let work = fresh_context("attest-values");
    for flags in [
        // Not a boolean as Go reads one, and no key=value field.
        &["--provenance", "min"][..],
        &["--provenance", "yes"],
        &["--sbom", "x"],
        &["--attest", "mode=max"],
        &["--attest", "type=provenance,disabled=maybe"],
        &["--attest", "type=provenance", "--provenance", "mode=max"],
        &["--attest", "type=sbom", "--sbom", "true"],
    ] {
        let (ours, theirs) = support::refused_by_both(work.path(), config.path(), &[flags, &["."]].concat());
        assert_eq!(ours, theirs, "{flags:?}");
    }
    // A mode BuildKit does not make is refused by BuildKit, in its words for both.
    let (ours, theirs) =
        support::refused_by_both(work.path(), config.path(), &["-q", "--provenance", "mode=most", "."]);
    assert_eq!(ours.strip_prefix("build failed: "), theirs.strip_prefix("failed to solve: "), "{ours} / {theirs}");
    assert_eq!(ours, "build failed: invalid mode \"most\"");
}

#[test]
fn several_outputs_of_one_build_are_each_written_where_named_as_buildx_writes_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}/busybox:latest AS made\nRUN echo written > /marker && mkdir /sub && echo deep > /sub/deep\n\
         FROM scratch\nCOPY --from=made /marker /out/\nCOPY --from=made /sub /out/sub/\n",
        required("BUILDLANE_REGISTRY")
    );
    std::fs::write(work.path().join("Dockerfile"), dockerfile).unwrap();
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    // What each tool wrote into a folder of its own: the folder's files, the tar's, and the image
    // the OCI tarball names.
    let built = |program: &Path, command: &[&str], into: &str| {
        std::fs::create_dir(work.path().join(into)).unwrap();
        let outputs = [
            format!("type=local,dest={into}/fs"),
            format!("type=tar,dest={into}/fs.tar"),
            format!("type=oci,dest={into}/image.tar"),
        ];
        let flags = ["-o", &outputs[0], "-o", &outputs[1], "-o", &outputs[2], "-t", "buildlane-test/several:1", "."];
        run_from(work.path(), config.path(), program, &[command, &flags].concat());
        let tar = std::fs::read(work.path().join(into).join("fs.tar")).unwrap();
        let (index, manifest) = oci_index_and_manifest(&work.path().join(into).join("image.tar"));
        let image = &index["manifests"][0]["annotations"]["io.containerd.image.name"];
        (files_under(&work.path().join(into).join("fs")), unpacked(&tar), image.clone(), manifest["mediaType"].clone())
    };

    let ours = built(buildlane, &["build"], "buildlane");

    assert_eq!(ours.0, ["out/marker: written\n", "out/sub/deep: deep\n"]);
    assert_eq!(ours.1, ours.0, "the tar holds what the folder holds");
    assert_eq!(ours.2, "docker.io/buildlane-test/several:1");
    assert_eq!(ours, built(&buildx, &["buildx", "build", "-q"], "buildx"));
    // Two outputs cannot both take standard output, in buildx's words.
    let (ours, theirs) =
        support::refused_by_both(work.path(), config.path(), &["-o", "-", "-o", "type=oci,dest=-", "."]);
    assert_eq!(ours, "multiple outputs configured to write to stdout");
    assert_eq!(ours, theirs);
}

#[test]
fn source_date_epoch_and_no_default_attestations_are_read_from_the_environment_as_buildx_reads_them() {
    let config = docker_config();
    let work = tempfile::tempdir().unwrap();
    let dockerfile = format!(
        "FROM {}/busybox:latest AS made\nARG SOURCE_DATE_EPOCH\nRUN echo \"$SOURCE_DATE_EPOCH\" > /epoch\n\
         FROM scratch\nCOPY --from=made /epoch /epoch\n",
        required("BUILDLANE_REGISTRY")
    );
    std::fs::write(work.path().join("Dockerfile"), dockerfile).unwrap();
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    // What each tool's OCI tarball holds: the image's media type and how many manifests it has (an
    // attestation manifest beside the image's where the builder attests by default).
    let built = |program: &Path, command: &[&str], vars: &[(&str, &str)]| {
        let mut run = Command::new(program);
        run.args([command, &["-o", "type=oci,dest=out.tar", "."]].concat()).current_dir(work.path());
        let out = support::output_with(run, config.path(), vars);
        assert!(out.status.success(), "{program:?} {vars:?}: {}", String::from_utf8_lossy(&out.stderr));
        let (index, manifest) = oci_index_and_manifest(&work.path().join("out.tar"));
        (index["manifests"][0]["mediaType"].clone(), manifest["manifests"].as_array().map_or(1, Vec::len))
    };
    for vars in [&[("SOURCE_DATE_EPOCH", "1700000000")][..], &[("BUILDX_NO_DEFAULT_ATTESTATIONS", "1")][..], &[]] {
        let ours = built(buildlane, &["build"], vars);
        assert_eq!(ours, built(&buildx, &["buildx", "build", "-q"], vars), "{vars:?}");
    }
    let mut epoch = Command::new(buildlane);
    epoch.args(["build", "--provenance", "false", "-o", "-", "."]).current_dir(work.path());
    let out = support::output_with(epoch, config.path(), &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(unpacked(&out.stdout), ["epoch: 1700000000\n"]);
    let mut invalid = Command::new(buildlane);
    invalid.args(["build", "."]).current_dir(work.path());
    let out = support::output_with(invalid, config.path(), &[("BUILDX_NO_DEFAULT_ATTESTATIONS", "maybe")]);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "buildlane: invalid BUILDX_NO_DEFAULT_ATTESTATIONS: strconv.ParseBool: parsing \"maybe\": invalid syntax"
    );
}

/// `program command… flags…` run from `folder` with a fixed SOURCE_DATE_EPOCH (so two tools
/// building from one cache make the same bytes); it must succeed.
fn built_at_epoch(folder: &Path, config: &Path, program: &Path, command: &[&str], flags: &[&str]) {
    let mut run = Command::new(program);
    run.args([command, flags].concat()).current_dir(folder);
    let out = support::output_with(run, config, &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert!(out.status.success(), "{program:?} {flags:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A context whose Dockerfile makes a layer no other test made.
fn fresh_context(tag: &str) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    let nonce = format!("{tag}-{}-{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().as_nanos());
    let dockerfile = format!("FROM {}/busybox:latest\nRUN echo {nonce} > /nonce\n", required("BUILDLANE_REGISTRY"));
    std::fs::write(work.path().join("Dockerfile"), dockerfile).unwrap();
    work
}

#[test]
fn an_image_output_named_by_its_own_name_is_pushed_with_the_attributes_given_as_buildx_pushes_it() {
    let config = docker_config();
    let work = fresh_context("pushed-by-name");
    let registry = required("BUILDLANE_REGISTRY");
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    let pid = std::process::id();
    // The manifest each tool pushed under the name its output gave, no tag: its bytes, its media
    // type and its layer's.
    let pushed = |program: &Path, command: &[&str], tool: &str, spec: &str| {
        let name = format!("{registry}/cli-output-{tool}:{pid}");
        let output = format!("type=image,name={name},push=true{spec}");
        built_at_epoch(work.path(), config.path(), program, command, &["--provenance", "false", "-o", &output, "."]);
        let raw = support::buildx(config.path(), &["imagetools", "inspect", "--raw", &name]);
        let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
        support::docker_output(config.path(), &["image", "rm", &name]);
        (raw, manifest["mediaType"].clone(), manifest["layers"][1]["mediaType"].clone())
    };

    for spec in ["", ",oci-mediatypes=true", ",compression=zstd,force-compression=true"] {
        let ours = pushed(buildlane, &["build"], "buildlane", spec);
        let theirs = pushed(&buildx, &["buildx", "build", "-q"], "buildx", spec);
        assert_eq!(ours.1, theirs.1, "{spec}: the manifest's media type");
        assert_eq!(ours.2, theirs.2, "{spec}: the layer's media type");
        assert_eq!(ours.0, theirs.0, "{spec}: the same manifest, so the same digest");
        match spec {
            "" => assert_eq!(ours.1, "application/vnd.docker.distribution.manifest.v2+json"),
            ",oci-mediatypes=true" => assert_eq!(ours.1, "application/vnd.oci.image.manifest.v1+json"),
            // BuildKit 0.13 keeps docker media types and names a zstd layer in them.
            _ => assert_eq!(ours.2, "application/vnd.docker.image.rootfs.diff.tar.zstd"),
        }
    }
}

#[test]
fn an_image_output_without_push_lands_in_the_engine_under_its_name_or_the_tags_as_buildx_puts_it() {
    let config = docker_config();
    let work = fresh_context("image-in-engine");
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    let pid = std::process::id();
    let id = |name: &str| {
        let out = support::docker_output(config.path(), &["image", "inspect", "--format", "{{.Id}}", name]);
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };

    let mut ids = Vec::new();
    for (tool, program, command) in
        [("buildlane", buildlane, &["build"][..]), ("buildx", buildx.as_path(), &["buildx", "build", "-q"][..])]
    {
        let (named, tagged) = (format!("cli-image-{tool}:{pid}"), format!("cli-image-{tool}-tagged:{pid}"));
        let output = format!("type=image,name={named}");
        built_at_epoch(work.path(), config.path(), program, command, &["--provenance", "false", "-o", &output, "."]);
        ids.push(id(&named).unwrap_or_else(|| panic!("{tool}: {named} is in the engine")));
        // The tags name it instead.
        let flags = ["--provenance", "false", "-o", &output, "-t", &tagged, "."];
        built_at_epoch(work.path(), config.path(), program, command, &flags);
        assert!(id(&tagged).is_some(), "{tool}: {tagged} is in the engine");
        for name in [&named, &tagged] {
            support::docker_output(config.path(), &["image", "rm", name]);
        }
    }
    assert_eq!(ids[0], ids[1], "the same image");
}

#[test]
fn an_oci_output_with_tar_false_is_a_layout_folder_as_buildx_writes_it() {
    let config = docker_config();
    let work = fresh_context("layout-folder");
    let buildx = Path::new(&required("BUILDLANE_ENGINE_BIN")).join("docker");
    let buildlane = Path::new(env!("CARGO_BIN_EXE_buildlane"));
    // Each file of the layout, index.json's text in full.
    let written = |program: &Path, command: &[&str], into: &str| {
        let output = format!("type=oci,dest={into},tar=false");
        let flags = ["--provenance", "false", "-o", &output, "-t", "buildlane-test/layout:1", "."];
        built_at_epoch(work.path(), config.path(), program, command, &flags);
        let folder = work.path().join(into);
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("index.json")).unwrap()).unwrap();
        let files: Vec<String> = files_under(&folder).iter().map(|f| f.split(':').next().unwrap().to_owned()).collect();
        (index, files)
    };

    let ours = written(buildlane, &["build"], "ours");
    let theirs = written(&buildx, &["buildx", "build", "-q"], "theirs");

    let descriptor = &ours.0["manifests"][0];
    assert_eq!(descriptor["annotations"]["org.opencontainers.image.ref.name"], "docker.io/buildlane-test/layout:1");
    assert!(ours.1.contains(&"oci-layout".to_owned()) && ours.1.iter().any(|f| f.starts_with("blobs/sha256/")));
    assert_eq!(ours, theirs, "the same index and files");
}
