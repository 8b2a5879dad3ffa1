//! Copy as CLI: the `docker buildx build` command equivalent to a request.

use super::output_flag;
use super::request::{tags, BuildRequest};

/// The `docker buildx build …` command equivalent to a request.
pub fn command_line(request: &BuildRequest) -> String {
    let mut args: Vec<String> = vec!["docker".into(), "buildx".into(), "build".into()];
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    if !request.builder.trim().is_empty() {
        push(&["--builder", request.builder.trim()]);
    }
    let platforms: Vec<&str> = request.platforms.iter().map(|p| p.trim()).filter(|p| !p.is_empty()).collect();
    if !platforms.is_empty() {
        push(&["--platform", &platforms.join(",")]);
    }
    if !request.dockerfile.trim().is_empty() {
        push(&["-f", request.dockerfile.trim()]);
    }
    for tag in tags(request) {
        push(&["-t", &tag]);
    }
    for arg in request.build_args.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--build-arg", arg.trim()]);
    }
    for label in request.labels.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--label", label.trim()]);
    }
    for annotation in request.annotations.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--annotation", annotation]);
    }
    for secret in request.secrets.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--secret", secret.trim()]);
    }
    for ssh in request.ssh.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--ssh", ssh.trim()]);
    }
    for cache in request.cache_from.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--cache-from", cache.trim()]);
    }
    for cache in request.cache_to.iter().filter(|a| !a.trim().is_empty()) {
        push(&["--cache-to", cache.trim()]);
    }
    if !request.target.trim().is_empty() {
        push(&["--target", request.target.trim()]);
    }
    if request.no_cache {
        push(&["--no-cache"]);
    }
    if request.pull {
        push(&["--pull"]);
    }
    for named in request.build_contexts.iter().filter(|c| !c.trim().is_empty()) {
        push(&["--build-context", named.trim()]);
    }
    if !matches!(request.network.trim(), "" | "default") {
        push(&["--network", request.network.trim()]);
    }
    for host in request.add_hosts.iter().filter(|h| !h.trim().is_empty()) {
        push(&["--add-host", host.trim()]);
    }
    for flag in request.provenance.flags() {
        push(&[&flag]);
    }
    if request.sbom {
        let generator = request.sbom_generator.trim();
        push(&["--sbom", &if generator.is_empty() { "true".to_owned() } else { format!("generator={generator}") }]);
    }
    for flag in outputs(request) {
        push(&[&flag]);
    }
    push(&[if request.context.trim().is_empty() { "." } else { request.context.trim() }]);
    shell_words::join(args)
}

/// The flags of the request's outputs, in order: `--push` and `--load` for what buildx names so,
/// an `--output` for each other one, with its attributes.
pub(super) fn outputs(request: &BuildRequest) -> Vec<String> {
    request.exported().flat_map(output_flag::flags).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builds::BuildOutput;

    #[test]
    fn the_cli_equivalent_names_every_option() {
        let request = BuildRequest {
            context: "/src/app".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            tags: vec!["127.0.0.1:5055/app:1".into()],
            build_args: vec!["GREETING=hi there".into()],
            target: "final".into(),
            outputs: vec![BuildOutput::push()],
            ..Default::default()
        };
        assert_eq!(
            command_line(&request),
            "docker buildx build --platform linux/amd64,linux/arm64 -t 127.0.0.1:5055/app:1 --build-arg 'GREETING=hi there' --target final --push /src/app"
        );
    }
}
