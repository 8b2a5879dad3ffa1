//! Identity-token logins against a real registry (Debian's docker-registry with token auth) whose
//! token service is a small in-test stand-in (fake_token_service: no OAuth2 token server comes with
//! Debian). The stand-in signs real JWTs the registry verifies against its root certificate. buildx
//! pushes through it with the same identity token, as the peer the inspection is compared with.

mod support;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use buildlane_core::images::manifest::{inspect, InspectOptions};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registry::RegistryError;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING};
use support::World;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REFRESH_TOKEN: &str = "buildlane-test-refresh-token";
const USER: &str = "token-user";
const PASSWORD: &str = "token-password";
const SERVICE: &str = "buildlane-test-registry";
const ISSUER: &str = "buildlane-test-issuer";

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The token service's signing key and the certificate the registry trusts it by.
struct Issuer {
    key: EcdsaKeyPair,
    cert_der: Vec<u8>,
    cert_pem: String,
}

impl Issuer {
    fn new() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
        let key_pair = rcgen::KeyPair::try_from(pkcs8.as_ref()).unwrap();
        assert_eq!(key_pair.public_key_raw(), key.public_key().as_ref());
        let cert = rcgen::CertificateParams::new(vec!["buildlane-test-issuer".into()])
            .unwrap()
            .self_signed(&key_pair)
            .unwrap();
        Issuer { key, cert_der: cert.der().to_vec(), cert_pem: cert.pem() }
    }

    /// A JWT granting every action asked for in `scopes` (`repository:NAME:ACTIONS`).
    fn token(&self, scopes: &[String]) -> String {
        let header = serde_json::json!({
            "typ": "JWT",
            "alg": "ES256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&self.cert_der)],
        });
        let access: Vec<serde_json::Value> = scopes
            .iter()
            .filter_map(|scope| {
                let (kind, rest) = scope.split_once(':')?;
                let (name, actions) = rest.rsplit_once(':')?;
                Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
            })
            .collect();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "buildlane", "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
            "jti": format!("{now}-{}", scopes.join(" ")), "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            b64url(&serde_json::to_vec(&header).unwrap()),
            b64url(&serde_json::to_vec(&claims).unwrap())
        );
        let signature = self.key.sign(&SystemRandom::new(), signing_input.as_bytes()).unwrap();
        format!("{signing_input}.{}", b64url(signature.as_ref()))
    }
}

/// One token request as the service saw it: the form (or query) fields.
type Seen = Arc<Mutex<Vec<HashMap<String, String>>>>;

