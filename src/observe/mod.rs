//! OBSERVE: read the system's JSONL logs since the last cycle and reduce them to
//! aggregates, per-unit samples (for the statistics of later phases) and anomaly
//! evidence. Reading is streaming and incremental (per-file cursors), files are read
//! in parallel and their aggregates merged, and a malformed line is skipped and
//! counted with file:line — one bad file never aborts a cycle.

use crate::clock::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use cursor::{recheck_hour, Cursor};
pub use cursors::{cursors_from_json, deserialize_cursors, Cursors, SEALED_DIR};
pub use identity::FP_BYTES;
pub use segment::{recheck_hours, Recheck, SEGMENT_ROWS};

/// One piece of traceable evidence (V5): where, when, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub file: String,
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A line that was not used, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// Occurrences of one anomaly type in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnomalyStat {
    pub count: u64,
    /// Count by severity (info, warn, error, ...).
    pub by_severity: BTreeMap<String, u64>,
    /// Distinct explorations it occurred in.
    pub explorations: u64,
    /// The first occurrences (capped), as evidence.
    pub evidence: Vec<Evidence>,
    /// Context counts that help attribution: node types, states, decision types
    /// seen where the anomaly occurred (e.g. `state:SEEKING`, `node_type:moment`).
    pub context: BTreeMap<String, u64>,
}

/// A health value past its configured threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breach {
    pub metric: String,
    pub value: f64,
    pub threshold: f64,
    pub evidence: Evidence,
}

/// Everything one cycle learned from the logs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Observation {
    /// Window-level values by metric name (see `METRICS` for the names).
    pub metrics: BTreeMap<String, f64>,
    /// Counts that are not rates: termination reasons, protocol/skill usage, ...
    pub counts: BTreeMap<String, u64>,
    /// Per-unit samples by variant ("control" when untagged) then metric, for
    /// canary/A/B judging and the post-deploy monitor. Bounded (reservoir).
    pub samples: BTreeMap<String, BTreeMap<String, Vec<f64>>>,
    pub anomalies: BTreeMap<String, AnomalyStat>,
    pub breaches: Vec<Breach>,
    /// The first skipped lines (capped) and the total. A file not read at all is here
    /// too, with line 0.
    pub skipped: Vec<Skipped>,
    pub skipped_total: u64,
    /// Files a source glob claims that were not read (a symbolic link out of the
    /// repository, a name that is not UTF-8, an unreadable file), with the reason;
    /// capped like `skipped`, counted in `counts["skipped_files"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_files: Vec<Skipped>,
    /// Some log file matches a `sources:` glob, read this time or not; false means
    /// the cycle had no data at all (the log directory is gone, or no glob matches).
    #[serde(default)]
    pub sources_found: bool,
    pub files_read: u64,
    pub lines_read: u64,
    pub bytes_read: u64,
    /// Earliest and latest timestamps seen in the window.
    pub first_ts: Option<String>,
    pub last_ts: Option<String>,
}

impl Observation {
    /// True when there was nothing new to look at.
    pub fn is_empty(&self) -> bool {
        self.lines_read == 0
    }
}

/// The window of one cycle. Lines stamped inside it are used; lines stamped after it
/// wait for a later cycle; lines stamped before it are used and counted as late, unless
/// they are history (see `window::When`).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub start: Timestamp,
    pub end: Timestamp,
}

mod agg;
mod cursor;
mod cursors;
mod dirents;
mod discover;
mod identity;
pub mod json;
mod reader;
mod run;
pub mod samples;
mod segment;
mod sources;
pub mod traversal;
mod window;

pub use discover::SourceKind;

/// The files below `root` the config's globs give to `kind` (paths relative to
/// `root`, sorted): what the decision replay re-reads.
pub fn files_of(
    root: &std::path::Path,
    cfg: &crate::config::Config,
    kind: SourceKind,
) -> anyhow::Result<Vec<String>> {
    let sources = discover::Sources::new(cfg)?;
    let listing = discover::list_all(root, &sources)?;
    let mut hits = vec![];
    let mut out: Vec<String> = listing
        .files
        .iter()
        .filter(|l| sources.kind_of(&l.rel, &mut hits) == Some(kind))
        .map(|l| l.rel.clone())
        .collect();
    out.sort();
    Ok(out)
}
pub use run::{fuzz_decode, run};

/// Every window-level metric this phase can produce, with the direction that is
/// better. Health and generic sources add their own names (from the config).
pub const METRICS: &[(&str, &str)] = &[
    ("exploration_count", "higher"),
    ("efficiency", "higher"),
    ("satisfaction", "higher"),
    ("satisfaction_velocity", "higher"),
    ("sibling_divergence", "higher"),
    ("semantic_quality", "higher"),
    ("backtrack_rate", "lower"),
    ("timeout_rate", "lower"),
    ("error_rate", "lower"),
    ("duration_ms", "lower"),
    ("steps", "lower"),
    ("anomaly_rate", "lower"),
    ("agent_success_rate", "higher"),
    ("tool_error_rate", "lower"),
    ("nodes_created", "higher"),
    ("links_created", "higher"),
    ("energy_injected", "higher"),
];

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_state;
