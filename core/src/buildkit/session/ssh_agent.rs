//! The SSH service: `RUN --mount=type=ssh[,id=ID]` reaches an ssh-agent the client names
//! (`--ssh default` is `$SSH_AUTH_SOCK`, `--ssh ID=SOCKET` another) or private key files it
//! names (`--ssh ID=KEYFILE[,KEYFILE]`, served by an in-process agent, ssh_keyring.rs), as
//! BuildKit's sshprovider serves them. The step may list the keys and have them sign; anything
//! else (adding or removing keys, locking the agent, extensions) is answered with a failure and
//! never reaches the agent, as buildkit's read-only agent refuses it. BuildKit sends the id in the request of
//! `CheckAgent` and in the `buildkit.ssh.id` metadata of `ForwardAgent`; an empty one is `default`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bollard::moby::sshforward::v1::ssh_server::Ssh;
use bollard::moby::sshforward::v1::{BytesMessage, CheckAgentRequest, CheckAgentResponse};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, instrument};

use super::ssh_keyring::{KeyFileError, Keyring};

/// The metadata key of a `ForwardAgent` stream's id.
const ID_METADATA: &str = "buildkit.ssh.id";
/// OpenSSH's own limit on one agent message (`AGENT_MAX_LEN`).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// `SSH_AGENT_FAILURE`: the agent's answer to a request it refuses.
const AGENT_FAILURE: u8 = 5;
/// The requests a build step may make: list the keys (`SSH_AGENTC_REQUEST_IDENTITIES`) and sign
/// with one (`SSH_AGENTC_SIGN_REQUEST`).
const ALLOWED_REQUESTS: [u8; 2] = [11, 13];
/// The chunks BuildKit's side sends and expects, as `sshforward.Copy` cuts them.
const CHUNK_BYTES: usize = 32 * 1024;

/// The agents a build's steps may use, by id.
#[derive(Debug, Clone, Default)]
pub struct SshAgents(pub BTreeMap<String, SshSource>);

/// What one `--ssh` id serves: an ssh-agent's socket, or keys read from files.
#[derive(Debug, Clone)]
pub enum SshSource {
    Socket(PathBuf),
    Keys(Arc<Keyring>),
}

/// Why an `--ssh` was refused, in buildx's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshSpecError {
    #[error("invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set")]
    NoAgent,
    #[error("invalid duplicate ID {0}")]
    DuplicateId(String),
    #[error("stat {path}: {reason}")]
    Missing { path: PathBuf, reason: String },
    #[error("only single socket allowed")]
    SeveralSockets,
    #[error("invalid combination of keys and sockets")]
    KeysAndSocket,
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
}

impl SshAgents {
    /// Reads `--ssh` items as buildx does (`default`, `ID`, `ID=SOCKET`, `ID=KEYFILE[,KEYFILE]`):
    /// no path named means `auth_sock`, the client's `SSH_AUTH_SOCK`.
    pub fn from_specs(items: &[String], auth_sock: Option<&std::ffi::OsStr>) -> Result<SshAgents, SshSpecError> {
        let mut agents = BTreeMap::new();
        for item in items {
            let (id, paths) = match item.split_once('=') {
                Some((id, paths)) => (id, paths.split(',').collect::<Vec<_>>()),
                None => (item.as_str(), Vec::new()),
            };
            let id = id_or_default(id).to_owned();
            let paths: Vec<PathBuf> = match paths.as_slice() {
                [] | [""] => vec![PathBuf::from(auth_sock.unwrap_or_default())],
                paths => paths.iter().map(PathBuf::from).collect(),
            };
            if paths[0].as_os_str().is_empty() {
                return Err(SshSpecError::NoAgent);
            }
            let source = source(paths)?;
            if agents.contains_key(&id) {
                return Err(SshSpecError::DuplicateId(id));
            }
            agents.insert(id, source);
        }
        Ok(SshAgents(agents))
    }

    fn source(&self, id: &str) -> Result<&SshSource, Status> {
        let id = id_or_default(id);
        self.0.get(id).ok_or_else(|| Status::unknown(format!("unset ssh forward key {id}")))
    }
}

/// One id's paths as BuildKit's `toAgentSource` reads them, in order: a socket is an agent and
/// must be the only path (a path after it is refused unread), anything else a private key file.
fn source(paths: Vec<PathBuf>) -> Result<SshSource, SshSpecError> {
    use std::os::unix::fs::FileTypeExt;
    let mut socket = None;
    let mut keyring = Keyring::default();
    for path in paths {
        if socket.is_some() {
            return Err(SshSpecError::SeveralSockets);
        }
        let meta = std::fs::metadata(&path)
            .map_err(|e| SshSpecError::Missing { path: path.clone(), reason: crate::io_error::reason(&e) })?;
        if meta.file_type().is_socket() {
            socket = Some(path);
        } else {
            keyring.add_file(&path)?;
        }
    }
    match socket {
        Some(_) if !keyring.is_empty() => Err(SshSpecError::KeysAndSocket),
        Some(socket) => Ok(SshSource::Socket(socket)),
        None => Ok(SshSource::Keys(Arc::new(keyring))),
    }
}

