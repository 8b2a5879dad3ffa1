//! A builder's nodes as `docker buildx create --append` and `--leave` change them (buildx's
//! `NodeGroup.Update` and `Leave`): one builder, several BuildKit daemons, each with the platforms
//! pinned on it. Only the store entry changes here; the caller saves it.

use super::store::{Node, NodeGroup};
use super::BuilderError;

/// Adds `node` to the builder, as `create --append` does: its endpoint must be the builder's only
/// one of that address, and the platforms it pins are taken off every other node (buildx then
/// leaves those nodes an empty list, `[]`, where they had none).
pub(super) fn append(group: &mut NodeGroup, node: Node) -> Result<(), BuilderError> {
    if group.dynamic {
        return Err(BuilderError::DynamicBuilder(group.name.clone()));
    }
    // buildx would rewrite the settings of a node of that name; a form that says "append" must not.
    if group.nodes.iter().any(|n| n.name == node.name) {
        return Err(BuilderError::NodeExists { builder: group.name.clone(), node: node.name });
    }
    if group.nodes.iter().any(|n| n.endpoint == node.endpoint) {
        return Err(BuilderError::DuplicateEndpoint { builder: group.name.clone(), endpoint: node.endpoint });
    }
    let taken = node.declared_platforms().to_vec();
    for other in &mut group.nodes {
        let kept = other.declared_platforms().iter().filter(|p| !taken.contains(p)).cloned().collect();
        other.platforms = Some(kept);
    }
    group.nodes.push(node);
    Ok(())
}

/// Removes the node named `node`, as `create --leave` does; a builder keeps at least one node.
pub(super) fn leave(group: &mut NodeGroup, node: &str) -> Result<(), BuilderError> {
    if group.dynamic {
        return Err(BuilderError::DynamicBuilder(group.name.clone()));
    }
    let index = group
        .nodes
        .iter()
        .position(|n| n.name == node)
        .ok_or_else(|| BuilderError::NodeNotFound { builder: group.name.clone(), node: node.to_owned() })?;
    if group.nodes.len() == 1 {
        return Err(BuilderError::LastNode { builder: group.name.clone(), node: node.to_owned() });
    }
    group.nodes.remove(index);
    Ok(())
}

/// The name buildx gives a node when none is asked for: the builder's name and the first number
/// no node of the builder has taken.
pub(super) fn next_node_name(group: &NodeGroup) -> String {
    (0..)
        .map(|i| format!("{}{i}", group.name))
        .find(|name| !group.nodes.iter().any(|n| &n.name == name))
        .expect("some number is free")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::platform::Platform;

    fn node(name: &str, endpoint: &str, platforms: Option<&[&str]>) -> Node {
        Node {
            name: name.into(),
            endpoint: endpoint.into(),
            platforms: platforms.map(|ps| ps.iter().map(|p| p.parse::<Platform>().unwrap()).collect()),
            driver_opts: BTreeMap::new(),
            flags: Vec::new(),
            files: BTreeMap::new(),
        }
    }

    fn group(nodes: Vec<Node>) -> NodeGroup {
        NodeGroup { name: "farm".into(), driver: "remote".into(), nodes, dynamic: false }
    }

    fn declared(group: &NodeGroup) -> Vec<Option<Vec<String>>> {
        group
            .nodes
            .iter()
            .map(|n| n.platforms.as_ref().map(|ps| ps.iter().map(ToString::to_string).collect()))
            .collect()
    }

    #[test]
    fn an_appended_node_takes_its_platforms_off_the_others() {
        let mut g = group(vec![node("farm0", "tcp://a:1", Some(&["linux/amd64", "linux/arm64"]))]);
        append(&mut g, node("arm", "tcp://b:1", Some(&["linux/arm64"]))).unwrap();
        assert_eq!(declared(&g), [Some(vec!["linux/amd64".to_string()]), Some(vec!["linux/arm64".to_string()])]);
    }

    #[test]
    fn the_other_nodes_are_left_an_empty_list_not_null() {
        let mut g = group(vec![node("farm0", "tcp://a:1", None)]);
        append(&mut g, node("farm1", "tcp://b:1", None)).unwrap();
        assert_eq!(declared(&g), [Some(vec![]), None]);
    }

    #[test]
    fn an_address_is_one_node_of_a_builder() {
        let mut g = group(vec![node("farm0", "tcp://a:1", None)]);
        let err = append(&mut g, node("farm1", "tcp://a:1", None)).unwrap_err();
        assert!(matches!(err, BuilderError::DuplicateEndpoint { .. }), "{err}");
        assert_eq!(g.nodes.len(), 1);
        let err = append(&mut g, node("farm0", "tcp://b:1", None)).unwrap_err();
        assert!(matches!(err, BuilderError::NodeExists { .. }), "{err}");
    }

    #[test]
    fn leaving_removes_the_node_but_never_the_last() {
        let mut g = group(vec![node("farm0", "tcp://a:1", None), node("farm1", "tcp://b:1", None)]);
        assert!(matches!(leave(&mut g, "nope"), Err(BuilderError::NodeNotFound { .. })));
        leave(&mut g, "farm0").unwrap();
        assert_eq!(g.nodes[0].name, "farm1");
        assert!(matches!(leave(&mut g, "farm1"), Err(BuilderError::LastNode { .. })));
    }

    #[test]
    fn node_names_count_up_from_the_builders_name() {
        let mut g = group(vec![node("farm0", "tcp://a:1", None), node("farm2", "tcp://b:1", None)]);
        assert_eq!(next_node_name(&g), "farm1");
        g.nodes.remove(0);
        assert_eq!(next_node_name(&g), "farm0");
    }
}
