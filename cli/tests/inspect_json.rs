//! `buildlane inspect --format json` as a script ported from `docker buildx imagetools inspect
//! --format '{{json .}}'` reads it: `name`, `manifest` and `image` hold what buildx's do for an index
//! of several platforms (configs by platform), an index of one (that platform's config) and a
//! platform's manifest by digest (its descriptor and config); and the Go templates scripts pass to
//! buildx (`{{json .Manifest}}`, `{{json .Provenance}}`, `{{json .SBOM}}`, …) print buildx's bytes.
//! Needs the project's engine and registry (`eval "$(scripts/engine.sh env)"`).

mod support;

use serde_json::Value;
use support::{buildlane, buildx, docker_config, required};

/// What both tools say of `reference` under the keys buildx's template has.
fn both(config: &std::path::Path, reference: &str) -> (Value, Value) {
    let pick = |json: &str| {
        let all: Value = serde_json::from_str(json).expect("JSON");
        ["name", "manifest", "image"].map(|key| (key, all.get(key).cloned())).into_iter().collect::<Value>()
    };
    let ours = pick(&buildlane(config, &["inspect", "--format", "json", reference]));
    let theirs = pick(&buildx(config, &["imagetools", "inspect", "--format", "{{json .}}", reference]));
    (ours, theirs)
}

/// The project's busybox index of several platforms, an index of its amd64 image alone (as a
/// one-platform build with provenance pushes one) tagged `name`, and that image by digest.
struct Images {
    several: String,
    one: String,
    manifest: String,
}

fn images(config: &std::path::Path, name: &str) -> Images {
    let registry = required("BUILDLANE_REGISTRY");
    let several = format!("{registry}/busybox:latest");
    let raw: Value = serde_json::from_str(&buildlane(config, &["inspect", "--raw", &several])).unwrap();
    let manifest = format!("{several}@{}", raw["manifests"][0]["digest"].as_str().unwrap());
    let one = format!("{registry}/cli-inspect/{name}:{}", std::process::id());
    buildx(config, &["imagetools", "create", "-t", &one, &manifest]);
    Images { several, one, manifest }
}

#[test]
fn an_index_of_one_platform_or_several_and_a_manifest_read_as_buildx_prints_them() {
    let config = docker_config();
    let Images { several, one, manifest } = images(config.path(), "one");

    let (ours, theirs) = both(config.path(), &several);
    assert_eq!(ours, theirs);
    assert!(ours["image"]["linux/amd64"]["architecture"] == "amd64", "configs by platform: {ours:#}");

    let (ours, theirs) = both(config.path(), &one);
    assert_eq!(ours, theirs);
    assert_eq!(ours["image"]["architecture"], "amd64", "the one platform's config: {ours:#}");

    let (ours, theirs) = both(config.path(), &manifest);
    assert_eq!(ours, theirs);
    let keys: Vec<&str> = ours["manifest"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["mediaType", "digest", "size"], "a manifest's descriptor");
}

#[test]
fn the_templates_scripts_write_print_what_buildx_prints_byte_for_byte() {
    let config = docker_config();
    let Images { several, one, manifest } = images(config.path(), "template");

    for reference in [&several, &one, &manifest] {
        for template in [
            "{{json .}}",
            "{{json .Manifest}}",
            "{{json .Image}}",
            "{{.Name}}",
            "{{.Manifest}}",
            "at {{.Name}}: {{json .Name}}",
        ] {
            let ours = buildlane(config.path(), &["inspect", "--format", template, reference]);
            let theirs = buildx(config.path(), &["imagetools", "inspect", "--format", template, reference]);
            assert_eq!(ours, theirs, "{template} of {reference}");
        }
    }
    let refused = support::buildlane_output(config.path(), &["inspect", "--format", "{{.Provenance}}", &one]);
    assert_eq!(refused.status.code(), Some(2), "an action Buildlane does not render is refused, not guessed");
}

