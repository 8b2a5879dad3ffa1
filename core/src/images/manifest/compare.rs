//! Sizes across platforms (compressed bytes per platform, layers shared by all vs unique to one) and
//! side-by-side comparison of two platform images (of one index, or of two tags): config fields,
//! layers by position, and history steps aligned.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use ts_rs::TS;

use super::inspect::{HistoryStep, Layer, PlatformImage};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SizeMatrix {
    pub rows: Vec<SizeRow>,
    /// Compressed bytes of the layers every platform carries (counted once).
    pub shared_by_all: i64,
    /// The largest platform total, for scaling bars.
    pub largest: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct SizeRow {
    pub platform: String,
    pub digest: String,
    pub total: i64,
    /// Bytes in layers every platform has.
    pub shared: i64,
    /// Bytes in layers no other platform has.
    pub unique: i64,
    pub layers: u32,
}

/// Counts, for each layer, how many platforms carry it (a layer listed twice in one image counts once).
pub(crate) fn mark_shared_layers(platforms: &mut [PlatformImage]) {
    let mut counts: HashMap<String, u32> = HashMap::new();
    for p in platforms.iter() {
        let mut seen: Vec<&str> = p.layers.iter().map(|l| l.digest.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        for digest in seen {
            *counts.entry(digest.to_owned()).or_default() += 1;
        }
    }
    for p in platforms.iter_mut() {
        for layer in &mut p.layers {
            layer.shared_by = counts.get(&layer.digest).copied().unwrap_or(1);
        }
    }
}

pub(crate) fn size_matrix(platforms: &[PlatformImage]) -> SizeMatrix {
    let n = platforms.len() as u32;
    let rows: Vec<SizeRow> = platforms
        .iter()
        .map(|p| SizeRow {
            platform: p.platform.clone(),
            digest: p.digest.clone(),
            total: p.compressed_size,
            shared: p.layers.iter().filter(|l| n > 1 && l.shared_by == n).map(|l| l.size).sum(),
            unique: p.layers.iter().filter(|l| l.shared_by == 1).map(|l| l.size).sum(),
            layers: p.layers.len() as u32,
        })
        .collect();
    let mut shared: BTreeMap<&str, i64> = BTreeMap::new();
    for p in platforms {
        for l in p.layers.iter().filter(|l| n > 1 && l.shared_by == n) {
            shared.insert(&l.digest, l.size);
        }
    }
    SizeMatrix { shared_by_all: shared.values().sum(), largest: rows.iter().map(|r| r.total).max().unwrap_or(0), rows }
}

/// Two images side by side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct Comparison {
    pub fields: Vec<FieldDiff>,
    /// Layers paired by position; `same` when both sides have the same digest there.
    pub layers: Vec<LayerPair>,
    /// History steps aligned (see [`align_history`]).
    pub history: Vec<HistoryPair>,
    pub size_difference: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct FieldDiff {
    pub field: String,
    pub left: String,
    pub right: String,
    pub same: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LayerPair {
    pub left: Option<Layer>,
    pub right: Option<Layer>,
    pub same: bool,
}

/// How one aligned history step compares across the two images.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub enum StepMark {
    /// The same command, making the same layer (or none on both sides).
    Same,
    /// Another command at this place, or the same command making a different layer.
    Changed,
    OnlyLeft,
    OnlyRight,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct HistoryPair {
    pub left: Option<HistoryStep>,
    pub right: Option<HistoryStep>,
    /// Compressed size of the layer the left step made; none for an empty step.
    pub left_size: Option<i64>,
    pub right_size: Option<i64>,
    pub mark: StepMark,
}

/// Aligns two histories step by step.
///
/// A plain longest-common-subsequence alignment on `created_by` (histories are tens of steps, so the
/// O(n·m) table is cheap): steps with equal commands are paired, and in each gap between two such
/// pairs the unmatched steps are paired in order as `Changed`, the surplus kept as only-left or
/// only-right. A paired command whose layer differs (a `COPY` of other files, a `RUN` on another
/// architecture) is `Changed` too. It does not detect moved steps; a move shows as removed + added.
pub fn align_history(left: &PlatformImage, right: &PlatformImage) -> Vec<HistoryPair> {
    let (l, r) = (&left.history, &right.history);
    let (n, m) = (l.len(), r.len());
    // lcs[i][j]: the longest common subsequence of l[i..] and r[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if l[i].created_by == r[j].created_by {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let size = |image: &PlatformImage, step: &HistoryStep| {
        let digest = step.layer_digest.as_deref()?;
        image.layers.iter().find(|layer| layer.digest == digest).map(|layer| layer.size)
    };
    let pair = |a: Option<&HistoryStep>, b: Option<&HistoryStep>, mark: StepMark| HistoryPair {
        left_size: a.and_then(|s| size(left, s)),
        right_size: b.and_then(|s| size(right, s)),
        left: a.cloned(),
        right: b.cloned(),
        mark,
    };
    let mut out = Vec::with_capacity(n.max(m));
    let (mut gap_left, mut gap_right): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    let flush = |out: &mut Vec<HistoryPair>, gap_left: &mut Vec<usize>, gap_right: &mut Vec<usize>| {
        let paired = gap_left.len().min(gap_right.len());
        for k in 0..paired {
            out.push(pair(Some(&l[gap_left[k]]), Some(&r[gap_right[k]]), StepMark::Changed));
        }
        out.extend(gap_left[paired..].iter().map(|&i| pair(Some(&l[i]), None, StepMark::OnlyLeft)));
        out.extend(gap_right[paired..].iter().map(|&j| pair(None, Some(&r[j]), StepMark::OnlyRight)));
        gap_left.clear();
        gap_right.clear();
    };
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && l[i].created_by == r[j].created_by {
            flush(&mut out, &mut gap_left, &mut gap_right);
            let same = l[i].empty_layer == r[j].empty_layer && l[i].layer_digest == r[j].layer_digest;
            out.push(pair(Some(&l[i]), Some(&r[j]), if same { StepMark::Same } else { StepMark::Changed }));
            (i, j) = (i + 1, j + 1);
        } else if j >= m || (i < n && lcs[i + 1][j] >= lcs[i][j + 1]) {
            gap_left.push(i);
            i += 1;
        } else {
            gap_right.push(j);
            j += 1;
        }
    }
    flush(&mut out, &mut gap_left, &mut gap_right);
    out
}

fn config_fields(p: &PlatformImage) -> Vec<(&'static str, String)> {
    let c = p.config.clone().unwrap_or_default();
    let list = |v: &[String]| v.join(" ");
    let map = |m: &BTreeMap<String, String>| m.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n");
    vec![
        ("platform", p.platform.clone()),
        ("digest", p.digest.clone()),
        ("compressed size", p.compressed_size.to_string()),
        ("layers", p.layers.len().to_string()),
        ("created", c.created.unwrap_or_default()),
        ("entrypoint", list(&c.entrypoint)),
        ("cmd", list(&c.cmd)),
        ("working dir", c.working_dir.unwrap_or_default()),
        ("user", c.user.unwrap_or_default()),
        ("env", c.env.join("\n")),
        ("labels", map(&c.labels)),
        ("exposed ports", list(&c.exposed_ports)),
        ("volumes", list(&c.volumes)),
    ]
}

pub fn compare(left: &PlatformImage, right: &PlatformImage) -> Comparison {
    let fields = config_fields(left)
        .into_iter()
        .zip(config_fields(right))
        .map(|((field, l), (_, r))| FieldDiff { field: field.into(), same: l == r, left: l, right: r })
        .collect();
    let len = left.layers.len().max(right.layers.len());
    let layers = (0..len)
        .map(|i| {
            let (l, r) = (left.layers.get(i).cloned(), right.layers.get(i).cloned());
            let same = matches!((&l, &r), (Some(a), Some(b)) if a.digest == b.digest);
            LayerPair { left: l, right: r, same }
        })
        .collect();
    Comparison {
        fields,
        layers,
        history: align_history(left, right),
        size_difference: right.compressed_size - left.compressed_size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(platform: &str, layers: &[(&str, i64)]) -> PlatformImage {
        PlatformImage {
            key: platform.into(),
            parent: None,
            platform: platform.into(),
            os: "linux".into(),
            architecture: String::new(),
            variant: None,
            os_version: None,
            os_features: vec![],
            digest: format!("d-{platform}"),
            media_type: String::new(),
            manifest_size: 0,
            annotations: BTreeMap::new(),
            manifest_annotations: BTreeMap::new(),
            compressed_size: layers.iter().map(|l| l.1).sum(),
            config_digest: None,
            config_size: 0,
            config: None,
            config_raw: None,
            layers: layers
                .iter()
                .map(|(d, s)| Layer { digest: (*d).into(), media_type: String::new(), size: *s, shared_by: 1 })
                .collect(),
            history: vec![],
            attestations: vec![],
            referrers: vec![],
            raw: None,
            cli_raw: None,
            error: None,
        }
    }

    #[test]
    fn shared_and_unique_layers() {
        let mut platforms = vec![
            image("linux/amd64", &[("base", 100), ("a", 10), ("ab", 5)]),
            image("linux/arm64", &[("base", 100), ("b", 20), ("ab", 5)]),
            image("linux/arm/v7", &[("base", 100), ("c", 30)]),
        ];
        mark_shared_layers(&mut platforms);
        assert_eq!(platforms[0].layers.iter().map(|l| l.shared_by).collect::<Vec<_>>(), [3, 1, 2]);
        let m = size_matrix(&platforms);
        assert_eq!(m.shared_by_all, 100);
        assert_eq!(m.largest, 130);
        let amd64 = &m.rows[0];
        assert_eq!((amd64.total, amd64.shared, amd64.unique), (115, 100, 10));
        assert_eq!((m.rows[2].shared, m.rows[2].unique), (100, 30));
    }

    #[test]
    fn a_single_platform_shares_nothing() {
        let mut platforms = vec![image("linux/amd64", &[("x", 1)])];
        mark_shared_layers(&mut platforms);
        let m = size_matrix(&platforms);
        assert_eq!((m.rows[0].shared, m.rows[0].unique, m.shared_by_all), (0, 1, 0));
    }

    #[test]
    fn comparison_pairs_layers_and_flags_fields() {
        let c = compare(&image("linux/amd64", &[("base", 100), ("a", 10)]), &image("linux/arm64", &[("base", 100)]));
        assert!(c.layers[0].same && !c.layers[1].same && c.layers[1].right.is_none());
        let platform = c.fields.iter().find(|f| f.field == "platform").unwrap();
        assert!(!platform.same);
        assert!(c.fields.iter().find(|f| f.field == "cmd").unwrap().same);
        assert_eq!(c.size_difference, -10);
    }

    /// An image whose history is `steps` (`created_by`, layer made); each layer is 10 bytes.
    fn with_history(steps: &[(&str, Option<&str>)]) -> PlatformImage {
        let layers: Vec<(&str, i64)> = steps.iter().filter_map(|(_, layer)| layer.map(|d| (d, 10))).collect();
        let mut image = image("linux/amd64", &layers);
        image.history = steps
            .iter()
            .map(|(by, layer)| HistoryStep {
                created: None,
                created_by: (*by).into(),
                comment: None,
                empty_layer: layer.is_none(),
                layer_digest: layer.map(Into::into),
            })
            .collect();
        image
    }

    fn marks(pairs: &[HistoryPair]) -> Vec<StepMark> {
        pairs.iter().map(|p| p.mark).collect()
    }

    #[test]
    fn the_same_history_aligns_step_for_step() {
        let steps = [("ADD rootfs", Some("base")), ("ENV A=1", None), ("RUN make", Some("built"))];
        let pairs = align_history(&with_history(&steps), &with_history(&steps));
        assert_eq!(marks(&pairs), [StepMark::Same; 3]);
        assert_eq!((pairs[0].left_size, pairs[0].right_size), (Some(10), Some(10)));
        assert_eq!((pairs[1].left_size, pairs[1].right_size), (None, None));
        assert_eq!(pairs[2].left.as_ref().unwrap().created_by, "RUN make");
    }

    #[test]
    fn one_step_changed_in_the_middle_is_paired_as_changed() {
        let left = with_history(&[("ADD rootfs", Some("base")), ("RUN a", Some("a")), ("CMD sh", None)]);
        let right = with_history(&[("ADD rootfs", Some("base")), ("RUN b", Some("b")), ("CMD sh", None)]);
        let pairs = align_history(&left, &right);
        assert_eq!(marks(&pairs), [StepMark::Same, StepMark::Changed, StepMark::Same]);
        let middle = &pairs[1];
        assert_eq!(
            (middle.left.as_ref().unwrap().created_by.as_str(), middle.right.as_ref().unwrap().created_by.as_str()),
            ("RUN a", "RUN b")
        );

        // The same command making another layer is a change too.
        let rebuilt = with_history(&[("ADD rootfs", Some("base")), ("RUN a", Some("a2")), ("CMD sh", None)]);
        assert_eq!(marks(&align_history(&left, &rebuilt)), [StepMark::Same, StepMark::Changed, StepMark::Same]);
    }

    #[test]
    fn a_longer_side_keeps_its_extra_steps_on_its_own() {
        let short = with_history(&[("ADD rootfs", Some("base")), ("CMD sh", None)]);
        let long = with_history(&[
            ("ADD rootfs", Some("base")),
            ("RUN apk add curl", Some("curl")),
            ("CMD sh", None),
            ("USER app", None),
        ]);
        let pairs = align_history(&short, &long);
        assert_eq!(marks(&pairs), [StepMark::Same, StepMark::OnlyRight, StepMark::Same, StepMark::OnlyRight]);
        assert!(pairs[1].left.is_none() && pairs[1].left_size.is_none());
        assert_eq!(pairs[1].right_size, Some(10));
        let mirrored = align_history(&long, &short);
        assert_eq!(marks(&mirrored), [StepMark::Same, StepMark::OnlyLeft, StepMark::Same, StepMark::OnlyLeft]);
        assert!(align_history(&short, &with_history(&[])).iter().all(|p| p.mark == StepMark::OnlyLeft));
    }
}
