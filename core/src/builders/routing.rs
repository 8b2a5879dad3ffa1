//! Which node of a builder builds which platform, decided as buildx 0.13 decides it
//! (build/driver.go, `nodeResolver.Resolve`):
//!
//! 1. Each requested platform is matched strictly against the platforms pinned on the nodes
//!    (`--platform` at create). If every one matches, that is the answer and no node is asked.
//! 2. Otherwise every node's BuildKit is asked for its workers' platforms, and every requested
//!    platform is matched again against each node's pinned platforms followed by those, loosely
//!    as containerd's `platforms.Only` does (arm64 also runs arm/v8 to v5, arm/vN runs lower arm
//!    variants, amd64/vN runs lower amd64 variants and 386).
//!
//! Among nodes that match, the first in the builder's order wins unless a later one matches the
//! platform exactly where the earlier one matched only a compatible platform. A platform no node
//! matches goes to the first node, whose BuildKit then says why it cannot build it. The platforms
//! that go to one node make one solve on it.

use futures_util::future::join_all;
use serde::Serialize;
use ts_rs::TS;

use super::drivers::{Driver, DriverError};
use super::{BuilderNode, NodePlatform};
use crate::platform::Platform;

/// Where a build of one platform alone would go, as the Builders view shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PlatformRoute {
    pub platform: String,
    pub node: String,
    /// The node runs it through QEMU.
    pub emulated: bool,
    /// Placed by the platforms pinned on the nodes, without asking their BuildKit.
    pub pinned: bool,
}

/// One node's share of a build: the index of the node in its builder, and its platforms (none
/// when the build named none: the node's default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub node: usize,
    pub platforms: Vec<Platform>,
}

/// A node a build may go to: its name, the platforms pinned on it and its driver.
pub struct RouteNode {
    pub name: String,
    pub pinned: Vec<Platform>,
    pub driver: Box<dyn Driver>,
}

/// A node that had to be asked for its platforms and could not answer.
#[derive(Debug, thiserror::Error)]
#[error("node {node} of the builder cannot tell which platforms it builds: {source}")]
pub struct RoutingError {
    pub node: String,
    #[source]
    pub source: DriverError,
}

/// The routes of a build of `wanted` on `nodes`, asking the nodes' BuildKit for their platforms
/// only when the pinned ones do not place every platform (buildx boots every node then).
pub async fn resolve(nodes: &[RouteNode], wanted: &[Platform]) -> Result<Vec<Route>, RoutingError> {
    let pinned: Vec<Vec<Platform>> = nodes.iter().map(|n| n.pinned.clone()).collect();
    if nodes.len() <= 1 {
        return Ok(vec![Route { node: 0, platforms: wanted.to_vec() }]);
    }
    if let Some(routes) = by_pinned(&pinned, wanted) {
        return Ok(routes);
    }
    let asks: Vec<_> = nodes.iter().map(|n| detect(n.driver.as_ref())).collect();
    let detected = join_all(asks).await;
    let mut all = Vec::with_capacity(nodes.len());
    for (node, result) in nodes.iter().zip(detected) {
        all.push(result.map_err(|source| RoutingError { node: node.name.clone(), source })?);
    }
    Ok(by_all(&pinned, &all, wanted))
}

/// For a builder of several nodes, where a build of each platform its nodes list would go (each
/// alone: a build of several platforms is routed as a whole, see the module's rules). Nodes that
/// are not running list only their pinned platforms, so their detected ones count once they run.
pub fn view_routes(nodes: &[BuilderNode]) -> Vec<PlatformRoute> {
    if nodes.len() < 2 {
        return Vec::new();
    }
    let platforms = |pinned_only: bool| -> Vec<Vec<Platform>> {
        let listed = |n: &BuilderNode| {
            n.platforms.iter().filter(|p| p.pinned || !pinned_only).filter_map(|p| p.platform.parse().ok()).collect()
        };
        nodes.iter().map(listed).collect()
    };
    // The detected list also holds the pinned ones; they come first in the match anyway.
    let (pinned, detected) = (platforms(true), platforms(false));
    let mut out: Vec<PlatformRoute> = Vec::new();
    for listed in nodes.iter().flat_map(|n| &n.platforms) {
        let Ok(platform) = listed.platform.parse::<Platform>() else { continue };
        if out.iter().any(|r| r.platform == listed.platform) {
            continue;
        }
        let wanted = [platform];
        let (routes, by_pin) = match by_pinned(&pinned, &wanted) {
            Some(routes) => (routes, true),
            None => (by_all(&pinned, &detected, &wanted), false),
        };
        let node = &nodes[routes[0].node];
        out.push(PlatformRoute {
            platform: listed.platform.clone(),
            node: node.name.clone(),
            emulated: node.platforms.iter().any(|p| p.platform == listed.platform && p.emulated),
            pinned: by_pin,
        });
    }
    out
}

