//! The in-process agent of `--ssh ID=KEYFILE[,KEYFILE]`: private key files read when the build
//! starts and served to `RUN --mount=type=ssh` steps as buildx serves them (BuildKit's
//! sshprovider loads each with `ssh.ParseRawPrivateKey` into a `golang.org/x/crypto/ssh/agent`
//! keyring). A step may list the keys, with no comment as Go's keyring lists keys added without
//! one, and have one sign: Ed25519 and ECDSA as their algorithm says, RSA with SHA-1 (`ssh-rsa`)
//! unless the request's flags ask for `rsa-sha2-256` (2) or `rsa-sha2-512` (4), other flags
//! refused as the keyring refuses them. Anything else (adding, removing, locking, extensions) is
//! answered with a failure, as the forwarded agent's are.
//!
//! Buildlane reads keys in OpenSSH's format, which `ssh-keygen` writes for every key type; an
//! encrypted one is refused in Go's words, since there is no one to ask for its passphrase.

use std::io::Read;
use std::path::{Path, PathBuf};

use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding as _, Signer as _};
use signature::Signer as _;
use ssh_encoding::{Decode, Encode};
use ssh_key::private::KeypairData;

/// Go's `io.LimitedReader` in front of `ssh.ParseRawPrivateKey`: what is past it is not read.
const MAX_KEY_FILE_BYTES: u64 = 100 * 1024;
/// `SSH_AGENTC_REQUEST_IDENTITIES` and its answer.
const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
/// `SSH_AGENTC_SIGN_REQUEST` and its answer.
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;
/// `SSH_AGENT_FAILURE`.
const FAILURE: u8 = 5;
/// The sign request flags asking an RSA key for a SHA-2 signature.
const RSA_SHA2_256: u32 = 2;
const RSA_SHA2_512: u32 = 4;

/// Why a key file was refused, in the words buildx's sshprovider wraps Go's errors in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    #[error("failed to open {path}: open {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("failed to read {path}: read {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("failed to parse {path}: {reason}")]
    Parse { path: PathBuf, reason: KeyParseError },
}

/// Why a file's bytes are not a key Buildlane can serve; Go's `ssh` package's words where it
/// has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("ssh: no key found")]
    NoKey,
    #[error("ssh: this private key is passphrase protected")]
    PassphraseProtected,
    #[error("ssh: unsupported key type {0:?}")]
    UnsupportedPemType(String),
    #[error("ssh: unhandled key type")]
    UnhandledKeyType,
    #[error("ssh: malformed OpenSSH key: {0}")]
    Malformed(String),
    /// A PEM key Go reads (PKCS#1, PKCS#8, SEC1, DSA) that Buildlane does not read yet.
    #[error("ssh: Buildlane reads OpenSSH-format keys, not {0:?} ones: `ssh-keygen -p -f FILE` rewrites it as one")]
    NotOpenSsh(String),
}

/// Keys loaded from files, in the order given; served read-only to the build's steps.
#[derive(Default)]
pub struct Keyring {
    keys: Vec<LoadedKey>,
}

struct LoadedKey {
    /// The public key in the agent protocol's wire form, as listed and as a sign request names it.
    public: Vec<u8>,
    secret: Secret,
}

enum Secret {
    /// Signed with through ssh-key: Ed25519 and ECDSA.
    Keypair(KeypairData),
    Rsa(Box<rsa::PrivateKey>),
}

impl std::fmt::Debug for Keyring {
    /// The keys' fingerprints, never their secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys.iter().map(|k| {
            ssh_key::PublicKey::from_bytes(&k.public)
                .map(|p| p.fingerprint(ssh_key::HashAlg::Sha256).to_string())
                .unwrap_or_default()
        });
        f.debug_list().entries(keys).finish()
    }
}

