//! What a window's process tree holds in memory, for the benchmarks: the PSS (each shared page
//! divided among the processes that map it, so the tree's sum counts every page once) of the app and
//! of WebKit's web and network processes under it, read from /proc.

use crate::descendants;

/// PSS in KiB of the app and of WebKit's processes under it.
#[derive(Clone, Copy, Default)]
pub struct Pss {
    pub app: f64,
    pub web: f64,
    pub network: f64,
}

impl Pss {
    pub fn total(&self) -> f64 {
        self.app + self.web + self.network
    }

    /// The tree under `pid` (the app's process) now.
    pub fn of_tree(pid: u32) -> Pss {
        let mut pss = Pss::default();
        for p in descendants(pid) {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            let kib = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0);
            match comm.trim() {
                c if c.starts_with("WebKitWebProces") => pss.web += kib,
                c if c.starts_with("WebKitNetworkPr") => pss.network += kib,
                _ => pss.app += kib,
            }
        }
        pss
    }

    /// `241 MiB (app 97 / web 116 / network 28)`.
    pub fn describe(&self) -> String {
        let mib = |kib: f64| kib / 1024.0;
        format!(
            "{:.0} MiB (app {:.0} / web {:.0} / network {:.0})",
            mib(self.total()),
            mib(self.app),
            mib(self.web),
            mib(self.network)
        )
    }
}
