//! Helpers for build tests: a context folder, a request for it, and the progress a UI would see.

use std::collections::HashMap;
use std::sync::Mutex;

use buildlane_core::builds::records::Records;
use buildlane_core::builds::{self, BuildOutcome, BuildRequest};
use buildlane_core::progress::ProgressUpdate;
use tokio_util::sync::CancellationToken;

use super::World;

/// A build's progress as the UI would have received it.
#[derive(Default)]
pub struct Seen(Mutex<SeenInner>);

#[derive(Default, Clone)]
pub struct SeenInner {
    pub steps: HashMap<String, buildlane_core::progress::Step>,
    pub logs: HashMap<String, String>,
}

impl Seen {
    pub fn record(&self) -> impl Fn(ProgressUpdate) + Send + Sync + '_ {
        move |update: ProgressUpdate| {
            let mut seen = self.0.lock().unwrap();
            for step in update.steps {
                seen.steps.insert(step.id.clone(), step);
            }
            for log in update.logs {
                seen.logs.entry(log.step).or_default().push_str(&log.text);
            }
        }
    }

    pub fn get(&self) -> SeenInner {
        self.0.lock().unwrap().clone()
    }
}

pub fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, body) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    dir
}

pub async fn build(world: &World, request: BuildRequest, seen: &Seen) -> BuildOutcome {
    let mut recording = Records::new(&world.env()).recording();
    builds::run(&world.builders(), &request, None, &seen.record(), CancellationToken::new(), &mut recording)
        .await
        .unwrap()
}

pub fn request(ctx: &tempfile::TempDir) -> BuildRequest {
    BuildRequest { context: ctx.path().to_string_lossy().into_owned(), ..Default::default() }
}
