//! The error details a builder attaches to a failed solve (google.rpc.Status details with JSON
//! payloads): decoding never panics, and a reported line span never runs backwards.
#![no_main]

use buildlane_core::buildkit::error_details::ErrorDetails;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let details = ErrorDetails::decode(data);
    if let Some(location) = details.location() {
        if let Some(span) = location.span() {
            assert!(span.start <= span.end, "span {}..{}", span.start, span.end);
        }
    }
});
