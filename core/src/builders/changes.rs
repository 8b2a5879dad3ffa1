//! Changes another program (the docker CLI, a script) makes to the builder store or the docker
//! contexts, noticed by the folders' modification times: buildx and docker write by renaming a new
//! file into its folder, which stamps the folder. Polled rather than watched through inotify, which
//! misses changes on network home folders and cannot watch a folder before it exists.

use std::time::{Duration, SystemTime};

use futures_util::Stream;

use super::Builders;

/// See [`Builders::stamp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListStamp(Vec<Option<SystemTime>>);

impl Builders {
    /// When the builder store and the docker contexts last changed: a list taken under the same
    /// stamp holds the same builders (their nodes' states aside).
    pub fn stamp(&self) -> ListStamp {
        let config = self.contexts().environment().docker_config_dir();
        let store = self.store().root();
        let folders = [
            store.to_path_buf(),
            store.join("instances"),
            store.join("defaults"),
            store.join("activity"),
            config.join("contexts/meta"),
            config,
        ];
        ListStamp(folders.iter().map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok()).collect())
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
