//! The builder list the window opens on, asked for as the app starts. WebKit takes about 0.3 s to
//! start the page's processes; the core lists the builders in that time (the engine's version and
//! BuildKit's workers, about 0.1 s) instead of after the page has loaded and asked (README, the
//! window's cost).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::async_runtime::{self, JoinHandle};

/// An answer older than this is not what the page means by "now": it lists again.
const FRESH_FOR: Duration = Duration::from_secs(3);

/// One answer computed ahead, handed to the first asker while it is fresh.
pub struct Ahead<T> {
    pending: Mutex<Option<(Instant, JoinHandle<T>)>>,
}

impl<T: Send + 'static> Ahead<T> {
    /// Starts `work` now on the app's runtime.
    pub fn start(work: impl Future<Output = T> + Send + 'static) -> Self {
        Self { pending: Mutex::new(Some((Instant::now(), async_runtime::spawn(work)))) }
    }

    /// The answer, once, if it was started less than `FRESH_FOR` ago; `None` means ask afresh.
    pub async fn take(&self) -> Option<T> {
        let (started, answer) = self.pending.lock().expect("lock is never poisoned").take()?;
        if started.elapsed() > FRESH_FOR {
            answer.abort();
            return None;
        }
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_asker_gets_the_answer_started_at_launch_and_later_ones_ask_afresh() {
        let ahead = Ahead::start(async { 7 });
        assert_eq!(ahead.take().await, Some(7));
        assert_eq!(ahead.take().await, None);
    }

    #[tokio::test]
    async fn an_answer_started_too_long_ago_is_not_handed_out() {
        let ahead = Ahead::start(async { 7 });
        ahead.pending.lock().unwrap().as_mut().unwrap().0 =
            Instant::now().checked_sub(FRESH_FOR + Duration::from_millis(1)).expect("the clock has run that long");
        assert_eq!(ahead.take().await, None);
    }
}
