//! A builder's history spread over its nodes. A builder of several nodes (docker-container nodes
//! appended with `--append`, remote daemons) sends each platform of a build to the node that builds
//! it, so each node's BuildKit keeps its own records. Like `docker buildx history` (0.20+,
//! `loadNodes`/`queryRecords`) every node is booted and asked at once and each record carries its
//! node; unlike buildx, where one node that cannot be reached fails the whole command, that node is
//! named with why ([`NodeFailure`]) and the others' records are still listed.
//!
//! A ref is unique within one BuildKit, but buildx gives every node of one build the same ref. A ref
//! found on several nodes means, as in buildx, the newest of those records (the first node among
//! equals) for inspect, logs, replay and compare; pin and rm act on every node holding it; export
//! takes every one of them. A delete, like buildx's, succeeds when any node holding the ref
//! deleted it.

use std::time::Duration;

use bollard::moby::buildkit::v1::{BuildHistoryEvent, BuildHistoryRecord};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use futures_util::Stream;
use serde::Serialize;
use tracing::instrument;
use ts_rs::TS;

use super::name::LocalStates;
use super::{HistoryEntry, HistoryError};
use crate::builders::drivers::Driver;
use crate::builders::routing::RouteNode;
use crate::builders::BuilderError;
use crate::buildkit::history::HistoryStream;
use crate::buildkit::{BuildkitError, Control};
use crate::builds::records::Records;
use crate::error_code::{Coded, ErrorCode};
use crate::platform::Platform;

/// A node of the builder whose history could not be read, and why, for the view to name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct NodeFailure {
    pub node: String,
    pub code: ErrorCode,
    /// E.g. `node b1: cannot reach BuildKit …`.
    pub message: String,
}

impl NodeFailure {
    pub(crate) fn new(error: &HistoryError) -> Self {
        let node = match error {
            HistoryError::Node { node, .. } => node.clone(),
            _ => String::new(),
        };
        NodeFailure { node, code: error.code(), message: error.to_string() }
    }
}

/// One node's BuildKit, reached, with what the client that started its builds remembers.
pub(crate) struct NodeHistory {
    pub name: String,
    pub control: Control,
    pub driver: Box<dyn Driver>,
    pub local: LocalStates,
    /// The platforms pinned on the node (`--platform` at create), which come first among its own.
    pub pinned: Vec<Platform>,
    /// How long the node has to start answering a question: a daemon that accepts and never
    /// answers would otherwise hold the history view forever.
    pub answer_within: Duration,
}

/// The records one node answered with, and its clock when it did.
pub(crate) struct NodeRecords {
    /// The node's place among the reached nodes.
    pub node: usize,
    pub records: Vec<BuildHistoryRecord>,
    pub server_time: Option<DateTime<Utc>>,
}

/// `error` of node `node` of builder `builder`: an unimplemented history is a BuildKit older than 0.11.
pub(crate) fn buildkit_error(builder: &str, error: BuildkitError) -> HistoryError {
    match &error {
        BuildkitError::Call { code: tonic::Code::Unimplemented, .. } => {
            HistoryError::Unsupported { builder: builder.to_owned() }
        }
        _ => error.into(),
    }
}

/// `error` said of node `node`, when the builder has several (with one, the builder's error is the node's).
pub(crate) fn of_node(node: &str, several: bool, error: HistoryError) -> HistoryError {
    match several {
        true => HistoryError::Node { node: node.to_owned(), source: Box::new(error) },
        false => error,
    }
}

/// Reaches every node at once through its driver (booting a docker-container node that is not
/// running, as buildx does); the nodes reached in the builder's order, and the errors of the others.
#[instrument(skip(nodes, buildx_dir))]
pub(crate) async fn connect(
    buildx_dir: &std::path::Path,
    builder: &str,
    nodes: Vec<RouteNode>,
    answer_within: Duration,
) -> (Vec<NodeHistory>, Vec<HistoryError>) {
    let several = nodes.len() > 1;
    let reached = join_all(nodes.into_iter().map(|node| async move {
        match node.driver.connect().await {
            Ok(channel) => Ok(NodeHistory {
                local: LocalStates::new(buildx_dir, builder, &node.name),
                control: channel.control,
                driver: node.driver,
                pinned: node.pinned,
                name: node.name,
                answer_within,
            }),
            Err(e) => Err(of_node(&node.name, several, BuilderError::from(e).into())),
        }
    }))
    .await;
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for result in reached {
        match result {
            Ok(node) => ok.push(node),
            Err(e) => failed.push(e),
        }
    }
    (ok, failed)
}

