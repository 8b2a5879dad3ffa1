//! The builder list the window opens on, asked for as the app starts. WebKit takes about 0.3 s to
//! start the page's processes; the core lists the builders in that time (the engine's version and
//! BuildKit's workers, about 0.1 s) instead of after the page has loaded and asked (README, the
//! window's cost). A node slower than [`PARTIAL_AFTER`] does not hold the page: it gets the
//! builders as they stood then, and the rest when that node answers.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tauri::async_runtime::{self, JoinHandle};
use tokio::sync::watch;

/// An answer older than this is not what the page means by "now": it lists again.
const FRESH_FOR: Duration = Duration::from_secs(3);

/// How long a list waits for every node before the page gets the builders as they stand (the slow
/// nodes `unknown`): the window's goal for a launch with builders listed.
pub const PARTIAL_AFTER: Duration = Duration::from_millis(500);

/// One answer computed ahead, handed to the first asker while it is fresh, with the partial
/// answer the work gave on its way (`P`) if the asker comes before the whole one.
pub struct Ahead<T, P> {
    pending: Mutex<Option<Pending<T, P>>>,
}

struct Pending<T, P> {
    started: Instant,
    answer: JoinHandle<T>,
    partial: watch::Receiver<Option<P>>,
}

impl<T: Send + 'static, P: Clone> Ahead<T, P> {
    /// Starts `work` now on the app's runtime; it may send a partial answer on the way.
    pub fn start<W: Future<Output = T> + Send + 'static>(work: impl FnOnce(watch::Sender<Option<P>>) -> W) -> Self {
        let (sender, partial) = watch::channel(None);
        let answer = async_runtime::spawn(work(sender));
        Self { pending: Mutex::new(Some(Pending { started: Instant::now(), answer, partial })) }
    }

    /// The answer, once, if it was started less than `FRESH_FOR` ago (`None` means ask afresh);
    /// `on_partial` gets the work's partial answer if there is one before the whole.
    pub async fn take(&self, on_partial: impl Fn(P)) -> Option<T> {
        let Pending { started, mut answer, mut partial } =
            self.pending.lock().expect("lock is never poisoned").take()?;
        if started.elapsed() > FRESH_FOR {
            answer.abort();
            return None;
        }
        loop {
            tokio::select! {
                done = &mut answer => return done.ok(),
                changed = partial.changed() => match changed {
                    Ok(()) => {
                        if let Some(p) = partial.borrow_and_update().clone() {
                            on_partial(p);
                        }
                    }
                    // The work is past the point where it could say more: only its answer is left.
                    Err(_) => return answer.await.ok(),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_asker_gets_the_answer_started_at_launch_and_later_ones_ask_afresh() {
        let ahead: Ahead<i32, ()> = Ahead::start(|_| async { 7 });
        assert_eq!(ahead.take(|_| {}).await, Some(7));
        assert_eq!(ahead.take(|_| {}).await, None);
    }

    #[tokio::test]
    async fn an_asker_before_the_answer_gets_the_partial_answer_first() {
        let (finish, finished) = tokio::sync::oneshot::channel::<()>();
        let ahead = Ahead::start(|partial| async move {
            partial.send(Some("the fast nodes")).unwrap();
            finished.await.unwrap();
            "every node"
        });
        let seen = Mutex::new(Vec::new());
        let taking = ahead.take(|p| {
            seen.lock().unwrap().push(p);
        });
        let (answer, ()) = tokio::join!(taking, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            finish.send(()).unwrap();
        });
        assert_eq!(answer, Some("every node"));
        assert_eq!(*seen.lock().unwrap(), ["the fast nodes"]);
    }

    #[tokio::test]
    async fn an_answer_started_too_long_ago_is_not_handed_out() {
        let ahead: Ahead<i32, ()> = Ahead::start(|_| async { 7 });
        ahead.pending.lock().unwrap().as_mut().unwrap().started =
            Instant::now().checked_sub(FRESH_FOR + Duration::from_millis(1)).expect("the clock has run that long");
        assert_eq!(ahead.take(|_| {}).await, None);
    }
}
