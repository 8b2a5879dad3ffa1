//! BuildKit daemons for builder nodes: the engine's own BuildKit exposed where a remote node's
//! address points, as a `buildkitd` would listen there (plain tcp, or TLS with a client
//! certificate), through a relay that counts what it was asked to build; and builders made of them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use buildlane_core::builders::CreateBuilderRequest;
use buildlane_core::buildkit::transport;
use tokio::io::{AsyncRead, AsyncWrite};

use super::tls::{acceptor, Pki};
use super::{no_progress, World};

/// A remote BuildKit daemon at `socket` that accepts every connection and never says a word, as
/// one behind a stalled tunnel does; it goes with the task.
pub fn silent_daemon(socket: &std::path::Path) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    })
}

/// A builder node for multi-node tests: the engine's own BuildKit behind an HTTP/2 relay on
/// `tcp://127.0.0.1:<port>` that notes which platforms each Solve it relays asks for, and that a
/// test can cut (every connection dropped), as a node that goes away mid-build.
pub struct CountingNode {
    pub address: String,
    /// What the node's store entry needs to reach it: the TLS files, as `--driver-opt` takes them.
    pub driver_opts: Vec<String>,
    solves: Arc<Mutex<Vec<String>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl CountingNode {
    pub async fn start(engine_host: &str) -> Self {
        Self::listen(engine_host, None).await
    }

    /// The same node over TLS, as `buildkitd --tlscacert --tlscert --tlskey` listens: its daemon
    /// certificate is `pki`'s, and it requires a client certificate `pki`'s CA signed.
    pub async fn start_tls(engine_host: &str, pki: &Pki) -> Self {
        let mut node = Self::listen(engine_host, Some(acceptor(pki))).await;
        node.driver_opts = vec![
            format!("cacert={}", pki.ca.display()),
            format!("cert={}", pki.client_cert.display()),
            format!("key={}", pki.client_key.display()),
        ];
        node
    }

    async fn listen(engine_host: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("tcp://{}", listener.local_addr().unwrap());
        let solves = Arc::new(Mutex::new(Vec::new()));
        let (engine_host, seen) = (engine_host.to_owned(), solves.clone());
        let task = tokio::spawn(async move {
            // Dropped with the task when the node is cut, which drops every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                let (engine_host, seen, tls) = (engine_host.clone(), seen.clone(), tls.clone());
                connections.spawn(async move {
                    match tls {
                        // A refused handshake has already sent its alert; the connection just ends.
                        Some(tls) => {
                            if let Ok(inbound) = tls.accept(inbound).await {
                                relay(inbound, engine_host, seen).await;
                            }
                        }
                        None => relay(inbound, engine_host, seen).await,
                    }
                });
            }
        });
        Self { address, driver_opts: Vec::new(), solves, task: Some(task) }
    }

    /// The `platform` attribute of every Solve relayed so far, in order.
    pub fn solves(&self) -> Vec<String> {
        self.solves.lock().unwrap().clone()
    }

    /// Stops listening and drops every connection.
    pub fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// A node that goes away mid-build: waits for its first solve, lets that solve run `into_it`
    /// (into a long step), then cuts it.
    pub async fn cut_while_solving(&mut self, into_it: Duration) {
        while self.solves().is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(into_it).await;
        self.cut();
    }
}

impl Drop for CountingNode {
    fn drop(&mut self) {
        self.cut();
    }
}

/// A remote builder `name` with one node per `(node, platform)`, as `docker buildx create --name
/// NAME --platform P ADDRESS` then `--append --node NAME<i> --platform P ADDRESS` write it: node
/// `i` is `NAME<i>`, pinned to its platform, with its driver opts (TLS files).
pub async fn farm(world: &World, name: &str, nodes: &[(&CountingNode, &str)]) {
    let builders = world.builders();
    for (i, (node, platform)) in nodes.iter().enumerate() {
        let request = CreateBuilderRequest {
            name: name.into(),
            driver: if i == 0 { "remote".into() } else { String::new() },
            append: i > 0,
            node: if i == 0 { String::new() } else { format!("{name}{i}") },
            endpoint: node.address.clone(),
            platforms: vec![platform.to_string()],
            driver_opts: node.driver_opts.clone(),
            ..Default::default()
        };
        builders.create(&request, None, &no_progress).await.unwrap();
    }
}

/// What multi-node tests arrange first: one relayed node per platform (over TLS with `pki`'s
/// certificates when given) made into the remote builder `name` by `farm`, node `i` pinned to
/// `platforms[i]` and named `NAME<i>`.
pub async fn start_farm<const N: usize>(
    world: &World,
    name: &str,
    platforms: [&str; N],
    pki: Option<&Pki>,
) -> [CountingNode; N] {
    let mut nodes = Vec::with_capacity(N);
    for _ in 0..N {
        nodes.push(match pki {
            Some(pki) => CountingNode::start_tls(&world.host, pki).await,
            None => CountingNode::start(&world.host).await,
        });
    }
    let pinned: Vec<(&CountingNode, &str)> = nodes.iter().zip(platforms).collect();
    farm(world, name, &pinned).await;
    nodes.try_into().ok().expect("one node per platform")
}

/// The platforms of each node's solves, node by node (see `CountingNode::solves`).
pub fn solves_per_node(nodes: &[CountingNode]) -> Vec<Vec<String>> {
    nodes.iter().map(CountingNode::solves).collect()
}

type RelayBody = http_body_util::combinators::BoxBody<bytes::Bytes, hyper::Error>;

/// One client connection: an HTTP/2 server to the client, an HTTP/2 client to the engine's BuildKit,
/// each request and its response streamed across (sessions are long bidirectional streams).
async fn relay(
    inbound: impl AsyncRead + AsyncWrite + Unpin + Send + 'static,
    engine_host: String,
    solves: Arc<Mutex<Vec<String>>>,
) {
    use http_body_util::BodyExt;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let Ok(upstream) = transport::upgrade(&engine_host, "/grpc", &[]).await else { return };
    let Ok((sender, connection)) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(upstream)).await
    else {
        return;
    };
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let (mut sender, solves) = (sender.clone(), solves.clone());
        async move {
            let (parts, body) = request.into_parts();
            let body: RelayBody = if parts.uri.path() == "/moby.buildkit.v1.Control/Solve" {
                let bytes = body.collect().await?.to_bytes();
                solves.lock().unwrap().push(solve_platforms(&bytes));
                http_body_util::Full::new(bytes).map_err(|never| match never {}).boxed()
            } else {
                body.boxed()
            };
            let response = sender.send_request(hyper::Request::from_parts(parts, body)).await?;
            Ok::<_, hyper::Error>(response.map(BodyExt::boxed))
        }
    });
    let serve =
        hyper::server::conn::http2::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(inbound), service);
    tokio::select! {
        _ = serve => {}
        _ = connection => {}
    }
}

/// The `platform` frontend attribute of a gRPC-framed SolveRequest (`[flag][u32 length][message]`).
fn solve_platforms(framed: &[u8]) -> String {
    use prost::Message;
    let request = bollard::moby::buildkit::v1::SolveRequest::decode(&framed[5..]).expect("a SolveRequest");
    request.frontend_attrs.get("platform").cloned().unwrap_or_default()
}
