//! The remote driver: a BuildKit daemon that something else runs, reached at its address
//! (`tcp://HOST:PORT` or `unix:///PATH`), over TLS when the node's driver opts say so. Buildlane
//! neither starts nor stops it; running means it answers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Creation, Driver, DriverDetails, DriverError, EndpointSource, NodeChannel, NodeProbe, NodeStatus, Progress,
    RemoteTls, REMOTE,
};
use crate::buildkit::tls::TlsOptions;
use crate::buildkit::{transport, BuildkitError, Control};

/// An address of its own and nothing for the daemon, which something else runs.
pub(super) const CREATION: Creation = Creation { allowed: true, endpoint: EndpointSource::Given, runs_daemon: false };

/// The driver opts buildx's remote driver takes.
pub const OPTION_KEYS: [&str; 4] = ["cacert", "cert", "key", "servername"];

/// The schemes Buildlane can dial (buildx also knows ssh://, docker-container://, kube-pod://).
const SCHEMES: [&str; 2] = ["tcp://", "unix://"];

/// Checks a remote address as `docker buildx create --driver remote ADDRESS` does, limited to what
/// Buildlane can dial.
fn check_endpoint(endpoint: &str) -> Result<(), DriverError> {
    let invalid =
        |reason: &str| DriverError::InvalidEndpoint { endpoint: endpoint.to_owned(), reason: reason.to_owned() };
    if let Some(rest) = endpoint.strip_prefix("tcp://") {
        let (host, port) = rest.trim_end_matches('/').rsplit_once(':').ok_or_else(|| invalid("no port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(invalid("expected tcp://HOST:PORT"));
        }
        Ok(())
    } else if let Some(path) = endpoint.strip_prefix("unix://") {
        if path.is_empty() {
            return Err(invalid("expected unix:///PATH"));
        }
        Ok(())
    } else {
        Err(invalid(&format!("Buildlane reaches remote BuildKit daemons at {}", SCHEMES.join("… or "))))
    }
}

/// The TLS settings in a remote node's driver opts, with buildx's rules: any of `cacert`, `cert`,
/// `key`, `servername` turns TLS on; files are absolute paths; `cacert` is then required, `cert`
/// and `key` go together; `servername` defaults to the address's host. No TLS opts: plain.
fn tls_options(endpoint: &str, opts: &BTreeMap<String, String>) -> Result<Option<TlsOptions>, DriverError> {
    let mut server_name = None;
    let (mut ca_cert, mut cert, mut key) = (None, None, None);
    for (k, v) in opts {
        let absolute = || {
            if Path::new(v).is_absolute() {
                Ok(PathBuf::from(v))
            } else {
                Err(DriverError::InvalidOptionValue {
                    key: k.clone(),
                    reason: format!("non-absolute path '{v}': give the file's absolute path"),
                })
            }
        };
        match k.as_str() {
            "servername" => server_name = Some(v.clone()),
            "cacert" => ca_cert = Some(absolute()?),
            "cert" => cert = Some(absolute()?),
            "key" => key = Some(absolute()?),
            _ => {
                return Err(DriverError::UnsupportedOption {
                    driver: REMOTE,
                    key: k.clone(),
                    hint: format!(" (known: {})", OPTION_KEYS.join(", ")),
                })
            }
        }
    }
    if server_name.is_none() && ca_cert.is_none() && cert.is_none() && key.is_none() {
        return Ok(None);
    }
    let mut missing = Vec::new();
    if ca_cert.is_none() {
        missing.push("cacert");
    }
    if cert.is_some() && key.is_none() {
        missing.push("key");
    }
    if key.is_some() && cert.is_none() {
        missing.push("cert");
    }
    if !missing.is_empty() {
        return Err(DriverError::TlsOptionsMissing(missing.join(", ")));
    }
    let server_name = match server_name.filter(|s| !s.is_empty()) {
        Some(name) => name,
        None => host_of(endpoint).ok_or_else(|| DriverError::InvalidOptionValue {
            key: "servername".into(),
            reason: format!("{endpoint} has no host name to check the daemon's certificate against: set servername"),
        })?,
    };
    Ok(Some(TlsOptions { server_name, ca_cert: ca_cert.expect("checked above"), client: cert.zip(key) }))
}

/// The host of `tcp://HOST:PORT` (brackets of an IPv6 address removed), as Go's `url.Hostname`.
fn host_of(endpoint: &str) -> Option<String> {
    let authority = endpoint.strip_prefix("tcp://")?.split('/').next()?;
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    (!host.is_empty()).then(|| host.to_owned())
}

/// A daemon at its address, with the node's TLS driver opts; booting waits `answer_within` for it.
pub struct RemoteDriver {
    address: String,
    opts: BTreeMap<String, String>,
    answer_within: Duration,
}

/// How long a boot waits before asking a daemon that did not answer again.
const ASK_AGAIN_AFTER: Duration = Duration::from_millis(500);

impl RemoteDriver {
    pub fn new(address: String, opts: BTreeMap<String, String>, answer_within: Duration) -> Self {
        Self { address, opts, answer_within }
    }

    /// The daemon answers a call, TLS and all.
    async fn answers(&self) -> Result<Control, DriverError> {
        let control = control(&self.address, &self.opts).await?;
        control.list_workers().await?;
        Ok(control)
    }
}

#[async_trait]
impl Driver for RemoteDriver {
    fn validate_options(&self) -> Result<(), DriverError> {
        check_endpoint(&self.address)?;
        tls_options(&self.address, &self.opts).map(drop)
    }

    fn is_engine_buildkit(&self) -> bool {
        false
    }

    async fn connect(&self) -> Result<NodeChannel, DriverError> {
        Ok(NodeChannel { control: control(&self.address, &self.opts).await?, session_host: None })
    }

    /// As buildx waits for the connection: asked again until the daemon answers, for at most
    /// `answer_within` (buildx's 20 s); a daemon that keeps failing fails the boot with its last
    /// answer, one that never answers with the deadline.
    async fn boot(&self, _progress: Progress<'_>) -> Result<(), DriverError> {
        let deadline = tokio::time::Instant::now() + self.answer_within;
        loop {
            match tokio::time::timeout_at(deadline, self.answers()).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) if tokio::time::Instant::now() + ASK_AGAIN_AFTER >= deadline => return Err(e),
                Ok(Err(_)) => tokio::time::sleep(ASK_AGAIN_AFTER).await,
                Err(_) => {
                    return Err(DriverError::NoAnswer { endpoint: self.address.clone(), within: self.answer_within })
                }
            }
        }
    }

    /// As buildx's remote driver reports it: `running` once the daemon answers ListWorkers, else
    /// `inactive`, not an error, whatever stopped it (nothing listening, another protocol at the
    /// address, TLS), the reason kept beside it.
    async fn describe(&self) -> NodeProbe {
        let mut probe = NodeProbe::new();
        match self.answers().await {
            Ok(control) => (probe.status, probe.control) = (NodeStatus::Running, Some(control)),
            Err(e) => (probe.status, probe.inactive_reason) = (NodeStatus::Inactive, Some(e.to_string())),
        }
        probe
    }

    async fn details(&self) -> DriverDetails {
        let path = |p: &PathBuf| p.display().to_string();
        let tls = match tls_options(&self.address, &self.opts) {
            Ok(None) => None,
            Ok(Some(tls)) => Some(RemoteTls {
                server_name: Some(tls.server_name.clone()),
                ca_cert: Some(path(&tls.ca_cert)),
                cert: tls.client.as_ref().map(|(cert, _)| path(cert)),
                key: tls.client.as_ref().map(|(_, key)| path(key)),
            }),
            // Options buildx would refuse show as given; the node's error says what is wrong.
            Err(_) => Some(RemoteTls {
                server_name: self.opts.get("servername").cloned(),
                ca_cert: self.opts.get("cacert").cloned(),
                cert: self.opts.get("cert").cloned(),
                key: self.opts.get("key").cloned(),
            }),
        };
        DriverDetails::Remote { address: self.address.clone(), tls }
    }
}

