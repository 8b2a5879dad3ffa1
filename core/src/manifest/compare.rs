//! Sizes across platforms (compressed bytes per platform, layers shared by all vs unique to one) and
//! side-by-side comparison of two platform images (of one index, or of two tags).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use ts_rs::TS;

use super::inspect::{Layer, PlatformImage};

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
    Comparison { fields, layers, size_difference: right.compressed_size - left.compressed_size }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(platform: &str, layers: &[(&str, i64)]) -> PlatformImage {
        PlatformImage {
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
}
