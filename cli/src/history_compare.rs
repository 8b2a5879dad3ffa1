//! `buildlane history compare REF REF`: why a build missed the cache. Two records of a builder
//! compared step by step (the older is the one whose cache the newer could have used): the first
//! step that missed with its Dockerfile line and the reasons, what else differs between the builds,
//! then every step side by side.

use std::fmt::Write as _;
use std::process::ExitCode;

use buildlane_core::error_code::{Coded, ErrorCode};
use buildlane_core::history::compare::{BuildComparison, ComparedBuild, ComparedStep, StepRun};
use buildlane_core::history::{BuildHistory, BuildSpec, HistoryError};

use crate::exit_status::fail;

#[derive(Debug, thiserror::Error)]
#[error("invalid --format \"{0}\": expected pretty or json")]
struct FormatError(String);

impl Coded for FormatError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

pub async fn run(history: Result<BuildHistory, HistoryError>, first: &str, second: &str, format: &str) -> ExitCode {
    if !matches!(format, "pretty" | "json") {
        return fail(&FormatError(format.to_owned()));
    }
    let compared = async {
        let history = history?;
        history.compare(&BuildSpec::parse(first)?, &BuildSpec::parse(second)?).await
    };
    let comparison = match compared.await {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let text = if format == "json" {
        serde_json::to_string_pretty(&comparison).expect("JSON serialises") + "\n"
    } else {
        pretty(&comparison)
    };
    crate::history::write_out(&text)
}

fn run_word(run: Option<StepRun>) -> &'static str {
    match run {
        None => "-",
        Some(StepRun::Cached) => "cached",
        Some(StepRun::Ran) => "ran",
        Some(StepRun::Failed) => "failed",
        Some(StepRun::NotRun) => "not run",
    }
}

fn build_line(label: &str, build: &ComparedBuild) -> String {
    let name = if build.name.is_empty() { String::new() } else { format!("  {}", build.name) };
    format!(
        "{label}  {}{name}  {}  {} steps, {} cached\n",
        build.build_ref, build.created_at, build.steps_total, build.steps_cached
    )
}

/// `[linux/arm64 build 2/3] RUN make`, as BuildKit names the step.
fn step_label(step: &ComparedStep) -> String {
    let prefix: Vec<&str> =
        [step.platform.as_deref(), step.stage.as_deref(), step.position.as_deref()].into_iter().flatten().collect();
    if prefix.is_empty() {
        step.instruction.clone()
    } else {
        format!("[{}] {}", prefix.join(" "), step.instruction)
    }
}

/// At most `n` characters, `…` ending a longer text.
fn cut(text: &str, n: usize) -> String {
    if text.chars().count() <= n {
        return text.to_owned();
    }
    format!("{}…", text.chars().take(n - 1).collect::<String>())
}