/// The stand-in OAuth2 token service: a POSTed `grant_type=refresh_token` with the right refresh
/// token, or a GET with the right user and password (the distribution token spec's basic-auth
/// request), gets a signed access token for the scopes asked; anything else gets 401.
async fn fake_token_service(issuer: Arc<Issuer>, seen: Seen) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let issuer = issuer.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    let Ok(n) = socket.read(&mut buf).await else { return };
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                let request_line = head.lines().next().unwrap_or_default().to_owned();
                let query = request_line.split_whitespace().nth(1).and_then(|t| t.split_once('?')).map(|(_, q)| q);
                let body = &request[head_end..];
                let mut fields: HashMap<String, String> = HashMap::new();
                let mut scopes = Vec::new();
                for (k, v) in form_urlencoded::parse(body).chain(form_urlencoded::parse(query.unwrap_or("").as_bytes()))
                {
                    if k == "scope" {
                        scopes.extend(v.split(' ').map(str::to_owned));
                    }
                    fields.insert(k.into_owned(), v.into_owned());
                }
                fields.insert("method".into(), request_line.split_whitespace().next().unwrap_or("").into());
                let basic = head.lines().find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    let encoded = value.trim().strip_prefix("Basic ")?;
                    name.eq_ignore_ascii_case("authorization").then(|| encoded.to_owned())
                });
                let basic = basic.and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
                if let Some(basic) = &basic {
                    fields.insert("basic".into(), String::from_utf8_lossy(basic).into_owned());
                }
                let granted = (fields.get("grant_type").map(String::as_str) == Some("refresh_token")
                    && fields.get("refresh_token").map(String::as_str) == Some(REFRESH_TOKEN))
                    || (fields["method"] == "GET" && basic.as_deref() == Some(format!("{USER}:{PASSWORD}").as_bytes()));
                seen.lock().unwrap().push(fields);
                let (status, body) = if granted {
                    let token = issuer.token(&scopes);
                    ("200 OK", serde_json::json!({"access_token": token, "expires_in": 300}).to_string())
                } else {
                    ("401 Unauthorized", r#"{"error":"invalid_grant"}"#.to_owned())
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    format!("http://{address}/token")
}

/// Debian's docker-registry with token auth, on a free loopback port; stopped when dropped.
struct TokenRegistry {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_token_registry(realm: &str, issuer: &Issuer) -> TokenRegistry {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    std::fs::write(dir.path().join("issuer.pem"), &issuer.cert_pem).unwrap();
    let config = format!(
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}\nhttp:\n  addr: {address}\n\
         auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {bundle}\n",
        root = dir.path().join("storage").display(),
        bundle = dir.path().join("issuer.pem").display(),
    );
    std::fs::write(dir.path().join("config.yml"), config).unwrap();
    let child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(dir.path().join("config.yml"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("docker-registry is installed (scripts/engine.sh)");
    let registry = TokenRegistry { child, address, _dir: dir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(&registry.address).is_ok() {
            return registry;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("docker-registry did not listen on {}", registry.address);
}

// Multi-threaded: the token service must answer while this test waits on buildx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_token_service_an_identity_token_login_is_traded_for_access_tokens_per_scope() {
    let issuer = Arc::new(Issuer::new());
    let seen: Seen = Arc::default();
    let realm = fake_token_service(issuer.clone(), seen.clone()).await;
    let registry = start_token_registry(&realm, &issuer);
    let world = World::new();
    world.write_docker_config(
        &serde_json::json!({"auths": {registry.address.clone(): {"identitytoken": REFRESH_TOKEN}}}),
    );

    // buildx, logged in with the same identity token, copies busybox in.
    let target = format!("{}/token-test/busybox:v1", registry.address);
    world.docker_ok(&["buildx", "imagetools", "create", "-t", &target, &format!("{}/busybox:latest", world.registry)]);

    let client = world.registry_client();
    let reference: ImageReference = target.parse().unwrap();
    let inspection = inspect(&client, &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(inspection.raw.trim_end(), world.imagetools(&["--raw"], &target).trim_end());
    assert_eq!(inspection.platforms.len(), 3);
    assert!(inspection.platforms.iter().all(|p| p.config.is_some() && p.error.is_none()));
    let catalog = client.catalog(&registry.address, 100, None).await.unwrap();
    assert_eq!(catalog.items, ["token-test/busybox"]);
    let tags = client.tags(&registry.address, "token-test/busybox", 100, None).await.unwrap();
    assert_eq!(tags.items, ["v1"]);

    // Buildlane's requests: POSTed refresh-token grants, one per scope, named as Buildlane.
    let ours: Vec<HashMap<String, String>> = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.get("client_id").map(String::as_str) == Some("buildlane"))
        .cloned()
        .collect();
    assert!(ours
        .iter()
        .all(|f| f["method"] == "POST" && f["grant_type"] == "refresh_token" && f["service"] == SERVICE));
    let mut scopes: Vec<&str> = ours.iter().map(|f| f["scope"].as_str()).collect();
    scopes.sort();
    scopes.dedup();
    assert_eq!(scopes, ["registry:catalog:*", "repository:token-test/busybox:pull"]);
    assert_eq!(ours.len(), 2, "tokens are reused while they are fresh: {ours:?}");

    // A refresh token the service no longer accepts: told to log in again, the token never shown.
    let stale = World::new();
    stale.write_docker_config(
        &serde_json::json!({"auths": {registry.address.clone(): {"identitytoken": "expired-token"}}}),
    );
    let err = stale.registry_client().tags(&registry.address, "token-test/busybox", 100, None).await.unwrap_err();
    assert!(matches!(err, RegistryError::AuthRejected { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "registry {0} refused the stored credentials for token-test/busybox: log in again with `docker login {0}`",
            registry.address
        )
    );
}

// Multi-threaded: the token service must answer while this test waits on buildx.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_token_service_a_password_login_gets_one_token_for_manifests_configs_and_referrers() {
    let issuer = Arc::new(Issuer::new());
    let seen: Seen = Arc::default();
    let realm = fake_token_service(issuer.clone(), seen.clone()).await;
    let registry = start_token_registry(&realm, &issuer);
    let seeder = World::new();
    seeder.write_docker_config(
        &serde_json::json!({"auths": {registry.address.clone(): {"identitytoken": REFRESH_TOKEN}}}),
    );
    let target = format!("{}/token-test/busybox:v1", registry.address);
    seeder.docker_ok(&[
        "buildx",
        "imagetools",
        "create",
        "-t",
        &target,
        &format!("{}/busybox:latest", seeder.registry),
    ]);
    seen.lock().unwrap().clear();

    // A user who logged in with a user name and password.
    let world = World::new();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    world.write_docker_config(&serde_json::json!({"auths": {registry.address.clone(): {"auth": auth}}}));
    let client = world.registry_client();
    let reference: ImageReference = target.parse().unwrap();
    let inspection = inspect(&client, &reference, InspectOptions::default()).await.unwrap();
    assert_eq!(inspection.platforms.len(), 3);
    assert!(inspection.platforms.iter().all(|p| p.config.is_some() && p.error.is_none()), "configs were read");
    let index_digest = inspection.digest.clone();
    assert!(client.referrers(&reference, &index_digest).await.unwrap().is_empty());

    // Every read went with the one token Buildlane asked for (within its size limit), none with one
    // oci-client fetched by itself.
    let asked = seen.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "one token serves manifests, configs and referrers: {asked:?}");
    assert_eq!(asked[0]["method"], "GET");
    assert_eq!(asked[0]["scope"], "repository:token-test/busybox:pull");
    assert_eq!(asked[0]["service"], SERVICE);
    assert_eq!(asked[0]["basic"], format!("{USER}:{PASSWORD}"));
}
