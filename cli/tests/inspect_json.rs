//! `buildlane inspect --format json` as a script ported from `docker buildx imagetools inspect
//! --format '{{json .}}'` reads it: `name`, `manifest` and `image` hold what buildx's do for an index
//! of several platforms (configs by platform), an index of one (that platform's config) and a
//! platform's manifest by digest (its descriptor and config); and the Go templates scripts pass to
//! buildx (`{{json .Manifest}}`, …) print buildx's bytes. Needs the project's engine and registry
//! (`eval "$(scripts/engine.sh env)"`).

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
    let refused = support::buildlane_output(config.path(), &["inspect", "--format", "{{json .Provenance}}", &one]);
    assert_eq!(refused.status.code(), Some(2), "an action Buildlane does not render is refused, not guessed");
}
