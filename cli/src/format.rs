//! `--format` values the commands take: their named formats, or a Go template of buildx's fields.

use buildlane_core::error_code::{Coded, ErrorCode};

#[derive(Debug, thiserror::Error)]
#[error("invalid --format \"{given}\": expected {named} or a template")]
pub struct FormatError {
    given: String,
    /// The command's named formats, as the message lists them (`text, json`).
    named: String,
}

impl Coded for FormatError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

/// `given` when it is one of `named` or a template (it has an action).
pub fn checked<'a>(given: &'a str, named: &[&str]) -> Result<&'a str, FormatError> {
    if named.contains(&given) || given.contains("{{") {
        return Ok(given);
    }
    Err(FormatError { given: given.to_owned(), named: named.join(", ") })
}