/// The platforms a build on these nodes can target, as the Build view offers them: every node's
/// own once (pinned first, never truncated), plus 32-bit arm beside arm64, which runs it (the loose
/// match above) without BuildKit listing it.
pub fn offered(nodes: &[BuilderNode]) -> Vec<NodePlatform> {
    let mut offered: Vec<NodePlatform> = Vec::new();
    for platform in nodes.iter().flat_map(|n| &n.platforms) {
        if !offered.iter().any(|p| p.platform == platform.platform) {
            offered.push(platform.clone());
        }
    }
    if let Some(arm64) = offered.iter().find(|p| p.platform == "linux/arm64").cloned() {
        for extra in ["linux/arm/v7", "linux/arm/v6"] {
            if !offered.iter().any(|p| p.platform == extra) {
                offered.push(NodePlatform { platform: extra.into(), emulated: arm64.emulated, pinned: false });
            }
        }
    }
    offered
}

/// Asks a node's BuildKit for its workers' platforms.
async fn detect(driver: &dyn Driver) -> Result<Vec<Platform>, DriverError> {
    let channel = driver.connect().await?;
    let workers = channel.control.list_workers().await?;
    Ok(detected_platforms(workers.iter().flat_map(|w| &w.platforms)))
}

/// A node's workers' platforms, normalised, each once, in the order BuildKit lists them.
pub fn detected_platforms<'a>(platforms: impl IntoIterator<Item = &'a Platform>) -> Vec<Platform> {
    let mut out: Vec<Platform> = Vec::new();
    for p in platforms {
        let p = p.clone().normalized();
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Step 1: the routes when every wanted platform is pinned, strictly, on some node; `None` otherwise.
pub fn by_pinned(pinned: &[Vec<Platform>], wanted: &[Platform]) -> Option<Vec<Route>> {
    let mut chosen = Vec::with_capacity(wanted.len());
    for p in wanted {
        chosen.push((best_node(p, pinned.iter().map(|ps| ps.iter()), Match::Strict)?, p.clone()));
    }
    Some(recombine(chosen))
}

/// Step 2: the routes against each node's pinned platforms followed by its detected ones.
pub fn by_all(pinned: &[Vec<Platform>], detected: &[Vec<Platform>], wanted: &[Platform]) -> Vec<Route> {
    let chosen = wanted
        .iter()
        .map(|p| {
            let candidates = pinned.iter().zip(detected).map(|(pin, det)| pin.iter().chain(det));
            (best_node(p, candidates, Match::Loose).unwrap_or(0), p.clone())
        })
        .collect();
    recombine(chosen)
}

#[derive(Clone, Copy)]
enum Match {
    /// containerd's `OnlyStrict`: the platform itself.
    Strict,
    /// containerd's `Only`: the platform, then what it can also run, best first.
    Loose,
}

/// What a node platform `p` can build, best first (containerd's `platformVector`).
fn runs(p: &Platform, how: Match) -> Vec<Platform> {
    let p = p.clone().normalized();
    let mut out = vec![p.clone()];
    if let Match::Strict = how {
        return out;
    }
    let version = |v: &str| v.strip_prefix('v').and_then(|n| n.parse::<u32>().ok());
    match p.architecture.as_str() {
        "amd64" => {
            if let Some(v) = version(&p.variant).filter(|v| *v > 1) {
                out.extend((1..v).rev().map(|n| Platform::new(&p.os, "amd64", &format!("v{n}")).normalized()));
            }
            out.push(Platform::new(&p.os, "386", ""));
        }
        "arm" => {
            if let Some(v) = version(&p.variant).filter(|v| *v > 5) {
                out.extend((5..v).rev().map(|n| Platform::new(&p.os, "arm", &format!("v{n}"))));
            }
        }
        "arm64" => {
            let variant = if p.variant.is_empty() { "v8" } else { p.variant.as_str() };
            out.extend(runs(&Platform::new(&p.os, "arm", variant), Match::Loose));
        }
        _ => {}
    }
    out
}

fn same(a: &Platform, b: &Platform) -> bool {
    a.os == b.os && a.architecture == b.architecture && a.variant == b.variant
}

/// containerd's ordered `Less`: `a` is preferred to `b` by the list `order` when it appears first.
fn preferred(order: &[Platform], a: &Platform, b: &Platform) -> bool {
    for m in order {
        let (am, bm) = (same(m, a), same(m, b));
        if am || bm {
            return am && !bm;
        }
    }
    false
}

/// The node that builds `wanted` among `candidates` (each node's platforms, in builder order).
fn best_node<'a, N, P>(wanted: &Platform, candidates: N, how: Match) -> Option<usize>
where
    N: Iterator<Item = P>,
    P: Iterator<Item = &'a Platform>,
{
    let wanted = wanted.clone().normalized();
    let mut best: Option<(usize, Platform)> = None;
    for (i, platforms) in candidates.enumerate() {
        for p in platforms {
            let order = runs(p, how);
            if !order.iter().any(|m| same(m, &wanted)) {
                continue;
            }
            match &best {
                None => best = Some((i, p.clone())),
                // As buildx asks it: preferred by this node's order over the best so far.
                Some((_, so_far)) if preferred(&order, &wanted, so_far) => best = Some((i, p.clone())),
                Some(_) => {}
            }
        }
    }
    best.map(|(i, _)| i)
}

/// One route per node, in the order the nodes first appear, with the platforms in request order.
fn recombine(chosen: Vec<(usize, Platform)>) -> Vec<Route> {
    if chosen.is_empty() {
        return vec![Route { node: 0, platforms: Vec::new() }];
    }
    let mut routes: Vec<Route> = Vec::new();
    for (node, platform) in chosen {
        match routes.iter_mut().find(|r| r.node == node) {
            Some(route) => route.platforms.push(platform),
            None => routes.push(Route { node, platforms: vec![platform] }),
        }
    }
    routes
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use async_trait::async_trait;

    use super::*;
    use crate::builders::drivers::{DriverDetails, NodeChannel, NodeProbe, NodeStatus, Progress};

    fn ps(list: &[&str]) -> Vec<Platform> {
        list.iter().map(|p| p.parse().unwrap()).collect()
    }

    /// Nodes by their platforms, as buildx's resolver tests give them (builder order).
    fn nodes(list: &[&[&str]]) -> Vec<Vec<Platform>> {
        list.iter().map(|n| ps(n)).collect()
    }

    /// The node each route goes to and its platforms, loosely against `nodes` (buildx's second pass).
    fn loose(nodes: &[Vec<Platform>], wanted: &[&str]) -> Vec<(usize, Vec<String>)> {
        let none = vec![Vec::new(); nodes.len()];
        by_all(nodes, &none, &ps(wanted))
            .into_iter()
            .map(|r| (r.node, r.platforms.iter().map(ToString::to_string).collect()))
            .collect()
    }

    fn one(node: usize, platform: &str) -> Vec<(usize, Vec<String>)> {
        vec![(node, vec![platform.to_owned()])]
    }

    // The cases of buildx's build/driver_test.go, node order as its test resolver sorts them.

    #[test]
    fn a_platform_goes_to_the_node_that_has_it() {
        let n = nodes(&[&["linux/amd64"], &["linux/riscv64"]]);
        assert_eq!(loose(&n, &["linux/amd64"]), one(0, "linux/amd64"));
        assert_eq!(loose(&n, &["linux/riscv64"]), one(1, "linux/riscv64"));
        // Nobody has it: the first node, whose BuildKit will say so.
        assert_eq!(loose(&n, &["linux/s390x"]), one(0, "linux/s390x"));
        assert!(by_pinned(&n, &ps(&["linux/s390x"])).is_none());
    }

    #[test]
    fn arm64_builds_the_32_bit_arm_variants_but_v7_does_not_build_v8() {
        let n = nodes(&[&["linux/amd64"], &["linux/arm64"]]);
        assert_eq!(loose(&n, &["linux/arm/v8"]), one(1, "linux/arm/v8"));
        assert_eq!(loose(&n, &["linux/arm/v7"]), one(1, "linux/arm/v7"));
        let n = nodes(&[&["linux/amd64"], &["linux/arm/v7"]]);
        assert_eq!(loose(&n, &["linux/arm/v8"]), one(0, "linux/arm/v8"));
        assert_eq!(loose(&n, &["linux/arm/v6"]), one(1, "linux/arm/v6"));
    }

    #[test]
    fn an_exact_match_beats_an_earlier_compatible_one() {
        let n = nodes(&[&["linux/amd64"], &["linux/arm64"], &["linux/arm/v8"]]);
        assert_eq!(loose(&n, &["linux/arm/v8"]), one(2, "linux/arm/v8"));
        assert_eq!(loose(&n, &["linux/arm/v7"]), one(2, "linux/arm/v7"));
        let n = nodes(&[&["linux/arm/v8"], &["linux/arm/v7"]]);
        assert_eq!(loose(&n, &["linux/arm/v7"]), one(1, "linux/arm/v7"));
    }

    #[test]
    fn among_equals_the_first_node_wins() {
        let n = nodes(&[&["linux/amd64"], &["linux/riscv64"], &["linux/riscv64"]]);
        assert_eq!(loose(&n, &["linux/riscv64"]), one(1, "linux/riscv64"));
    }

    #[test]
    fn no_platform_means_the_first_node_and_its_default() {
        let n = nodes(&[&["linux/riscv64"], &["linux/amd64"]]);
        assert_eq!(loose(&n, &[]), vec![(0, vec![])]);
        assert_eq!(by_pinned(&n, &[]), Some(vec![Route { node: 0, platforms: vec![] }]));
    }

    #[test]
    fn detected_platforms_count_after_the_pinned_ones() {
        let pinned = nodes(&[&["linux/amd64"], &["linux/arm/v8"]]);
        assert_eq!(by_all(&pinned, &[vec![], vec![]], &ps(&["linux/arm/v7"]))[0].node, 1);
        let detected = nodes(&[&["linux/arm/v7"], &[]]);
        assert_eq!(by_all(&pinned, &detected, &ps(&["linux/arm/v7"]))[0].node, 0);
    }

    #[test]
    fn platforms_of_one_node_make_one_route_and_the_naive_split_is_kept() {
        let n = nodes(&[&["linux/amd64", "linux/arm64"], &["linux/riscv64"]]);
        assert_eq!(
            loose(&n, &["linux/amd64", "linux/arm64"]),
            vec![(0, vec!["linux/amd64".into(), "linux/arm64".into()])]
        );
        assert_eq!(
            loose(&n, &["linux/amd64", "linux/riscv64"]),
            vec![(0, vec!["linux/amd64".into()]), (1, vec!["linux/riscv64".into()])]
        );
        // buildx does not look for the one node that could take both.
        let n = nodes(&[&["linux/amd64"], &["linux/amd64", "linux/riscv64"]]);
        assert_eq!(
            loose(&n, &["linux/amd64", "linux/riscv64"]),
            vec![(0, vec!["linux/amd64".into()]), (1, vec!["linux/riscv64".into()])]
        );
    }

    #[test]
    fn amd64_variants_run_lower_ones_and_386() {
        let n = nodes(&[&["linux/arm64"], &["linux/amd64/v3"]]);
        assert_eq!(loose(&n, &["linux/amd64/v2"]), one(1, "linux/amd64/v2"));
        assert_eq!(loose(&n, &["linux/amd64"]), one(1, "linux/amd64"));
        assert_eq!(loose(&n, &["linux/386"]), one(1, "linux/386"));
        assert!(by_pinned(&n, &ps(&["linux/amd64"])).is_none(), "strictly, v3 is not plain amd64");
    }

    /// A running node listing `platforms` (`*` marks a pinned one, `~` an emulated one).
    fn listed_node(name: &str, platforms: &[&str]) -> BuilderNode {
        let platforms = platforms
            .iter()
            .map(|p| NodePlatform {
                platform: p.trim_matches(['*', '~']).into(),
                emulated: p.contains('~'),
                pinned: p.contains('*'),
            })
            .collect();
        BuilderNode {
            name: name.into(),
            endpoint: String::new(),
            status: NodeStatus::Running,
            buildkit_version: None,
            platforms,
            flags: Vec::new(),
            driver_opts: Default::default(),
            files: Vec::new(),
            labels: Default::default(),
            gc_policy: Vec::new(),
            worker_ids: Vec::new(),
            error: None,
            inactive_reason: None,
        }
    }

    #[test]
    fn a_build_is_offered_every_nodes_platforms_once_and_32_bit_arm_beside_arm64() {
        let farm = [
            listed_node("farm0", &["linux/amd64*", "linux/386"]),
            listed_node("farm1", &["linux/amd64", "linux/arm64~"]),
        ];
        let farm_offers = offered(&farm);
        let names: Vec<&str> = farm_offers.iter().map(|p| p.platform.as_str()).collect();
        assert_eq!(names, ["linux/amd64", "linux/386", "linux/arm64", "linux/arm/v7", "linux/arm/v6"]);
        assert!(farm_offers[0].pinned, "the first node's pinned amd64 is the one kept");
        assert!(
            farm_offers[3].emulated && farm_offers[4].emulated,
            "32-bit arm runs where arm64 does: under QEMU here"
        );
        let listed = offered(&[listed_node("pi", &["linux/arm64", "linux/arm/v7"])]);
        let names: Vec<&str> = listed.iter().map(|p| p.platform.as_str()).collect();
        assert_eq!(names, ["linux/arm64", "linux/arm/v7", "linux/arm/v6"], "what the node lists is not repeated");
    }

    /// A node whose BuildKit cannot be reached, counting how often it was asked.
    struct FakeDriverUnreachable {
        connects: Arc<AtomicU32>,
    }

    #[async_trait]
    impl Driver for FakeDriverUnreachable {
        fn validate_options(&self) -> Result<(), DriverError> {
            Ok(())
        }

        fn is_engine_buildkit(&self) -> bool {
            false
        }

        async fn connect(&self) -> Result<NodeChannel, DriverError> {
            self.connects.fetch_add(1, Ordering::SeqCst);
            Err(DriverError::InvalidEndpoint { endpoint: "tcp://nowhere:1".into(), reason: "unreachable".into() })
        }

        async fn boot(&self, _progress: Progress<'_>) -> Result<(), DriverError> {
            unreachable!("routing connects, it does not boot on its own")
        }

        async fn describe(&self) -> NodeProbe {
            NodeProbe { status: NodeStatus::Inactive, ..NodeProbe::new() }
        }

        async fn details(&self) -> DriverDetails {
            unreachable!("routing never inspects a node")
        }
    }

    fn fake_nodes(pinned: &[&[&str]], connects: &Arc<AtomicU32>) -> Vec<RouteNode> {
        pinned
            .iter()
            .enumerate()
            .map(|(i, p)| RouteNode {
                name: format!("farm{i}"),
                pinned: ps(p),
                driver: Box::new(FakeDriverUnreachable { connects: connects.clone() }),
            })
            .collect()
    }

    #[tokio::test]
    async fn fake_nodes_with_every_platform_pinned_are_routed_without_asking_them() {
        let connects = Arc::new(AtomicU32::new(0));
        let n = fake_nodes(&[&["linux/amd64"], &["linux/arm64"]], &connects);
        let routes = resolve(&n, &ps(&["linux/arm64", "linux/amd64"])).await.unwrap();
        assert_eq!(
            routes,
            [Route { node: 1, platforms: ps(&["linux/arm64"]) }, Route { node: 0, platforms: ps(&["linux/amd64"]) }]
        );
        assert_eq!(connects.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn fake_nodes_are_all_asked_when_a_platform_is_pinned_nowhere_and_one_that_cannot_answer_is_named() {
        let connects = Arc::new(AtomicU32::new(0));
        let n = fake_nodes(&[&["linux/amd64"], &[]], &connects);
        let err = resolve(&n, &ps(&["linux/amd64", "linux/arm64"])).await.unwrap_err();
        assert_eq!(err.node, "farm0");
        assert!(
            err.to_string().starts_with("node farm0 of the builder cannot tell which platforms it builds: "),
            "{err}"
        );
        assert_eq!(connects.load(Ordering::SeqCst), 2, "every node is asked, as buildx boots them all");
    }

    #[tokio::test]
    async fn fake_single_node_takes_everything_without_being_asked() {
        let connects = Arc::new(AtomicU32::new(0));
        let n = fake_nodes(&[&[]], &connects);
        let routes = resolve(&n, &ps(&["linux/amd64", "linux/s390x"])).await.unwrap();
        assert_eq!(routes, [Route { node: 0, platforms: ps(&["linux/amd64", "linux/s390x"]) }]);
        assert_eq!(connects.load(Ordering::SeqCst), 0);
    }
}
