//! `.dockerignore` patterns as users write them: compiling never panics, and matching any path
//! against any compiled list never panics.
#![no_main]

use buildlane_core::patterns::PatternMatcher;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<&str>, Vec<&str>)| {
    let (patterns, paths) = input;
    if let Ok(matcher) = PatternMatcher::new(&patterns) {
        for path in paths {
            let _ = matcher.matches(path);
        }
    }
});