pub fn pretty(c: &BuildComparison) -> String {
    let mut out = String::new();
    out.push_str(&build_line("Older:", &c.older));
    out.push_str(&build_line("Newer:", &c.newer));
    out.push('\n');
    match c.first_miss.and_then(|i| c.steps.get(i as usize)) {
        None => out.push_str("No step missed the cache.\n"),
        Some(step) => {
            let _ = writeln!(out, "First step to miss the cache: {}", step_label(step));
            if let Some(line) = step.dockerfile_line {
                for (i, text) in step.source.iter().enumerate() {
                    let _ = writeln!(out, "  {:>4} | {text}", line.start as usize + i);
                }
                if step.source.is_empty() {
                    let _ = writeln!(out, "  Dockerfile line {}", line.start);
                }
            }
            out.push_str("Because:\n");
            for reason in &step.reasons {
                let _ = writeln!(out, "  - {reason}");
            }
        }
    }
    if !c.differences.is_empty() {
        out.push_str("\nWhat differs between the builds:\n");
        for difference in &c.differences {
            let _ = writeln!(out, "  - {difference}");
        }
    }
    if !c.older.has_definitions || !c.newer.has_definitions {
        out.push_str(
            "\nBuildKit kept no step definitions (provenance) with one of the records: reasons are read from the steps' names.\n",
        );
    }
    out.push('\n');
    let rows: Vec<[String; 5]> = c
        .steps
        .iter()
        .map(|s| {
            let why = if s.missed {
                s.reasons.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
            } else {
                String::new()
            };
            [
                s.dockerfile_line.map_or_else(String::new, |l| l.start.to_string()),
                cut(&step_label(s), 60),
                run_word(s.older).to_owned(),
                run_word(s.newer).to_owned(),
                why,
            ]
        })
        .collect();
    let header = ["LINE", "STEP", "OLDER", "NEWER", "WHY"].map(str::to_owned);
    let widths: Vec<usize> = (0..4)
        .map(|col| std::iter::once(&header).chain(&rows).map(|r| r[col].chars().count()).max().unwrap_or(0))
        .collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (col, cell) in row.iter().enumerate() {
            if col < 4 {
                let _ = write!(line, "{cell:<width$}   ", width = widths[col]);
            } else {
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use buildlane_core::dockerfile::LineRange;
    use buildlane_core::history::compare::MissReason;
    use buildlane_core::history::HistoryStatus;

    fn build(build_ref: &str) -> ComparedBuild {
        ComparedBuild {
            build_ref: build_ref.into(),
            name: "app".into(),
            created_at: "2026-12-01T10:00:00Z".into(),
            status: HistoryStatus::Completed,
            steps_total: 5,
            steps_cached: 1,
            has_definitions: true,
        }
    }

    fn step(position: &str, instruction: &str, line: u32, older: StepRun, newer: StepRun) -> ComparedStep {
        ComparedStep {
            platform: None,
            stage: None,
            instruction: instruction.into(),
            position: Some(position.into()),
            dockerfile_line: Some(LineRange { start: line, end: line }),
            source: vec![instruction.into()],
            older: Some(older),
            newer: Some(newer),
            missed: false,
            reasons: Vec::new(),
        }
    }

    #[test]
    fn the_first_miss_comes_with_its_line_and_reasons_then_every_step() {
        let arg = MissReason::BuildArgChanged { name: "GREETING".into(), older: Some("hello".into()), newer: None };
        let mut missed = step("2/3", "RUN echo \"$GREETING\"", 3, StepRun::Ran, StepRun::Ran);
        missed.missed = true;
        missed.reasons = vec![arg.clone()];
        let mut after = step("3/3", "RUN make", 4, StepRun::Cached, StepRun::Ran);
        after.missed = true;
        after.reasons = vec![MissReason::EarlierStepMissed {
            step: "[2/3] RUN echo \"$GREETING\"".into(),
            dockerfile_line: Some(LineRange { start: 3, end: 3 }),
        }];
        let comparison = BuildComparison {
            older: build("aaa"),
            newer: build("bbb"),
            steps: vec![step("1/3", "FROM busybox@sha256:1", 1, StepRun::Ran, StepRun::Cached), missed, after],
            first_miss: Some(1),
            differences: vec![arg],
        };
        assert_eq!(
            pretty(&comparison),
            "Older:  aaa  app  2026-12-01T10:00:00Z  5 steps, 1 cached\n\
             Newer:  bbb  app  2026-12-01T10:00:00Z  5 steps, 1 cached\n\
             \n\
             First step to miss the cache: [2/3] RUN echo \"$GREETING\"\n     \
                3 | RUN echo \"$GREETING\"\n\
             Because:\n  \
               - build arg GREETING changed: \"hello\" -> not set\n\
             \n\
             What differs between the builds:\n  \
               - build arg GREETING changed: \"hello\" -> not set\n\
             \n\
             LINE   STEP                          OLDER    NEWER    WHY\n\
             1      [1/3] FROM busybox@sha256:1   ran      cached\n\
             3      [2/3] RUN echo \"$GREETING\"    ran      ran      build arg GREETING changed: \"hello\" -> not set\n\
             4      [3/3] RUN make                cached   ran      a step it builds on missed first: [2/3] RUN echo \"$GREETING\" (line 3)\n"
        );
    }

    #[test]
    fn a_rebuild_that_missed_nothing_says_so() {
        let comparison = BuildComparison {
            older: build("aaa"),
            newer: build("bbb"),
            steps: vec![step("1/1", "RUN make", 1, StepRun::Ran, StepRun::Cached)],
            first_miss: None,
            differences: Vec::new(),
        };
        assert!(pretty(&comparison).contains("\n\nNo step missed the cache.\n\nLINE"), "{}", pretty(&comparison));
    }
}
