//! The SSH service: `RUN --mount=type=ssh[,id=ID]` reaches an ssh-agent the client names
//! (`--ssh default` is `$SSH_AUTH_SOCK`, `--ssh ID=SOCKET` another), as BuildKit's sshprovider
//! serves it. The step may list the agent's keys and have it sign; anything else (adding or
//! removing keys, locking the agent, extensions) is answered with a failure and never reaches
//! the agent, as buildkit's read-only agent refuses it. BuildKit sends the id in the request of
//! `CheckAgent` and in the `buildkit.ssh.id` metadata of `ForwardAgent`; an empty one is `default`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bollard::moby::sshforward::v1::ssh_server::Ssh;
use bollard::moby::sshforward::v1::{BytesMessage, CheckAgentRequest, CheckAgentResponse};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, instrument};

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

/// The agents a build's steps may use, by id: each an ssh-agent's socket.
#[derive(Debug, Clone, Default)]
pub struct SshAgents(pub BTreeMap<String, PathBuf>);

/// Why an `--ssh` was refused, in buildx's words where it has them.
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
    #[error("ssh {id}: {path} is not an ssh-agent's socket; Buildlane forwards an agent, not key files: add the key to one (ssh-add {path}) and give its socket")]
    KeyFile { id: String, path: PathBuf },
}

impl SshAgents {
    /// Reads `--ssh` items as buildx does (`default`, `ID`, `ID=SOCKET`): no socket named means
    /// `auth_sock`, the client's `SSH_AUTH_SOCK`.
    pub fn from_specs(items: &[String], auth_sock: Option<&std::ffi::OsStr>) -> Result<SshAgents, SshSpecError> {
        let mut agents = BTreeMap::new();
        for item in items {
            let (id, paths) = match item.split_once('=') {
                Some((id, paths)) => (id, paths.split(',').collect::<Vec<_>>()),
                None => (item.as_str(), Vec::new()),
            };
            let id = id_or_default(id).to_owned();
            let paths: Vec<PathBuf> = match paths.as_slice() {
                [] | [""] => match auth_sock.filter(|s| !s.is_empty()) {
                    Some(socket) => vec![PathBuf::from(socket)],
                    None => return Err(SshSpecError::NoAgent),
                },
                paths => paths.iter().map(PathBuf::from).collect(),
            };
            if agents.contains_key(&id) {
                return Err(SshSpecError::DuplicateId(id));
            }
            let mut socket = None;
            for path in paths {
                use std::os::unix::fs::FileTypeExt;
                let meta = std::fs::metadata(&path)
                    .map_err(|e| SshSpecError::Missing { path: path.clone(), reason: crate::io_error::reason(&e) })?;
                if !meta.file_type().is_socket() {
                    return Err(SshSpecError::KeyFile { id, path });
                }
                if socket.replace(path).is_some() {
                    return Err(SshSpecError::SeveralSockets);
                }
            }
            agents.insert(id, socket.expect("at least one path"));
        }
        Ok(SshAgents(agents))
    }

    fn socket(&self, id: &str) -> Result<&Path, Status> {
        let id = id_or_default(id);
        self.0.get(id).map(PathBuf::as_path).ok_or_else(|| Status::unknown(format!("unset ssh forward key {id}")))
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
        self.socket(&request.get_ref().id)?;
        Ok(Response::new(CheckAgentResponse {}))
    }

    type ForwardAgentStream = ReceiverStream<Result<BytesMessage, Status>>;

    #[instrument(skip_all)]
    async fn forward_agent(
        &self,
        request: Request<Streaming<BytesMessage>>,
    ) -> Result<Response<Self::ForwardAgentStream>, Status> {
        let id = request.metadata().get(ID_METADATA).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let socket = self.socket(id)?.to_owned();
        let agent = UnixStream::connect(&socket)
            .await
            .map_err(|e| Status::unavailable(format!("failed to connect to {}: {e}", socket.display())))?;
        let (to_step, answers) = mpsc::channel(4);
        let requests = request.into_inner();
        tokio::spawn(async move {
            if let Err(e) = relay(requests, agent, &to_step).await {
                debug!(error = %e, socket = %socket.display(), "ssh agent stream ended");
                let _ = to_step.send(Err(e)).await;
            }
        });
        Ok(Response::new(ReceiverStream::new(answers)))
    }
}

/// Carries the step's requests to the agent one at a time, each answered before the next is read
/// (the agent protocol is request and answer), refusing those a build may not make.
async fn relay(
    mut requests: Streaming<BytesMessage>,
    mut agent: impl AsyncRead + AsyncWrite + Unpin,
    to_step: &mpsc::Sender<Result<BytesMessage, Status>>,
) -> Result<(), Status> {
    let mut pending = Vec::new();
    loop {
        while let Some(request) = take_message(&mut pending)? {
            let answer = if ALLOWED_REQUESTS.contains(&request[4]) {
                agent.write_all(&request).await.map_err(agent_gone)?;
                read_message(&mut agent).await?
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

    #[test]
    fn specs_name_an_agent_by_id_and_default_is_ssh_auth_sock() {
        let folder = tempfile::tempdir().unwrap();
        let socket = folder.path().join("agent.sock");
        let _listening = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let key = folder.path().join("id_ed25519");
        std::fs::write(&key, "not a socket").unwrap();
        let specs = |items: &[&str], sock: Option<&Path>| {
            let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
            SshAgents::from_specs(&items, sock.map(Path::as_os_str)).map(|a| a.0.into_iter().collect::<Vec<_>>())
        };
        let named = format!("github={}", socket.display());
        assert_eq!(
            specs(&["default", &named], Some(&socket)).unwrap(),
            vec![("default".to_owned(), socket.clone()), ("github".to_owned(), socket.clone())]
        );
        assert_eq!(specs(&["=", "x="], Some(&socket)).unwrap().len(), 2, "an empty id is default");
        assert_eq!(
            specs(&["default"], None).unwrap_err().to_string(),
            "invalid empty ssh agent socket: make sure SSH_AUTH_SOCK is set"
        );
        assert_eq!(specs(&["a", "a"], Some(&socket)).unwrap_err(), SshSpecError::DuplicateId("a".into()));
        let two = format!("a={0},{0}", socket.display());
        assert_eq!(specs(&[&two], None).unwrap_err(), SshSpecError::SeveralSockets);
        let missing = specs(&["a=/nowhere/agent.sock"], None).unwrap_err().to_string();
        assert_eq!(missing, "stat /nowhere/agent.sock: no such file or directory");
        assert!(matches!(specs(&[&format!("a={}", key.display())], None), Err(SshSpecError::KeyFile { .. })));
    }

    #[test]
    fn an_unknown_id_is_refused_in_buildkits_words_and_an_empty_one_is_default() {
        let agents = SshAgents(BTreeMap::from([("default".to_owned(), PathBuf::from("/run/agent.sock"))]));
        assert_eq!(agents.socket("").unwrap(), Path::new("/run/agent.sock"));
        assert_eq!(agents.socket("github").unwrap_err().message(), "unset ssh forward key github");
    }
}
