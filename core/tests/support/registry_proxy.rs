//! `fake_faulty_proxy`: an HTTP/1.1 proxy on loopback in front of a real registry, for faults a real
//! registry will not produce on demand. Every request gets a connection of its own upstream (the
//! request is rewritten to `Connection: close`, so the client opens a new one for the next), which lets
//! the proxy see each request's method and path, count them, and answer some itself: a status, a
//! redirect, or nothing at all (a stall).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with a request instead of forwarding it.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answers with this status, reason phrase and body (a distribution error envelope, say).
    Status(u16, &'static str, String),
    /// Answers 307 to this URL.
    Redirect(String),
    /// Accepts the request and never answers.
    Stall,
}

type Rule = Box<dyn Fn(&str, &str) -> Option<Fault> + Send + Sync>;

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
}

pub struct FaultyProxy {
    pub address: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    most_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: String,
    rule: Rule,
    hold: Duration,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

impl FaultyProxy {
    /// A proxy to `upstream` (`host:port`) that applies `rule(method, path)` to every request and holds
    /// each forwarded request for `hold` first (so concurrent requests overlap and can be counted).
    pub async fn start(
        upstream: &str,
        hold: Duration,
        rule: impl Fn(&str, &str) -> Option<Fault> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let most_in_flight = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            rule: Box::new(rule),
            hold,
            seen: seen.clone(),
            in_flight,
            most_in_flight: most_in_flight.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move { serve(shared, socket).await });
            }
        });
        FaultyProxy { address, seen, most_in_flight, task }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many GETs and HEADs of `path` went through.
    pub fn reads_of(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| (s.method == "GET" || s.method == "HEAD") && s.path == path).count()
    }

    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads up to the end of the request head; returns the head and whatever body bytes came with it.
async fn read_head(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn serve(shared: Arc<Shared>, mut client: TcpStream) {
    // A TLS handshake (containerd tries HTTPS first) is passed through untouched: the registry's
    // plain-http answer to it is what makes the client fall back to http, as with the registry itself.
    let mut first = [0u8; 1];
    if matches!(client.peek(&mut first).await, Ok(1)) && first[0] == 0x16 {
        if let Ok(mut upstream) = TcpStream::connect(&shared.upstream).await {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        return;
    }
    let Some((head, body_start)) = read_head(&mut client).await else { return };
    let mut words = head.split_whitespace();
    let method = words.next().unwrap_or_default().to_owned();
    let target = words.next().unwrap_or_default().to_owned();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    shared.seen.lock().unwrap().push(Seen { method: method.clone(), path: path.clone() });
    match (shared.rule)(&method, &path) {
        Some(Fault::Status(status, reason, body)) => {
            let response = format!(
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes()).await;
        }
        Some(Fault::Redirect(location)) => {
            let response = format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = client.write_all(response.as_bytes()).await;
        }
        Some(Fault::Stall) => {
            // Holds the connection open until the client gives up.
            let mut sink = [0u8; 1024];
            while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
        }
        None => {
            // Requests held at once: a lower bound of those the client has in flight (it cannot
            // start another in their place before their answer), so never more than it.
            let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            shared.most_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(shared.hold).await;
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            if let Ok(mut upstream) = TcpStream::connect(&shared.upstream).await {
                // The Host header stays the proxy's, so the registry's upload URLs point back through it.
                let rewritten: String = head
                    .split("\r\n")
                    .filter(|line| !line.is_empty() && !line.to_ascii_lowercase().starts_with("connection:"))
                    .map(|line| format!("{line}\r\n"))
                    .collect();
                let rewritten = format!("{rewritten}Connection: close\r\n\r\n");
                if upstream.write_all(rewritten.as_bytes()).await.is_ok()
                    && upstream.write_all(&body_start).await.is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            }
        }
    }
}

/// A listener on another loopback address (127.0.0.2) that records each request's headers and answers
/// 404: the "other host" a redirect points at.
pub struct HeaderRecorder {
    pub address: String,
    pub headers: Arc<Mutex<Vec<HashMap<String, String>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HeaderRecorder {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.2:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let headers = Arc::new(Mutex::new(Vec::new()));
        let recorded = headers.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let Some((head, _)) = read_head(&mut socket).await else { return };
                    let fields = head
                        .split("\r\n")
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    recorded.lock().unwrap().push(fields);
                    let body = r#"{"errors":[{"code":"NOT_FOUND","message":"recorded"}]}"#;
                    let response = format!(
                        "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        HeaderRecorder { address, headers, task }
    }
}

impl Drop for HeaderRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