impl Keyring {
    /// Adds the key in the file at `path` (at most 100 KiB of it read, as buildx reads it) after
    /// those already held (a key given twice is held, and listed, twice, as Go's keyring holds it).
    pub fn add_file(&mut self, path: &Path) -> Result<(), KeyFileError> {
        self.keys.push(load_key(path)?);
        Ok(())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The answer to one whole agent message (its 4-byte length, type and body), framed the same.
    pub fn answer(&self, request: &[u8]) -> Vec<u8> {
        let body = match request.get(4) {
            Some(&REQUEST_IDENTITIES) => Some(self.identities()),
            Some(&SIGN_REQUEST) => self.sign(&request[5..]),
            _ => None,
        }
        .unwrap_or_else(|| vec![FAILURE]);
        let mut message = (body.len() as u32).to_be_bytes().to_vec();
        message.extend_from_slice(&body);
        message
    }

    fn identities(&self) -> Vec<u8> {
        let mut body = vec![IDENTITIES_ANSWER];
        body.extend_from_slice(&(self.keys.len() as u32).to_be_bytes());
        for key in &self.keys {
            encode(key.public.as_slice(), &mut body);
            encode(&"", &mut body);
        }
        body
    }

    /// `SSH_AGENT_SIGN_RESPONSE` for `string key, string data, uint32 flags`; `None` when the key
    /// is not held or it cannot sign so.
    fn sign(&self, mut request: &[u8]) -> Option<Vec<u8>> {
        let blob = Vec::<u8>::decode(&mut request).ok()?;
        let data = Vec::<u8>::decode(&mut request).ok()?;
        let flags = u32::decode(&mut request).ok()?;
        let key = self.keys.iter().find(|k| k.public == blob)?;
        let signature = key.secret.sign(&data, flags)?;
        let mut body = vec![SIGN_RESPONSE];
        encode(signature.as_slice(), &mut body);
        Some(body)
    }
}

impl Secret {
    /// The signature blob (`string format, string signature`) over `data`, as Go's keyring makes
    /// it for these flags.
    fn sign(&self, data: &[u8], flags: u32) -> Option<Vec<u8>> {
        let mut blob = Vec::new();
        match self {
            Secret::Keypair(keypair) if flags == 0 => {
                let signature: ssh_key::Signature = keypair.try_sign(data).ok()?;
                signature.encode(&mut blob).ok()?;
            }
            Secret::Keypair(_) => return None,
            Secret::Rsa(key) => {
                let key = key.as_ref().clone();
                let (format, signature) = match flags {
                    0 => ("ssh-rsa", SigningKey::<sha1::Sha1>::new(key).try_sign(data)),
                    RSA_SHA2_256 => ("rsa-sha2-256", SigningKey::<rsa::sha2::Sha256>::new(key).try_sign(data)),
                    RSA_SHA2_512 => ("rsa-sha2-512", SigningKey::<rsa::sha2::Sha512>::new(key).try_sign(data)),
                    _ => return None,
                };
                encode(&format, &mut blob);
                encode(&signature.ok()?.to_vec(), &mut blob);
            }
        }
        Some(blob)
    }
}

/// Appends `value` as the protocol's length-prefixed string; writing to a `Vec` cannot fail.
fn encode<T: Encode + ?Sized>(value: &T, out: &mut Vec<u8>) {
    value.encode(out).expect("writing to memory");
}

fn load_key(path: &Path) -> Result<LoadedKey, KeyFileError> {
    let file = std::fs::File::open(path)
        .map_err(|e| KeyFileError::Open { path: path.to_owned(), reason: crate::io_error::reason(&e) })?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| KeyFileError::Read { path: path.to_owned(), reason: crate::io_error::reason(&e) })?;
    parse_key(&bytes).map_err(|reason| KeyFileError::Parse { path: path.to_owned(), reason })
}

