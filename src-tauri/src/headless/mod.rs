//! The window-less commands (`buildlane ls`, `buildlane build`): no DISPLAY needed, the same core
//! calls as the window, output for people and scripts.

pub mod build;
pub mod inspect;
pub mod ls;

/// A runtime for one headless command.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime starts")
}
