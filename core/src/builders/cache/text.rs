//! `docker buildx du` and `prune` output, byte for byte as buildx 0.13 prints it: Go's
//! `text/tabwriter` with tabs for padding (minimum width 1, tab width 8, padding 1), the table row
//! `%-40s\t%-5v\t%-10s\t%s`, the verbose `Key:\tvalue` blocks, and the summary lines. The JSON
//! lines follow newer buildx's `du --format json`.

use chrono::{DateTime, Utc};

use super::{ago, CacheRecord, CacheTotals, DiskUsage};
use crate::go_text::tabwriter::TabWriter;
use crate::go_text::time::{time_string, ZERO_TIME};
use crate::go_text::units::human_size;

/// buildx's writer: `tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0)`.
fn tabwriter(text: &str) -> String {
    TabWriter::BUILDX_TABS.align(text)
}

const HEADER: &str = "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\n";

fn row(r: &CacheRecord, now: DateTime<Utc>) -> String {
    let id = if r.mutable { format!("{}*", r.id) } else { r.id.clone() };
    let size = if r.shared { format!("{}*", r.size_text) } else { r.size_text.clone() };
    let last = r.last_used.map(|t| ago(t, now)).unwrap_or_default();
    format!("{id:<40}\t{:<5}\t{size:<10}\t{last}\n", r.reclaimable)
}

/// Go's `time.Time.String()` for a UTC time; the zero time when there is none.
fn go_time(t: Option<DateTime<Utc>>) -> String {
    t.as_ref().map(time_string).unwrap_or_else(|| ZERO_TIME.to_owned())
}

fn verbose_block(r: &CacheRecord, now: DateTime<Utc>) -> String {
    let mut s = format!("ID:\t{}\n", r.id);
    if !r.parents.is_empty() {
        s += &format!("Parent:\t{}\n", r.parents.join(","));
    }
    s += &format!("Created at:\t{}\n", go_time(r.created));
    s += &format!("Mutable:\t{}\nReclaimable:\t{}\nShared:\t{}\n", r.mutable, r.reclaimable, r.shared);
    s += &format!("Size:\t{}\n", r.size_text);
    if !r.description.is_empty() {
        s += &format!("Description:\t{}\n", r.description);
    }
    s += &format!("Usage count:\t{}\n", r.usage_count);
    if let Some(t) = r.last_used {
        s += &format!("Last used:\t{}\n", ago(t, now));
    }
    if !r.record_type.is_empty() {
        s += &format!("Type:\t{}\n", r.record_type);
    }
    s + "\n"
}

fn summary(t: &CacheTotals) -> String {
    let mut s = String::new();
    if t.has_shared {
        s += &format!("Shared:\t{}\nPrivate:\t{}\n", t.shared_text, t.private_text);
    }
    s += &format!("Reclaimable:\t{}\nTotal:\t{}\n", t.reclaimable_text, t.total_text);
    tabwriter(&s)
}

/// `docker buildx du [--verbose]`: the records (node by node), then the totals unless filtered.
pub fn disk_usage(usage: &DiskUsage, verbose: bool, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    let mut table = String::new();
    for node in &usage.nodes {
        if verbose {
            out += &tabwriter(&node.records.iter().map(|r| verbose_block(r, now)).collect::<String>());
        } else {
            table += &node.records.iter().map(|r| row(r, now)).collect::<String>();
        }
    }
    // buildx skips a node with no records (BuildKit's client hands it a nil list), so an empty
    // cache prints no header at all.
    if !verbose && usage.nodes.iter().any(|n| !n.records.is_empty()) {
        out += &tabwriter(&format!("{HEADER}{table}"));
    }
    if !usage.filtered {
        out += &summary(&usage.totals);
    }
    out
}

/// `docker buildx prune`'s line for the `n`th removed record (from 0), as it streams: the header
/// comes with the first row, and each later row is aligned alone (buildx flushes after each).
pub fn pruned(record: &CacheRecord, n: usize, verbose: bool, now: DateTime<Utc>) -> String {
    if verbose {
        return tabwriter(&verbose_block(record, now));
    }
    let header = if n == 0 { HEADER } else { "" };
    tabwriter(&format!("{header}{}", row(record, now)))
}

/// `docker buildx prune`'s last line.
pub fn pruned_total(freed: i64) -> String {
    tabwriter(&format!("Total:\t{}\n", human_size(freed as f64)))
}

