//! The one place core errors become what the UI shows: a code it can act on and the core's message.

use buildlane_core::error_code::Coded;
pub use buildlane_core::error_code::ErrorCode;
use serde::Serialize;
use ts_rs::TS;

/// Every command rejects with this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    pub fn cancelled(what: &str) -> Self {
        Self::new(ErrorCode::Cancelled, format!("{what} was cancelled"))
    }
}

/// The one mapping: whatever the core's error, its code and its message. (`AppError` itself is not
/// `Coded`, so this does not overlap `From<AppError> for AppError`.)
impl<E: Coded> From<E> for AppError {
    fn from(e: E) -> Self {
        AppError { code: e.code(), message: e.to_string() }
    }
}

#[cfg(test)]
mod tests {
    use buildlane_core::builders::drivers::DriverError;
    use buildlane_core::builders::BuilderError;

    use super::*;

    #[test]
    fn user_mistakes_are_invalid_input_with_the_core_message() {
        let e = AppError::from(BuilderError::ReservedName);
        assert_eq!(e.code, ErrorCode::InvalidInput);
        assert_eq!(e.message, "builder name \"default\" is reserved for the engine's own builder");
        let e = AppError::from(BuilderError::Driver(DriverError::MalformedOption("image".into())));
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidInput, "invalid driver option \"image\": expected key=value")
        );
    }
}
