//! The offline Dockerfile outline reads whatever file the user points at: it never panics, and every
//! line it names is a line of the file.
#![no_main]

use buildlane_core::dockerfile::local_outline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|source: &str| {
    let outline = local_outline(source, String::from("fuzz"));
    let lines = source.lines().count().max(1) as u32;
    for stage in &outline.stages {
        assert!(stage.line >= 1 && stage.line <= lines, "stage line {} of {lines}", stage.line);
    }
    for arg in &outline.args {
        assert!(arg.line >= 1 && arg.line <= lines, "ARG line {} of {lines}", arg.line);
    }
});
