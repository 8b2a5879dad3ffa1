//! How an operating-system error reads to a user: the wording the docker CLI uses for the same
//! failures, so that an error from Buildlane and one from `docker` look alike.

/// The innermost I/O cause of an error chain (a transport error wraps it several layers deep).
pub(crate) fn innermost_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost: &(dyn std::error::Error + 'static) = err;
    while let Some(next) = innermost.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            return reason(io);
        }
        innermost = next;
    }
    match innermost.downcast_ref::<std::io::Error>() {
        Some(io) => reason(io),
        None => innermost.to_string(),
    }
}

/// One I/O error, worded as the docker CLI words it.
pub(crate) fn reason(io: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::NotFound => "no such file or directory".into(),
        K::PermissionDenied => "permission denied".into(),
        K::ConnectionReset => "connection reset by peer".into(),
        K::TimedOut => "timed out".into(),
        K::UnexpectedEof | K::BrokenPipe => "connection closed by the engine".into(),
        _ => io.to_string(),
    }
}
