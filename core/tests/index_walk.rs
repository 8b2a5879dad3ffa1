//! How the inspector walks an index, against the real local registry (indexes pushed with the
//! distribution API, as any OCI client would) seen through `fake_faulty_proxy`, which counts requests:
//! one manifest listed under two platforms, a nested index shown as the tree it is, each digest fetched
//! once, bounded concurrency, and caps on how many entries are followed.

mod support;

use buildlane_core::images::manifest::{
    imagetools_text, inspect, InspectOptions, Inspection, MAX_CONCURRENT_FETCHES, MAX_ENTRIES_PER_INDEX,
    MAX_ENTRIES_TOTAL,
};
use buildlane_core::images::reference::ImageReference;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;
use support::registry_proxy::FaultyProxy;
use support::World;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Pushes to one repository of the plain-http registry.
struct Pusher {
    http: reqwest::Client,
    base: String,
    host: String,
}

impl Pusher {
    fn new(registry: &str, repository: &str) -> Self {
        Pusher {
            http: reqwest::Client::new(),
            base: format!("http://{registry}/v2/{repository}"),
            host: registry.to_owned(),
        }
    }

    async fn blob(&self, bytes: &[u8]) -> Value {
        let digest = sha(bytes);
        let start = self.http.post(format!("{}/blobs/uploads/", self.base)).send().await.unwrap();
        assert_eq!(start.status(), 202, "starting an upload");
        let location = start.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with("http") { location } else { format!("http://{}{location}", self.host) };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = self.http.put(format!("{location}{sep}digest={digest}")).body(bytes.to_vec()).send().await.unwrap();
        assert_eq!(put.status(), 201, "uploading blob {digest}");
        json!({"digest": digest, "size": bytes.len()})
    }

    /// Puts `doc` under `selector` (a tag, or its own digest when None); returns its descriptor.
    async fn manifest(&self, selector: Option<&str>, media_type: &str, doc: &Value) -> Value {
        let bytes = serde_json::to_vec(doc).unwrap();
        let digest = sha(&bytes);
        let put = self
            .http
            .put(format!("{}/manifests/{}", self.base, selector.unwrap_or(&digest)))
            .header("content-type", media_type)
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 201, "putting manifest: {}", put.text().await.unwrap_or_default());
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// A one-layer linux/amd64 image; `n` makes each one a manifest of its own digest.
    async fn image(&self, n: usize) -> Value {
        let config = self
            .blob(br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"ADD x /"}]}"#)
            .await;
        let layer = self.blob(b"a layer the registry does not unpack").await;
        let doc = json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config["digest"], "size": config["size"]},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer["digest"], "size": layer["size"]}],
            "annotations": {"org.example.n": n.to_string()}
        });
        self.manifest(None, OCI_MANIFEST, &doc).await
    }
}

fn entry(descriptor: &Value, platform: Value, annotations: Value) -> Value {
    let mut entry = descriptor.clone();
    entry["platform"] = platform;
    if annotations.as_object().is_some_and(|a| !a.is_empty()) {
        entry["annotations"] = annotations;
    }
    entry
}

fn index(entries: Vec<Value>, annotations: Value) -> Value {
    json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries, "annotations": annotations})
}

async fn inspect_through(proxy: &FaultyProxy, world: &World, repository: &str, tag: &str) -> Inspection {
    let reference: ImageReference = format!("{}/{repository}:{tag}", proxy.address).parse().unwrap();
    inspect(&world.registry_client(), &reference, InspectOptions::default()).await.unwrap()
}

fn repository(name: &str) -> String {
    format!("index-walk/{name}-{}", std::process::id())
}

