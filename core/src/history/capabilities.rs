//! What a node's BuildKit can tell the History view, decided from its release. BuildKit added to
//! its history over several releases: 0.15 finalizes a record on request and keeps a failed build's
//! error beside the record (`externalError`), 0.16 counts warnings, 0.20 filters and limits the list
//! itself (`BuildHistoryRequest.Filter`/`Limit`, which older daemons ignore). Where a node lacks one,
//! the view says so next to what it would have shown, rather than an empty field that reads as
//! "none".

use serde::Serialize;
use ts_rs::TS;

use crate::builders::cache::BuildkitRelease;

/// A part of BuildKit's history API the view uses, newer than history itself (0.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum HistoryCapability {
    /// The daemon filters and limits the records it sends.
    Filters,
    /// A finished build's record written out at once, trace included, when asked.
    Finalize,
    /// Each record counts the warnings its build raised.
    Warnings,
    /// A failed build's full error kept as a blob beside its record.
    ExternalErrors,
}

impl HistoryCapability {
    pub const ALL: [HistoryCapability; 4] = [
        HistoryCapability::Filters,
        HistoryCapability::Finalize,
        HistoryCapability::Warnings,
        HistoryCapability::ExternalErrors,
    ];

    /// The BuildKit release that added it.
    pub fn since(self) -> (u32, u32) {
        match self {
            HistoryCapability::Filters => (0, 20),
            HistoryCapability::Finalize | HistoryCapability::ExternalErrors => (0, 15),
            HistoryCapability::Warnings => (0, 16),
        }
    }

    /// What a user misses without it, first in a note (a list shows the note's first line).
    fn consequence(self) -> &'static str {
        match self {
            HistoryCapability::Filters => "Every record is sent, and filtered here",
            HistoryCapability::Finalize => {
                "A just-finished build's trace may be missing: records cannot be finalized on request"
            }
            HistoryCapability::Warnings => "Warnings are not counted, so none are shown",
            HistoryCapability::ExternalErrors => {
                "Only the error in the record is kept, without the full details kept beside it"
            }
        }
    }
}

/// A capability a node's BuildKit lacks, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CapabilityNote {
    pub capability: HistoryCapability,
    /// The release that has it, e.g. `0.20`.
    pub since: String,
    /// E.g. `Warnings are not counted, so none are shown (BuildKit 0.16 and later; node default runs
    /// BuildKit v0.13.2).`
    pub note: String,
}

/// What one node's BuildKit keeps of its history, and what it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct HistorySupport {
    pub node: String,
    /// The release as far as it is known, e.g. `BuildKit v0.0.0+unknown (Docker Engine 26.1.5 embeds BuildKit 0.13)`.
    pub buildkit: String,
    /// Empty when it has everything the view uses.
    pub missing: Vec<CapabilityNote>,
}

/// What each node of a builder keeps of its history, and the nodes that could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BuilderHistorySupport {
    /// Whether the builder has more than one node: then the view names each record's node.
    pub several_nodes: bool,
    /// The nodes asked, in the builder's order.
    pub nodes: Vec<HistorySupport>,
    pub unreachable: Vec<super::NodeFailure>,
}

impl HistorySupport {
    /// What node `node`, running `release`, lacks; an unknown release counts as lacking everything
    /// newer than history itself.
    pub fn new(node: &str, release: &BuildkitRelease) -> Self {
        let missing = HistoryCapability::ALL
            .into_iter()
            .filter(|c| {
                let (major, minor) = c.since();
                !release.at_least(major, minor)
            })
            .map(|capability| {
                let (major, minor) = capability.since();
                CapabilityNote {
                    capability,
                    since: format!("{major}.{minor}"),
                    note: format!(
                        "{} (BuildKit {major}.{minor} and later; node {node} runs {}).",
                        capability.consequence(),
                        release.described
                    ),
                }
            })
            .collect();
        HistorySupport { node: node.to_owned(), buildkit: release.described.clone(), missing }
    }

    /// Whether the node lacks `capability`.
    pub fn lacks(&self, capability: HistoryCapability) -> bool {
        self.missing.iter().any(|m| m.capability == capability)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use HistoryCapability::*;

    fn release(minor: u32) -> BuildkitRelease {
        BuildkitRelease { version: Some((0, minor)), described: format!("BuildKit v0.{minor}.1") }
    }

    fn missing(support: &HistorySupport) -> Vec<HistoryCapability> {
        support.missing.iter().map(|m| m.capability).collect()
    }

    #[test]
    fn each_capability_is_missing_until_the_release_that_added_it() {
        let cases: [(u32, &[HistoryCapability]); 6] = [
            (11, &[Filters, Finalize, Warnings, ExternalErrors]),
            (14, &[Filters, Finalize, Warnings, ExternalErrors]),
            (15, &[Filters, Warnings]),
            (16, &[Filters]),
            (19, &[Filters]),
            (20, &[]),
        ];
        for (minor, expected) in cases {
            assert_eq!(missing(&HistorySupport::new("n0", &release(minor))), expected, "BuildKit 0.{minor}");
        }
    }

    #[test]
    fn a_note_names_the_node_its_release_and_what_the_user_misses() {
        let support = HistorySupport::new("builder0", &release(13));
        let warnings = support.missing.iter().find(|m| m.capability == Warnings).unwrap();
        assert_eq!(warnings.since, "0.16");
        assert_eq!(
            warnings.note,
            "Warnings are not counted, so none are shown (BuildKit 0.16 and later; node builder0 runs BuildKit v0.13.1)."
        );
        assert!(support.lacks(Warnings));
        assert!(!HistorySupport::new("builder0", &release(16)).lacks(Warnings));
    }

    #[test]
    fn the_engines_unstamped_buildkit_is_judged_by_the_engine_release() {
        let engine = |version: &str| crate::engine::EngineInfo {
            version: version.into(),
            api_version: "1.45".into(),
            os: "linux".into(),
            arch: "amd64".into(),
        };
        let debian = BuildkitRelease::new(Some("v0.0.0+unknown"), Some(&engine("26.1.5")));
        let support = HistorySupport::new("default", &debian);
        assert_eq!(support.buildkit, "BuildKit v0.0.0+unknown (Docker Engine 26.1.5 embeds BuildKit 0.13)");
        assert_eq!(missing(&support), [Filters, Finalize, Warnings, ExternalErrors]);
        let newer = BuildkitRelease::new(Some("v0.0.0+unknown"), Some(&engine("27.3.1")));
        assert_eq!(missing(&HistorySupport::new("default", &newer)), [Filters]);
    }

    #[test]
    fn an_unknown_release_is_said_to_lack_everything_newer_than_history() {
        let unknown = BuildkitRelease::new(None, None);
        let support = HistorySupport::new("remote0", &unknown);
        assert_eq!(missing(&support), [Filters, Finalize, Warnings, ExternalErrors]);
        assert!(
            support.missing[0].note.contains("node remote0 runs BuildKit no version"),
            "{}",
            support.missing[0].note
        );
    }
}
