//! Engines at `ssh://[user@]host[:port][/socket]`, reached as the docker CLI reaches them (docker/cli's
//! connhelper): every connection runs `ssh [-l user] [-p port] -o ConnectTimeout=30 -T -- host docker
//! system dial-stdio` (`docker --host=unix:///socket system dial-stdio` when the URL has a path) and
//! speaks HTTP over the process's stdin and stdout. `ssh` comes from PATH and reads the user's own
//! configuration, keys and agent, so whatever `docker -H ssh://…` can reach, Buildlane can.
//!
//! Unlike the docker CLI, the sessions to one endpoint share one ssh connection (OpenSSH's
//! ControlMaster, its socket in a folder of the user's own under the runtime dir): the first
//! session makes it while the others wait, the next ones ride on it, so listing a context's
//! builders costs one handshake instead of one per engine call. It lingers
//! [`CONTROL_PERSIST`] after its last session.

use std::collections::HashMap;
use std::future::Future as _;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::time::Sleep;
use tracing::{debug, instrument};

/// The docker CLI adds this unless its flags already set a ConnectTimeout: ssh gives up on a host
/// that does not answer (TCP connect and handshake) after 30 s instead of the system's minutes.
const CONNECT_TIMEOUT: &str = "-o ConnectTimeout=30";
/// How much of ssh's stderr (its last bytes) is kept for an error message (the docker CLI keeps about 4 KiB).
const STDERR_BYTES: usize = 4096;
/// Once its stdout has closed, ssh has this long to exit and say why before the stream just ends.
const EXIT_WAIT: Duration = Duration::from_secs(10);
/// How long a shared connection stays up after its last session (ssh's `ControlPersist`): the
/// window's status watch asks more often than that, so it lasts as long as the window does.
const CONTROL_PERSIST: &str = "ControlPersist=60";
/// How long the first session may take to make the shared connection before the others stop
/// waiting for it (and make their own): ssh's own connect timeout.
const SHARED_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    #[error("invalid SSH URL: {0}")]
    InvalidUrl(String),
    #[error("cannot run ssh (engines at ssh:// need the OpenSSH client on PATH): {0}")]
    Spawn(String),
    #[error("ssh exited with {status}{}{hint}", said(.stderr))]
    Exited { status: String, stderr: String, hint: &'static str },
}

/// What ssh printed, after a colon, or nothing when it printed nothing (killed, say).
fn said(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// Where an `ssh://` engine is, as the docker CLI reads the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshEndpoint {
    user: Option<String>,
    host: String,
    port: Option<u16>,
    /// The engine's socket on the far side; `None` lets the far side's docker CLI choose.
    socket: Option<String>,
}

impl SshEndpoint {
    /// Reads `ssh://[user@]host[:port][/socket]`; a password, a query or a fragment is refused, as the
    /// docker CLI refuses them.
    pub fn parse(address: &str) -> Result<Self, SshError> {
        let invalid = |reason: &str| SshError::InvalidUrl(reason.to_owned());
        let url = url::Url::parse(address).map_err(|e| invalid(&e.to_string()))?;
        if url.scheme() != "ssh" {
            return Err(invalid(&format!("incorrect scheme: {}", url.scheme())));
        }
        if url.password().is_some() {
            return Err(invalid("plain-text password is not supported"));
        }
        if let Some(query) = url.query() {
            return Err(invalid(&format!("query parameters are not allowed: \"{query}\"")));
        }
        if let Some(fragment) = url.fragment() {
            return Err(invalid(&format!("fragments are not allowed: \"{fragment}\"")));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => String::new(),
        };
        if host.is_empty() {
            return Err(invalid("hostname is empty"));
        }
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let user = Some(decode(url.username())).filter(|u| !u.is_empty());
        let path = decode(url.path());
        let socket = (!path.trim_matches('/').is_empty()).then_some(path);
        Ok(Self { user, host, port: url.port(), socket })
    }

