//! TRIGGER: why a cycle runs. `improve trigger` and a cycle that finds another one
//! running drop a trigger into the local spool (`.git/improve/spool/`, one file each,
//! written atomically); the next cycle moves the spool into its records and consumes
//! every queued trigger. Threshold breaches and patterns add triggers of their own.

use crate::clock::{fmt_ts, Timestamp};
use crate::git::Git;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trigger {
    /// threshold_breach | pattern_detected | periodic | human_request | meta_check
    pub kind: String,
    pub reason: String,
    /// low | medium | high | critical
    pub urgency: String,
    pub ts: String,
}

impl Trigger {
    pub fn new(kind: &str, reason: impl Into<String>, urgency: &str, now: Timestamp) -> Trigger {
        Trigger {
            kind: kind.to_string(),
            reason: reason.into(),
            urgency: urgency.to_string(),
            ts: fmt_ts(now),
        }
    }
}

fn spool_dir(git: &Git) -> Result<PathBuf> {
    Ok(git.local_dir()?.join("spool"))
}

/// Queues a trigger for the next cycle.
pub fn spool(git: &Git, t: &Trigger) -> Result<()> {
    let dir = spool_dir(git)?;
    let name = format!(
        "{}-{}-{}.json",
        t.ts.replace(':', ""),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    crate::fsutil::write_atomic(&dir.join(name), &serde_json::to_vec(t)?)
}

/// The spooled triggers and their files (removed once the cycle has recorded them).
pub fn read_spool(git: &Git) -> Result<Vec<(PathBuf, Trigger)>> {
    let dir = spool_dir(git)?;
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    for p in paths {
        if let Ok(bytes) = std::fs::read(&p) {
            if let Ok(t) = serde_json::from_slice(&bytes) {
                out.push((p, t));
            }
        }
    }
    Ok(out)
}
