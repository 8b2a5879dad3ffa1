//! A byte stream through a process inside a container: `docker exec -i` with stdin attached raw and
//! stdout demultiplexed. The docker-container driver reaches BuildKit this way (`buildctl dial-stdio`).

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::{Channel, Endpoint, Uri};
use tracing::{debug, instrument};

use crate::buildkit::transport::{BoxedConnection, TransportError};
use crate::engine::{Engine, EngineError};

/// How many bytes may wait between the exec stream and the reader before back-pressure applies.
const PIPE_BYTES: usize = 256 * 1024;

/// Starts `cmd` in `container` and returns a connection whose reads are the process's stdout and
/// whose writes go to its stdin. Stderr is logged, not mixed into the stream.
#[instrument(skip(engine), fields(host = %engine.host()))]
pub async fn dial(engine: &Engine, container: &str, cmd: &[&str]) -> Result<BoxedConnection, EngineError> {
    let docker = engine.docker();
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions {
                cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
                attach_stdin: Some(true),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| EngineError::from_bollard(engine.host(), e))?;
    let started = docker
        .start_exec(&exec.id, Some(StartExecOptions { detach: false, tty: false, ..Default::default() }))
        .await
        .map_err(|e| EngineError::from_bollard(engine.host(), e))?;
    let StartExecResults::Attached { mut output, mut input } = started else {
        unreachable!("an exec started without detach is attached");
    };
    let (ours, theirs) = tokio::io::duplex(PIPE_BYTES);
    let (mut from_caller, mut to_caller) = tokio::io::split(theirs);
    let container = container.to_owned();
    tokio::spawn(async move {
        while let Some(frame) = output.next().await {
            match frame {
                Ok(LogOutput::StdOut { message }) | Ok(LogOutput::Console { message }) => {
                    if to_caller.write_all(&message).await.is_err() {
                        break;
                    }
                }
                Ok(LogOutput::StdErr { message }) => {
                    debug!(container = %container, stderr = %String::from_utf8_lossy(&message), "exec stderr");
                }
                Ok(LogOutput::StdIn { .. }) => {}
                Err(e) => {
                    debug!(container = %container, error = %e, "exec stream ended");
                    break;
                }
            }
        }
        let _ = to_caller.shutdown().await;
    });
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match from_caller.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if input.write_all(&buf[..n]).await.is_err() || input.flush().await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = input.shutdown().await;
    });
    Ok(Box::pin(ours))
}

/// A gRPC channel to BuildKit inside `container`, over `buildctl dial-stdio`. One exec per connection.
pub async fn buildkit_channel(engine: &Engine, container: &str) -> Result<Channel, TransportError> {
    let engine_for_connector = engine.clone();
    let container_name = container.to_owned();
    let connector = tower::service_fn(move |_: Uri| {
        let engine = engine_for_connector.clone();
        let container = container_name.clone();
        async move {
            dial(&engine, &container, &["buildctl", "dial-stdio"])
                .await
                .map(TokioIo::new)
                .map_err(|e| std::io::Error::other(e.to_string()))
        }
    });
    Endpoint::from_static("http://buildkit.container").connect_with_connector(connector).await.map_err(|e| {
        TransportError::Grpc { host: engine.host().to_owned(), reason: crate::io_error::innermost_reason(&e) }
    })
}
