//! `buildlane du` prints what `docker buildx du` 0.13.1 prints for the same builder, line for line,
//! in its order (largest first, as BuildKit's client sorts them). Needs the
//! project's engine (`eval "$(scripts/engine.sh env)"`), as the core's integration tests do.

mod support;

use support::{buildlane, buildx, docker_config};

/// A listing: the header, each row's columns before LAST ACCESSED (in order), each row's LAST
/// ACCESSED by its columns, and the summary.
struct Listing {
    header: String,
    rows: Vec<String>,
    accessed: std::collections::BTreeMap<String, String>,
    summary: Vec<String>,
}

fn listing(out: &str) -> Listing {
    let lines: Vec<&str> = out.lines().collect();
    let summary_at = lines.iter().position(|l| l.contains(':')).unwrap_or(lines.len());
    // An empty cache has no header: the summary (if any) comes first.
    let rows_at = 1.min(summary_at);
    let mut rows = Vec::new();
    let mut accessed = std::collections::BTreeMap::new();
    for row in &lines[rows_at..summary_at] {
        // LAST ACCESSED is the last tab-separated column.
        let (columns, when) = row.rsplit_once('\t').unwrap_or((row, ""));
        rows.push(columns.to_owned());
        accessed.insert(columns.to_owned(), when.to_owned());
    }
    Listing {
        header: lines[..rows_at].concat(),
        rows,
        accessed,
        summary: lines[summary_at..].iter().map(|l| l.to_string()).collect(),
    }
}

fn same_listing(args: &[&str]) {
    let config = docker_config();
    // Others build on this engine meanwhile: compare when buildx printed the same records before and
    // after ours. With a thousand records some "N minutes ago" ticks between any two listings, so
    // LAST ACCESSED is compared for the records whose time buildx printed the same both times.
    for attempt in 1..=8 {
        let (before, ours, after) =
            (buildx(config.path(), args), buildlane(config.path(), args), buildx(config.path(), args));
        let (b, o, a) = (listing(&before), listing(&ours), listing(&after));
        if (&b.rows, &b.summary) != (&a.rows, &a.summary) {
            assert!(attempt < 8, "the cache kept changing under the test");
            continue;
        }
        // A build may come and go between buildx's two listings, its in-use records seen only by
        // ours: the same listing is asked again, and the last attempt must agree.
        if (&o.header, &o.rows, &o.summary) != (&b.header, &b.rows, &b.summary) && attempt < 8 {
            continue;
        }
        assert_eq!(
            (&o.header, &o.rows, &o.summary),
            (&b.header, &b.rows, &b.summary),
            "buildlane:\n{ours}\nbuildx:\n{before}"
        );
        let steady: Vec<&String> = b.accessed.keys().filter(|k| b.accessed[*k] == a.accessed[*k]).collect();
        for row in steady {
            assert_eq!(o.accessed[row], b.accessed[row], "LAST ACCESSED of {row}");
        }
        return;
    }
}

#[test]
fn du_prints_what_docker_buildx_du_prints() {
    same_listing(&["du", "--builder", "default"]);
}

#[test]
fn du_with_a_filter_prints_the_same_rows_and_no_totals() {
    same_listing(&["du", "--builder", "default", "--filter", "type=regular"]);
}
