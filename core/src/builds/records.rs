//! Buildlane's own record of builds (request, outcome, full logs), kept after builders come and go,
//! so the Build view can list recent builds, show their logs and re-run one; not BuildKit's history
//! API. Logs can hold what a build printed, so the folder is the user's alone (0700, files 0600),
//! and old records go: see [`Retention`].

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tracing::warn;
use ts_rs::TS;

use crate::builds::{BuildObserver, BuildOutcome, BuildRequest};
use crate::docker_config::Environment;
use crate::progress::LogChunk;

/// One recorded build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuildRecord {
    pub request: BuildRequest,
    pub outcome: BuildOutcome,
    /// RFC 3339.
    pub started_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("no recorded build \"{0}\"")]
    NotFound(String),
    #[error("build records {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// How many records are kept: the newest `max_records`, none older than `max_age`. Applied each
/// time a build is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_records: usize,
    pub max_age: Duration,
}

impl Default for Retention {
    /// 200 builds (four times what the Build view lists), 30 days.
    fn default() -> Self {
        Self { max_records: 200, max_age: Duration::from_secs(30 * 24 * 60 * 60) }
    }
}

/// The folder of records: `<data dir>/builds/<ref>.json` and `<ref>.log` (JSON lines of LogChunk).
#[derive(Debug, Clone)]
pub struct Records {
    dir: PathBuf,
    retention: Retention,
}

fn valid_ref(build_ref: &str) -> bool {
    !build_ref.is_empty() && build_ref.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Records {
    pub fn new(env: &Environment) -> Self {
        Self { dir: env.data_dir().join("builds"), retention: Retention::default() }
    }

    pub fn with_retention(self, retention: Retention) -> Self {
        Self { retention, ..self }
    }

    /// The folder records are kept in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// An observer that records the build it follows (pass it to [`crate::builds::run`]).
    pub fn recording(&self) -> Recording {
        Recording { records: self.clone(), recorder: None, started: None }
    }

    /// Starts recording a build's logs; the record itself is written by [`Recorder::finish`].
    pub fn start(&self, build_ref: &str) -> Result<Recorder, RecordsError> {
        let io = |source| RecordsError::Io { path: self.dir.clone(), source };
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir).map_err(io)?;
        // A folder made by an earlier version kept the umask's mode.
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        let log = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(self.dir.join(format!("{build_ref}.log")))
            .map_err(io)?;
        Ok(Recorder { records: self.clone(), build_ref: build_ref.to_owned(), log: BufWriter::new(log) })
    }

    /// Removes records beyond the retention limits, with their logs, and logs older than the age
    /// limit whose build never got a record (the app stopped mid-build). A running build's log has no
    /// record yet and is young, so it stays.
    fn prune(&self, now: SystemTime) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        let oldest = now.checked_sub(self.retention.max_age).unwrap_or(SystemTime::UNIX_EPOCH);
        let mut records: Vec<(SystemTime, String)> = Vec::new();
        let mut logs: Vec<(SystemTime, String)> = Vec::new();
        for path in entries.filter_map(Result::ok).map(|e| e.path()) {
            let (Some(stem), Some(ext)) = (path.file_stem().and_then(|s| s.to_str()), path.extension()) else {
                continue;
            };
            if !valid_ref(stem) {
                continue;
            }
            let modified = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or(now);
            if ext == "json" {
                records.push((started_at(&path).unwrap_or(modified), stem.to_owned()));
            } else if ext == "log" {
                logs.push((modified, stem.to_owned()));
            }
        }
        records.sort_by_key(|record| std::cmp::Reverse(record.0));
        let (kept, dropped): (Vec<_>, Vec<_>) = records
            .into_iter()
            .enumerate()
            .partition(|(index, (started, _))| *index < self.retention.max_records && *started >= oldest);
        let kept: std::collections::HashSet<String> = kept.into_iter().map(|(_, (_, r))| r).collect();
        let orphans = logs.into_iter().filter(|(modified, r)| !kept.contains(r) && *modified < oldest).map(|(_, r)| r);
        for build_ref in dropped.into_iter().map(|(_, (_, r))| r).chain(orphans) {
            for ext in ["json", "log"] {
                let path = self.dir.join(format!("{build_ref}.{ext}"));
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        warn!(path = %path.display(), error = %e, "cannot remove an old build record")
                    }
                    _ => {}
                }
            }
        }
    }

    /// The newest `limit` records, newest first; unreadable records are skipped.
    pub fn recent(&self, limit: usize) -> Vec<BuildRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut records: Vec<BuildRecord> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| match std::fs::read(&p).ok().and_then(|b| read_record(&b)) {
                Some(record) => Some(record),
                None => {
                    warn!(path = %p.display(), "skipping unreadable build record");
                    None
                }
            })
            .collect();
        records.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        records.truncate(limit);
        records
    }

    /// The record of the build `build_ref`, when Buildlane recorded it and it is readable.
    pub fn get(&self, build_ref: &str) -> Option<BuildRecord> {
        if !valid_ref(build_ref) {
            return None;
        }
        read_record(&std::fs::read(self.dir.join(format!("{build_ref}.json"))).ok()?)
    }

    /// Every log chunk a recorded build printed.
    pub fn logs(&self, build_ref: &str) -> Result<Vec<LogChunk>, RecordsError> {
        if !valid_ref(build_ref) {
            return Err(RecordsError::NotFound(build_ref.to_owned()));
        }
        let path = self.dir.join(format!("{build_ref}.log"));
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(RecordsError::NotFound(build_ref.to_owned()))
            }
            Err(source) => return Err(RecordsError::Io { path, source }),
        };
        Ok(BufReader::new(file).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect())
    }
}