/// newer buildx's `du --format json`: one object per record, keys sorted as Go's JSON map writes them.
pub fn disk_usage_json(usage: &DiskUsage, now: DateTime<Utc>) -> String {
    let mut out = String::new();
    for r in usage.nodes.iter().flat_map(|n| n.records.iter()) {
        let value = serde_json::json!({
            "CreatedAt": go_time(r.created),
            "Description": r.description,
            "ID": r.id,
            "LastUsedAt": r.last_used.map(|t| ago(t, now)).unwrap_or_default(),
            "Mutable": r.mutable,
            "Parents": if r.parents.is_empty() { serde_json::Value::Null } else { serde_json::json!(r.parents) },
            "Reclaimable": r.reclaimable,
            "Shared": r.shared,
            "Size": r.size_text,
            "Type": r.record_type,
            "UsageCount": r.usage_count,
        });
        out += &value.to_string();
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildkit::cache::UsageRecord;

    fn record(id: &str, mutable: bool, shared: bool, size: i64) -> CacheRecord {
        typed_record(id, mutable, shared, size, "regular")
    }

    fn typed_record(id: &str, mutable: bool, shared: bool, size: i64, record_type: &str) -> CacheRecord {
        let r = UsageRecord {
            id: id.into(),
            mutable,
            in_use: false,
            size,
            parents: Vec::new(),
            created_at: DateTime::from_timestamp(1_796_129_318, 978_399_020),
            last_used_at: DateTime::from_timestamp(1_796_129_318, 0),
            usage_count: 1,
            description: "mount / from exec /bin/sh -c dd if=/dev/zero of=/big bs=1M count=256".into(),
            record_type: record_type.into(),
            shared,
        };
        CacheRecord::new("default", &r, Utc::now())
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_796_129_318 + 600, 0).unwrap()
    }

    #[test]
    fn the_table_is_padded_with_tabs_as_buildx_pads_it() {
        let records = vec![
            record("ktn3kjok0344a56u27ajeifg3", true, true, 268_400_000),
            record("h0tldmd8bddgxypqfpymu5d7z", false, true, 1_069_000),
        ];
        let usage = DiskUsage {
            builder: "default".into(),
            totals: CacheTotals::of(&records),
            segments: Vec::new(),
            nodes: vec![super::super::NodeUsage {
                node: "default".into(),
                buildkit: String::new(),
                totals: CacheTotals::of(&records),
                records,
            }],
            filtered: false,
            notes: Vec::new(),
        };
        // Seen from `docker buildx du` 0.13.1 on this project's engine.
        let expected = "ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED\n\
            ktn3kjok0344a56u27ajeifg3*              \ttrue \t\t268.4MB*  \t10 minutes ago\n\
            h0tldmd8bddgxypqfpymu5d7z               \ttrue \t\t1.069MB*  \t10 minutes ago\n\
            Shared:\t\t269.5MB\n\
            Private:\t0B\n\
            Reclaimable:\t269.5MB\n\
            Total:\t\t269.5MB\n";
        assert_eq!(disk_usage(&usage, false, now()), expected);
    }

    #[test]
    fn an_empty_cache_prints_no_header_and_only_the_totals_unless_filtered() {
        let mut usage = DiskUsage {
            builder: "default".into(),
            totals: CacheTotals::of(&[]),
            segments: Vec::new(),
            nodes: vec![super::super::NodeUsage {
                node: "default".into(),
                buildkit: String::new(),
                totals: CacheTotals::of(&[]),
                records: Vec::new(),
            }],
            filtered: false,
            notes: Vec::new(),
        };
        // Seen from `docker buildx du` 0.13.1 on a fresh engine of this project.
        assert_eq!(disk_usage(&usage, false, now()), "Reclaimable:\t0B\nTotal:\t\t0B\n");
        usage.filtered = true;
        assert_eq!(disk_usage(&usage, false, now()), "");
    }

    #[test]
    fn verbose_blocks_align_their_keys_and_print_go_times() {
        let r = record("ktn3kjok0344a56u27ajeifg3", true, true, 268_400_000);
        let block = pruned(&r, 0, true, now());
        assert_eq!(
            block,
            "ID:\t\tktn3kjok0344a56u27ajeifg3\n\
             Created at:\t2026-12-01 12:48:38.97839902 +0000 UTC\n\
             Mutable:\ttrue\n\
             Reclaimable:\ttrue\n\
             Shared:\t\ttrue\n\
             Size:\t\t268.4MB\n\
             Description:\tmount / from exec /bin/sh -c dd if=/dev/zero of=/big bs=1M count=256\n\
             Usage count:\t1\n\
             Last used:\t10 minutes ago\n\
             Type:\t\tregular\n\n"
        );
        // A pruned record as BuildKit answers a prune: no type, so no Type line, as buildx prints it.
        let untyped = typed_record("ktn3kjok0344a56u27ajeifg3", true, true, 268_400_000, "");
        assert!(!pruned(&untyped, 0, true, now()).contains("Type:"));
    }

    #[test]
    fn pruned_rows_after_the_first_are_aligned_alone() {
        let r = record("h0tldmd8bddgxypqfpymu5d7z", false, false, 919_000);
        assert_eq!(
            pruned(&r, 0, false, now()),
            "ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED\nh0tldmd8bddgxypqfpymu5d7z               \ttrue \t\t919kB     \t10 minutes ago\n"
        );
        assert_eq!(
            pruned(&r, 1, false, now()),
            "h0tldmd8bddgxypqfpymu5d7z               \ttrue \t919kB     \t10 minutes ago\n"
        );
        assert_eq!(pruned_total(0), "Total:\t0B\n");
    }
}