/// The first PEM block of `bytes`, read as Go's `ssh.ParseRawPrivateKey` reads it.
fn parse_key(bytes: &[u8]) -> Result<LoadedKey, KeyParseError> {
    let block = pem_block(bytes).ok_or(KeyParseError::NoKey)?;
    if block.encrypted {
        return Err(KeyParseError::PassphraseProtected);
    }
    match block.label.as_str() {
        "OPENSSH PRIVATE KEY" => {}
        label @ ("RSA PRIVATE KEY" | "PRIVATE KEY" | "EC PRIVATE KEY" | "DSA PRIVATE KEY") => {
            return Err(KeyParseError::NotOpenSsh(label.to_owned()))
        }
        label => return Err(KeyParseError::UnsupportedPemType(label.to_owned())),
    }
    let keypair = match ssh_key::PrivateKey::from_openssh(&block.text) {
        Ok(key) if key.is_encrypted() => return Err(KeyParseError::PassphraseProtected),
        Ok(key) => key.key_data().clone(),
        Err(e) => match ecdsa_with_short_scalar(&block.text) {
            Some(keypair) => KeypairData::Ecdsa(keypair?),
            None => return Err(KeyParseError::Malformed(e.to_string())),
        },
    };
    let public = ssh_key::public::KeyData::try_from(&keypair)
        .and_then(|k| ssh_key::PublicKey::from(k).to_bytes())
        .map_err(|e| KeyParseError::Malformed(e.to_string()))?;
    let secret = match &keypair {
        KeypairData::Ed25519(_) | KeypairData::Ecdsa(_) => Secret::Keypair(keypair),
        KeypairData::Rsa(rsa) => Secret::Rsa(Box::new(rsa_key(rsa)?)),
        _ => return Err(KeyParseError::UnhandledKeyType),
    };
    Ok(LoadedKey { public, secret })
}

/// An unencrypted OpenSSH ECDSA key whose secret scalar is shorter than its curve's size (OpenSSH
/// writes it as an mpint, without leading zeros), which ssh-key 0.6 refuses; `None` for any other
/// key. Only the fields Go's parser reads are read, and checked as it checks them.
fn ecdsa_with_short_scalar(pem: &str) -> Option<Result<ssh_key::private::EcdsaKeypair, KeyParseError>> {
    use base64::Engine as _;
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use ssh_key::private::EcdsaKeypair;

    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    let mut reader = bytes.strip_prefix(b"openssh-key-v1\0".as_slice())?;
    let [cipher, _kdf, _kdf_options] = [(); 3].map(|_| Vec::<u8>::decode(&mut reader).ok());
    let (_keys, _public) = (u32::decode(&mut reader).ok()?, Vec::<u8>::decode(&mut reader).ok()?);
    if cipher? != b"none" {
        return None;
    }
    let private = Vec::<u8>::decode(&mut reader).ok()?;
    let mut reader = private.as_slice();
    let (_check1, _check2) = (u32::decode(&mut reader).ok()?, u32::decode(&mut reader).ok()?);
    let (kind, curve) = (String::decode(&mut reader).ok()?, String::decode(&mut reader).ok()?);
    let (point, scalar) = (Vec::<u8>::decode(&mut reader).ok()?, Vec::<u8>::decode(&mut reader).ok()?);
    if !kind.starts_with("ecdsa-sha2-") {
        return None;
    }
    let scalar: Vec<u8> = scalar.into_iter().skip_while(|b| *b == 0).collect();
    let scalar_out_of_range = || KeyParseError::Malformed("scalar is out of range".into());
    let padded = |size: usize| {
        let zeros = size.checked_sub(scalar.len()).ok_or_else(scalar_out_of_range)?;
        Ok::<_, KeyParseError>([vec![0; zeros], scalar.clone()].concat())
    };
    let keypair = match curve.as_str() {
        "nistp256" => {
            padded(32).and_then(|d| p256::SecretKey::from_slice(&d).map_err(|_| scalar_out_of_range())).map(|secret| {
                EcdsaKeypair::NistP256 { public: secret.public_key().to_encoded_point(false), private: secret.into() }
            })
        }
        "nistp384" => {
            padded(48).and_then(|d| p384::SecretKey::from_slice(&d).map_err(|_| scalar_out_of_range())).map(|secret| {
                EcdsaKeypair::NistP384 { public: secret.public_key().to_encoded_point(false), private: secret.into() }
            })
        }
        "nistp521" => {
            padded(66).and_then(|d| p521::SecretKey::from_slice(&d).map_err(|_| scalar_out_of_range())).map(|secret| {
                EcdsaKeypair::NistP521 { public: secret.public_key().to_encoded_point(false), private: secret.into() }
            })
        }
        _ => return None,
    };
    Some(keypair.and_then(|keypair| {
        if keypair.public_key_bytes() == point.as_slice() {
            Ok(keypair)
        } else {
            Err(KeyParseError::Malformed("public key does not match private key".into()))
        }
    }))
}

