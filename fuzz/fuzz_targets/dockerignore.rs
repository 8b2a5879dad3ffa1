//! `.dockerignore` files as users write them: reading the file, compiling its patterns and judging
//! any path never panic; without exception patterns, judging a path with its parents' results
//! carried down (as the context walker does) agrees with judging it and its parents afresh.
//! (With exceptions the two differ in upstream patternmatcher too, and either may be the one to
//! reach a pattern that cannot compile, so only agreement on answers without `!` is checked.)
#![no_main]

use buildlane_core::buildkit::session::patterns::{read_ignore_file, MatchInfo, PatternMatcher};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    // The .dockerignore, then a NUL, then one path a line.
    let (ignore_file, paths) = data.split_once('\0').unwrap_or((data, "a/b/c"));
    let Ok(matcher) = PatternMatcher::new(&read_ignore_file(ignore_file)) else { return };
    for path in paths.lines() {
        // The walker judges clean relative paths only: no empty, `.` or `..` component.
        if path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            continue;
        }
        let alone = matcher.matches_or_parent_matches(path);
        let _ = matcher.matches(path);
        let mut info = MatchInfo::default();
        let mut walked = Ok(false);
        let mut prefix = String::new();
        for component in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(component);
            match matcher.matches_using_parent_results(&prefix, &info) {
                Ok((matched, child)) => {
                    walked = Ok(matched);
                    info = child;
                }
                Err(e) => {
                    walked = Err(e);
                    break;
                }
            }
        }
        if let (false, Ok(alone), Ok(walked)) = (matcher.exclusions(), &alone, &walked) {
            assert_eq!(alone, walked, "{path:?} with {ignore_file:?}");
        }
    }
});
