//! The BuildKit client: a gRPC channel to a builder node's BuildKit, however it is reached, and the
//! Control calls made over it.

pub mod cache;
pub mod control;
pub mod error_details;
pub mod filters;
pub mod gateway;
pub mod history;
pub mod proto;
pub mod session;
pub mod solve;
pub mod tls;
pub mod transport;

pub use control::{BuildkitError, Control, WorkerInfo};
