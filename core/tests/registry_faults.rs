//! Registry auth, pagination and every fault on the issue's list, each a clear error. Against the real
//! local registries where they can produce the fault; `fake_registry_*` tests use a small in-test HTTP
//! server for responses a real registry will not send.

mod support;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use buildlane_core::images::manifest::{inspect, InspectError, InspectOptions, ManifestKind};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registry::{RegistryClient, RegistryError};
use sha2::{Digest, Sha256};
use support::World;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn auth_registry() -> String {
    std::env::var("BUILDLANE_AUTH_REGISTRY").expect("scripts/engine.sh env sets BUILDLANE_AUTH_REGISTRY")
}

fn auth_entry(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

fn user_password() -> (String, String) {
    (std::env::var("BUILDLANE_AUTH_HTPASSWD_USER").unwrap(), std::env::var("BUILDLANE_AUTH_HTPASSWD_PASSWORD").unwrap())
}

async fn inspect_err(client: &RegistryClient, reference: &str) -> InspectError {
    let reference: ImageReference = reference.parse().unwrap();
    inspect(client, &reference, InspectOptions::default()).await.unwrap_err()
}

/// Copies busybox into the htpasswd registry with the CLI (using this world's config.json).
fn seed_auth_registry(world: &World, repository: &str) -> String {
    let target = format!("{}/{repository}:latest", auth_registry());
    world.docker_ok(&["buildx", "imagetools", "create", "-t", &target, &format!("{}/busybox:latest", world.registry)]);
    target
}

#[tokio::test]
async fn basic_auth_with_credentials_from_config_auths() {
    let world = World::new();
    let (user, password) = user_password();
    world.write_docker_config(&serde_json::json!({"auths": {auth_registry(): {"auth": auth_entry(&user, &password)}}}));
    let target = seed_auth_registry(&world, "auth-test/from-auths");
    let reference: ImageReference = target.parse().unwrap();
    let inspection = inspect(&world.registry_client(), &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(inspection.platforms.len(), 3);
    assert!(inspection.platforms.iter().all(|p| p.config.is_some()));

    let anonymous = World::new();
    assert_eq!(
        inspect_err(&anonymous.registry_client(), &target).await.to_string(),
        format!(
            "authentication required for {}/auth-test/from-auths: log in with `docker login {}`",
            auth_registry(),
            auth_registry()
        )
    );
    let wrong = World::new();
    wrong.write_docker_config(&serde_json::json!({"auths": {auth_registry(): {"auth": auth_entry(&user, "nope")}}}));
    let message = inspect_err(&wrong.registry_client(), &target).await.to_string();
    assert!(message.contains("refused the stored credentials"), "{message}");
    assert!(!message.contains("nope") && !message.contains(&password));
}

fn write_helper(world: &World, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = world.config_dir().join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn basic_auth_with_credentials_from_a_credential_helper() {
    let world = World::new();
    let (user, password) = user_password();
    world.write_docker_config(&serde_json::json!({"auths": {auth_registry(): {"auth": auth_entry(&user, &password)}}}));
    let target = seed_auth_registry(&world, "auth-test/from-helper");

    let helped = World::new();
    // The helper answers only for the server URL it is given on stdin, as real helpers do.
    write_helper(
        &helped,
        "buildlanetest",
        &format!(
            "[ \"$1\" = get ] || exit 1\nread server\n[ \"$server\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{user}\",\"Secret\":\"{password}\"}}' \"$server\"",
            auth_registry()
        ),
    );
    helped.write_docker_config(&serde_json::json!({"credHelpers": {auth_registry(): "buildlanetest"}}));
    let reference: ImageReference = target.parse().unwrap();
    let inspection = inspect(&helped.registry_client(), &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(inspection.platforms.len(), 3);

    let failing = World::new();
    write_helper(&failing, "broken", "echo 'keychain is locked' >&2; exit 3");
    failing.write_docker_config(&serde_json::json!({"credsStore": "broken"}));
    assert_eq!(
        inspect_err(&failing.registry_client(), &target).await.to_string(),
        format!("credential helper docker-credential-broken failed for {}: keychain is locked", auth_registry())
    );
    let missing = World::new();
    missing.write_docker_config(&serde_json::json!({"credsStore": "not-installed-anywhere"}));
    assert_eq!(
        inspect_err(&missing.registry_client(), &target).await.to_string(),
        format!(
            "credential helper docker-credential-not-installed-anywhere (configured for {}) is not installed or not on PATH",
            auth_registry()
        )
    );
}

#[tokio::test]
async fn catalog_and_tags_paginate_over_several_pages() {
    let world = World::new();
    let busybox = format!("{}/busybox:latest", world.registry);
    for i in 0..3 {
        world.docker_ok(&[
            "buildx",
            "imagetools",
            "create",
            "-t",
            &format!("{}/paging-{i}/app:t0", world.registry),
            &busybox,
        ]);
    }
    let many = format!("{}/paging-0/app", world.registry);
    // One tag per call: several `-t` push to the same repository concurrently and can race.
    for i in 1..5 {
        world.docker_ok(&["buildx", "imagetools", "create", "-t", &format!("{many}:t{i}"), &busybox]);
    }

    let client = world.registry_client();
    // The registry's own order (folder by folder: `s9/x` before `s9-a/x`), read in pages of its
    // largest size around the paging; other tests may make repositories meanwhile, none is deleted.
    let whole = || async {
        let (mut all, mut last) = (Vec::new(), None::<String>);
        loop {
            let page = client.catalog(&world.registry, 1000, last.as_deref()).await.unwrap();
            all.extend(page.items);
            match page.next {
                Some(next) => last = Some(next),
                None => return all,
            }
        }
    };
    let before = whole().await;
    let (mut repositories, mut pages, mut last) = (Vec::new(), 0, None::<String>);
    loop {
        let page = client.catalog(&world.registry, 2, last.as_deref()).await.unwrap();
        pages += 1;
        repositories.extend(page.items);
        match page.next {
            Some(next) => last = Some(next),
            None => break,
        }
    }
    assert!(pages > 1);
    for i in 0..3 {
        assert!(repositories.contains(&format!("paging-{i}/app")), "{repositories:?}");
    }
    let after = whole().await;
    assert!(before.iter().all(|r| repositories.contains(r)), "none missed: {repositories:?}");
    let in_order: Vec<&String> = after.iter().filter(|r| repositories.contains(r)).collect();
    assert_eq!(repositories.iter().collect::<Vec<_>>(), in_order, "pages continue where the last one ended");

    // distribution 2.8 ignores `n` for tags and sends them all: one page, complete.
    let page = client.tags(&world.registry, "paging-0/app", 2, None).await.unwrap();
    let mut all_tags = page.items;
    all_tags.sort();
    assert_eq!(
        (all_tags, page.next),
        (vec!["t0", "t1", "t2", "t3", "t4"].into_iter().map(String::from).collect(), None)
    );
}

#[tokio::test]
async fn fake_registry_tags_paginate_when_the_registry_honours_n_and_last() {
    let tags =
        |list: &[&str]| (200, vec![], serde_json::to_vec(&serde_json::json!({"name": "app", "tags": list})).unwrap());
    let address = fake_registry(HashMap::from([
        ("/v2/app/tags/list?n=2".to_owned(), tags(&["a", "b"])),
        ("/v2/app/tags/list?n=2&last=b".to_owned(), tags(&["c", "d"])),
        ("/v2/app/tags/list?n=2&last=d".to_owned(), tags(&["e"])),
    ]))
    .await;
    let client = World::new().registry_client();
    let (mut all, mut last, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let page = client.tags(&address, "app", 2, last.as_deref()).await.unwrap();
        pages += 1;
        all.extend(page.items);
        match page.next {
            Some(next) => last = Some(next),
            None => break,
        }
    }
    assert_eq!((pages, all), (3, ["a", "b", "c", "d", "e"].map(String::from).to_vec()));
}

#[tokio::test]
async fn not_found_tells_repository_tag_and_digest_apart() {
    let world = World::new();
    let client = world.registry_client();
    let r = &world.registry;
    assert_eq!(
        inspect_err(&client, &format!("{r}/no-such-repo:latest")).await.to_string(),
        format!("repository no-such-repo not found in registry {r}")
    );
    assert_eq!(
        inspect_err(&client, &format!("{r}/busybox:no-such-tag")).await.to_string(),
        format!("tag \"no-such-tag\" not found in {r}/busybox")
    );
    let digest = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        inspect_err(&client, &format!("{r}/busybox@{digest}")).await.to_string(),
        format!("digest {digest} not found in {r}/busybox")
    );
}

#[tokio::test]
async fn transport_faults_are_named() {
    let world = World::new();
    let client = world.registry_client();
    assert!(matches!(
        "Bad/Ref".parse::<ImageReference>().unwrap_err().to_string().as_str(),
        "invalid reference \"Bad/Ref\": repository names must be lowercase"
    ));
    let err = inspect_err(&client, "no-such-host.invalid/app:1").await;
    assert!(matches!(err, InspectError::Registry(RegistryError::UnknownHost { .. })), "{err}");
    // Port 9 (discard) on loopback: nothing listens.
    let err = inspect_err(&client, "127.0.0.1:9/app:1").await;
    assert_eq!(err.to_string(), "cannot connect to registry 127.0.0.1:9: connection refused");
    // Speaking TLS to the plain-http registry.
    client.set_plain_http(&world.registry, false);
    let err = inspect_err(&client, &format!("{}/busybox:latest", world.registry)).await;
    assert!(matches!(err, InspectError::Registry(RegistryError::PlainHttpRegistry { .. })), "{err}");
    assert!(err.to_string().contains("turn on \"insecure (plain http)\""));
}

/// A canned response: status, extra headers, body.
type Canned = (u16, Vec<(String, String)>, Vec<u8>);

/// Serves canned responses by request path and Authorization (`<path> <authorization>`), else by path
/// with its query, else without, on 127.0.0.1:<random>, one connection per request.
async fn fake_registry(routes: HashMap<String, Canned>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let routes = Arc::new(routes);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let target = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let path = target.split('?').next().unwrap().to_owned();
                let authorization = text
                    .lines()
                    .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("authorization")))
                    .map(|(_, v)| v.trim().to_owned());
                let authorized = authorization.map(|a| format!("{path} {a}")).unwrap_or_default();
                let (status, headers, body) = routes
                    .get(&authorized)
                    .or_else(|| routes.get(&target))
                    .or_else(|| routes.get(&path))
                    .cloned()
                    .unwrap_or((404, vec![], br#"{"errors":[{"code":"NOT_FOUND"}]}"#.to_vec()));
                let mut head =
                    format!("HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    address
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn manifest_route(repo: &str, selector: &str) -> String {
    format!("/v2/{repo}/manifests/{selector}")
}

async fn fake_err(routes: HashMap<String, Canned>, reference: impl Fn(&str) -> String) -> InspectError {
    let address = fake_registry(routes).await;
    let world = World::new();
    inspect_err(&world.registry_client(), &reference(&address)).await
}

#[tokio::test]
async fn fake_registry_statuses_403_429_500() {
    for (status, headers, expected) in [
        (403, vec![], "access to {a}/app is denied (403) for these credentials".to_owned()),
        (
            429,
            vec![("Retry-After".to_owned(), "7".to_owned())],
            "registry {a} is rate limiting requests (429): retry after 7 s".into(),
        ),
        (500, vec![], "registry {a} failed with HTTP 500: boom".into()),
    ] {
        let routes = HashMap::from([(manifest_route("app", "v1"), (status, headers, b"boom".to_vec()))]);
        let address = fake_registry(routes).await;
        let world = World::new();
        let err = inspect_err(&world.registry_client(), &format!("{address}/app:v1")).await;
        assert_eq!(err.to_string(), expected.replace("{a}", &address));
    }
}

#[tokio::test]
async fn fake_registry_https_registry_spoken_to_in_plain_http() {
    // Go's HTTPS server answers a plain-http request with exactly this.
    let routes = HashMap::from([(
        manifest_route("app", "v1"),
        (400, vec![], b"Client sent an HTTP request to an HTTPS server.\n".to_vec()),
    )]);
    let err = fake_err(routes, |a| format!("{a}/app:v1")).await;
    assert!(matches!(err, InspectError::Registry(RegistryError::HttpsRegistry { .. })), "{err}");
}

#[tokio::test]
async fn fake_registry_malformed_json_and_unknown_media_type() {
    let json = vec![("Content-Type".to_owned(), "application/vnd.oci.image.index.v1+json".to_owned())];
    let routes = HashMap::from([(manifest_route("app", "v1"), (200, json, b"{not json".to_vec()))]);
    let err = fake_err(routes, |a| format!("{a}/app:v1")).await;
    assert!(err.to_string().starts_with("malformed manifest 127.0.0.1:"), "{err}");

    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json","stuff":1}"#.to_vec();
    let address = fake_registry(HashMap::from([(manifest_route("app", "v1"), (200, vec![], body.clone()))])).await;
    let reference: ImageReference = format!("{address}/app:v1").parse().unwrap();
    let shown = inspect(&World::new().registry_client(), &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(shown.kind, ManifestKind::Unknown);
    assert_eq!(shown.raw.as_bytes(), body.as_slice());
    assert_eq!(shown.note.as_deref(), Some("unknown media type application/vnd.example.thing+json: shown raw"));
}

#[tokio::test]
async fn fake_registry_digest_mismatch_and_oversized_manifest_are_refused() {
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec();
    let lie = format!("sha256:{}", "1".repeat(64));
    let routes = HashMap::from([(manifest_route("app", &lie), (200, vec![], body.clone()))]);
    let err = fake_err(routes, |a| format!("{a}/app@{lie}")).await;
    let message = err.to_string();
    assert!(message.starts_with("refused manifest 127.0.0.1:"), "{message}");
    assert!(message
        .ends_with(&format!("/app@{lie}: its content has digest {}, not the {lie} it was fetched by", sha(&body))));
    assert!(matches!(err, InspectError::Registry(RegistryError::DigestMismatch { .. })));

    let header = vec![("Docker-Content-Digest".to_owned(), lie.clone())];
    let routes = HashMap::from([(manifest_route("app", "v1"), (200, header, body))]);
    let err = fake_err(routes, |a| format!("{a}/app:v1")).await;
    assert!(matches!(err, InspectError::Registry(RegistryError::DigestMismatch { .. })), "{err}");

    let huge = vec![b' '; 4 * 1024 * 1024 + 1];
    let routes = HashMap::from([(manifest_route("app", "v1"), (200, vec![], huge))]);
    let err = fake_err(routes, |a| format!("{a}/app:v1")).await;
    assert!(err.to_string().ends_with(": larger than 4194304 bytes"), "{err}");
}

fn index_listing(children: &[&str]) -> Vec<u8> {
    let manifests: Vec<serde_json::Value> = children
        .iter()
        .map(|d| serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": 1}))
        .collect();
    serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests}))
        .unwrap()
}

#[tokio::test]
async fn fake_registry_indexes_nested_too_deep_or_listing_themselves_are_refused() {
    // Ten levels of real, correctly addressed nesting.
    let mut routes = HashMap::new();
    let mut child: Option<String> = None;
    for _ in 0..10 {
        let body = index_listing(&child.iter().map(String::as_str).collect::<Vec<_>>());
        let digest = sha(&body);
        routes.insert(manifest_route("deep", &digest), (200, vec![], body.clone()));
        routes.insert(manifest_route("deep", "top"), (200, vec![], body));
        child = Some(digest);
    }
    let err = fake_err(routes, |a| format!("{a}/deep:top")).await;
    assert!(matches!(err, InspectError::TooDeep { .. }), "{err}");
    assert!(err.to_string().contains("nest deeper than 8 levels"));

    // Content addressing makes a true self-reference impossible; a registry that serves an index under
    // the digest it lists is lying about that digest, and is refused.
    let entry = format!("sha256:{}", "2".repeat(64));
    let body = index_listing(&[&entry]);
    let routes = HashMap::from([
        (manifest_route("loop", "top"), (200, vec![], body.clone())),
        (manifest_route("loop", &entry), (200, vec![], body)),
    ]);
    let address = fake_registry(routes).await;
    let reference: ImageReference = format!("{address}/loop:top").parse().unwrap();
    let shown = inspect(&World::new().registry_client(), &reference, InspectOptions::default()).await.unwrap();
    // The nested index that cannot be read says why on its own node; the rest of the tree still shows.
    let error = shown.indexes[0].error.as_deref().unwrap_or_default();
    assert!(
        error.contains(&format!("its content has digest {}, not the {entry}", sha(&index_listing(&[&entry])))),
        "{error}"
    );
}

#[tokio::test]
async fn fake_registry_oversized_repository_lists_and_token_answers_are_refused() {
    use buildlane_core::images::registry::{MAX_LIST_BYTES, MAX_TOKEN_BYTES};
    let client = World::new().registry_client();
    let huge_list = vec![b' '; MAX_LIST_BYTES + 1];
    let address = fake_registry(HashMap::from([
        ("/v2/_catalog".to_owned(), (200, vec![], huge_list.clone())),
        ("/v2/app/tags/list".to_owned(), (200, vec![], huge_list)),
    ]))
    .await;
    let err = client.catalog(&address, 100, None).await.unwrap_err();
    assert_eq!(err.to_string(), format!("refused repository list of {address}: larger than {MAX_LIST_BYTES} bytes"));
    let err = client.tags(&address, "app", 100, None).await.unwrap_err();
    assert_eq!(err.to_string(), format!("refused tag list of {address}/app: larger than {MAX_LIST_BYTES} bytes"));

    // A registry whose token service answers with more than any token.
    let tokens =
        fake_registry(HashMap::from([("/token".to_owned(), (200, vec![], vec![b' '; MAX_TOKEN_BYTES + 1]))])).await;
    let challenge = format!("Bearer realm=\"http://{tokens}/token\",service=\"fake\"");
    let address = fake_registry(HashMap::from([(
        "/v2/_catalog".to_owned(),
        (401, vec![("WWW-Authenticate".to_owned(), challenge)], br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_vec()),
    )]))
    .await;
    let err = client.catalog(&address, 100, None).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("refused token from http://{tokens}/token: larger than {MAX_TOKEN_BYTES} bytes")
    );
}

fn proxied(reference: &str, proxy: &support::registry_proxy::FaultyProxy, registry: &str) -> String {
    reference.replacen(registry, &proxy.address, 1)
}

#[tokio::test]
async fn fake_faulty_proxy_a_stalled_registry_ends_in_a_timeout_that_names_it() {
    use support::registry_proxy::{Fault, FaultyProxy};
    let world = World::new();
    // The index answers; the platform manifests behind it never do.
    let proxy = FaultyProxy::start(&world.registry, std::time::Duration::ZERO, |_, path| {
        (path.contains("/manifests/sha256:")).then_some(Fault::Stall)
    })
    .await;
    let store = buildlane_core::docker_config::credentials::CredentialStore::new(&world.env());
    let client = RegistryClient::with_read_timeout(store, std::time::Duration::from_millis(300));
    let reference: ImageReference =
        proxied(&format!("{}/busybox:latest", world.registry), &proxy, &world.registry).parse().unwrap();
    let shown = inspect(&client, &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(shown.platforms.len(), 3);
    for p in &shown.platforms {
        assert_eq!(p.error.as_deref(), Some(format!("registry {} did not answer in time", proxy.address).as_str()));
    }
    // A registry silent from the first request fails the whole inspection the same way.
    let silent = FaultyProxy::start(&world.registry, std::time::Duration::ZERO, |_, _| Some(Fault::Stall)).await;
    let reference: ImageReference = format!("{}/busybox:latest", silent.address).parse().unwrap();
    let err = inspect(&client, &reference, InspectOptions::default()).await.unwrap_err();
    assert!(matches!(&err, InspectError::Registry(RegistryError::Timeout { registry }) if *registry == silent.address));
}

#[tokio::test]
async fn fake_faulty_proxy_a_redirect_to_another_host_does_not_carry_the_credentials() {
    use support::registry_proxy::{Fault, FaultyProxy, HeaderRecorder};
    let world = World::new();
    let (user, password) = user_password();
    world.write_docker_config(&serde_json::json!({"auths": {auth_registry(): {"auth": auth_entry(&user, &password)}}}));
    let target = seed_auth_registry(&world, "redirect-test/app");
    let other = HeaderRecorder::start().await;
    let to = other.address.clone();
    // Manifests by tag and every blob are sent elsewhere, as registries do with blobs (to a CDN).
    let proxy = FaultyProxy::start(&auth_registry(), std::time::Duration::ZERO, move |method, path| {
        (method == "GET" && (path.ends_with("/manifests/latest") || path.contains("/blobs/")))
            .then(|| Fault::Redirect(format!("http://{to}{path}")))
    })
    .await;
    let logged_in = World::new();
    logged_in.write_docker_config(
        &serde_json::json!({"auths": {proxy.address.clone(): {"auth": auth_entry(&user, &password)}}}),
    );
    let client = logged_in.registry_client();

    // The manifest GET (Buildlane's own request) follows the redirect without the Authorization.
    let reference: ImageReference = proxied(&target, &proxy, &auth_registry()).parse().unwrap();
    let err = inspect(&client, &reference, InspectOptions::default()).await.unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    // Blob GETs (oci-client's) too: the index and manifests by digest answer, the configs are redirected.
    let platform = world.imagetools(&["--raw"], &target);
    let index: serde_json::Value = serde_json::from_str(&platform).unwrap();
    let first = index["manifests"][0]["digest"].as_str().unwrap();
    let by_digest: ImageReference = format!("{}/redirect-test/app@{first}", proxy.address).parse().unwrap();
    let shown = inspect(&client, &by_digest, InspectOptions::default()).await.unwrap();
    assert!(shown.platforms[0].error.is_some(), "the redirected config is not found at the other host");

    let seen = other.headers.lock().unwrap().clone();
    assert!(seen.len() >= 2, "both redirects were followed: {seen:?}");
    assert!(seen.iter().all(|h| !h.contains_key("authorization")), "credentials leaked to {}: {seen:?}", other.address);
    // The proxy itself was asked with them: there was an Authorization to leak.
    assert!(proxy.seen().iter().any(|s| s.path.contains("/manifests/sha256:")));
}

#[tokio::test]
async fn fake_faulty_proxy_a_500_on_the_manifest_push_fails_the_build_with_the_registrys_message() {
    use buildlane_core::builds::{BuildOutput, BuildRequest, BuildState};
    use support::build::{build, context, request, Seen};
    use support::registry_proxy::{Fault, FaultyProxy};
    let world = World::new();
    let proxy = FaultyProxy::start(&world.registry, std::time::Duration::ZERO, |method, path| {
        (method == "PUT" && path.contains("/manifests/")).then(|| {
            let envelope = r#"{"errors":[{"code":"UNKNOWN","message":"storage is full"}]}"#;
            Fault::Status(500, "Storage Full (injected)", envelope.into())
        })
    })
    .await;
    let ctx = context(&[("Dockerfile", &format!("FROM {}/busybox:latest\nRUN echo half > /h\n", world.registry))]);
    let tag = format!("{}/push-fault/app:{}", proxy.address, std::process::id());
    let outcome = build(
        &world,
        BuildRequest { tags: vec![tag.clone()], outputs: vec![BuildOutput::push()], ..request(&ctx) },
        &Seen::default(),
    )
    .await;
    assert_eq!(outcome.state, BuildState::Failed);
    let message = outcome.failure.as_ref().map(|f| f.message.clone()).unwrap_or_default();
    // BuildKit (containerd's pusher) relays the status line, not the body.
    assert!(message.contains("500 Storage Full (injected)"), "{message}");
    assert!(
        proxy.seen().iter().any(|s| s.method == "PUT" && s.path.contains("/manifests/")),
        "the push reached the manifest"
    );
    // Nothing is claimed as pushed: no digest, no tag.
    assert_eq!((outcome.digest.as_deref(), outcome.tags.as_slice()), (None, &[] as &[String]));
    assert!(!outcome.exporter_response.contains_key("containerimage.digest"));
}

#[tokio::test]
async fn fake_registry_a_manifest_behind_a_token_service_is_read_and_an_oversized_token_refused() {
    use buildlane_core::images::registry::MAX_TOKEN_BYTES;
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}"#.to_vec();
    let tokens = fake_registry(HashMap::from([
        ("/token".to_owned(), (200, vec![], br#"{"token":"good-token","expires_in":300}"#.to_vec())),
        ("/huge".to_owned(), (200, vec![], vec![b' '; MAX_TOKEN_BYTES + 1])),
    ]))
    .await;
    let challenge = |realm: &str| {
        let header = format!("Bearer realm=\"http://{tokens}/{realm}\",service=\"fake\",scope=\"repository:app:pull\"");
        (401, vec![("WWW-Authenticate".to_owned(), header)], br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_vec())
    };
    let address = fake_registry(HashMap::from([
        (manifest_route("app", "v1"), challenge("token")),
        (format!("{} Bearer good-token", manifest_route("app", "v1")), (200, vec![], body.clone())),
        (manifest_route("app", "v2"), challenge("huge")),
    ]))
    .await;
    let client = World::new().registry_client();
    let fetched = client.manifest(&format!("{address}/app:v1").parse().unwrap()).await.unwrap();
    assert_eq!(fetched.bytes.as_ref(), body.as_slice(), "the token was asked for and sent");
    let err = client.manifest(&format!("{address}/app:v2").parse().unwrap()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("refused token from http://{tokens}/huge: larger than {MAX_TOKEN_BYTES} bytes")
    );
}

/// Bytes a token service got out on each connection before the client hung up.
type Sent = Arc<std::sync::Mutex<Vec<Arc<std::sync::atomic::AtomicUsize>>>>;

/// A token service that answers every request with `length` bytes (announced in Content-Length, then
/// sent in 64 KiB writes for as long as the client reads), counting what it got out per connection.
async fn fake_flooding_token_service(length: usize) -> (String, Sent) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let sent: Sent = Arc::default();
    let record = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let counter = Arc::new(AtomicUsize::new(0));
            record.lock().unwrap().push(counter.clone());
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head =
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n");
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                while counter.load(Ordering::SeqCst) < length {
                    let n = chunk.len().min(length - counter.load(Ordering::SeqCst));
                    if socket.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    counter.fetch_add(n, Ordering::SeqCst);
                }
            });
        }
    });
    (address, sent)
}