#[tokio::test]
async fn one_manifest_under_two_platforms_is_shown_twice_and_fetched_once() {
    let world = World::new();
    let client = world.registry_client();
    let repo = repository("twice");
    let pusher = Pusher::new(&world.registry, &repo);
    let image = pusher.image(0).await;
    let windows = json!({"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1234"});
    let doc = index(
        vec![
            entry(&image, json!({"os": "linux", "architecture": "amd64"}), json!({})),
            entry(&image, windows, json!({"org.example.entry": "windows"})),
        ],
        json!({}),
    );
    pusher.manifest(Some("v1"), OCI_INDEX, &doc).await;
    drop(client);

    let proxy = FaultyProxy::start(&world.registry, Duration::ZERO, |_, _| None).await;
    let shown = inspect_through(&proxy, &world, &repo, "v1").await;
    let platforms: Vec<(&str, Option<&str>)> =
        shown.platforms.iter().map(|p| (p.platform.as_str(), p.os_version.as_deref())).collect();
    assert_eq!(platforms, [("linux/amd64", None), ("windows/amd64", Some("10.0.17763.1234"))]);
    assert!(shown.platforms.iter().all(|p| p.digest == image["digest"] && p.error.is_none() && p.config.is_some()));
    let keys: Vec<&str> = shown.platforms.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["0", "1"], "each entry has a key of its own");
    assert_eq!(shown.platforms[1].annotations["org.example.entry"], "windows");
    assert_eq!(shown.platforms[1].manifest_annotations["org.example.n"], "0");

    let manifest = format!("/v2/{repo}/manifests/{}", image["digest"].as_str().unwrap());
    assert_eq!(proxy.reads_of(&manifest), 1, "the shared manifest is fetched once: {:?}", proxy.seen());
    let config = shown.platforms[0].config_digest.clone().unwrap();
    assert_eq!(proxy.reads_of(&format!("/v2/{repo}/blobs/{config}")), 1, "and its config once");
}

#[tokio::test]
async fn a_nested_index_is_shown_as_the_tree_it_is() {
    let world = World::new();
    let _client = world.registry_client();
    let repo = repository("nested");
    let pusher = Pusher::new(&world.registry, &repo);
    let (a, b, c) = (pusher.image(1).await, pusher.image(2).await, pusher.image(3).await);
    let linux = json!({"os": "linux", "architecture": "amd64"});
    let arm = json!({"os": "linux", "architecture": "arm64"});
    let inner = index(
        vec![entry(&b, linux.clone(), json!({})), entry(&c, arm.clone(), json!({}))],
        json!({"org.example.level": "inner"}),
    );
    let inner = pusher.manifest(None, OCI_INDEX, &inner).await;
    let top = index(
        vec![entry(&a, linux, json!({})), entry(&inner, Value::Null, json!({"org.example.kind": "nested"}))],
        json!({"org.example.level": "top"}),
    );
    pusher.manifest(Some("v1"), OCI_INDEX, &top).await;

    let proxy = FaultyProxy::start(&world.registry, Duration::ZERO, |_, _| None).await;
    let shown = inspect_through(&proxy, &world, &repo, "v1").await;
    assert_eq!(shown.annotations["org.example.level"], "top");
    let tree: Vec<(&str, Option<&str>, &str)> =
        shown.platforms.iter().map(|p| (p.key.as_str(), p.parent.as_deref(), p.platform.as_str())).collect();
    assert_eq!(
        tree,
        [("0", None, "linux/amd64"), ("1.0", Some("1"), "linux/amd64"), ("1.1", Some("1"), "linux/arm64")]
    );
    assert_eq!(shown.indexes.len(), 1);
    let nested = &shown.indexes[0];
    assert_eq!((nested.key.as_str(), nested.parent.as_deref()), ("1", None));
    assert_eq!(nested.digest, inner["digest"]);
    assert_eq!(nested.annotations["org.example.kind"], "nested");
    assert_eq!(nested.index_annotations["org.example.level"], "inner");
    assert_eq!((nested.platform.as_deref(), nested.error.as_deref()), (None, None));

    // `buildlane inspect` prints the nested index as imagetools does (an entry of index media type,
    // no platform), then the tree with each level's annotations.
    let text = imagetools_text(&shown);
    let entry = format!(
        "  Name:      {}/{repo}:v1@{}\n  MediaType: {OCI_INDEX}\n",
        proxy.address,
        inner["digest"].as_str().unwrap()
    );
    assert!(text.contains(&entry), "{text}");
    let tree = format!(
        "  index  {}\n    index annotations:\n      org.example.level: inner\n    linux/amd64  {}",
        inner["digest"].as_str().unwrap(),
        b["digest"].as_str().unwrap()
    );
    assert!(text.contains(&tree), "{text}");
    assert!(text.contains("  manifest annotations:\n      org.example.n: 1\n"), "{text}");
}