    /// The arguments after `ssh`, in the docker CLI's order.
    pub fn command_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(user) = &self.user {
            args.extend(["-l".to_owned(), user.clone()]);
        }
        if let Some(port) = self.port {
            args.extend(["-p".to_owned(), port.to_string()]);
        }
        args.extend([CONNECT_TIMEOUT.to_owned(), "-T".to_owned(), "--".to_owned(), self.host.clone()]);
        let host_flag = self.socket.as_ref().map(|socket| format!("--host=unix://{socket}"));
        let remote: Vec<&str> =
            ["docker"].into_iter().chain(host_flag.as_deref()).chain(["system", "dial-stdio"]).collect();
        // ssh hands the command to the far side's shell as one line.
        args.push(shell_words::join(remote));
        args
    }

    /// The socket of this endpoint's shared connection, when there is a folder for it.
    fn control_socket(&self) -> Option<PathBuf> {
        use sha2::Digest as _;
        let key = format!("{}@{}:{}", self.user.as_deref().unwrap_or(""), self.host, self.port.unwrap_or(0));
        let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        control_dir().map(|dir| dir.join(&hash[..20]))
    }

    /// Starts one `ssh … docker system dial-stdio` session: its stdout is what the engine says, its
    /// stdin what it hears. Dropping the stream ends the process. The first session to an endpoint
    /// makes its shared connection; sessions started meanwhile wait until it is there.
    #[instrument(skip(self), fields(host = %self.host))]
    pub async fn dial(&self) -> Result<SshStream, SshError> {
        let Some(socket) = self.control_socket() else { return self.spawn(None) };
        if socket.exists() {
            return self.spawn(Some(&socket));
        }
        let first = {
            static MAKING: OnceLock<Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
            let mut making = MAKING.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
            making.entry(socket.clone()).or_default().clone()
        };
        let _first = first.lock().await;
        if socket.exists() {
            return self.spawn(Some(&socket));
        }
        let mut stream = self.spawn(Some(&socket))?;
        let deadline = Instant::now() + SHARED_WAIT;
        while !socket.exists() && !stream.has_exited() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        debug!(shared = socket.exists(), "first ssh session");
        Ok(stream)
    }

    fn spawn(&self, control: Option<&Path>) -> Result<SshStream, SshError> {
        let mut command = Command::new("ssh");
        if let Some(socket) = control {
            command.args(["-o", "ControlMaster=auto", "-o"]).arg(format!("ControlPath={}", socket.display()));
            command.args(["-o", CONTROL_PERSIST]);
        }
        command
            .args(self.command_args())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: setsid is async-signal-safe and touches no memory of this process. As the docker
        // CLI does, ssh gets a session of its own: with no terminal to prompt on it fails (or asks
        // through SSH_ASKPASS) instead of waiting for an answer nobody sees.
        unsafe {
            command.pre_exec(|| rustix::process::setsid().map(|_| ()).map_err(io::Error::from));
        }
        let mut child = command.spawn().map_err(|e| SshError::Spawn(crate::io_error::reason(&e)))?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(SshError::Spawn("its standard streams were not piped".into()));
        };
        let (exit_tx, exit_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // Read to the end, so ssh never blocks on a full pipe, keeping the last words: why it
            // stopped comes after any warnings.
            let said = tokio::spawn(async move {
                let mut said = Vec::new();
                let mut chunk = [0u8; 1024];
                while let Ok(n @ 1..) = stderr.read(&mut chunk).await {
                    said.extend_from_slice(&chunk[..n]);
                    let excess = said.len().saturating_sub(STDERR_BYTES);
                    said.drain(..excess);
                }
                said
            });
            let status = tokio::select! {
                status = child.wait() => status,
                _ = stop_rx => {
                    let _ = child.kill().await;
                    return;
                }
            };
            let said = said.await.unwrap_or_default();
            let outcome = match status {
                Ok(status) if status.success() => None,
                Ok(status) => Some(exited(status, &said)),
                Err(e) => Some(SshError::Exited { status: e.to_string(), stderr: String::new(), hint: "" }),
            };
            debug!(?outcome, "ssh exited");
            let _ = exit_tx.send(outcome);
        });
        Ok(SshStream { stdin, stdout, exit: exit_rx, exited: None, deadline: None, _stop: stop_tx })
    }
}

/// Where ssh keeps the sockets of shared connections: `buildlane/ssh` in `$XDG_RUNTIME_DIR`, else
/// `buildlane-<uid>/ssh` in the temporary folder, made 0700. `None` (each session its own
/// connection, as the docker CLI does) when it cannot be made, is someone else's, others may enter
/// it, or its path has a space (ssh would cut `ControlPath` there).
fn control_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let uid = rustix::process::getuid().as_raw();
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|d| !d.is_empty())
            .map(|d| PathBuf::from(d).join("buildlane"))
            .unwrap_or_else(|| std::env::temp_dir().join(format!("buildlane-{uid}")));
        let dir = base.join("ssh");
        if dir.to_string_lossy().contains(char::is_whitespace) {
            return None;
        }
        if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir) {
            debug!(dir = %dir.display(), error = %e, "no shared ssh connections");
            return None;
        }
        let private = |d: &Path| {
            std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir() && m.uid() == uid && m.mode() & 0o077 == 0)
        };
        if !(private(&base) && private(&dir)) {
            debug!(dir = %dir.display(), "not private to this user: no shared ssh connections");
            return None;
        }
        Some(dir)
    })
    .clone()
}

