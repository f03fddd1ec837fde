//! The simulator's log writer: lines queued per file and appended in one write each,
//! and the set of files it touched (what a run reports).

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends lines to files under the repository, buffering the shared day files.
pub(super) struct Output {
    pub(super) root: PathBuf,
    pub(super) files: BTreeSet<PathBuf>,
    pending: BTreeMap<PathBuf, String>,
    pub(super) lines: u64,
}

impl Output {
    pub(super) fn new(root: &Path) -> Output {
        Output {
            root: root.to_path_buf(),
            files: BTreeSet::new(),
            pending: BTreeMap::new(),
            lines: 0,
        }
    }

    /// Queues one line for `rel`; written by `flush`.
    pub(super) fn push(&mut self, rel: &str, line: &str) {
        let buf = self.pending.entry(self.root.join(rel)).or_default();
        buf.push_str(line);
        buf.push('\n');
        self.lines += 1;
    }

    pub(super) fn push_json(&mut self, rel: &str, value: &Value) {
        self.push(rel, &value.to_string());
    }

    /// Appends a whole file's worth of lines at once to `path`, below the root.
    /// Never through a symlink inside the repository (a log file or directory that
    /// is one is refused, naming it): run as root, a symlinked log must not become an
    /// append to `/etc/passwd`.
    pub(super) fn append(&mut self, path: &Path, text: &str) -> Result<()> {
        let rel = path
            .strip_prefix(&self.root)
            .with_context(|| format!("{} is outside {}", path.display(), self.root.display()))?;
        let mut f = crate::fsutil::open_append_nofollow(&self.root, rel)?;
        f.write_all(text.as_bytes())
            .with_context(|| format!("appending to {}", path.display()))?;
        self.files.insert(path.to_path_buf());
        Ok(())
    }

    pub(super) fn flush(&mut self) -> Result<()> {
        for (path, text) in std::mem::take(&mut self.pending) {
            self.append(&path, &text)?;
        }
        Ok(())
    }
}