/// The daemon's Control API at `address`, over TLS when the driver opts ask for it.
async fn control(address: &str, opts: &BTreeMap<String, String>) -> Result<Control, DriverError> {
    let tls = tls_options(address, opts)?;
    let channel = transport::remote_channel(address, tls.as_ref()).await.map_err(BuildkitError::from)?;
    Ok(Control::new(address, channel))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(items: &[(&str, &str)]) -> BTreeMap<String, String> {
        items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn no_tls_opts_mean_a_plain_connection() {
        assert_eq!(tls_options("tcp://10.0.0.5:1234", &opts(&[])).unwrap(), None);
    }

    #[test]
    fn the_server_name_defaults_to_the_address_host() {
        let tls = tls_options("tcp://buildkit.example:1234", &opts(&[("cacert", "/ca.pem")])).unwrap().unwrap();
        assert_eq!(tls.server_name, "buildkit.example");
        assert_eq!(tls.client, None);
        let v6 = tls_options("tcp://[::1]:1234", &opts(&[("cacert", "/ca.pem")])).unwrap().unwrap();
        assert_eq!(v6.server_name, "::1");
        let named =
            tls_options("tcp://10.0.0.5:1234", &opts(&[("cacert", "/ca.pem"), ("servername", "bk")])).unwrap().unwrap();
        assert_eq!(named.server_name, "bk");
    }

    #[test]
    fn tls_opts_follow_buildx_rules() {
        let err = |items: &[(&str, &str)]| tls_options("tcp://h:1", &opts(items)).unwrap_err().to_string();
        assert!(err(&[("cert", "/c.pem"), ("key", "/k.pem")]).contains("missing driver-opt cacert"));
        assert!(err(&[("cacert", "/ca.pem"), ("cert", "/c.pem")]).contains("missing driver-opt key"));
        assert!(err(&[("cacert", "ca.pem")]).contains("non-absolute path 'ca.pem'"));
        assert!(err(&[("image", "x")]).contains("invalid driver option \"image\" for the remote driver"));
        let unix = tls_options("unix:///run/bk.sock", &opts(&[("cacert", "/ca.pem")])).unwrap_err().to_string();
        assert!(unix.contains("set servername"), "{unix}");
    }

    #[test]
    fn endpoints_are_tcp_or_unix() {
        assert!(check_endpoint("tcp://127.0.0.1:1234").is_ok());
        assert!(check_endpoint("unix:///run/buildkit/buildkitd.sock").is_ok());
        assert!(check_endpoint("tcp://127.0.0.1").is_err());
        assert!(check_endpoint("ssh://me@box").is_err());
        assert!(check_endpoint("10.0.0.5:1234").is_err());
    }
}
