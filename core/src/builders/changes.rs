//! Changes another program (the docker CLI, a script) makes to the builder store or the docker
//! contexts, noticed by stamps on the files: buildx and docker write by renaming a new file into its
//! folder, which stamps the folder. Polled rather than watched through inotify, which misses changes
//! on network home folders and cannot watch a folder before it exists.

use std::path::Path;
use std::time::{Duration, SystemTime};

use futures_util::Stream;

use super::Builders;

/// See [`Builders::stamp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStamp {
    /// When the folders of builders, their activity and the contexts, and config.json, last changed.
    modified: Vec<Option<SystemTime>>,
    /// What `current` and the `defaults` files say. Reading the current builder rewrites them as
    /// they were (buildx does the same), so their times would move at every list.
    choices: Vec<(String, Vec<u8>)>,
}

impl Builders {
    /// The builder store and the docker contexts as last changed: a list taken under the same stamp
    /// holds the same builders (their nodes' states aside).
    pub fn stamp(&self) -> ListStamp {
        let config = self.contexts().environment().docker_config_dir();
        let store = self.store().root();
        let watched =
            [store.join("instances"), store.join("activity"), config.join("contexts/meta"), config.join("config.json")];
        let modified = watched.iter().map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).collect();
        let mut choices = vec![("current".to_owned(), std::fs::read(store.join("current")).unwrap_or_default())];
        choices.extend(files_in(&store.join("defaults")));
        ListStamp { modified, choices }
    }

    /// Yields each time the stamp moved, looking every `every`. The stream never ends; drop it to stop.
    pub fn changes(&self, every: Duration) -> impl Stream<Item = ()> + Send + 'static {
        let builders = self.clone();
        let first = builders.stamp();
        futures_util::stream::unfold((builders, first), move |(builders, mut seen)| async move {
            loop {
                tokio::time::sleep(every).await;
                let looking = builders.clone();
                let Ok(now) = tokio::task::spawn_blocking(move || looking.stamp()).await else { continue };
                if now != seen {
                    seen = now;
                    return Some(((), (builders, seen)));
                }
            }
        })
    }
}

/// A folder's files by name with their contents; none when it cannot be read.
fn files_in(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(folder) else { return Vec::new() };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().into_string().ok()?, std::fs::read(e.path()).ok()?)))
        .collect();
    files.sort();
    files
}
