//! The Images view, used as a person would: a real 3-platform image pushed by buildx to the local
//! registry, found through the registry browser, inspected into three platform cards with sizes
//! and their provenance folded under each, one platform's layers opened; and an image loaded into the
//! engine, found under "Engine images".

use buildlane_e2e::App;
use fantoccini::Locator;

const PLATFORMS: [&str; 3] = ["linux/amd64", "linux/arm64", "linux/arm/v7"];

fn registry() -> String {
    std::env::var("BUILDLANE_REGISTRY").expect("BUILDLANE_REGISTRY is set (eval \"$(scripts/engine.sh env)\")")
}

/// Pushes `<registry>/e2e/images-view:<pid>` for three platforms; provenance is on by default.
fn push_three_platform_image(app: &App, registry: &str, tag: &str) {
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("Dockerfile"), format!("FROM {registry}/busybox:latest\nRUN uname -m > /m\n"))
        .unwrap();
    app.docker_ok(&[
        "buildx",
        "build",
        "--platform",
        &PLATFORMS.join(","),
        "--push",
        "-t",
        &format!("{registry}/e2e/images-view:{tag}"),
        &context.path().display().to_string(),
    ]);
}

/// Shows the view in the dark palette (WebKitGTK under Xvfb always prefers light): the rules of
/// app.css's dark media query applied unconditionally.
const FORCE_DARK: &str = r#"
  document.documentElement.style.colorScheme = 'dark';
  for (const sheet of document.styleSheets) {
    for (const rule of sheet.cssRules) {
      if (rule.media && rule.media.mediaText.includes('dark')) {
        const style = document.createElement('style');
        style.textContent = [...rule.cssRules].map((r) => r.cssText).join('\n');
        document.head.appendChild(style);
      }
    }
  }
"#;

