//! The local anchor, `.git/improve/anchor.json`: the newest records tip and chain head
//! this clone wrote, and the last verified checkpoint. It refuses silent resets: a
//! records branch that is gone or rewritten, or a corrupt anchor, stays reported until
//! a human decides (`improve init --new-chain`, or removing the file on purpose).

use super::Head;
use crate::clock::Timestamp;
use crate::error::Error;
use crate::git::Git;
use anyhow::{Context, Result};
use git2::Oid;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A verified point of the chain: entry `seq` (with `hash`, stamped `ts`) ends at byte
/// `offset` of `file`, whose first `offset` bytes hash to `prefix_sha256`; what came
/// before is sealed (the tool only ever appends to the newest file): files by blob id,
/// whole months before the checkpoint's by tree id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub ts: String,
    pub file: String,
    pub offset: u64,
    pub prefix_sha256: String,
    pub sealed: BTreeMap<String, String>,
}

/// The anchor's file name inside `.git/improve/`.
pub const ANCHOR_FILE: &str = "anchor.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Anchor {
    pub tip: String,
    pub seq: u64,
    pub hash: String,
    /// The newest entry verified so far, so the next verification reads only what
    /// came after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

fn path(git: &Git) -> Result<PathBuf> {
    Ok(git.local_dir()?.join(ANCHOR_FILE))
}

/// The anchor, or None when this clone has none. A file that cannot be read or
/// parsed is an error naming it: a corrupt anchor must never turn the check off.
pub(super) fn load(git: &Git) -> Result<Option<Anchor>> {
    let path = path(git)?;
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let corrupt = |why: String| {
        anyhow::anyhow!(
            "the local anchor {} is corrupt ({why}): the check against a rewritten records branch cannot run. Inspect the file; if the records branch is trustworthy, remove it and the next records commit anchors the branch as it is",
            path.display()
        )
    };
    let a: Anchor = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    Oid::from_str(&a.tip).map_err(|_| corrupt(format!("tip {:?} is not a commit id", a.tip)))?;
    Ok(Some(a))
}

/// What the anchor says about the records branch at `tip`, whose chain ends at
/// `seq`: a branch that is gone, rewritten or shorter than this clone wrote, or an
/// anchor that cannot be read.
pub(super) fn problems(git: &Git, tip: Option<Oid>, seq: u64) -> Vec<String> {
    let anchor = match load(git) {
        Ok(Some(a)) => a,
        Ok(None) => return vec![],
        Err(e) => return vec![format!("{e:#}")],
    };
    let file = path(git)
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let Some(tip) = tip else {
        if anchor.seq == 0 {
            return vec![];
        }
        return vec![format!(
            "the local anchor {file} remembers {} entries up to records commit {}, and the records branch is gone: restore it (from another clone, or `git branch improve/records {}` while that commit still exists), or start a new chain with `improve init --new-chain`, which records the reset",
            anchor.seq, anchor.tip, anchor.tip
        )];
    };
    let a = Oid::from_str(&anchor.tip).expect("checked by load");
    if !git.is_ancestor(a, tip).unwrap_or(false) {
        return vec![format!(
            "the records branch was rewritten: commit {} written by this clone is no longer in its history (non-fast-forward change); if a human did this on purpose, remove {file} to accept the branch as it is",
            anchor.tip
        )];
    }
    if seq < anchor.seq {
        return vec![format!(
            "the audit log has {seq} entries but this clone wrote up to {}",
            anchor.seq
        )];
    }
    vec![]
}

fn write(git: &Git, a: &Anchor) -> Result<()> {
    crate::fsutil::write_atomic(&path(git)?, &serde_json::to_vec_pretty(a)?)
}

/// Remembers the newest records tip and chain head this clone wrote. An anchor the
/// new tip does not descend from (the branch was rewritten or deleted) or that is
/// corrupt is kept as it is, so `audit verify` keeps reporting it: never a silent reset.
pub fn save_anchor(git: &Git, tip: Oid, head: &Head) -> Result<()> {
    let checkpoint = match load(git) {
        Err(e) => {
            tracing::warn!("{e:#}; it is kept as it is");
            return Ok(());
        }
        Ok(None) => None,
        Ok(Some(old)) => {
            let a = Oid::from_str(&old.tip).expect("checked by load");
            if !git.is_ancestor(a, tip).unwrap_or(false) {
                tracing::warn!(
                    "the records branch no longer contains commit {} this clone wrote; the anchor keeps remembering it",
                    old.tip
                );
                return Ok(());
            }
            old.checkpoint
        }
    };
    write(
        git,
        &Anchor {
            tip: tip.to_string(),
            seq: head.seq,
            hash: head.hash.clone(),
            checkpoint,
        },
    )
}

/// Stores a verified checkpoint of the chain at `tip`. A clone without an anchor is
/// anchored there (what it verified is what it trusts from now on); an anchor the tip
/// does not descend from, or a corrupt one, is left alone.
pub(super) fn save_checkpoint(git: &Git, tip: Oid, cp: &Checkpoint) -> Result<()> {
    let mut a = match load(git)? {
        Some(a) => {
            let old = Oid::from_str(&a.tip).expect("checked by load");
            if !git.is_ancestor(old, tip).unwrap_or(false) {
                return Ok(());
            }
            a
        }
        None => Anchor {
            tip: tip.to_string(),
            seq: cp.seq,
            hash: cp.hash.clone(),
            checkpoint: None,
        },
    };
    a.checkpoint = Some(cp.clone());
    write(git, &a)
}

/// Called by `improve init` before it creates a records branch. Without an anchor,
/// nothing to do (None). With one, a new chain would silently replace the one the
/// anchor remembers, so it is refused unless `confirmed` (`--new-chain`); confirmed,
/// the anchor is kept as `anchor.retired-<time>.json` and the returned value goes into
/// the new chain's first entry, which so records the reset.
pub fn start_new_chain(
    git: &Git,
    confirmed: bool,
    now: Timestamp,
) -> Result<Option<serde_json::Value>> {
    let path = path(git)?;
    let previous = match load(git) {
        Ok(None) => return Ok(None),
        Ok(Some(a)) => {
            json!({"previous_entries": a.seq, "previous_tip": a.tip, "previous_hash": a.hash})
        }
        Err(e) if confirmed => json!({"previous_anchor_unreadable": format!("{e:#}")}),
        Err(e) => {
            return Err(Error::Usage(format!(
                "{e:#}. To start a new records chain anyway, run `improve init --new-chain`"
            ))
            .into())
        }
    };
    if !confirmed {
        return Err(Error::Usage(format!(
            "the local anchor {} remembers {} entries of a records chain (up to commit {}), and the records branch is gone. Restore the branch from another clone or a backup, or run `improve init --new-chain` to start a new chain that records the reset",
            path.display(),
            previous["previous_entries"],
            previous["previous_tip"].as_str().unwrap_or("?")
        ))
        .into());
    }
    let retired = path.with_file_name(format!(
        "anchor.retired-{}.json",
        now.format("%Y%m%dT%H%M%SZ")
    ));
    std::fs::rename(&path, &retired)
        .with_context(|| format!("moving {} to {}", path.display(), retired.display()))?;
    let mut detail = previous;
    detail["retired_anchor"] = json!(retired.display().to_string());
    Ok(Some(detail))
}
