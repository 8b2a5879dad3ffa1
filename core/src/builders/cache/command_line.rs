//! "Copy as CLI" for the Cache panel: the `docker buildx du` and `prune` lines.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::prune::PruneForm;

/// A cache action the Cache panel can take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "action")]
#[ts(export)]
pub enum CacheAction {
    DiskUsage { builder: String, filters: Vec<String>, verbose: bool },
    Prune { builder: String, form: PruneForm },
}

/// The command line, shell-quoted so that it can be pasted as is. A prune line carries `--force`:
/// the panel has already asked.
pub fn command_line(action: &CacheAction) -> String {
    let mut args: Vec<String> = vec!["docker".into(), "buildx".into()];
    let mut push = |items: &[&str]| args.extend(items.iter().map(|s| s.to_string()));
    let filters = |filters: &[String]| -> Vec<String> {
        filters.iter().map(|f| f.trim().to_owned()).filter(|f| !f.is_empty()).collect()
    };
    match action {
        CacheAction::DiskUsage { builder, filters: given, verbose } => {
            push(&["du"]);
            if !builder.is_empty() {
                push(&["--builder", builder]);
            }
            for f in filters(given) {
                push(&["--filter", &f]);
            }
            if *verbose {
                push(&["--verbose"]);
            }
        }
        CacheAction::Prune { builder, form } => {
            push(&["prune"]);
            if !builder.is_empty() {
                push(&["--builder", builder]);
            }
            if form.all {
                push(&["--all"]);
            }
            for f in filters(&form.filters) {
                push(&["--filter", &f]);
            }
            for (flag, value) in [
                ("--keep-storage", &form.keep_storage),
                ("--max-used-space", &form.max_used_space),
                ("--min-free-space", &form.min_free_space),
            ] {
                if !value.trim().is_empty() {
                    push(&[flag, value.trim()]);
                }
            }
            push(&["--force"]);
        }
    }
    shell_words::join(args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn du_and_prune_lines_carry_every_option_set() {
        let du = CacheAction::DiskUsage {
            builder: "cache-b".into(),
            filters: vec!["type=regular".into(), " ".into()],
            verbose: true,
        };
        assert_eq!(command_line(&du), "docker buildx du --builder cache-b --filter 'type=regular' --verbose");
        let form = PruneForm {
            all: true,
            filters: vec!["until=24h".into(), "description~=\"go build\"".into()],
            keep_storage: "10GB".into(),
            ..Default::default()
        };
        assert_eq!(
            command_line(&CacheAction::Prune { builder: String::new(), form }),
            r#"docker buildx prune --all --filter 'until=24h' --filter 'description~="go build"' --keep-storage 10GB --force"#
        );
    }
}
