//! "Copy as CLI" for the Images view: the `docker` command line that shows the same image, computed
//! here once and sent with each inspection, so that the UI never writes a command line of its own.

/// `docker buildx imagetools inspect REF`, the peer of the Images view's inspector.
pub fn imagetools_inspect(reference: &str) -> String {
    shell_words::join(["docker", "buildx", "imagetools", "inspect", reference])
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
}