/// A stand-in SBOM scanner (fake_scanner: BuildKit's docker/buildkit-syft-scanner cannot be pulled
/// here) that follows BuildKit's scanner protocol: it writes an in-toto statement with an SPDX
/// document, named with characters Go escapes, to $BUILDKIT_SCAN_DESTINATION.
const FAKE_SCANNER: &str = r#"#!/bin/sh
set -e
cat > "$BUILDKIT_SCAN_DESTINATION/sbom.spdx.json" <<JSON
{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],
 "predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"fake-scan <&>","dataLicense":"CC0-1.0",
  "packages":[{"SPDXID":"SPDXRef-Package-greeting","name":"greeting","versionInfo":"1"}]}}
JSON
"#;

#[test]
fn fake_scanner_provenance_and_sbom_templates_print_what_buildx_prints_byte_for_byte() {
    let config = docker_config();
    let registry = required("BUILDLANE_REGISTRY");
    let id = std::process::id();
    let write = |dir: &str, files: &[(&str, &str)]| {
        let dir = config.path().join(dir);
        std::fs::create_dir(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir.display().to_string()
    };
    let scanner = format!("{registry}/cli-inspect/fake-scanner:{id}");
    let scanner_context = write(
        "scanner",
        &[
            ("Dockerfile", &format!("FROM {registry}/busybox:latest\nCOPY scan.sh /scan.sh\nRUN chmod +x /scan.sh\nENTRYPOINT [\"/scan.sh\"]\n")),
            ("scan.sh", FAKE_SCANNER),
        ],
    );
    buildx(config.path(), &["build", "--push", "-t", &scanner, &scanner_context]);
    let context = write(
        "context",
        &[(
            "Dockerfile",
            &format!("FROM {registry}/busybox:latest\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\n"),
        )],
    );
    // Built by buildx itself, with the provenance a release pipeline asks for (mode=max holds the
    // build's definition, numbers and all) and an SBOM.
    let attested = |name: &str, platforms: &str| {
        let tag = format!("{registry}/cli-inspect/attested-{name}:{id}");
        let sbom = format!("generator={scanner}");
        let flags = ["--provenance=mode=max", "--sbom", &sbom, "--build-arg", "GREETING=<hello> & bye"];
        buildx(
            config.path(),
            &[&["build", "--push", "--platform", platforms, "-t", &tag][..], &flags, &[&context]].concat(),
        );
        tag
    };
    let one = attested("one", "linux/amd64");
    let several = attested("several", "linux/amd64,linux/arm64");
    let raw: Value = serde_json::from_str(&buildlane(config.path(), &["inspect", "--raw", &one])).unwrap();
    let manifest = format!("{one}@{}", raw["manifests"][0]["digest"].as_str().unwrap());

    for reference in [&one, &several, &manifest] {
        for template in [
            "{{json .Provenance}}",
            "{{json .SBOM}}",
            "{{json .Provenance.SLSA}}",
            "{{json .SBOM.SPDX}}",
            "{{json .SBOM.AdditionalSPDXs}}",
            "{{.Name}}: {{json .SBOM}}",
        ] {
            let ours = buildlane(config.path(), &["inspect", "--format", template, reference]);
            let theirs = buildx(config.path(), &["imagetools", "inspect", "--format", template, reference]);
            assert_eq!(ours, theirs, "{template} of {reference}");
        }
    }
    let slsa: Value =
        serde_json::from_str(&buildlane(config.path(), &["inspect", "--format", "{{json .Provenance.SLSA}}", &one]))
            .unwrap();
    assert_eq!(slsa["invocation"]["parameters"]["args"]["build-arg:GREETING"], "<hello> & bye", "{slsa:#}");
    let spdx: Value =
        serde_json::from_str(&buildlane(config.path(), &["inspect", "--format", "{{json .SBOM.SPDX}}", &one])).unwrap();
    assert_eq!(spdx["name"], "fake-scan <&>", "the fake scanner's document: {spdx:#}");
    let by_platform: Value =
        serde_json::from_str(&buildlane(config.path(), &["inspect", "--format", "{{json .SBOM}}", &several])).unwrap();
    let platforms: Vec<&str> = by_platform.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "an SBOM per platform");
}