/// A record as written now, or before a build had several outputs: its request's one `output`
/// (`pushAndLoad` naming two) is read as its `outputs`; or before a provenance was an attestation:
/// its `min` (buildx's default, or that mode asked for) is the default, its `max` what
/// `--provenance mode=max` asks buildx for.
fn read_record(bytes: &[u8]) -> Option<BuildRecord> {
    let mut record: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if let Some(request) = record.get_mut("request").and_then(serde_json::Value::as_object_mut) {
        if let Some(output) = request.remove("output") {
            let outputs = match output["type"].as_str() {
                Some("pushAndLoad") => serde_json::json!([{ "type": "push" }, { "type": "load" }]),
                _ => serde_json::json!([output]),
            };
            request.entry("outputs").or_insert(outputs);
        }
        if let Some(provenance) = request.get_mut("provenance") {
            match provenance.as_str() {
                Some("min") => *provenance = serde_json::json!("default"),
                Some("max") => *provenance = serde_json::json!({ "attrs": "type=provenance,mode=max" }),
                _ => {}
            }
        }
    }
    serde_json::from_value(record).ok()
}

/// When a recorded build started, from its record.
fn started_at(path: &Path) -> Option<SystemTime> {
    let record = read_record(&std::fs::read(path).ok()?)?;
    let started = chrono::DateTime::parse_from_rfc3339(&record.started_at).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(started.timestamp_millis()).ok()?))
}

/// Appends a running build's output to its log file.
pub struct Recorder {
    records: Records,
    build_ref: String,
    log: BufWriter<File>,
}

impl Recorder {
    pub fn logs(&mut self, chunks: &[LogChunk]) {
        for chunk in chunks {
            let line = serde_json::to_string(chunk).expect("log chunks serialise");
            if let Err(e) = writeln!(self.log, "{line}") {
                warn!(error = %e, "cannot record build log");
            }
        }
    }

    /// Writes the record (atomically, 0600 as temporary files are made), flushes the log, and
    /// drops records beyond the [`Retention`] limits.
    pub fn finish(mut self, record: &BuildRecord) -> Result<(), RecordsError> {
        let dir = &self.records.dir;
        let io = |source| RecordsError::Io { path: dir.clone(), source };
        self.log.flush().map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(&serde_json::to_vec(record).expect("records serialise")).map_err(io)?;
        tmp.persist(dir.join(format!("{}.json", self.build_ref))).map_err(|e| io(e.error))?;
        self.records.prune(SystemTime::now());
        Ok(())
    }
}

/// Records the build it follows: its logs as they come, its record when it ends. A build that ends
/// before its solve, or whose engine goes away mid-solve, is recorded under the ref its outcome
/// names, with the error.
pub struct Recording {
    records: Records,
    recorder: Option<Recorder>,
    /// The solve's ref once it started, recorded or not.
    started: Option<String>,
}

impl BuildObserver for Recording {
    fn started(&mut self, build_ref: &str) {
        self.started = Some(build_ref.to_owned());
        self.recorder = match self.records.start(build_ref) {
            Ok(recorder) => Some(recorder),
            Err(e) => {
                warn!(error = %e, "this build will not be recorded");
                None
            }
        };
    }

    fn logs(&mut self, chunks: &[LogChunk]) {
        if let Some(recorder) = self.recorder.as_mut() {
            recorder.logs(chunks);
        }
    }

    fn finished(&mut self, request: &BuildRequest, outcome: &BuildOutcome, started_at: &str) {
        let recorder = match self.recorder.take() {
            Some(recorder) if self.started.as_deref() == Some(outcome.build_ref.as_str()) => Ok(recorder),
            // The solve's start could not be recorded: neither can its end.
            None if self.started.as_deref() == Some(outcome.build_ref.as_str()) => return,
            _ => self.records.start(&outcome.build_ref),
        };
        let record =
            BuildRecord { request: request.clone(), outcome: outcome.clone(), started_at: started_at.to_owned() };
        if let Err(e) = recorder.and_then(|recorder| recorder.finish(&record)) {
            warn!(error = %e, "cannot record the build");
        }
    }
}
