//! A BuildKit daemon for CLI tests of remote builder nodes: an engine's embedded BuildKit served at a
//! unix socket (its own file: only the tests that need it include it, beside `support`).

use std::path::Path;

/// A BuildKit daemon at `socket`, as a remote builder node reaches one: the BuildKit embedded in the
/// engine at `engine_host`, each connection upgraded through the engine's `/grpc`, then carried
/// as it is. Runs on `runtime` until it is dropped.
pub fn expose_engine_buildkit(runtime: &tokio::runtime::Runtime, socket: &Path, engine_host: &str) {
    let _entered = runtime.enter();
    let listener = tokio::net::UnixListener::bind(socket).unwrap();
    let engine_host = engine_host.to_owned();
    runtime.spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let engine_host = engine_host.clone();
            tokio::spawn(async move {
                if let Ok(mut upgraded) = buildlane_core::buildkit::transport::upgrade(&engine_host, "/grpc", &[]).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    });
}
