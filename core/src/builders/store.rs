//! buildx's own on-disk builder store (`~/.docker/buildx`), read and written exactly as buildx does,
//! so that `docker buildx ls` and Buildlane see the same builders.
//!
//! Every transaction holds an exclusive `flock` on `.lock`, like buildx; writes go to a temp file in the
//! same folder, are fsynced and renamed, so a crash never leaves half a file behind.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::platform::Platform;

/// A builder as buildx stores it (`instances/<name>`). Field order is Go's, so our files match buildx's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeGroup {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "Nodes", default, with = "null_as_empty")]
    pub nodes: Vec<Node>,
    #[serde(rename = "Dynamic", default)]
    pub dynamic: bool,
}

/// One node of a builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Endpoint")]
    pub endpoint: String,
    /// Platforms the user pinned (`--platform`). `None` is Go's nil slice (written `null`);
    /// `Some(vec![])` the empty list buildx leaves on the other nodes when it appends one (`[]`).
    #[serde(rename = "Platforms", default)]
    pub platforms: Option<Vec<Platform>>,
    #[serde(rename = "DriverOpts", default, with = "null_as_empty_map")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(rename = "Flags", default, with = "null_as_empty")]
    pub flags: Vec<String>,
    /// Files copied into `/etc/buildkit` (e.g. `buildkitd.toml`); Go writes `[]byte` as base64.
    #[serde(rename = "Files", default, with = "base64_files")]
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Node {
    /// The platforms pinned on this node, none when the list is `null` or empty.
    pub fn declared_platforms(&self) -> &[Platform] {
        self.platforms.as_deref().unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "invalid builder name \"{0}\": a name starts with a letter and may contain only letters, digits and . _ - +"
    )]
    InvalidName(String),
    #[error("builder \"{0}\" not found")]
    NotFound(String),
    #[error(
        "builder store {path} is locked by another program (is `docker buildx` running?); gave up after {waited:?}"
    )]
    Locked { path: PathBuf, waited: Duration },
    #[error("builder store file {path} is corrupt: {reason} (left untouched)")]
    Corrupt { path: PathBuf, reason: String },
    #[error("builder store {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The selection recorded in `current`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Current {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Global")]
    global: bool,
}

/// What `instances/` holds for one name: a builder, or the reason it could not be read.
#[derive(Debug)]
pub enum StoredBuilder {
    Ok(NodeGroup),
    Corrupt { name: String, error: StoreError },
}

/// The store's root folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    lock_timeout: Duration,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), lock_timeout: Duration::from_secs(10) }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// How long a transaction waits for another program's lock before giving up.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Begins a transaction: creates the folders if needed and takes the exclusive lock.
    pub fn txn(&self) -> Result<Txn<'_>, StoreError> {
        for dir in ["instances", "defaults", "activity"] {
            let path = self.root.join(dir);
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&path)
                .map_err(|source| StoreError::Io { path, source })?;
        }
        let lock_path = self.root.join(".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|source| StoreError::Io { path: lock_path.clone(), source })?;
        let started = Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < self.lock_timeout => {
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Locked { path: self.root.clone(), waited: started.elapsed() })
                }
                Err(std::fs::TryLockError::Error(source)) => return Err(StoreError::Io { path: lock_path, source }),
            }
        }
        Ok(Txn { store: self, _lock: lock })
    }
}

/// An open transaction; the lock is released when it is dropped.
pub struct Txn<'a> {
    store: &'a Store,
    _lock: File,
}

