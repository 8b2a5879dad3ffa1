//! What a build wrote, read back by path as a user would open it: a tarball output (`oci`,
//! `docker`, `tar`) or a `local` folder; an OCI layout's blobs by digest.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use buildlane_core::builds::BuildOutput;

/// Every regular file of a build's output, by its path inside it (`/`-separated).
pub struct Written(pub BTreeMap<String, Vec<u8>>);

impl Written {
    pub fn read(output: &BuildOutput) -> Self {
        match output {
            BuildOutput::Oci { dest, .. } | BuildOutput::Docker { dest, .. } | BuildOutput::Tar { dest, .. } => {
                Self::tarball(Path::new(dest))
            }
            BuildOutput::Local { dest, .. } => {
                let mut files = BTreeMap::new();
                folder(Path::new(dest), "", &mut files);
                Written(files)
            }
            other => panic!("{other:?} writes no files"),
        }
    }

    fn tarball(path: &Path) -> Self {
        let mut archive = tar::Archive::new(std::fs::File::open(path).unwrap());
        let mut files = BTreeMap::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            if entry.header().entry_type().is_file() {
                let path = entry.path().unwrap().to_string_lossy().into_owned();
                let mut data = Vec::new();
                entry.read_to_end(&mut data).unwrap();
                files.insert(path, data);
            }
        }
        Written(files)
    }

    pub fn file(&self, path: &str) -> &[u8] {
        self.0.get(path).unwrap_or_else(|| panic!("{path} was written: {:?}", self.0.keys().collect::<Vec<_>>()))
    }

    /// A text file, without its trailing line break.
    pub fn text(&self, path: &str) -> String {
        String::from_utf8_lossy(self.file(path)).trim_end().to_owned()
    }

    pub fn json(&self, path: &str) -> serde_json::Value {
        serde_json::from_slice(self.file(path)).expect("JSON")
    }

    /// An OCI layout's blob: `blobs/sha256/<hex>`.
    pub fn blob(&self, digest: &str) -> &[u8] {
        let path = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
        self.0.get(&path).unwrap_or_else(|| panic!("{digest} is in the layout"))
    }
}

fn folder(dir: &Path, prefix: &str, files: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = format!("{prefix}{}", entry.file_name().to_string_lossy());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            folder(&entry.path(), &format!("{path}/"), files);
        } else if kind.is_file() {
            files.insert(path, std::fs::read(entry.path()).unwrap());
        }
    }
}
