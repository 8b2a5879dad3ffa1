//! The exit status of each kind of failure, so a script can tell a mistake in its arguments from an
//! engine that is down without reading stderr. The numbers are an interface, listed in the README
//! under Headless: never renumber one; a new code takes a new number.

use std::process::ExitCode;

use buildlane_core::error_code::{Coded, ErrorCode};

/// A build that ran and failed in one of its steps, or output that could not be written.
pub const FAILED: u8 = 1;

/// clap's own usage errors exit with 2 as well, so every mistake in the arguments is 2.
pub fn status(code: ErrorCode) -> u8 {
    match code {
        ErrorCode::InvalidInput => 2,
        ErrorCode::EngineUnreachable => 3,
        ErrorCode::NotFound => 4,
        ErrorCode::AlreadyExists => 5,
        ErrorCode::AuthRequired => 6,
        ErrorCode::Forbidden => 7,
        ErrorCode::RegistryUnreachable => 8,
        ErrorCode::RateLimited => 9,
        ErrorCode::DigestMismatch => 10,
        ErrorCode::Malformed => 11,
        ErrorCode::StoreLocked => 12,
        ErrorCode::StoreCorrupt => 13,
        ErrorCode::ImageUnavailable => 14,
        ErrorCode::BootFailed => 15,
        // sysexits' EX_SOFTWARE: a fault of Buildlane's, not of what it was given.
        ErrorCode::Internal => 70,
        // 128 + SIGINT, as a shell reports a command stopped by Ctrl-C.
        ErrorCode::Cancelled => 130,
    }
}

/// Says what went wrong on stderr and exits with the status of its code.
pub fn fail(error: &impl Coded) -> ExitCode {
    eprintln!("buildlane: {error}");
    ExitCode::from(status(error.code()))
}
