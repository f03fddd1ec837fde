//! TRIGGER: why a cycle runs. `improve trigger` and a cycle that finds another one
//! running drop a trigger into the local spool (`.git/improve/spool/`, one file each,
//! written atomically); the next cycle takes the spool and the queued triggers on the
//! records branch, adds its own (periodic or meta), and after diagnosis one per
//! threshold breach and per actionable pattern.

use crate::clock::{fmt_ts, Timestamp};
use crate::diagnose::Pattern;
use crate::git::Git;
use crate::observe::Breach;
use crate::records::{Records, Tx};
use crate::vocab::{TriggerKind, Urgency};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub reason: String,
    pub urgency: Urgency,
    pub ts: String,
}

impl Trigger {
    pub fn new(
        kind: TriggerKind,
        reason: impl Into<String>,
        urgency: Urgency,
        now: Timestamp,
    ) -> Trigger {
        Trigger {
            kind,
            reason: reason.into(),
            urgency,
            ts: fmt_ts(now),
        }
    }
}

/// The triggers a cycle starts with, and where they came from (consumed once the
/// cycle's first records commit lands).
pub struct Pending {
    pub triggers: Vec<Trigger>,
    /// Spool files to remove after the commit.
    pub spooled: Vec<PathBuf>,
    /// Names under `triggers/` on the records branch to delete in the commit.
    pub queued: Vec<String>,
}

impl Pending {
    /// Deletes the queued records in `tx` (the cycle's first commit).
    pub fn consume(&self, tx: &mut Tx) {
        for name in &self.queued {
            tx.delete(&format!("triggers/{name}"));
        }
    }

    /// Removes the spool files (after the commit that recorded them).
    pub fn clear_spool(&self) {
        for path in &self.spooled {
            let _ = std::fs::remove_file(path);
        }
    }

    /// A meta cycle: triggered by the tool's own health check (V10).
    pub fn is_meta(&self) -> bool {
        self.triggers
            .iter()
            .any(|t| t.kind == TriggerKind::MetaCheck)
    }

    /// Nothing but the schedule asked for this cycle.
    pub fn only_periodic(&self) -> bool {
        self.triggers
            .iter()
            .all(|t| t.kind == TriggerKind::Periodic)
    }
}

/// Collects the spool and the queued triggers, plus this cycle's own: `meta_check`
/// for a meta cycle, else `periodic`.
#[tracing::instrument(name = "trigger", skip_all)]
pub fn collect(git: &Git, records: &Records, meta: bool, now: Timestamp) -> Result<Pending> {
    let mut triggers = vec![];
    let mut spooled = vec![];
    for (path, t) in read_spool(git)? {
        spooled.push(path);
        triggers.push(t);
    }
    let queued = records.list("triggers")?;
    for name in &queued {
        if let Some(t) = records.read_json::<Trigger>(&format!("triggers/{name}"))? {
            triggers.push(t);
        }
    }
    triggers.push(if meta {
        Trigger::new(
            TriggerKind::MetaCheck,
            "health of improve itself",
            Urgency::Low,
            now,
        )
    } else {
        Trigger::new(TriggerKind::Periodic, "scheduled cycle", Urgency::Low, now)
    });
    Ok(Pending {
        triggers,
        spooled,
        queued,
    })
}

/// The triggers diagnosis adds: one per threshold breach (urgency by value over
/// threshold) and one per actionable pattern.
pub fn from_findings(breaches: &[Breach], patterns: &[Pattern], now: Timestamp) -> Vec<Trigger> {
    let mut out = vec![];
    for b in breaches {
        let ratio = if b.threshold != 0.0 {
            (b.value / b.threshold).abs()
        } else {
            2.0
        };
        out.push(Trigger::new(
            TriggerKind::ThresholdBreach,
            format!("{} = {} past {}", b.metric, b.value, b.threshold),
            Urgency::of_ratio(ratio),
            now,
        ));
    }
    for p in patterns.iter().filter(|p| p.actionable) {
        out.push(Trigger::new(
            TriggerKind::PatternDetected,
            p.signature(),
            Urgency::Medium,
            now,
        ));
    }
    out
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