impl Txn<'_> {
    fn path(&self, parts: &[&str]) -> PathBuf {
        parts.iter().fold(self.store.root.clone(), |p, part| p.join(part))
    }

    /// Every stored builder, sorted by name; a corrupt file is reported in place, never deleted.
    pub fn list(&self) -> Result<Vec<StoredBuilder>, StoreError> {
        let dir = self.path(&["instances"]);
        let entries = std::fs::read_dir(&dir).map_err(|source| StoreError::Io { path: dir.clone(), source })?;
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with(".tmp-"))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| match self.node_group(&name) {
                Ok(ng) => StoredBuilder::Ok(ng),
                Err(error) => StoredBuilder::Corrupt { name, error },
            })
            .collect())
    }

    pub fn node_group(&self, name: &str) -> Result<NodeGroup, StoreError> {
        let name = validate_name(name)?;
        let path = self.path(&["instances", &name]);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NotFound(name)),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt { path, reason: e.to_string() })
    }

    pub fn exists(&self, name: &str) -> Result<bool, StoreError> {
        let name = validate_name(name)?;
        Ok(self.path(&["instances", &name]).exists())
    }

    /// Writes `instances/<name>` and stamps `activity/<name>`, as buildx does on save.
    pub fn save(&self, ng: &NodeGroup) -> Result<(), StoreError> {
        let name = validate_name(&ng.name)?;
        let json = go_json(ng);
        atomic_write(&self.path(&["instances", &name]), json.as_bytes())?;
        self.update_activity(&name)
    }

    pub fn update_activity(&self, name: &str) -> Result<(), StoreError> {
        let name = validate_name(name)?;
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        atomic_write(&self.path(&["activity", &name]), now.as_bytes())
    }

    /// When the builder was last saved or used for a build, if buildx recorded it.
    pub fn activity(&self, name: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = std::fs::read_to_string(self.path(&["activity", name])).ok()?;
        chrono::DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.with_timezone(&chrono::Utc))
    }

    /// Deletes the builder's instance, activity and local build refs; `current` and `defaults` stay
    /// as they are, as with `docker buildx rm`.
    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let name = validate_name(name)?;
        for path in [self.path(&["instances", &name]), self.path(&["activity", &name])] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(StoreError::Io { path, source }),
            }
        }
        let refs = self.path(&["refs", &name]);
        match std::fs::remove_dir_all(&refs) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path: refs, source }),
        }
    }

    /// Deletes a node's local build state (`refs/<builder>/<node>`), as `create --leave` does.
    pub fn remove_node_state(&self, builder: &str, node: &str) -> Result<(), StoreError> {
        let builder = validate_name(builder)?;
        let node = validate_name(node)?;
        let refs = self.path(&["refs", &builder, &node]);
        match std::fs::remove_dir_all(&refs) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StoreError::Io { path: refs, source }),
        }
    }

    /// The builder chosen for the endpoint `key`, following buildx's rules: a global choice wins, then
    /// the choice made for this key, then the key's default (which then becomes the current choice).
    /// `None` means the context's own builder.
    pub fn current(&self, key: &str) -> Result<Option<String>, StoreError> {
        let path = self.path(&["current"]);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let current: Current = serde_json::from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
                if !current.name.is_empty() {
                    if current.global && self.node_group(&current.name).is_ok() {
                        return Ok(Some(current.name));
                    }
                    if current.key == key {
                        return Ok(self.node_group(&current.name).is_ok().then_some(current.name));
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path, source }),
        }
        let default_path = self.path(&["defaults", &key_hash(key)]);
        match std::fs::read_to_string(&default_path) {
            Ok(name) => {
                let found = self.node_group(&name).is_ok();
                self.set_current(key, &name, false, true)?;
                Ok(found.then_some(name))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.write_current(&Current { key: key.to_owned(), name: String::new(), global: false })?;
                Ok(None)
            }
            Err(source) => Err(StoreError::Io { path: default_path, source }),
        }
    }

    /// `docker buildx use [--global] [--default] NAME`. An empty name selects the context's own builder.
    pub fn set_current(&self, key: &str, name: &str, global: bool, default: bool) -> Result<(), StoreError> {
        self.write_current(&Current { key: key.to_owned(), name: name.to_owned(), global })?;
        let default_path = self.path(&["defaults", &key_hash(key)]);
        if default {
            atomic_write(&default_path, name.as_bytes())
        } else {
            match std::fs::remove_file(&default_path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(source) => Err(StoreError::Io { path: default_path, source }),
            }
        }
    }

    fn write_current(&self, current: &Current) -> Result<(), StoreError> {
        atomic_write(&self.path(&["current"]), go_json(current).as_bytes())
    }
}

/// Checks a builder name against buildx's rule and lowercases it, as buildx does.
pub fn validate_name(name: &str) -> Result<String, StoreError> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'));
    if valid {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(StoreError::InvalidName(name.to_owned()))
    }
}

/// `defaults/` files are named by the first 20 hex digits of sha256(key).
fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..20].to_owned()
}

/// Compact JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped.
fn go_json<T: Serialize>(value: &T) -> String {
    crate::go_json::html_escaped(&serde_json::to_string(value).expect("store types always serialise"))
}

fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let io = |source| StoreError::Io { path: path.to_owned(), source };
    let dir = path.parent().expect("store paths have a parent");
    let prefix = format!(".tmp-{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("file"));
    // tempfile creates the file with mode 0600, which is what buildx uses for every store file.
    let mut tmp = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

mod null_as_empty {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Vec<T>, s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            s.serialize_none()
        } else {
            v.serialize(s)
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

mod null_as_empty_map {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &BTreeMap<String, String>, s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            s.serialize_none()
        } else {
            v.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
        Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
    }
}

mod base64_files {
    use std::collections::BTreeMap;

    use base64::Engine as _;
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &BTreeMap<String, Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        if v.is_empty() {
            return s.serialize_none();
        }
        s.collect_map(v.iter().map(|(k, bytes)| (k, base64::engine::general_purpose::STANDARD.encode(bytes))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<u8>>, D::Error> {
        let encoded = Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default();
        encoded
            .into_iter()
            .map(|(k, v)| base64::engine::general_purpose::STANDARD.decode(v).map(|b| (k, b)).map_err(D::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> NodeGroup {
        NodeGroup {
            name: "probe1".into(),
            driver: "docker-container".into(),
            nodes: vec![Node {
                name: "probe10".into(),
                endpoint: "unix:///var/run/docker.sock".into(),
                platforms: None,
                driver_opts: BTreeMap::new(),
                flags: vec!["--allow-insecure-entitlement=network.host".into()],
                files: BTreeMap::new(),
            }],
            dynamic: false,
        }
    }

    #[test]
    fn writes_the_bytes_buildx_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.txn().unwrap().save(&probe()).unwrap();
        let written = std::fs::read_to_string(dir.path().join("instances/probe1")).unwrap();
        assert_eq!(
            written,
            r#"{"Name":"probe1","Driver":"docker-container","Nodes":[{"Name":"probe10","Endpoint":"unix:///var/run/docker.sock","Platforms":null,"DriverOpts":null,"Flags":["--allow-insecure-entitlement=network.host"],"Files":null}],"Dynamic":false}"#
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("instances/probe1")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(store.txn().unwrap().activity("probe1").is_some());
    }

    #[test]
    fn round_trips_pinned_platforms_options_and_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut ng = probe();
        ng.nodes[0].platforms = Some(vec!["linux/arm/v7".parse().unwrap()]);
        ng.nodes[0].driver_opts.insert("image".into(), "moby/buildkit:v0.13.1".into());
        ng.nodes[0].files.insert("buildkitd.toml".into(), b"debug = true\n".to_vec());
        let txn = store.txn().unwrap();
        txn.save(&ng).unwrap();
        assert_eq!(txn.node_group("probe1").unwrap(), ng);
        let written = std::fs::read_to_string(dir.path().join("instances/probe1")).unwrap();
        assert!(written.contains(r#""Platforms":[{"architecture":"arm","os":"linux","variant":"v7"}]"#));
        assert!(written.contains(r#""Files":{"buildkitd.toml":"ZGVidWcgPSB0cnVlCg=="}"#));
    }

    #[test]
    fn names_follow_buildx_rules() {
        assert_eq!(validate_name("MyBuilder.1").unwrap(), "mybuilder.1");
        assert!(validate_name("1abc").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("").is_err());
        assert!(validate_name("../etc").is_err());
    }

    #[test]
    fn a_corrupt_instance_is_reported_kept_and_the_rest_listed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.txn().unwrap().save(&probe()).unwrap();
        std::fs::write(dir.path().join("instances/broken"), b"{\"Name\":").unwrap();
        let listed = store.txn().unwrap().list().unwrap();
        assert!(
            matches!(&listed[0], StoredBuilder::Corrupt { name, error: StoreError::Corrupt { .. } } if name == "broken")
        );
        assert!(matches!(&listed[1], StoredBuilder::Ok(ng) if ng.name == "probe1"));
        assert_eq!(std::fs::read(dir.path().join("instances/broken")).unwrap(), b"{\"Name\":");
    }

    #[test]
    fn current_follows_key_then_default_then_context_builder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let txn = store.txn().unwrap();
        txn.save(&probe()).unwrap();
        assert_eq!(txn.current("unix:///var/run/docker.sock").unwrap(), None);
        txn.set_current("unix:///var/run/docker.sock", "probe1", false, true).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("current")).unwrap(),
            r#"{"Key":"unix:///var/run/docker.sock","Name":"probe1","Global":false}"#
        );
        assert_eq!(txn.current("unix:///var/run/docker.sock").unwrap().as_deref(), Some("probe1"));
        // Another endpoint has its own choice; coming back, the default for the first key is restored.
        assert_eq!(txn.current("remote").unwrap(), None);
        assert_eq!(txn.current("unix:///var/run/docker.sock").unwrap().as_deref(), Some("probe1"));
        txn.set_current("remote", "probe1", true, false).unwrap();
        assert_eq!(txn.current("anything").unwrap().as_deref(), Some("probe1"));
    }

    #[test]
    fn a_second_transaction_waits_for_the_lock_then_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path()).with_lock_timeout(Duration::from_millis(100));
        let held = store.txn().unwrap();
        assert!(matches!(store.txn(), Err(StoreError::Locked { .. })));
        drop(held);
        assert!(store.txn().is_ok());
    }

    #[test]
    fn go_escapes_html_characters() {
        assert_eq!(go_json(&"a<b>&c"), r#""a\u003cb\u003e\u0026c""#);
    }
}
