//! Certificates made at test time, and the engine's own BuildKit behind a TLS listener that requires
//! a client certificate, as `buildkitd --tlscacert --tlscert --tlskey` serves on tcp://.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use buildlane_core::buildkit::transport;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// PEM files of a test PKI: a CA, a daemon certificate for 127.0.0.1 and localhost, a client
/// certificate, all signed by the CA; and a second CA, with a client certificate of its own.
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub other_ca: PathBuf,
    /// A client certificate signed by the other CA, which the daemon does not trust.
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn leaf(
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (String, String) {
    let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    pub fn new(dir: &Path) -> Self {
        let dir = dir.join("certs");
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, pem: &str| {
            let path = dir.join(name);
            std::fs::write(&path, pem).unwrap();
            path
        };
        let authority = ca("Buildlane test CA");
        let (server_cert, server_key) =
            leaf(&["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, &authority);
        let (client_cert, client_key) = leaf(&["buildlane-client"], ExtendedKeyUsagePurpose::ClientAuth, &authority);
        let other = ca("Some other CA");
        let (stranger_cert, stranger_key) = leaf(&["stranger"], ExtendedKeyUsagePurpose::ClientAuth, &other);
        Pki {
            ca: write("ca.pem", &authority.pem()),
            server_cert: write("server-cert.pem", &server_cert),
            server_key: write("server-key.pem", &server_key),
            client_cert: write("cert.pem", &client_cert),
            client_key: write("key.pem", &client_key),
            other_ca: write("other-ca.pem", &other.pem()),
            stranger_cert: write("stranger-cert.pem", &stranger_cert),
            stranger_key: write("stranger-key.pem", &stranger_key),
        }
    }
}

/// The engine's own BuildKit on 127.0.0.1:<port> over TLS with client-certificate verification
/// required: each connection is a TLS handshake, then the engine's `/grpc` upgrade, then bytes
/// copied both ways. Returns the address (`tcp://127.0.0.1:<port>`).
pub async fn expose_engine_buildkit_tls(pki: &Pki, engine_host: &str) -> (String, tokio::task::JoinHandle<()>) {
    let acceptor = acceptor(pki);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    let engine_host = engine_host.to_owned();
    let task = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            let (acceptor, engine_host) = (acceptor.clone(), engine_host.clone());
            tokio::spawn(async move {
                // A refused handshake has already sent its alert; the connection just ends.
                let Ok(mut inbound) = acceptor.accept(inbound).await else { return };
                if let Ok(mut upgraded) = transport::upgrade(&engine_host, "/grpc", &[]).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upgraded).await;
                }
            });
        }
    });
    (address, task)
}

/// A TLS server as `buildkitd --tlscacert --tlscert --tlskey` is one: the daemon certificate of
/// `pki`, HTTP/2, and a client certificate signed by its CA required.
pub fn acceptor(pki: &Pki) -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(&pki.ca).unwrap()).unwrap();
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_file(&pki.server_cert).unwrap()],
            PrivateKeyDer::from_pem_file(&pki.server_key).unwrap(),
        )
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}
