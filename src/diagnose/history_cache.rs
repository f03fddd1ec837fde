//! The parsed metrics history of every day but the newest, kept between cycles in
//! `.git/improve/history.json`: a cycle reads a month of daily CSV files (ten thousand
//! rows), and all but today's are the same blobs as an hour ago. Keyed by the blob ids
//! of the files it was built from, so it is used only when it is exactly what reading
//! those files gives; a missing, unreadable or outdated cache is rebuilt from the
//! records, which stay the only source of truth.

use crate::git::Git;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

const FILE: &str = "history.json";
const VERSION: u32 = 1;

/// One metrics file the cache was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub path: String,
    /// Blob id (hex).
    pub blob: String,
    /// Cycles it holds (`patterns::cycles_in`).
    pub cycles: usize,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    /// Oldest first.
    files: Vec<Source>,
    cycles: Vec<(String, String)>,
    series: BTreeMap<String, Vec<Option<f64>>>,
}

/// What the cache holds: the history of `files`, in order (`patterns::History`'s
/// fields: cycle ids and stamps, and one series a metric aligned with them).
pub struct Cached {
    pub files: Vec<Source>,
    pub cycles: Vec<(String, String)>,
    pub series: BTreeMap<String, Vec<Option<f64>>>,
}

impl Cached {
    /// The cycles the cache counted in the file `path` with blob `blob`.
    pub fn cycles_of(&self, path: &str, blob: &str) -> Option<usize> {
        self.files
            .iter()
            .find(|s| s.path == path && s.blob == blob)
            .map(|s| s.cycles)
    }
}

fn path(git: &Git) -> Option<PathBuf> {
    git.local_dir().ok().map(|d| d.join(FILE))
}

/// The cache, if there is one this version can read.
pub fn load(git: &Git) -> Option<Cached> {
    let bytes = std::fs::read(path(git)?).ok()?;
    let s: Stored = serde_json::from_slice(&bytes).ok()?;
    if s.version != VERSION {
        return None;
    }
    Some(Cached {
        files: s.files,
        cycles: s.cycles,
        series: s.series,
    })
}

/// Replaces the cache. A cache that cannot be written costs the next cycle a full
/// read, nothing else.
pub fn store(
    git: &Git,
    files: &[Source],
    cycles: &[(String, String)],
    series: &BTreeMap<String, Vec<Option<f64>>>,
) {
    let Some(p) = path(git) else { return };
    let s = Stored {
        version: VERSION,
        files: files.to_vec(),
        cycles: cycles.to_vec(),
        series: series.clone(),
    };
    let written = serde_json::to_vec(&s)
        .map_err(anyhow::Error::from)
        .and_then(|b| crate::fsutil::write_atomic(&p, &b));
    if let Err(e) = written {
        tracing::debug!("history cache not written: {e:#}");
    }
}