fn exited(status: std::process::ExitStatus, stderr: &[u8]) -> SshError {
    let stderr = String::from_utf8_lossy(stderr).trim().to_owned();
    let hint = match status.code() {
        // The far side's shell found no `docker`.
        Some(127) => " (the remote host needs Docker 18.09 or later on its PATH)",
        _ => "",
    };
    let status = match status.code() {
        Some(code) => format!("status {code}"),
        None => status.to_string(),
    };
    SshError::Exited { status, stderr, hint }
}

/// The byte stream of one `ssh … dial-stdio` process. When ssh exits with an error, reads and
/// writes fail with what it printed, so a refused key or a missing `docker` reads as such.
pub struct SshStream {
    stdin: ChildStdin,
    stdout: ChildStdout,
    exit: oneshot::Receiver<Option<SshError>>,
    exited: Option<Option<SshError>>,
    deadline: Option<Pin<Box<Sleep>>>,
    /// Dropped with the stream: the watcher then kills ssh.
    _stop: oneshot::Sender<()>,
}

impl SshStream {
    /// Whether ssh has ended already (what it said is kept for the reads and writes).
    fn has_exited(&mut self) -> bool {
        if self.exited.is_none() {
            if let Ok(outcome) = self.exit.try_recv() {
                self.exited = Some(outcome);
            }
        }
        self.exited.is_some()
    }

    /// Why ssh ended, once it has: `Some` when it failed. Waits at most [`EXIT_WAIT`].
    fn poll_exit(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Error>> {
        if self.exited.is_none() {
            match Pin::new(&mut self.exit).poll(cx) {
                Poll::Ready(outcome) => self.exited = Some(outcome.unwrap_or(None)),
                Poll::Pending => {
                    let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(EXIT_WAIT)));
                    ready!(deadline.as_mut().poll(cx));
                    self.exited = Some(None);
                }
            }
        }
        Poll::Ready(self.exited.clone().flatten().map(io::Error::other))
    }
}

impl AsyncRead for SshStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.stdout).poll_read(cx, buf))?;
        if buf.filled().len() > before || buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        this.poll_exit(cx).map(|failure| failure.map_or(Ok(()), Err))
    }
}

impl AsyncWrite for SshStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.stdin).poll_write(cx, buf)) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                this.poll_exit(cx).map(|failure| Err(failure.unwrap_or(e)))
            }
            other => Poll::Ready(other),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// Opens an ssh stream per connection the Engine API client makes.
#[derive(Clone)]
pub(crate) struct SshConnector {
    endpoint: Arc<SshEndpoint>,
}

impl SshConnector {
    pub(crate) fn new(endpoint: SshEndpoint) -> Self {
        Self { endpoint: Arc::new(endpoint) }
    }
}

impl tower::Service<http::Uri> for SshConnector {
    type Response = TokioIo<SshStream>;
    type Error = io::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let endpoint = self.endpoint.clone();
        Box::pin(async move { endpoint.dial().await.map(TokioIo::new).map_err(io::Error::other) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> Vec<String> {
        SshEndpoint::parse(url).unwrap().command_args()
    }

    #[test]
    fn the_ssh_command_is_the_docker_clis() {
        assert_eq!(
            args("ssh://alice@build.example:2222"),
            [
                "-l",
                "alice",
                "-p",
                "2222",
                "-o ConnectTimeout=30",
                "-T",
                "--",
                "build.example",
                "docker system dial-stdio"
            ]
        );
        assert_eq!(
            args("ssh://build.example"),
            ["-o ConnectTimeout=30", "-T", "--", "build.example", "docker system dial-stdio"]
        );
        assert_eq!(args("ssh://[::1]:22/")[5..], ["::1", "docker system dial-stdio"]);
    }

    #[test]
    fn a_path_names_the_far_sides_socket_quoted_for_its_shell() {
        // The docker CLI quotes `=` too (mvdan.cc/sh's Quote, vendored in its connhelper).
        assert_eq!(
            args("ssh://me@box/run/user/1000/docker.sock").last().unwrap(),
            "docker '--host=unix:///run/user/1000/docker.sock' system dial-stdio"
        );
        assert_eq!(
            args("ssh://box/tmp/my%20engine.sock").last().unwrap(),
            "docker '--host=unix:///tmp/my engine.sock' system dial-stdio"
        );
    }

    #[test]
    fn what_the_docker_cli_refuses_is_refused() {
        let err = |url: &str| SshEndpoint::parse(url).unwrap_err().to_string();
        assert_eq!(err("ssh://me:secret@box"), "invalid SSH URL: plain-text password is not supported");
        assert_eq!(err("ssh://box?x=1"), "invalid SSH URL: query parameters are not allowed: \"x=1\"");
        assert_eq!(err("ssh://box#frag"), "invalid SSH URL: fragments are not allowed: \"frag\"");
        assert_eq!(err("ssh:///path"), "invalid SSH URL: hostname is empty");
    }
}
