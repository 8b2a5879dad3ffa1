//! "Copy as CLI" for the Images view: the `docker` command line that shows the same image, computed
//! here once and sent with each inspection, so that the UI never writes a command line of its own.

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

/// `docker image inspect REF`, for an image the Images view opened from the engine's store.
pub fn image_inspect(reference: &str) -> String {
    shell_words::join(["docker", "image", "inspect", reference])
}

#[cfg(test)]
mod tests {
    use super::*;

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