impl NodeHistory {
    /// The records this node keeps (`build_ref` empty: all of them), as BuildKit sent them, with its clock.
    pub(crate) async fn raw(
        &self,
        builder: &str,
        build_ref: &str,
    ) -> Result<(Vec<BuildHistoryRecord>, Option<DateTime<Utc>>), HistoryError> {
        use futures_util::StreamExt;
        let stream = self.listen(builder, build_ref, true).await?;
        let mut events = std::pin::pin!(stream.events);
        let mut records = Vec::new();
        while let Some(event) = events.next().await {
            let event = match event {
                Ok(event) => event,
                // A record deleted while someone still reads it, or a ref this node does not keep:
                // BuildKit 0.13 answers with os.ErrNotExist as an Unknown error ("ref … is deleted:
                // file does not exist"), later ones NotFound.
                Err(BuildkitError::Call { code, message, .. })
                    if !build_ref.is_empty()
                        && (code == tonic::Code::NotFound || message.ends_with("file does not exist")) =>
                {
                    break
                }
                Err(e) => return Err(buildkit_error(builder, e)),
            };
            if event.r#type == bollard::moby::buildkit::v1::BuildHistoryEventType::Deleted as i32 {
                continue;
            }
            if let Some(record) = event.record {
                records.push(record);
            }
        }
        Ok((records, stream.server_time))
    }

    /// Opens the node's `ListenBuildHistory` (see [`Control::listen_build_history`]), if it starts
    /// answering within [`NodeHistory::answer_within`].
    pub(crate) async fn listen(
        &self,
        builder: &str,
        build_ref: &str,
        early_exit: bool,
    ) -> Result<HistoryStream<impl Stream<Item = Result<BuildHistoryEvent, BuildkitError>> + use<>>, HistoryError> {
        match tokio::time::timeout(self.answer_within, self.control.listen_build_history(build_ref, early_exit)).await {
            Ok(opened) => opened.map_err(|e| buildkit_error(builder, e)),
            Err(_) => Err(HistoryError::NoAnswer { within: self.answer_within }),
        }
    }

    /// Where a record of this node comes from beside itself.
    pub(crate) fn origin<'a>(
        &'a self,
        builder: &'a str,
        records: &Records,
        record: &BuildHistoryRecord,
        server_time: Option<DateTime<Utc>>,
    ) -> super::entry::Origin<'a> {
        super::entry::Origin {
            builder,
            node: &self.name,
            local: self.local.read(&record.r#ref),
            recorded: records.get(&record.r#ref),
            server_time,
        }
    }
}

/// Asks every node in `nodes` at once; the answers of those that answered, in the nodes' order,
/// and the errors of the others.
pub(crate) async fn ask_all(
    builder: &str,
    nodes: &[NodeHistory],
    build_ref: &str,
    several: bool,
) -> (Vec<NodeRecords>, Vec<HistoryError>) {
    let answers = join_all(nodes.iter().map(|n| n.raw(builder, build_ref))).await;
    let mut answered = Vec::new();
    let mut failed = Vec::new();
    for (node, answer) in answers.into_iter().enumerate() {
        match answer {
            Ok((records, server_time)) => answered.push(NodeRecords { node, records, server_time }),
            Err(e) => failed.push(of_node(&nodes[node].name, several, e)),
        }
    }
    (answered, failed)
}

/// Every node's entries as one list in the order `docker buildx history ls` lists them (running
/// builds first, then newest first); records made at the same instant keep the nodes' order.
pub(crate) fn merged(per_node: Vec<Vec<HistoryEntry>>) -> Vec<HistoryEntry> {
    let mut entries: Vec<HistoryEntry> = per_node.into_iter().flatten().collect();
    entries.sort_by(super::ls_order);
    entries
}

/// What a build spec finds among every node's records, as buildx's `queryRecords` orders them:
/// newest first over all nodes (a running build in its place by start), the first node among equals.
pub(crate) fn newest_first<T>(per_node: Vec<Vec<(HistoryEntry, T)>>) -> Vec<(HistoryEntry, T)> {
    let mut all: Vec<(HistoryEntry, T)> = per_node.into_iter().flatten().collect();
    all.sort_by(|a, b| b.0.created_at.cmp(&a.0.created_at));
    all
}

