//! Manifests and indexes as any registry may serve them, read through the real inspector over HTTP.
//!
//! The input is up to ten documents separated by NUL bytes. Document 0 is served as the tag; `@1`…`@9` inside a document
//! stand for the digest of that later document, so mutated trees stay reachable: nested indexes,
//! platforms, configs and attestations are fetched and verified as from a real registry. Inspecting,
//! printing the imagetools listing, serialising for the UI and comparing two platforms never panic.
#![no_main]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use buildlane_core::docker_config::credentials::CredentialStore;
use buildlane_core::docker_config::Environment;
use buildlane_core::images::manifest::{compare, imagetools_text, inspect, Depth, InspectOptions};
use buildlane_core::images::reference::ImageReference;
use buildlane_core::images::registry::RegistryClient;
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

/// What the in-process registry serves: the tag's document and every document by digest.
#[derive(Default)]
struct Served {
    tag: Vec<u8>,
    by_digest: HashMap<String, Vec<u8>>,
}

struct Harness {
    runtime: Runtime,
    served: Arc<Mutex<Served>>,
    client: RegistryClient,
    reference: ImageReference,
}

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Later documents first, so each `@k` can be replaced by the final digest of document k.
fn resolve(documents: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut finals: Vec<Vec<u8>> = vec![Vec::new(); documents.len()];
    for i in (0..documents.len()).rev() {
        let mut text = documents[i].clone();
        for (k, later) in finals.iter().enumerate().skip(i + 1) {
            let marker = format!("@{k}").into_bytes();
            let digest = digest_of(later).into_bytes();
            text = replace(&text, &marker, &digest);
        }
        finals[i] = text;
    }
    finals
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

fn content_type(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("mediaType").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "application/json".into())
}

/// One request, one answer, then the connection closes: just enough HTTP/1.1 for the registry API.
async fn answer(mut stream: tokio::net::TcpStream, served: Arc<Mutex<Served>>) {
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&request);
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let path = words.next().unwrap_or_default().to_owned();
    let body = {
        let served = served.lock().unwrap();
        if path == "/v2/" {
            Some(b"{}".to_vec())
        } else if path.ends_with("/manifests/latest") {
            Some(served.tag.clone())
        } else {
            path.rsplit('/').next().and_then(|digest| served.by_digest.get(digest).cloned())
        }
    };
    let head = match &body {
        Some(body) => format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nDocker-Content-Digest: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            content_type(body),
            digest_of(body),
            body.len()
        ),
        None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    };
    let _ = stream.write_all(head.as_bytes()).await;
    if method != "HEAD" {
        if let Some(body) = body {
            let _ = stream.write_all(&body).await;
        }
    }
    let _ = stream.shutdown().await;
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let served = Arc::new(Mutex::new(Served::default()));
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = served.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, shared.clone()));
            }
        });
        let config = std::env::temp_dir().join("buildlane-fuzz-docker-config");
        std::fs::create_dir_all(&config).unwrap();
        let env = Environment { docker_config: Some(config), ..Environment::default() };
        let client = RegistryClient::new(CredentialStore::new(&env));
        let reference: ImageReference = format!("127.0.0.1:{port}/fuzz:latest").parse().unwrap();
        Harness { runtime, served, client, reference }
    })
}

fuzz_target!(|data: &[u8]| {
    let documents: Vec<Vec<u8>> = data.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
    if documents.len() > 10 {
        return;
    }
    let h = harness();
    let finals = resolve(&documents);
    {
        let mut served = h.served.lock().unwrap();
        served.tag = finals[0].clone();
        served.by_digest = finals.iter().map(|d| (digest_of(d), d.clone())).collect();
    }
    for depth in [Depth::Manifests, Depth::Full] {
        let options = InspectOptions { referrers: depth == Depth::Full, depth };
        if let Ok(inspection) = h.runtime.block_on(inspect(&h.client, &h.reference, options)) {
            let _ = imagetools_text(&inspection);
            let _ = serde_json::to_string(&inspection).unwrap();
            if let [left, right, ..] = inspection.platforms.as_slice() {
                let _ = compare(left, right);
            }
        }
    }
});
