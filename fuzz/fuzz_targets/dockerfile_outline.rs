//! The offline Dockerfile outline reads whatever file the user points at: it never panics, and every
//! line it names is a line of the file. So does placing a build's steps in it, each line of the
//! file taken as a step's name.
#![no_main]

use buildlane_core::dockerfile::{local_outline, step_lines};
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
    for (i, line) in source.lines().enumerate().take(64) {
        let name = format!("[linux/amd64 stage-{} {}/9] {}", i % 3, i % 9 + 1, line.trim());
        if let Some(range) = step_lines(source, &name, None) {
            assert!(1 <= range.start && range.start <= range.end && range.end <= lines, "{range:?} of {lines}");
        }
    }
});