/// An id left empty names the `default` agent, on either side of the session.
fn id_or_default(id: &str) -> &str {
    if id.is_empty() {
        "default"
    } else {
        id
    }
}

#[tonic::async_trait]
impl Ssh for SshAgents {
    #[instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn check_agent(&self, request: Request<CheckAgentRequest>) -> Result<Response<CheckAgentResponse>, Status> {
        self.source(&request.get_ref().id)?;
        Ok(Response::new(CheckAgentResponse {}))
    }

    type ForwardAgentStream = ReceiverStream<Result<BytesMessage, Status>>;

    #[instrument(skip_all, fields(id))]
    async fn forward_agent(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::ForwardAgentStream>, Status> {
        let id = request.metadata().get(ID_METADATA).and_then(|v| v.to_str().ok()).unwrap_or_default();
        tracing::Span::current().record("id", id);
        let mut upstream = match self.source(id)? {
            SshSource::Socket(socket) => Upstream::Socket(
                UnixStream::connect(socket)
                    .await
                    .map_err(|e| Status::unavailable(format!("failed to connect to {}: {e}", socket.display())))?,
            ),
            SshSource::Keys(keyring) => Upstream::Keys(Arc::clone(keyring)),
        };
        let (to_step, answers) = mpsc::channel(4);
        let requests = request.into_inner();
        tokio::spawn(async move {
            if let Err(e) = relay(requests, &mut upstream, &to_step).await {
                debug!(error = %e, "ssh agent stream ended");
                let _ = to_step.send(Err(e)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(answers)))
    }
}

/// What answers a step's requests: the agent at a socket, or the keyring of loaded keys.
enum Upstream {
    Socket(UnixStream),
    Keys(Arc<Keyring>),
}

impl Upstream {
    /// The answer to one whole request the build may make.
    async fn answer(&mut self, request: &[u8]) -> Result<Vec<u8>, Status> {
        match self {
            Upstream::Socket(agent) => {
                agent.write_all(request).await.map_err(agent_gone)?;
                read_message(agent).await
            }
            Upstream::Keys(keyring) => Ok(keyring.answer(request)),
        }
    }
}

/// Carries the step's requests to the agent one at a time, each answered before the next is read
/// (the agent protocol is request and answer), refusing those a build may not make.
async fn relay(
    mut requests: Streaming<BytesMessage>,
    upstream: &mut Upstream,
    to_step: &mpsc::Sender<Result<BytesMessage, Status>>,
) -> Result<(), Status> {
    let mut pending = Vec::new();
    loop {
        while let Some(request) = take_message(&mut pending)? {
            let answer = if ALLOWED_REQUESTS.contains(&request[4]) {
                upstream.answer(&request).await?
            } else {
                vec![0, 0, 0, 1, AGENT_FAILURE]
            };
            for chunk in answer.chunks(CHUNK_BYTES) {
                if to_step.send(Ok(BytesMessage { data: chunk.to_vec() })).await.is_err() {
                    return Ok(());
                }
            }
        }
        match requests.message().await? {
            Some(message) => pending.extend_from_slice(&message.data),
            None => return Ok(()),
        }
    }
}

/// The first whole message in `pending` (length, type, body), taken out of it.
fn take_message(pending: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Status> {
    let Some(prefix) = pending.first_chunk::<4>() else {
        return Ok(None);
    };
    let length = body_length(prefix)
        .map_err(|length| Status::invalid_argument(format!("ssh agent message of {length} bytes")))?;
    if pending.len() < 4 + length {
        return Ok(None);
    }
    Ok(Some(pending.drain(..4 + length).collect()))
}

async fn read_message(agent: &mut (impl AsyncRead + Unpin)) -> Result<Vec<u8>, Status> {
    let mut length = [0u8; 4];
    agent.read_exact(&mut length).await.map_err(agent_gone)?;
    let body_len = body_length(&length)
        .map_err(|length| Status::internal(format!("the ssh agent answered a message of {length} bytes")))?;
    let mut message = length.to_vec();
    message.resize(4 + body_len, 0);
    agent.read_exact(&mut message[4..]).await.map_err(agent_gone)?;
    Ok(message)
}

/// The length a message's 4-byte prefix gives its type and body; `Err` with it when no agent
/// message can be that long (or empty).
fn body_length(prefix: &[u8; 4]) -> Result<usize, usize> {
    let length = u32::from_be_bytes(*prefix) as usize;
    if length == 0 || length > MAX_MESSAGE_BYTES {
        return Err(length);
    }
    Ok(length)
}

fn agent_gone(e: std::io::Error) -> Status {
    Status::unavailable(format!("ssh agent: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn messages_are_cut_whole_from_what_arrived() {
        let mut pending = vec![0, 0, 0, 1, 11, 0, 0, 0, 3, 13, 1];
        assert_eq!(take_message(&mut pending).unwrap(), Some(vec![0, 0, 0, 1, 11]));
        assert_eq!(take_message(&mut pending).unwrap(), None, "the second has not all arrived");
        pending.push(2);
        assert_eq!(take_message(&mut pending).unwrap(), Some(vec![0, 0, 0, 3, 13, 1, 2]));
        assert!(pending.is_empty());
        let mut oversized = (MAX_MESSAGE_BYTES as u32 + 1).to_be_bytes().to_vec();
        assert!(take_message(&mut oversized).is_err());
    }

    /// An id's socket path, or how many keys were loaded for it.
    type Served = Result<PathBuf, usize>;

    /// The specs as (id, what it serves).
    fn specs(items: &[&str], sock: Option<&Path>) -> Result<Vec<(String, Served)>, SshSpecError> {
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        let agents = SshAgents::from_specs(&items, sock.map(Path::as_os_str))?;
        Ok(agents
            .0
            .into_iter()
            .map(|(id, source)| match source {
                SshSource::Socket(path) => (id, Ok(path)),
                SshSource::Keys(keyring) => (id, Err(keyring.len())),
            })
            .collect())
    }

    fn keygen(path: &Path, passphrase: &str) {
        let made = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
            .arg(path)
            .status()
            .expect("ssh-keygen runs");
        assert!(made.success());
    }

    #[test]
    fn specs_name_an_agent_by_id_and_default_is_ssh_auth_sock() {
        let folder = tempfile::tempdir().unwrap();
        let socket = folder.path().join("agent.sock");
        let _listening = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let named = format!("github={}", socket.display());
        assert_eq!(
            specs(&["default", &named], Some(&socket)).unwrap(),
            vec![("default".to_owned(), Ok(socket.clone())), ("github".to_owned(), Ok(socket.clone()))]
        );
        assert_eq!(specs(&["=", "x="], Some(&socket)).unwrap().len(), 2, "an empty id is default");
        assert_eq!(
            specs(&["default"], None).unwrap_err().to_string(),
            "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set"
        );
        let first_empty = format!("a=,{}", socket.display());
        assert_eq!(specs(&[&first_empty], Some(&socket)).unwrap_err(), SshSpecError::NoAgent);
        assert_eq!(specs(&["a", "a"], Some(&socket)).unwrap_err(), SshSpecError::DuplicateId("a".into()));
        let two = format!("a={0},{0}", socket.display());
        assert_eq!(specs(&[&two], None).unwrap_err(), SshSpecError::SeveralSockets);
        let missing = specs(&["a=/nowhere/agent.sock"], None).unwrap_err().to_string();
        assert_eq!(missing, "stat /nowhere/agent.sock: no such file or directory");
    }

    #[test]
    fn key_files_make_a_keyring_and_mix_with_a_socket_only_as_buildkit_allows() {
        let folder = tempfile::tempdir().unwrap();
        let socket = folder.path().join("agent.sock");
        let _listening = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let (key, other, locked) =
            (folder.path().join("id_a"), folder.path().join("id_b"), folder.path().join("id_locked"));
        keygen(&key, "");
        keygen(&other, "");
        keygen(&locked, "pass");
        let (key, other, locked, socket) = (key.display(), other.display(), locked.display(), socket.display());

        let both = format!("deploy={key},{other}");
        let as_default = format!("default={key}");
        assert_eq!(
            specs(&[&both, &as_default], None).unwrap(),
            vec![("default".to_owned(), Err(1)), ("deploy".to_owned(), Err(2))]
        );
        assert_eq!(specs(&[&format!("a={key},{key}")], None).unwrap()[0].1, Err(2), "a key twice is held twice");
        assert_eq!(specs(&["default"], Some(Path::new(&key.to_string()))).unwrap()[0].1, Err(1));
        let error = |item: String| specs(&[&item], None).unwrap_err().to_string();
        assert_eq!(error(format!("a={key},{socket}")), "invalid combination of keys and sockets");
        assert_eq!(error(format!("a={socket},{key}")), "only single socket allowed");
        assert_eq!(error(format!("a={socket},/nowhere")), "only single socket allowed", "not looked at");
        assert_eq!(
            error(format!("a={key},{locked}")),
            format!("failed to parse {locked}: ssh: this private key is passphrase protected")
        );
        assert_eq!(error(format!("a={key}.pub")), format!("failed to parse {key}.pub: ssh: no key found"));
    }

    #[test]
    fn an_unknown_id_is_refused_in_buildkits_words_and_an_empty_one_is_default() {
        let socket = PathBuf::from("/run/agent.sock");
        let agents = SshAgents(BTreeMap::from([("default".to_owned(), SshSource::Socket(socket.clone()))]));
        assert!(matches!(agents.source("").unwrap(), SshSource::Socket(s) if *s == socket));
        assert_eq!(agents.source("github").unwrap_err().message(), "unset ssh forward key github");
    }
}
