//! BuildKit daemons for builder nodes: the engine's own BuildKit exposed where a remote node's
//! address points, as a `buildkitd` would listen there.

use buildlane_core::buildkit::transport;

/// The engine's own BuildKit exposed on a unix socket, as a remote BuildKit daemon would listen:
/// each connection performs the engine's `/grpc` upgrade, then carries plain gRPC.
pub fn expose_engine_buildkit(socket: &std::path::Path, engine_host: &str) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    let engine_host = engine_host.to_owned();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine_host = engine_host.clone();
            tokio::spawn(async move {
                if let Ok(mut upgraded) = transport::upgrade(&engine_host, "/grpc", &[]).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    })
}
