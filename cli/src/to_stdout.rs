//! Files a command sends to standard output (`history export` without `-o`, a build's tarball with
//! `dest=-`): the core writes files whole, so each is written into a scratch folder first and copied
//! out once complete; the folder goes with the value.

use std::io::Write;
use std::path::{Path, PathBuf};

pub struct ToStdout {
    path: PathBuf,
    _scratch: tempfile::TempDir,
}

impl ToStdout {
    /// A scratch file named `name` (the core may name things after it).
    pub fn new(name: &str) -> std::io::Result<ToStdout> {
        let scratch = tempfile::tempdir()?;
        Ok(ToStdout { path: scratch.path().join(name), _scratch: scratch })
    }

    /// Where the core writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies what was written to standard output.
    pub fn send(&self) -> std::io::Result<()> {
        let mut file = std::fs::File::open(&self.path)?;
        let mut stdout = std::io::stdout().lock();
        std::io::copy(&mut file, &mut stdout)?;
        stdout.flush()
    }
}