#[tokio::test]
async fn index_walks_are_bounded_in_concurrency_and_in_entries_followed() {
    let world = World::new();
    let _client = world.registry_client();
    let repo = repository("bounded");
    let pusher = Pusher::new(&world.registry, &repo);
    let mut images = Vec::new();
    for n in 0..40 {
        images.push(pusher.image(100 + n).await);
    }
    let linux = json!({"os": "linux", "architecture": "amd64"});
    let wide = index(images.iter().map(|i| entry(i, linux.clone(), json!({}))).collect(), json!({}));
    pusher.manifest(Some("wide"), OCI_INDEX, &wide).await;
    // Each forwarded request is held a moment, so that an unbounded walk has them all in flight at once.
    let proxy = FaultyProxy::start(&world.registry, Duration::from_millis(40), |_, _| None).await;
    let shown = inspect_through(&proxy, &world, &repo, "wide").await;
    assert_eq!(shown.platforms.len(), 40);
    assert!(shown.platforms.iter().all(|p| p.error.is_none()));
    assert!(proxy.most_in_flight() > 1, "the walk reads concurrently");
    assert!(
        proxy.most_in_flight() <= MAX_CONCURRENT_FETCHES,
        "{} requests were in flight at once",
        proxy.most_in_flight()
    );

    // One index longer than the per-index cap (the same few manifests again and again), and several
    // of them nested under one top index, beyond the total cap.
    let long: Vec<Value> =
        (0..MAX_ENTRIES_PER_INDEX + 7).map(|n| entry(&images[n % 3], linux.clone(), json!({}))).collect();
    pusher.manifest(Some("long"), OCI_INDEX, &index(long, json!({}))).await;
    let direct = FaultyProxy::start(&world.registry, Duration::ZERO, |_, _| None).await;
    let shown = inspect_through(&direct, &world, &repo, "long").await;
    assert_eq!(shown.platforms.len(), MAX_ENTRIES_PER_INDEX);
    assert_eq!(shown.not_followed, 7);
    assert_eq!(direct.seen().iter().filter(|s| s.path.contains("/manifests/sha256:")).count(), 3);

    let children = MAX_ENTRIES_TOTAL / MAX_ENTRIES_PER_INDEX + 1;
    let mut nested = Vec::new();
    for c in 0..children {
        let full: Vec<Value> =
            (0..MAX_ENTRIES_PER_INDEX).map(|n| entry(&images[n % 3], linux.clone(), json!({}))).collect();
        let child = pusher.manifest(None, OCI_INDEX, &index(full, json!({"org.example.child": c.to_string()}))).await;
        nested.push(entry(&child, Value::Null, json!({})));
    }
    pusher.manifest(Some("many"), OCI_INDEX, &index(nested, json!({}))).await;
    let shown = inspect_through(&direct, &world, &repo, "many").await;
    let followed = shown.platforms.len() + shown.indexes.len();
    assert_eq!(followed, MAX_ENTRIES_TOTAL);
    assert_eq!(followed + shown.not_followed, children * (MAX_ENTRIES_PER_INDEX + 1));
    let note = shown.note.unwrap_or_default();
    assert!(note.contains(&format!("{} entries not followed", shown.not_followed)), "{note}");
}
