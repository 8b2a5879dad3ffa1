//! TLS to a remote BuildKit daemon, as buildx's remote driver sets it up from driver-opts `cacert`,
//! `cert`, `key` and `servername`: only the given CA is trusted, the client certificate goes out
//! when the daemon asks for it, and every refusal is told in words a user can act on.
//!
//! In TLS 1.3 a daemon refuses a missing or unknown client certificate only after the client has
//! finished its handshake, in an alert that would otherwise surface as a broken HTTP/2 connection
//! on the first call. So when the daemon asked for a certificate, the connection waits for the
//! daemon's first record (its session tickets or SETTINGS when it accepts, the alert when not).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::CertifiedKey;
use rustls::{AlertDescription, CertificateError, RootCertStore, SignatureScheme};
use tokio::io::AsyncReadExt;
use tokio_rustls::client::TlsStream;

use super::transport::{BoxedConnection, TransportError};

/// How long a daemon that asked for a client certificate gets to accept or refuse it.
const VERDICT_TIMEOUT: Duration = Duration::from_secs(5);

/// A remote node's TLS settings, from its driver opts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// The name the daemon's certificate must carry: `servername`, else the address's host.
    pub server_name: String,
    /// `cacert`: the only authority trusted to sign the daemon's certificate.
    pub ca_cert: PathBuf,
    /// `cert` and `key`: the client's certificate (chain) and its private key.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// The TLS material of one remote node, read from disk once per channel.
pub(crate) struct TlsClient {
    address: String,
    options: TlsOptions,
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    identity: Option<Arc<CertifiedKey>>,
    server_name: ServerName<'static>,
}

impl TlsClient {
    /// Reads and checks the CA, certificate and key files.
    pub(crate) fn load(address: &str, options: &TlsOptions) -> Result<Self, TransportError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let file_error = |what: &'static str, path: &Path, reason: String| TransportError::TlsFile {
            address: address.to_owned(),
            what,
            path: path.to_owned(),
            reason,
        };
        let mut roots = RootCertStore::empty();
        for cert in certificates(&options.ca_cert).map_err(|r| file_error("CA certificate", &options.ca_cert, r))? {
            roots.add(cert).map_err(|e| {
                file_error("CA certificate", &options.ca_cert, format!("not a usable certificate: {e}"))
            })?;
        }
        let identity = match &options.client {
            None => None,
            Some((cert, key)) => {
                let chain = certificates(cert).map_err(|r| file_error("client certificate", cert, r))?;
                let bytes = read(key).map_err(|r| file_error("client key", key, r))?;
                let der = PrivateKeyDer::from_pem_slice(&bytes)
                    .map_err(|e| file_error("client key", key, format!("no PEM private key in it ({e})")))?;
                let certified = CertifiedKey::from_der(chain, der, &provider).map_err(|e| {
                    let reason = match e {
                        rustls::Error::InconsistentKeys(_) => {
                            format!("it is not the private key of {}", cert.display())
                        }
                        other => format!("unusable with {}: {other}", cert.display()),
                    };
                    file_error("client key", key, reason)
                })?;
                Some(Arc::new(certified))
            }
        };
        let server_name = ServerName::try_from(options.server_name.clone()).map_err(|_| TransportError::Tls {
            address: address.to_owned(),
            reason: format!("\"{}\" is not a valid server name (driver-opt servername)", options.server_name),
        })?;
        Ok(Self {
            address: address.to_owned(),
            options: options.clone(),
            provider,
            roots: Arc::new(roots),
            identity,
            server_name,
        })
    }

    /// Runs the handshake over `conn`, and waits for the daemon's verdict on the client certificate
    /// when it asked for one.
    pub(crate) async fn connect(&self, conn: BoxedConnection) -> Result<TlsStream<BoxedConnection>, TransportError> {
        let asked = Arc::new(AtomicBool::new(false));
        let resolver = Arc::new(ClientIdentity { key: self.identity.clone(), asked: asked.clone() });
        let mut config = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::Tls { address: self.address.clone(), reason: e.to_string() })?
            .with_root_certificates(self.roots.clone())
            .with_client_cert_resolver(resolver);
        // BuildKit speaks gRPC: HTTP/2, as grpc-go's TLS credentials announce it.
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let mut stream =
            connector.connect(self.server_name.clone(), conn).await.map_err(|e| self.failure(&e, false))?;
        if asked.load(Ordering::SeqCst) {
            if let Ok(Err(e)) = tokio::time::timeout(VERDICT_TIMEOUT, verdict(&mut stream)).await {
                return Err(self.failure(&e, true));
            }
        }
        Ok(stream)
    }

    /// Words a failed handshake (or the daemon's refusal after it) for the user.
    fn failure(&self, error: &std::io::Error, after_handshake: bool) -> TransportError {
        let address = self.address.clone();
        let rustls_error = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
        match rustls_error {
            Some(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {
                TransportError::TlsUnknownAuthority { address, ca: self.options.ca_cert.clone() }
            }
            Some(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => TransportError::TlsNameMismatch { address, server_name: self.options.server_name.clone() },
            Some(rustls::Error::AlertReceived(alert)) if about_client_certificate(*alert) => {
                self.refused(alert_words(*alert))
            }
            Some(other) => TransportError::Tls { address, reason: other.to_string() },
            None if after_handshake && error.kind() == std::io::ErrorKind::UnexpectedEof => {
                self.refused("it closed the connection".into())
            }
            None => TransportError::BuildkitUnreachable { address, reason: crate::io_error::reason(error) },
        }
    }

    /// The daemon refused the client: no certificate given, or the one given.
    fn refused(&self, reason: String) -> TransportError {
        let address = self.address.clone();
        match &self.options.client {
            None => TransportError::TlsClientCertificateRequired { address },
            Some((cert, _)) => TransportError::TlsClientCertificateRejected { address, cert: cert.clone(), reason },
        }
    }
}

/// Reads the daemon's first records after the handshake; an alert among them is the refusal.
/// Whatever else arrives stays buffered in the connection for the HTTP/2 client.
async fn verdict(stream: &mut TlsStream<BoxedConnection>) -> std::io::Result<()> {
    let (io, connection) = stream.get_mut();
    let mut buf = vec![0u8; 16 * 1024];
    let n = io.read(&mut buf).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut rest = &buf[..n];
    while !rest.is_empty() {
        connection.read_tls(&mut rest)?;
        connection.process_new_packets().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    }
    Ok(())
}

/// Alerts a server sends only about the client's certificate.
fn about_client_certificate(alert: AlertDescription) -> bool {
    matches!(
        alert,
        AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::AccessDenied
    )
}

fn alert_words(alert: AlertDescription) -> String {
    match alert {
        AlertDescription::CertificateRequired => "a certificate is required".into(),
        AlertDescription::BadCertificate => "bad certificate".into(),
        AlertDescription::UnknownCA => "certificate signed by unknown authority".into(),
        AlertDescription::CertificateExpired => "certificate expired".into(),
        AlertDescription::CertificateRevoked => "certificate revoked".into(),
        other => format!("{other:?}"),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| crate::io_error::reason(&e))
}

/// Every PEM certificate in a file; none is an error, as it is for buildx.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// Hands out the client certificate (if any) and notes that the daemon asked for one.
#[derive(Debug)]
struct ClientIdentity {
    key: Option<Arc<CertifiedKey>>,
    asked: Arc<AtomicBool>,
}

impl ResolvesClientCert for ClientIdentity {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.asked.store(true, Ordering::SeqCst);
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}
