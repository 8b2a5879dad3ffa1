//! The text `buildlane inspect` prints. First exactly what `docker buildx imagetools inspect` prints
//! (buildx util/imagetools/printers.go: the header, then every entry of the index as it lists them,
//! attestation manifests and nested indexes included, each entry's annotations when it names a
//! platform), aligned as Go's tabwriter aligns it; buildx prints a map's keys in random order, these
//! are in key order. Then what Buildlane adds: the manifest's or index's own annotations, the tree of
//! platforms (nested indexes holding their own) with sizes, manifest annotations and attestations,
//! and notes.

use std::collections::BTreeMap;

use super::inspect::Inspection;
use super::{IndexDoc, ManifestKind, RawPlatform};
use crate::go_text::tabwriter::TabWriter;

/// Lines of one cell and a rest through buildx's writer (`tabwriter.NewWriter(out, 0, 0, 1, ' ', 0)`).
fn aligned(lines: &[(String, String)]) -> String {
    let text: String = lines.iter().map(|(cell, rest)| format!("{cell}\t{rest}\n")).collect();
    TabWriter::BUILDX_SPACES.align(&text)
}

fn line(cell: impl Into<String>, rest: impl Into<String>) -> (String, String) {
    (cell.into(), rest.into())
}

/// containerd's `platforms.Format`: `unknown` without an OS, else os/arch/variant with empty parts left out.
fn platform_text(p: &RawPlatform) -> String {
    if p.os.is_empty() {
        return "unknown".into();
    }
    [p.os.as_str(), p.architecture.as_str(), p.variant.as_deref().unwrap_or("")]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/")
}

/// What `imagetools inspect` prints for `inspection`, then Buildlane's additions.
pub fn imagetools_text(inspection: &Inspection) -> String {
    buildx_text(inspection) + &additions(inspection)
}

/// What `imagetools inspect` prints for `inspection`, alone (also for its `{{.Manifest…}}` formats).
pub(crate) fn buildx_text(inspection: &Inspection) -> String {
    let mut out = aligned(&[
        line("Name:", &inspection.name),
        line("MediaType:", &inspection.media_type),
        line("Digest:", &inspection.digest),
    ]);
    if inspection.kind == ManifestKind::Index {
        if let Ok(index) = serde_json::from_str::<IndexDoc>(&inspection.raw) {
            out.push_str(&manifest_list(inspection, &index));
        }
    }
    out
}

/// printers.go's `printManifestList`: a block per entry, flushed (so realigned) after each
/// `Annotations:` line, the annotations aligned in a block of their own.
fn manifest_list(inspection: &Inspection, index: &IndexDoc) -> String {
    let mut out = aligned(&[line("", ""), line("Manifests:", "")]);
    let named = match &inspection.reference.tag {
        Some(tag) => format!("{}:{tag}", inspection.reference.name()),
        None => inspection.reference.name(),
    };
    let mut block = Vec::new();
    for (i, entry) in index.manifests.iter().enumerate() {
        if i != 0 {
            block.push(line("", ""));
        }
        block.push(line("  Name:", format!("{named}@{}", entry.digest)));
        block.push(line("  MediaType:", &entry.media_type));
        let Some(platform) = &entry.platform else { continue };
        block.push(line("  Platform:", platform_text(platform)));
        if let Some(version) = platform.os_version.as_deref().filter(|v| !v.is_empty()) {
            block.push(line("  OSVersion:", version));
        }
        if !platform.os_features.is_empty() {
            block.push(line("  OSFeatures:", platform.os_features.join(", ")));
        }
        if !entry.urls.is_empty() {
            block.push(line("  URLs:", entry.urls.join(", ")));
        }
        if !entry.annotations.is_empty() {
            block.push(line("  Annotations:", ""));
            out.push_str(&aligned(&block));
            block.clear();
            let annotations: Vec<_> =
                entry.annotations.iter().map(|(k, v)| line(format!("    {k}:"), v.as_str())).collect();
            out.push_str(&aligned(&annotations));
        }
    }
    out.push_str(&aligned(&block));
    out
}

fn annotation_lines(indent: &str, annotations: &BTreeMap<String, String>) -> String {
    let lines: Vec<_> = annotations.iter().map(|(k, v)| line(format!("{indent}{k}:"), v.as_str())).collect();
    aligned(&lines)
}

