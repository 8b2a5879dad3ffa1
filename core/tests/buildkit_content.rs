//! BuildKit's own content service (read-only, served beside Control), through the client
//! generated from core/proto: what the engine holds reads back whole, as the registry serves it.

mod support;

use buildlane_core::buildkit::proto::content::{InfoRequest, ReadContentRequest};
use buildlane_core::buildkit::Control;
use sha2::{Digest, Sha256};
use support::World;

#[tokio::test]
async fn an_index_the_engine_pulled_reads_back_through_buildkits_content_service_as_the_registry_serves_it() {
    let world = World::new();
    let image = format!("{}/busybox:latest", world.registry);
    world.docker_ok(&["pull", "--quiet", &image]);
    let repo_digest = world.docker_ok(&["image", "inspect", "--format", "{{index .RepoDigests 0}}", &image]);
    let digest = repo_digest.trim().rsplit_once('@').expect("a repository digest").1.to_owned();
    let control = Control::engine(&world.host).await.unwrap();
    let mut content = control.content();

    let info = content.info(InfoRequest { digest: digest.clone() }).await.unwrap().into_inner().info.unwrap();
    let mut chunks =
        content.read(ReadContentRequest { digest: digest.clone(), offset: 0, size: 0 }).await.unwrap().into_inner();
    let mut blob = Vec::new();
    while let Some(chunk) = chunks.message().await.unwrap() {
        assert_eq!(chunk.offset, blob.len() as i64, "chunks arrive in order");
        blob.extend_from_slice(&chunk.data);
    }

    assert_eq!(info.digest, digest);
    assert_eq!(info.size, blob.len() as i64);
    assert_eq!(format!("sha256:{}", hex::encode(Sha256::digest(&blob))), digest);
    let served: serde_json::Value =
        serde_json::from_str(&world.docker_ok(&["buildx", "imagetools", "inspect", "--raw", &image])).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&blob).unwrap(), served);

    let absent = format!("sha256:{}", "0".repeat(64));
    let status = content.info(InfoRequest { digest: absent }).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
}
