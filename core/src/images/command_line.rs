//! "Copy as CLI" for the Images view: the `docker` command line that shows the same image, computed
//! here once and sent with each inspection, so that the UI never writes a command line of its own.

use crate::images::compose::ComposeRequest;

/// `docker buildx imagetools inspect REF`, the peer of the Images view's inspector.
pub fn imagetools_inspect(reference: &str) -> String {
    shell_words::join(["docker", "buildx", "imagetools", "inspect", reference])
}

/// `docker buildx imagetools inspect --raw REF`: the exact bytes the inspector's raw tab shows.
pub fn imagetools_inspect_raw(reference: &str) -> String {
    shell_words::join(["docker", "buildx", "imagetools", "inspect", "--raw", reference])
}

/// `docker pull NAME@DIGEST`: what a "Copy pull by digest" is for.
pub fn pull(reference: &str) -> String {
    shell_words::join(["docker", "pull", reference])
}

/// `docker buildx imagetools create …`, the peer of the Images view's "Compose index". Entries removed
/// by digest have no buildx flag, and `--platform` and `--prefer-index` need buildx 0.15 or later.
pub fn imagetools_create(request: &ComposeRequest) -> String {
    let mut words: Vec<String> = ["docker", "buildx", "imagetools", "create"].map(String::from).into();
    for tag in &request.tags {
        words.extend(["-t".into(), tag.clone()]);
    }
    if request.append {
        words.push("--append".into());
    }
    for annotation in &request.annotations {
        words.extend(["--annotation".into(), annotation.clone()]);
    }
    if !request.prefer_index {
        words.push("--prefer-index=false".into());
    }
    for platform in &request.platforms {
        words.extend(["--platform".into(), platform.clone()]);
    }
    words.extend(request.sources.iter().cloned());
    // shell-words quotes every `=`; this flag needs none.
    let quoted: Vec<String> = words
        .iter()
        .map(|w| if w == "--prefer-index=false" { w.clone() } else { shell_words::quote(w).into_owned() })
        .collect();
    quoted.join(" ")
}

/// `docker image inspect REF`, for an image the Images view opened from the engine's store.
pub fn image_inspect(reference: &str) -> String {
    shell_words::join(["docker", "image", "inspect", reference])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imagetools_create_names_every_flag_in_buildx_order() {
        let mut request = ComposeRequest::new(vec!["r/a:1".into(), "r/b:1".into()], vec!["r/c:1".into()]);
        request.annotations = vec!["index:org.title=my app".into()];
        request.append = true;
        request.prefer_index = false;
        request.platforms = vec!["linux/arm64".into()];
        assert_eq!(
            imagetools_create(&request),
            "docker buildx imagetools create -t r/c:1 --append --annotation 'index:org.title=my app' \
             --prefer-index=false --platform linux/arm64 r/a:1 r/b:1"
        );
    }

    #[test]
    fn imagetools_inspect_quotes_the_reference() {
        assert_eq!(
            imagetools_inspect("docker.io/library/alpine:latest"),
            "docker buildx imagetools inspect docker.io/library/alpine:latest"
        );
        assert_eq!(imagetools_inspect("a b"), "docker buildx imagetools inspect 'a b'");
    }

    #[test]
    fn raw_and_pull_name_the_pinned_image() {
        let pinned = format!("127.0.0.1:5055/e2e/x@sha256:{}", "a".repeat(64));
        assert_eq!(imagetools_inspect_raw(&pinned), format!("docker buildx imagetools inspect --raw {pinned}"));
        assert_eq!(pull(&pinned), format!("docker pull {pinned}"));
        assert_eq!(pull("it's"), "docker pull 'it'\\''s'");
    }
}
