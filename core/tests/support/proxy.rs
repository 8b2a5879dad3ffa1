//! A unix-socket proxy to the real engine that a test can switch off (dropping every connection)
//! and on again, standing for an engine that stops and comes back.

use std::path::{Path, PathBuf};

use tokio::task::JoinSet;

pub struct EngineProxy {
    socket: PathBuf,
    engine_socket: String,
    tasks: Option<tokio::task::JoinHandle<()>>,
}

impl EngineProxy {
    /// A proxy listening on `socket` in front of the engine at `engine_host` (`unix://…`).
    pub fn new(socket: &Path, engine_host: &str) -> Self {
        Self {
            socket: socket.to_owned(),
            engine_socket: engine_host.trim_start_matches("unix://").to_owned(),
            tasks: None,
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn start(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let listener = tokio::net::UnixListener::bind(&self.socket).unwrap();
        let engine_socket = self.engine_socket.clone();
        self.tasks = Some(tokio::spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = engine_socket.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::UnixStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        }));
    }

    /// Stops listening and cuts every open connection, as a stopping engine would.
    pub fn stop(&mut self) {
        if let Some(task) = self.tasks.take() {
            // Aborting the accept loop drops its JoinSet, which aborts every connection task.
            task.abort();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for EngineProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