#[tokio::test]
async fn a_pushed_three_platform_image_shows_three_cards_with_sizes_attestations_and_layers() {
    let registry = registry();
    let tag = std::process::id().to_string();
    let app = App::launch().await;
    push_three_platform_image(&app, &registry, &tag);

    app.wait_for("[data-testid=rail-images]", 30).await.click().await.unwrap();
    app.wait_for("[data-testid=images-view]", 10).await;

    // The app's docker config is empty: add the local registry (loopback: plain http by default).
    app.wait_for("[data-testid=registry-add-open]", 5).await.click().await.unwrap();
    app.wait_for("input[name=registry]", 5).await.send_keys(&registry).await.unwrap();
    app.wait_for("[data-testid=registry-add]", 5).await.click().await.unwrap();
    app.wait_for(&format!("[data-testid=registry][data-registry='{registry}']"), 10).await.click().await.unwrap();

    // Other tests push repositories too: filter to ours (later catalog pages are searched as needed).
    app.wait_for("[data-testid=repository]", 30).await;
    app.wait_for("input[name=repository-filter]", 5).await.send_keys("e2e/images-view").await.unwrap();
    app.wait_for("[data-testid=repository][data-repository='e2e/images-view']", 60).await.click().await.unwrap();
    app.wait_for("input[name=tag-filter]", 5).await.send_keys(&tag).await.unwrap();
    app.wait_for(&format!("[data-testid=tag][data-tag='{tag}']"), 60).await.click().await.unwrap();

    // Three platform cards, each with a size and its provenance folded under it (never unknown/unknown).
    app.wait_for("[data-testid=platform-card]", 60).await;
    let cards = app.client.find_all(Locator::Css("[data-testid=platform-card]")).await.unwrap();
    if cards.len() != 3 {
        let errors = app.client.find_all(Locator::Css("[data-testid=error]")).await.unwrap();
        let mut why = Vec::new();
        for e in errors {
            why.push(e.text().await.unwrap());
        }
        panic!("expected 3 platform cards, saw {}: {why:?}", cards.len());
    }
    for platform in PLATFORMS {
        let card = app.wait_for(&format!("[data-testid=platform-card][data-platform='{platform}']"), 5).await;
        let size = card.find(Locator::Css("[data-testid=platform-size]")).await.unwrap();
        let bytes: u64 = size.attr("data-bytes").await.unwrap().unwrap_or_default().parse().unwrap_or(0);
        assert!(bytes > 0, "{platform} has a compressed size");
        assert!(size.text().await.unwrap().contains('B'), "{platform} size reads as bytes");
        card.find(Locator::Css("[data-testid=attestation-badge]"))
            .await
            .unwrap_or_else(|_| panic!("{platform} card carries its attestation badge"));
    }
    assert!(app.client.find_all(Locator::Css("[data-platform='unknown/unknown']")).await.unwrap().is_empty());

    // The provenance of arm/v7 is readable from its badge.
    let arm = app.wait_for("[data-testid=platform-card][data-platform='linux/arm/v7']", 5).await;
    arm.find(Locator::Css("[data-testid=attestation-badge]")).await.unwrap().click().await.unwrap();
    app.wait_for("[data-testid=provenance]", 5).await;

    // arm64's layers: its busybox layer and its RUN layer.
    app.wait_for("[data-testid=platform-card][data-platform='linux/arm64']", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=detail-tab-layers]", 5).await.click().await.unwrap();
    app.wait_for("[data-testid=layers] [data-testid=layer]", 5).await;
    let layers = app.client.find_all(Locator::Css("[data-testid=layers] [data-testid=layer]")).await.unwrap();
    assert_eq!(layers.len(), 2, "busybox's layer and the RUN layer");
    // Each platform's busybox binary and `uname -m` output differ, so no layer is shared here.
    for layer in &layers {
        assert_eq!(layer.attr("data-shared").await.unwrap().as_deref(), Some("unique"));
    }
    // Let WebKit paint the last change before the picture.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let shot = app.screenshot("images").await;
    assert!(std::fs::metadata(shot).unwrap().len() > 0);
    app.client.execute(FORCE_DARK, vec![]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    app.screenshot("images-dark").await;

    // The raw tab holds the index's exact bytes.
    app.wait_for("[data-testid=raw-tab]", 5).await.click().await.unwrap();
    let raw = app.wait_for("[data-testid=raw-bytes]", 5).await.text().await.unwrap();
    assert!(raw.contains("\"manifests\""), "the raw index: {raw}");

    // Any reference can be typed: the busybox index has three platforms and no attestations.
    let input = app.wait_for("input[name=reference]", 5).await;
    input.clear().await.unwrap();
    input.send_keys(&format!("{registry}/busybox:latest")).await.unwrap();
    app.wait_for("[data-testid=reference-open]", 5).await.click().await.unwrap();
    let want = format!("{registry}/busybox:latest");
    let started = std::time::Instant::now();
    loop {
        let names = app.client.find_all(Locator::Css("[data-testid=inspection-name]")).await.unwrap();
        let shown = match names.first() {
            Some(n) => n.text().await.unwrap_or_default(),
            None => String::new(),
        };
        if shown.trim() == want {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "the typed reference opens: shows {shown:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.close().await;
}

#[tokio::test]
async fn an_image_loaded_into_the_engine_is_found_under_engine_images_and_opens() {
    let registry = registry();
    let tag = std::process::id().to_string();
    let app = App::launch().await;
    let context = tempfile::tempdir().unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {registry}/busybox:latest\nLABEL org.example.view=engine\n"),
    )
    .unwrap();
    let reference = format!("e2e/engine-view:{tag}");
    let out = app.docker(&["buildx", "build", "--load", "-t", &reference, &context.path().display().to_string()]);
    assert!(out.status.success(), "buildx build --load failed: {}", String::from_utf8_lossy(&out.stderr));

    app.wait_for("[data-testid=rail-images]", 30).await.click().await.unwrap();
    app.wait_for("[data-testid=engine-images]", 10).await.click().await.unwrap();
    app.wait_for("input[name=repository-filter]", 5).await.send_keys("e2e/engine-view").await.unwrap();
    app.wait_for("[data-testid=repository][data-repository='e2e/engine-view']", 30).await.click().await.unwrap();
    app.wait_for(&format!("[data-testid=tag][data-tag='{tag}']"), 30).await.click().await.unwrap();

    // One card, the engine's platform; the label from the Dockerfile in its config.
    app.wait_for("[data-testid=platform-card][data-platform='linux/amd64']", 30).await;
    let name = app.wait_for("[data-testid=inspection-name]", 5).await.text().await.unwrap();
    assert_eq!(name.trim(), reference);
    let config = app.wait_for("[data-testid=config]", 5).await.text().await.unwrap();
    assert!(config.contains("org.example.view"), "the label shows in the config: {config}");
    app.docker(&["image", "rm", &reference]);
    app.close().await;
}

/// PUTs `body` as an OCI index at `http://<registry>/v2/<repository>/manifests/<tag>` (plain HTTP/1.1,
/// as the distribution API takes it from any client).
fn put_index(registry: &str, repository: &str, tag: &str, body: &[u8]) {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(registry).unwrap();
    let head = format!(
        "PUT /v2/{repository}/manifests/{tag} HTTP/1.1\r\nHost: {registry}\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).unwrap();
    socket.write_all(body).unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "the registry took the index: {answer}");
}

#[tokio::test]
async fn an_index_listing_one_manifest_under_two_platforms_shows_both_entries() {
    let registry = registry();
    let tag = format!("twice-{}", std::process::id());
    let app = App::launch().await;
    // busybox's linux/amd64 manifest, listed again as windows/amd64 with an OS version: valid OCI.
    let repository = "e2e/one-manifest-twice";
    let source = format!("{registry}/{repository}:source");
    let copied = app.docker(&["buildx", "imagetools", "create", "-t", &source, &format!("{registry}/busybox:latest")]);
    assert!(copied.status.success(), "{}", String::from_utf8_lossy(&copied.stderr));
    let raw = app.docker(&["buildx", "imagetools", "inspect", "--raw", &source]);
    let index: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    let amd64 = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()
        .clone();
    let mut windows = amd64.clone();
    windows["platform"] =
        serde_json::json!({"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1234"});
    windows["annotations"] = serde_json::json!({"org.example.entry": "windows"});
    let twice = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd64, windows],
        "annotations": {"org.opencontainers.image.title": "one manifest twice"}
    });
    put_index(&registry, repository, &tag, &serde_json::to_vec(&twice).unwrap());

    app.wait_for("[data-testid=rail-images]", 30).await.click().await.unwrap();
    app.wait_for("[data-testid=images-view]", 10).await;
    let input = app.wait_for("input[name=reference]", 5).await;
    input.send_keys(&format!("{registry}/{repository}:{tag}")).await.unwrap();
    app.wait_for("[data-testid=reference-open]", 5).await.click().await.unwrap();

    // Both entries, each a card of its own; the windows one with its OS version and annotation.
    app.wait_for("[data-testid=platform-card][data-platform='linux/amd64']", 60).await;
    let windows = app.wait_for("[data-testid=platform-card][data-platform='windows/amd64']", 10).await;
    let cards = app.client.find_all(Locator::Css("[data-testid=platform-card]")).await.unwrap();
    assert_eq!(cards.len(), 2);
    let text = windows.text().await.unwrap();
    assert!(text.contains("10.0.17763.1234"), "{text}");
    let annotations = windows.find(Locator::Css("[data-testid=entry-annotations]")).await.unwrap();
    assert!(annotations.text().await.unwrap().contains("org.example.entry: windows"));
    let index_annotations = app.wait_for("[data-testid=inspection-annotations]", 5).await.text().await.unwrap();
    assert!(index_annotations.contains("org.opencontainers.image.title: one manifest twice"), "{index_annotations}");
    // Choosing the windows entry shows it below the cards (selection is by entry, not by digest).
    windows.click().await.unwrap();
    let pressed = app.wait_for("[data-testid=platform-card][aria-pressed=true]", 5).await;
    assert_eq!(pressed.attr("data-platform").await.unwrap().as_deref(), Some("windows/amd64"));
    app.close().await;
}
