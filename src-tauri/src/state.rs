//! What the window's commands share: the builders of the user's docker environment, the context the
//! user picked, the engine watcher and the long operations that can still be cancelled.

use std::collections::HashMap;
use std::sync::Mutex;

use buildlane_core::builders::changes::ListStamp;
use buildlane_core::builders::{BuilderError, BuilderList, Builders};
use buildlane_core::docker_config::Environment;
use futures_util::{Stream, StreamExt};
use tauri::ipc::{Channel, IpcResponse};
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

use crate::launch::{Ahead, PARTIAL_AFTER};

pub struct AppState {
    pub builders: Builders,
    /// The docker CLI's context's builders, listed while the page loads (first as they stand after
    /// `PARTIAL_AFTER` if a node is slow), with the store's stamp as that list read it.
    pub first_list: Ahead<Result<(ListStamp, BuilderList), BuilderError>, (ListStamp, BuilderList)>,
    /// The context chosen in the UI; `None` follows the docker CLI's own choice.
    selected_context: Mutex<Option<String>>,
    operations: Mutex<HashMap<String, CancellationToken>>,
    /// The selected context's engine status, streamed to the page.
    pub engine_watch: Watch,
    /// Changes other programs make to the builders, streamed to the page.
    pub store_watch: Watch,
}

/// A task that streams to the page until the next one replaces it (one per page: a reload starts
/// another) or the window closes.
#[derive(Default)]
pub struct Watch(Mutex<Option<AbortHandle>>);

impl Watch {
    /// Sends the page each of `items` through `channel` until the page is gone or the next watch
    /// replaces this one. Called from an async command, so the task runs on the app's runtime.
    pub fn forward<T: IpcResponse + Send + 'static>(
        &self,
        items: impl Stream<Item = T> + Send + 'static,
        channel: Channel<T>,
    ) {
        let task = tokio::spawn(async move {
            let mut items = std::pin::pin!(items);
            while let Some(item) = items.next().await {
                if channel.send(item).is_err() {
                    break;
                }
            }
        });
        if let Some(old) = self.0.lock().expect("lock is never poisoned").replace(task.abort_handle()) {
            old.abort();
        }
    }
}

impl AppState {
    pub fn new(env: Environment) -> Self {
        let builders = Builders::new(env);
        let listing = builders.clone();
        Self {
            first_list: Ahead::start(move |partial| async move {
                let send = |stamp: &ListStamp, list| {
                    // Nobody may have asked yet: the list is kept for whoever does.
                    let _ = partial.send(Some((stamp.clone(), list)));
                };
                listing.list_stamped(None, Some(PARTIAL_AFTER), &send).await
            }),
            builders,
            selected_context: Mutex::new(None),
            operations: Mutex::new(HashMap::new()),
            engine_watch: Watch::default(),
            store_watch: Watch::default(),
        }
    }

    pub fn selected_context(&self) -> Option<String> {
        self.selected_context.lock().expect("lock is never poisoned").clone()
    }

    pub fn select_context(&self, name: String) {
        *self.selected_context.lock().expect("lock is never poisoned") = Some(name);
    }

    /// Registers a long operation; cancelling the returned token is how `cancel` reaches it.
    fn track(&self, operation: String) -> CancellationToken {
        let token = CancellationToken::new();
        self.operations.lock().expect("lock is never poisoned").insert(operation, token.clone());
        token
    }

    /// Forgets an operation that ended, and hands back to the system what it allocated and freed
    /// (a build's transfers and progress left about 26 MiB in the allocator otherwise): now, and
    /// again once the page has read what it shows of the end (the record, its timing, the history).
    fn finish(&self, operation: &str) {
        self.operations.lock().expect("lock is never poisoned").remove(operation);
        crate::memory::return_freed_memory();
        crate::memory::return_freed_memory_once_the_page_read();
    }

    /// Runs `work` as the long operation `operation`: `cancel` reaches it through the token it is
    /// given until it ends.
    pub async fn tracked<T>(&self, operation: String, work: impl AsyncFnOnce(CancellationToken) -> T) -> T {
        let cancel = self.track(operation.clone());
        let result = work(cancel).await;
        self.finish(&operation);
        result
    }

    /// Cancels a running operation; false when it already ended or never existed.
    pub fn cancel(&self, operation: &str) -> bool {
        match self.operations.lock().expect("lock is never poisoned").remove(operation) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }
}