/// An OpenSSH RSA key as rsa's, checked as Go's `rsa.PrivateKey.Validate` checks it.
fn rsa_key(keypair: &ssh_key::private::RsaKeypair) -> Result<rsa::PrivateKey, KeyParseError> {
    let uint = |m: &ssh_key::Mpint| {
        m.as_positive_bytes()
            .map(rsa::BoxedUint::from_be_slice_vartime)
            .ok_or_else(|| KeyParseError::Malformed("an RSA number is not positive".into()))
    };
    let (public, private) = (&keypair.public, &keypair.private);
    rsa::PrivateKey::from_components(
        uint(&public.n)?,
        uint(&public.e)?,
        uint(&private.d)?,
        vec![uint(&private.p)?, uint(&private.q)?],
    )
    .map_err(|e| KeyParseError::Malformed(e.to_string()))
}

struct PemBlock {
    label: String,
    /// From the `-----BEGIN` line through the `-----END` one.
    text: String,
    /// A `Proc-Type` header saying `ENCRYPTED` (an OpenSSL-encrypted PEM key).
    encrypted: bool,
}

/// The first `-----BEGIN LABEL-----` … `-----END LABEL-----` in `bytes`, anything around it
/// skipped as Go's `pem.Decode` skips it.
fn pem_block(bytes: &[u8]) -> Option<PemBlock> {
    let text = String::from_utf8_lossy(bytes);
    let mut from = 0;
    while let Some(at) = text[from..].find("-----BEGIN ") {
        let start = from + at;
        from = start + 1;
        let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
        let Some(label) = text[start + "-----BEGIN ".len()..line_end].trim_end().strip_suffix("-----") else {
            continue;
        };
        let end_line = format!("-----END {label}-----");
        let Some(end) = text[line_end..].find(&end_line).map(|n| line_end + n + end_line.len()) else {
            continue;
        };
        let headers = text[line_end..end].lines().skip(1).take_while(|l| l.contains(':'));
        let encrypted = headers
            .filter_map(|l| l.split_once(':'))
            .any(|(name, value)| name.trim() == "Proc-Type" && value.contains("ENCRYPTED"));
        return Some(PemBlock { label: label.to_owned(), text: text[start..end].to_owned(), encrypted });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The keyring holding the keys of `paths`, in order.
    fn loaded(paths: &[PathBuf]) -> Result<Keyring, KeyFileError> {
        let mut keyring = Keyring::default();
        for path in paths {
            keyring.add_file(path)?;
        }
        Ok(keyring)
    }
    use rsa::signature::Verifier as _;
    use signature::Verifier as _;

    /// A new key from `ssh-keygen -t KIND` (bits as `-b` when given) in `folder`, with
    /// `passphrase`; its path.
    fn keygen(folder: &Path, kind: &str, bits: Option<&str>, passphrase: &str) -> PathBuf {
        let path = (0..).map(|n| folder.join(format!("id_{kind}{}_{n}", bits.unwrap_or("")))).find(|p| !p.exists());
        let path = path.expect("a free name");
        let mut command = std::process::Command::new("ssh-keygen");
        command.stdin(std::process::Stdio::null());
        command.args(["-q", "-t", kind, "-N", passphrase, "-C", "a comment", "-f"]).arg(&path);
        if let Some(bits) = bits {
            command.args(["-b", bits]);
        }
        assert!(command.status().expect("ssh-keygen runs").success(), "ssh-keygen -t {kind}");
        path
    }

    fn public_half(key: &Path) -> ssh_key::PublicKey {
        ssh_key::PublicKey::read_openssh_file(&key.with_extension("pub")).unwrap()
    }

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = ((body.len() + 1) as u32).to_be_bytes().to_vec();
        m.push(kind);
        m.extend_from_slice(body);
        m
    }

    fn sign_request(public: &ssh_key::PublicKey, data: &[u8], flags: u32) -> Vec<u8> {
        let mut body = Vec::new();
        encode(&public.to_bytes().unwrap(), &mut body);
        encode(data, &mut body);
        encode(&flags, &mut body);
        message(SIGN_REQUEST, &body)
    }

    /// The `(format, signature)` of a `SIGN_RESPONSE`, or `None` for a failure.
    fn signature_of(answer: &[u8]) -> Option<(String, Vec<u8>)> {
        assert_eq!(u32::from_be_bytes(answer[..4].try_into().unwrap()) as usize, answer.len() - 4);
        match answer[4] {
            SIGN_RESPONSE => {
                let mut body = &answer[5..];
                let blob = Vec::<u8>::decode(&mut body).unwrap();
                assert!(body.is_empty());
                let mut blob = blob.as_slice();
                let format = String::decode(&mut blob).unwrap();
                let signature = Vec::<u8>::decode(&mut blob).unwrap();
                assert!(blob.is_empty());
                Some((format, signature))
            }
            FAILURE => None,
            other => panic!("answer {other}"),
        }
    }

    /// The keys an `IDENTITIES_ANSWER` lists, with their comments.
    fn listed(answer: &[u8]) -> Vec<(ssh_key::PublicKey, String)> {
        assert_eq!(answer[4], IDENTITIES_ANSWER);
        let mut body = &answer[5..];
        let count = u32::decode(&mut body).unwrap();
        let keys = (0..count)
            .map(|_| {
                let blob = Vec::<u8>::decode(&mut body).unwrap();
                (ssh_key::PublicKey::from_bytes(&blob).unwrap(), String::decode(&mut body).unwrap())
            })
            .collect();
        assert!(body.is_empty());
        keys
    }

    #[test]
    fn keys_are_listed_in_order_without_comments_and_sign_what_their_public_halves_verify() {
        let folder = tempfile::tempdir().unwrap();
        // Half of P-521 keys have a secret scalar OpenSSH writes short: eight make one near-certain.
        let mut files = vec![
            keygen(folder.path(), "ed25519", None, ""),
            keygen(folder.path(), "ecdsa", Some("256"), ""),
            keygen(folder.path(), "ecdsa", Some("384"), ""),
        ];
        files.extend((0..8).map(|_| keygen(folder.path(), "ecdsa", Some("521"), "")));
        let keyring = loaded(&files).unwrap();
        let keys = listed(&keyring.answer(&message(REQUEST_IDENTITIES, &[])));
        let expected: Vec<_> = files.iter().map(|f| (public_half(f).key_data().clone(), String::new())).collect();
        let got: Vec<_> = keys.iter().map(|(k, c)| (k.key_data().clone(), c.clone())).collect();
        assert_eq!(got, expected, "in the files' order, with no comment as Go's keyring lists them");

        let data = b"session id and request";
        for (public, _) in &keys {
            let (format, signature) = signature_of(&keyring.answer(&sign_request(public, data, 0))).unwrap();
            assert_eq!(format, public.algorithm().as_str());
            let signature = ssh_key::Signature::new(public.algorithm(), signature).unwrap();
            public.key_data().verify(data, &signature).unwrap();
            assert!(public.key_data().verify(b"other data", &signature).is_err());
            let flagged = keyring.answer(&sign_request(public, data, RSA_SHA2_256));
            assert_eq!(signature_of(&flagged), None, "RSA flags on another key type fail, as in Go's keyring");
        }
    }

    #[test]
    fn an_rsa_key_signs_sha1_by_default_and_sha2_when_the_flags_ask() {
        let folder = tempfile::tempdir().unwrap();
        let file = keygen(folder.path(), "rsa", Some("2048"), "");
        let keyring = loaded(std::slice::from_ref(&file)).unwrap();
        let public = public_half(&file);
        let rsa_public = public.key_data().rsa().unwrap();
        let uint = |m: &ssh_key::Mpint| rsa::BoxedUint::from_be_slice_vartime(m.as_positive_bytes().unwrap());
        let verifier = rsa::PublicKey::new(uint(&rsa_public.n), uint(&rsa_public.e)).unwrap();
        let data = b"session id and request";
        let signed = |flags| {
            let (format, signature) = signature_of(&keyring.answer(&sign_request(&public, data, flags))).unwrap();
            (format, rsa::pkcs1v15::Signature::try_from(signature.as_slice()).unwrap())
        };

        let (format, signature) = signed(0);
        assert_eq!(format, "ssh-rsa");
        rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(verifier.clone()).verify(data, &signature).unwrap();
        let (format, signature) = signed(RSA_SHA2_256);
        assert_eq!(format, "rsa-sha2-256");
        rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha256>::new(verifier.clone()).verify(data, &signature).unwrap();
        let (format, signature) = signed(RSA_SHA2_512);
        assert_eq!(format, "rsa-sha2-512");
        let sha512 = rsa::pkcs1v15::VerifyingKey::<rsa::sha2::Sha512>::new(verifier.clone());
        sha512.verify(data, &signature).unwrap();
        assert!(sha512.verify(b"other data", &signature).is_err());
        let both = keyring.answer(&sign_request(&public, data, RSA_SHA2_256 | RSA_SHA2_512));
        assert_eq!(signature_of(&both), None, "Go's keyring takes one flag or none");
    }

    #[test]
    fn only_listing_and_signing_with_held_keys_are_answered() {
        let folder = tempfile::tempdir().unwrap();
        let keyring = loaded(&[keygen(folder.path(), "ed25519", None, "")]).unwrap();
        let failure = vec![0, 0, 0, 1, FAILURE];
        // Add an identity, remove one, remove all, lock, unlock, an extension: refused.
        for kind in [17, 18, 19, 22, 23, 27] {
            assert_eq!(keyring.answer(&message(kind, &[])), failure, "request {kind}");
        }
        let stranger = public_half(&keygen(folder.path(), "ecdsa", None, ""));
        assert_eq!(keyring.answer(&sign_request(&stranger, b"data", 0)), failure, "a key it does not hold");
        assert_eq!(keyring.answer(&message(SIGN_REQUEST, &[0, 0])), failure, "a truncated request");
    }

    #[test]
    fn files_that_are_not_usable_keys_are_refused_in_gos_words() {
        let folder = tempfile::tempdir().unwrap();
        let refused = |path: PathBuf| {
            let message = loaded(std::slice::from_ref(&path)).unwrap_err().to_string();
            let prefix = format!("failed to parse {}: ", path.display());
            message.strip_prefix(&prefix).unwrap_or_else(|| panic!("{message}")).to_owned()
        };
        let written = |name: &str, text: &str| {
            let path = folder.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let encrypted = keygen(folder.path(), "ed25519", None, "pass");
        assert_eq!(refused(encrypted.clone()), "ssh: this private key is passphrase protected");
        assert_eq!(refused(encrypted.with_extension("pub")), "ssh: no key found");
        assert_eq!(refused(written("text", "not a key\n")), "ssh: no key found");
        let openssl_encrypted = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(refused(written("pem", openssl_encrypted)), "ssh: this private key is passphrase protected");
        let certificate = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(refused(written("cert", certificate)), "ssh: unsupported key type \"CERTIFICATE\"");

        let key = std::fs::read_to_string(keygen(folder.path(), "ed25519", None, "")).unwrap();
        assert!(loaded(&[written("lead", &format!("text before the key\n{key}"))]).is_ok());
        let absent = folder.path().join("absent");
        let opened = loaded(std::slice::from_ref(&absent)).unwrap_err().to_string();
        assert_eq!(opened, format!("failed to open {0}: open {0}: no such file or directory", absent.display()));
    }
}