#[tokio::test]
async fn fake_registry_config_and_referrer_reads_refuse_an_oversized_token_answer_unread() {
    use buildlane_core::images::registry::MAX_TOKEN_BYTES;
    use std::sync::atomic::Ordering;
    let flood = 64 * MAX_TOKEN_BYTES;
    let (tokens, sent) = fake_flooding_token_service(flood).await;
    let realm = format!("http://{tokens}/token");
    let challenge = (
        401,
        vec![("WWW-Authenticate".to_owned(), format!("Bearer realm=\"{realm}\",service=\"fake\""))],
        br#"{"errors":[{"code":"UNAUTHORIZED"}]}"#.to_vec(),
    );
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha(&config), "size": config.len()},
        "layers": [],
    }))
    .unwrap();
    let manifest_digest = sha(&manifest);
    // The manifest is served to anyone; its config and referrers only with a token.
    let content_type = vec![("Content-Type".to_owned(), "application/vnd.oci.image.manifest.v1+json".to_owned())];
    let address = fake_registry(HashMap::from([
        ("/v2/".to_owned(), challenge.clone()),
        (manifest_route("app", "v1"), (200, content_type, manifest)),
        (format!("/v2/app/blobs/{}", sha(&config)), challenge.clone()),
        (format!("/v2/app/referrers/{manifest_digest}"), challenge),
    ]))
    .await;
    let client = World::new().registry_client();
    let reference: ImageReference = format!("{address}/app:v1").parse().unwrap();
    let expected = format!("refused token from {realm}: larger than {MAX_TOKEN_BYTES} bytes");

    let inspection = inspect(&client, &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(inspection.platforms.len(), 1);
    assert_eq!(inspection.platforms[0].error.as_deref(), Some(expected.as_str()), "the config row says why");
    let err = client.referrers(&reference, &manifest_digest).await.unwrap_err();
    assert_eq!(err.to_string(), expected);

    let sent: Vec<usize> = sent.lock().unwrap().iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert!(!sent.is_empty(), "the token service was asked");
    assert!(sent.iter().all(|&n| n < flood), "no answer was read whole: {sent:?} of {flood} bytes");
}