/// One delete's answers from the nodes holding its ref: done when any node deleted it (as
/// `docker buildx history rm` counts it), otherwise the first node's error.
pub(crate) fn deleted_anywhere(answers: Vec<Result<(), HistoryError>>) -> Result<(), HistoryError> {
    let mut first_error = None;
    for answer in answers {
        match answer {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use bollard_buildkit_proto::google::protobuf::Timestamp;

    use super::*;
    use crate::history::entry::Origin;
    use crate::history::HistoryStatus;

    fn entry(node: &str, build_ref: &str, at: i64, running: bool) -> HistoryEntry {
        let record = BuildHistoryRecord {
            r#ref: build_ref.into(),
            created_at: Some(Timestamp { seconds: 1_800_000_000 + at, nanos: 0 }),
            completed_at: (!running).then_some(Timestamp { seconds: 1_800_000_009 + at, nanos: 0 }),
            ..Default::default()
        };
        HistoryEntry::from_record(
            &record,
            Origin { builder: "farm", node, local: None, recorded: None, server_time: None },
        )
    }

    fn listed(entries: &[HistoryEntry]) -> Vec<(&str, &str)> {
        entries.iter().map(|e| (e.node.as_str(), e.build_ref.as_str())).collect()
    }

    #[test]
    fn every_nodes_records_list_as_one_running_first_then_newest_first() {
        let first = vec![entry("farm0", "a-old", 1, false), entry("farm0", "a-new", 30, false)];
        let second = vec![entry("farm1", "b-mid", 20, false), entry("farm1", "b-running", 5, true)];
        let list = merged(vec![first, second]);
        assert_eq!(listed(&list), [("farm1", "b-running"), ("farm0", "a-new"), ("farm1", "b-mid"), ("farm0", "a-old")]);
        assert_eq!(list[0].status, HistoryStatus::Running);
    }

    #[test]
    fn one_build_on_two_nodes_lists_once_per_node_in_the_builders_order() {
        // buildx gives every node of one build the same ref; both records are listed, the first node's first.
        let list = merged(vec![vec![entry("farm0", "same", 10, false)], vec![entry("farm1", "same", 10, false)]]);
        assert_eq!(listed(&list), [("farm0", "same"), ("farm1", "same")]);
    }

    #[test]
    fn a_ref_on_two_nodes_names_the_newest_record_of_it_as_buildx_does() {
        let on = |node: &str, at| vec![(entry(node, "same", at, false), node.to_owned())];
        let found = newest_first(vec![on("farm0", 10), on("farm1", 12)]);
        assert_eq!(found[0].1, "farm1", "the newer record wins");
        let found = newest_first(vec![on("farm0", 10), on("farm1", 10)]);
        assert_eq!(found[0].1, "farm0", "equals: the first node");
        // Offsets count over every node, running builds in their place by start.
        let found = newest_first(vec![
            vec![(entry("farm0", "a", 1, false), 'a'), (entry("farm0", "c", 3, true), 'c')],
            vec![(entry("farm1", "b", 2, false), 'b')],
        ]);
        assert_eq!(found.iter().map(|f| f.1).collect::<String>(), "cba");
    }

    #[test]
    fn a_node_failure_names_its_node_and_keeps_the_errors_kind() {
        let error = of_node("farm1", true, HistoryError::Unsupported { builder: "farm".into() });
        let failure = NodeFailure::new(&error);
        assert_eq!(failure.node, "farm1");
        assert_eq!(failure.code, ErrorCode::InvalidInput);
        assert_eq!(
            failure.message,
            "node farm1: builder farm's BuildKit keeps no build history (BuildKit 0.11 or later does)"
        );
        let alone = of_node("farm0", false, HistoryError::Unsupported { builder: "farm".into() });
        assert!(matches!(alone, HistoryError::Unsupported { .. }), "one node: the builder's error as it was");
    }

    #[test]
    fn a_delete_is_done_when_any_node_holding_the_ref_deleted_it() {
        let failed = |node: &str| Err(of_node(node, true, HistoryError::Unsupported { builder: "farm".into() }));
        assert!(deleted_anywhere(vec![failed("farm0"), Ok(())]).is_ok(), "one node deleting it is enough");
        let none = deleted_anywhere(vec![failed("farm0"), failed("farm1")]).unwrap_err();
        assert!(none.to_string().starts_with("node farm0:"), "every node failed: the first one's error: {none}");
    }
}
