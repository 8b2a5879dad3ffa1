//! OCI referrers against the real local registry. Debian's docker-registry 2.8 has no referrers API,
//! so the client falls back to the referrers tag schema (`sha256-<hex>`): the test pushes, by plain
//! HTTP requests as an OCI 1.1 client would, a small image, an artifact manifest whose `subject` is
//! that image, and the tag-schema index listing the artifact. The inspector lists the artifact as a
//! referrer of the image, and the artifact opens by digest (`<repo>@<digest>`) like any manifest.

mod support;

use buildlane_core::images::compose::{self, ComposeRequest};
use buildlane_core::images::manifest::{inspect, InspectOptions, Inspection, ManifestKind};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registry::RegistryClient;
use serde_json::json;
use sha2::{Digest, Sha256};
use support::World;

const ARTIFACT_TYPE: &str = "application/vnd.example.signature.v1+json";
const EMPTY: &str = "application/vnd.oci.empty.v1+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Pushes to one repository of the plain-http registry with the distribution API's monolithic upload.
struct Pusher {
    http: reqwest::Client,
    base: String,
}

impl Pusher {
    async fn blob(&self, bytes: &[u8]) -> (String, i64) {
        let digest = sha(bytes);
        let start = self.http.post(format!("{}/blobs/uploads/", self.base)).send().await.unwrap();
        assert_eq!(start.status(), 202, "starting an upload");
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let location =
            if location.starts_with("http") { location } else { format!("http://{}", self.host()) + &location };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self.http.put(format!("{location}{sep}digest={digest}")).body(bytes.to_vec()).send().await.unwrap();
        assert_eq!(put.status(), 201, "uploading blob {digest}: {}", put.text().await.unwrap_or_default());
        (digest, bytes.len() as i64)
    }

    async fn manifest(&self, selector: &str, media_type: &str, doc: &serde_json::Value) -> (String, i64) {
        let bytes = serde_json::to_vec(doc).unwrap();
        let put = self
            .http
            .put(format!("{}/manifests/{selector}", self.base))
            .header("content-type", media_type)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 201, "putting manifest {selector}: {}", put.text().await.unwrap_or_default());
        (sha(&bytes), bytes.len() as i64)
    }

    fn host(&self) -> &str {
        self.base.trim_start_matches("http://").split('/').next().unwrap()
    }
}

async fn inspected(client: &RegistryClient, reference: &str) -> Inspection {
    let reference: ImageReference = reference.parse().unwrap();
    inspect(client, &reference, InspectOptions { referrers: true, ..Default::default() }).await.unwrap()
}

#[tokio::test]
async fn a_referrer_from_the_tag_schema_is_listed_and_opens_by_digest() {
    let world = World::new();
    // Made first: it installs the TLS crypto provider the plain reqwest client below needs too.
    let client = world.registry_client();
    let repository = format!("referrers-test/r{}", std::process::id());
    let pusher = Pusher { http: reqwest::Client::new(), base: format!("http://{}/v2/{repository}", world.registry) };

    // The subject: a one-layer linux/amd64 image.
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []},
        "history": [{"created_by": "ADD hello /"}]
    }))
    .unwrap();
    let (config_digest, config_size) = pusher.blob(&config).await;
    let (layer_digest, layer_size) = pusher.blob(b"not really a tarball, the registry does not mind").await;
    let (subject_digest, subject_size) = pusher
        .manifest(
            "v1",
            OCI_MANIFEST,
            &json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}]
            }),
        )
        .await;

    // The artifact: empty config, one blob, `subject` naming the image.
    let (empty_digest, empty_size) = pusher.blob(b"{}").await;
    let (signature_digest, signature_size) = pusher.blob(br#"{"signed":"v1"}"#).await;
    let annotations = json!({"org.opencontainers.image.created": "2026-03-01T00:00:00Z"});
    let artifact = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY, "digest": empty_digest, "size": empty_size},
        "layers": [{"mediaType": "application/json", "digest": signature_digest, "size": signature_size}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": subject_size},
        "annotations": annotations
    });
    let (artifact_digest, artifact_size) =
        pusher.manifest(&sha(&serde_json::to_vec(&artifact).unwrap()), OCI_MANIFEST, &artifact).await;

    // The referrers tag schema: an index tagged with the subject's digest lists the artifact.
    pusher
        .manifest(
            &subject_digest.replace(':', "-"),
            OCI_INDEX,
            &json!({
                "schemaVersion": 2, "mediaType": OCI_INDEX,
                "manifests": [{
                    "mediaType": OCI_MANIFEST, "digest": artifact_digest, "size": artifact_size,
                    "artifactType": ARTIFACT_TYPE, "annotations": annotations
                }]
            }),
        )
        .await;

    let image = inspected(&client, &format!("{}/{repository}:v1", world.registry)).await;
    assert_eq!((image.kind, image.digest.as_str()), (ManifestKind::Image, subject_digest.as_str()));
    assert_eq!(image.platforms[0].platform, "linux/amd64");
    assert_eq!(image.referrers.len(), 1, "{:?}", image.referrers);
    let referrer = &image.referrers[0];
    assert_eq!(referrer.digest, artifact_digest);
    assert_eq!(referrer.media_type, OCI_MANIFEST);
    assert_eq!(referrer.artifact_type.as_deref(), Some(ARTIFACT_TYPE));
    assert_eq!(referrer.size, artifact_size);
    assert_eq!(referrer.annotations["org.opencontainers.image.created"], "2026-03-01T00:00:00Z");

    // What the UI opens when the referrer is clicked: the same repository, by digest.
    let opened = inspected(&client, &format!("{}/{repository}@{}", world.registry, referrer.digest)).await;
    assert_eq!(opened.kind, ManifestKind::Image);
    assert_eq!(opened.digest, artifact_digest);
    let raw: serde_json::Value = serde_json::from_str(&opened.raw).unwrap();
    assert_eq!(raw["artifactType"], ARTIFACT_TYPE);
    assert_eq!(raw["subject"]["digest"], subject_digest.as_str());
    assert_eq!(opened.platforms[0].layers.len(), 1);
    assert!(opened.referrers.is_empty(), "nothing refers to the artifact itself");

    // Composed into another repository, the image brings its referrer along, found there too.
    let copy = format!("{}/{repository}-copy:v1", world.registry);
    let request = ComposeRequest::new(vec![format!("{}/{repository}:v1", world.registry)], vec![copy.clone()]);
    let composition = compose::plan(&client, &request).await.unwrap();
    compose::push(&client, &composition, &|_| {}).await.unwrap();
    let copied: ImageReference = copy.parse().unwrap();
    let carried = client.referrers(&copied, &subject_digest).await.unwrap();
    assert_eq!(carried.len(), 1, "{carried:?}");
    assert_eq!((carried[0].digest.as_str(), carried[0].size), (artifact_digest.as_str(), artifact_size));
    assert_eq!(carried[0].artifact_type.as_deref(), Some(ARTIFACT_TYPE));
    let opened = inspected(&client, &format!("{}/{repository}-copy@{}", world.registry, artifact_digest)).await;
    assert_eq!(opened.digest, artifact_digest);
    assert_eq!(opened.platforms[0].layers.len(), 1, "the artifact's blob came along");

    // A manifest nothing refers to has no referrers (the tag-schema tag is missing, not an error).
    let busybox = inspected(&client, &format!("{}/busybox:latest", world.registry)).await;
    assert!(busybox.referrers.is_empty());
}
