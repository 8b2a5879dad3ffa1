//! Buildlane's own record of builds (request, outcome, full logs), kept after builders come and go,
//! so the Build view can list recent builds, show their logs and re-run one.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tracing::warn;
use ts_rs::TS;

use crate::builds::{BuildOutcome, BuildRequest};
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
pub enum HistoryError {
    #[error("no recorded build \"{0}\"")]
    NotFound(String),
    #[error("build history {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The folder of records: `<data dir>/builds/<ref>.json` and `<ref>.log` (JSON lines of LogChunk).
#[derive(Debug, Clone)]
pub struct History {
    dir: PathBuf,
}

fn valid_ref(build_ref: &str) -> bool {
    !build_ref.is_empty() && build_ref.chars().all(|c| c.is_ascii_alphanumeric())
}

impl History {
    pub fn new(env: &Environment) -> Self {
        Self { dir: env.data_dir().join("builds") }
    }

    /// Starts recording a build's logs; the record itself is written by [`Recorder::finish`].
    pub fn start(&self, build_ref: &str) -> Result<Recorder, HistoryError> {
        let io = |source| HistoryError::Io { path: self.dir.clone(), source };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let log = File::create(self.dir.join(format!("{build_ref}.log"))).map_err(io)?;
        Ok(Recorder { dir: self.dir.clone(), build_ref: build_ref.to_owned(), log: BufWriter::new(log) })
    }

    /// The newest `limit` records, newest first; unreadable records are skipped.
    pub fn recent(&self, limit: usize) -> Vec<BuildRecord> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut records: Vec<BuildRecord> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| match std::fs::read(&p).map(|b| serde_json::from_slice::<BuildRecord>(&b)) {
                Ok(Ok(record)) => Some(record),
                _ => {
                    warn!(path = %p.display(), "skipping unreadable build record");
                    None
                }
            })
            .collect();
        records.sort_by(|a, b| b.started_at.cmp(&a.started_at));
        records.truncate(limit);
        records
    }

    /// Every log chunk a recorded build printed.
    pub fn logs(&self, build_ref: &str) -> Result<Vec<LogChunk>, HistoryError> {
        if !valid_ref(build_ref) {
            return Err(HistoryError::NotFound(build_ref.to_owned()));
        }
        let path = self.dir.join(format!("{build_ref}.log"));
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(HistoryError::NotFound(build_ref.to_owned()))
            }
            Err(source) => return Err(HistoryError::Io { path, source }),
        };
        Ok(BufReader::new(file).lines().map_while(Result::ok).filter_map(|l| serde_json::from_str(&l).ok()).collect())
    }
}

/// Appends a running build's output to its log file.
pub struct Recorder {
    dir: PathBuf,
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

    /// Writes the record (atomically) and flushes the log.
    pub fn finish(mut self, record: &BuildRecord) -> Result<(), HistoryError> {
        let io = |source| HistoryError::Io { path: self.dir.clone(), source };
        self.log.flush().map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
        tmp.write_all(&serde_json::to_vec(record).expect("records serialise")).map_err(io)?;
        tmp.persist(self.dir.join(format!("{}.json", self.build_ref))).map_err(|e| io(e.error))?;
        Ok(())
    }
}