/// Buildlane's additions: own annotations, the platform tree with sizes, attestations and errors, notes.
fn additions(inspection: &Inspection) -> String {
    let mut out = String::new();
    if !inspection.annotations.is_empty() {
        let whose = if inspection.kind == ManifestKind::Index { "Index" } else { "Manifest" };
        out.push_str(&format!("\n{whose} annotations:\n"));
        out.push_str(&annotation_lines("  ", &inspection.annotations));
    }
    if inspection.kind == ManifestKind::Index && (!inspection.platforms.is_empty() || !inspection.indexes.is_empty()) {
        out.push_str("\nPlatforms:\n");
        out.push_str(&tree(inspection, None, 1));
    }
    if let Some(note) = &inspection.note {
        out.push_str(&format!("\nNote: {note}\n"));
    }
    out
}

/// The entries under `parent`, in position order, nested indexes with their own below them.
fn tree(inspection: &Inspection, parent: Option<&str>, depth: usize) -> String {
    let indent = "  ".repeat(depth);
    let mut rows: Vec<(&str, String)> = Vec::new();
    for p in inspection.platforms.iter().filter(|p| p.parent.as_deref() == parent) {
        let mut row =
            format!("{indent}{}  {}  {} bytes in {} layers", p.platform, p.digest, p.compressed_size, p.layers.len());
        if let Some(version) = &p.os_version {
            row.push_str(&format!("  os.version {version}"));
        }
        row.push('\n');
        if !p.manifest_annotations.is_empty() {
            row.push_str(&format!("{indent}  manifest annotations:\n"));
            row.push_str(&annotation_lines(&format!("{indent}    "), &p.manifest_annotations));
        }
        for a in &p.attestations {
            let kinds: Vec<&str> = a.statements.iter().map(|s| s.predicate_type.as_str()).collect();
            row.push_str(&format!("{indent}  attestation {} ({})\n", a.digest, kinds.join(", ")));
        }
        if let Some(e) = &p.error {
            row.push_str(&format!("{indent}  error: {e}\n"));
        }
        rows.push((&p.key, row));
    }
    for n in inspection.indexes.iter().filter(|n| n.parent.as_deref() == parent) {
        let mut row = format!("{indent}index  {}", n.digest);
        if let Some(platform) = &n.platform {
            row.push_str(&format!("  {platform}"));
        }
        row.push('\n');
        if !n.index_annotations.is_empty() {
            row.push_str(&format!("{indent}  index annotations:\n"));
            row.push_str(&annotation_lines(&format!("{indent}    "), &n.index_annotations));
        }
        if let Some(e) = &n.error {
            row.push_str(&format!("{indent}  error: {e}\n"));
        }
        if n.not_followed > 0 {
            row.push_str(&format!("{indent}  {} more entries not followed\n", n.not_followed));
        }
        row.push_str(&tree(inspection, Some(&n.key), depth + 1));
        rows.push((&n.key, row));
    }
    rows.sort_by_cached_key(|(key, _)| super::inspect::tree_order(key));
    rows.into_iter().map(|(_, row)| row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What buildx 0.13.1 printed for an entry with two annotations, spaces and all.
    #[test]
    fn blocks_align_as_gos_tabwriter_does() {
        let header = aligned(&[line("Name:", "r:v1"), line("MediaType:", "m"), line("Digest:", "d")]);
        assert_eq!(header, "Name:      r:v1\nMediaType: m\nDigest:    d\n");
        assert_eq!(aligned(&[line("", ""), line("Manifests:", "")]), "           \nManifests: \n");
        let entry = aligned(&[
            line("  Name:", "r:v1@d"),
            line("  MediaType:", "m"),
            line("  Platform:", "linux/amd64"),
            line("  Annotations:", ""),
        ]);
        assert_eq!(entry, "  Name:        r:v1@d\n  MediaType:   m\n  Platform:    linux/amd64\n  Annotations: \n");
        let annotations = aligned(&[line("    org.example.a:", "one"), line("    org.example.bb:", "two")]);
        assert_eq!(annotations, "    org.example.a:  one\n    org.example.bb: two\n");
    }

    #[test]
    fn platforms_format_as_containerd_does() {
        let p = |os: &str, arch: &str, variant: Option<&str>| RawPlatform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.map(str::to_owned),
            ..Default::default()
        };
        assert_eq!(platform_text(&p("linux", "arm", Some("v7"))), "linux/arm/v7");
        assert_eq!(platform_text(&p("unknown", "unknown", None)), "unknown/unknown");
        assert_eq!(platform_text(&p("", "amd64", None)), "unknown");
    }
}
