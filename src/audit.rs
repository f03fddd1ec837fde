//! The hash-chained audit log on the records branch (`audit/YYYY-MM/DD.jsonl`, see
//! `files`; earlier versions wrote `audit/YYYY-MM.jsonl`, still read in place). Each
//! entry carries the hash of the one before it, so any edit, deletion, reordering or
//! truncation breaks the chain. A local anchor (`.git/improve/anchor.json`) remembers
//! the last tip this clone wrote, so a rewrite of the branch itself (a
//! non-fast-forward change) is caught even when the rewritten chain is self-consistent.
//! Order is the chain's sequence, never wall time: a clock that steps back is a warning.

mod anchor;
pub mod files;
mod index;
mod verify;

pub use anchor::{save_anchor, start_new_chain, Checkpoint, ANCHOR_FILE};
pub use index::{Index, Pos, INDEX};
pub use verify::{verify, verify_from_checkpoint, verify_incremental, verify_since, Verification};

use crate::clock::{fmt_ts, Timestamp};
use crate::git::Git;
use anyhow::{Context, Result};
use git2::Oid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the chain's files live on the records branch.
pub const DIR: &str = "audit";

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub seq: u64,
    pub ts: String,
    pub cycle: String,
    pub phase: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
    pub prev: String,
    pub hash: String,
}

/// An entry before it is chained.
pub struct Pending {
    pub phase: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// The newest entry of the chain.
#[derive(Debug, Clone)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
    pub file: Option<String>,
}

impl AuditEntry {
    pub fn chain(head: &Head, now: Timestamp, cycle: &str, p: Pending) -> AuditEntry {
        let mut e = AuditEntry {
            seq: head.seq + 1,
            ts: fmt_ts(now),
            cycle: cycle.to_string(),
            phase: p.phase,
            action: p.action,
            subject: p.subject,
            detail: p.detail,
            prev: head.hash.clone(),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// sha256 over the entry's canonical JSON without its own hash.
    pub fn compute_hash(&self) -> String {
        let mut copy = self.clone();
        copy.hash = String::new();
        let bytes = serde_json::to_vec(&copy).expect("audit entries serialize");
        let digest = Sha256::digest(&bytes);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn to_line(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec(self).expect("audit entries serialize");
        v.push(b'\n');
        v
    }
}

/// The audit file an entry written at `now` goes to (its day's); never earlier than the
/// newest file, so the files' order is the chain's order even if the clock steps back.
pub fn file_for(now: Timestamp, head_file: Option<&str>) -> String {
    let f = files::day_file(DIR, now, ".jsonl");
    match head_file {
        Some(h) if h > f.as_str() => h.to_string(),
        _ => f,
    }
}

/// Reads the head of the chain at `tip` (genesis when there is none).
pub fn head(git: &Git, tip: Option<Oid>) -> Result<Head> {
    let genesis = Head {
        seq: 0,
        hash: GENESIS.into(),
        file: None,
    };
    let Some(tip) = tip else { return Ok(genesis) };
    let Some(path) = files::last_file(git, tip, DIR)? else {
        return Ok(genesis);
    };
    let bytes = git.read_file(tip, &path)?.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    match text.lines().rev().find(|l| !l.trim().is_empty()) {
        Some(line) => {
            let e: AuditEntry = serde_json::from_str(line)
                .with_context(|| format!("{path}: last audit entry is not valid"))?;
            Ok(Head {
                seq: e.seq,
                hash: e.hash,
                file: Some(path),
            })
        }
        None => Ok(genesis),
    }
}

/// Every entry at `tip` that `keep` keeps, in chain order, read one file at a time
/// (`check` on records written before the deployment index, `audit verify`'s callers).
pub fn entries_where(
    git: &Git,
    tip: Option<Oid>,
    keep: impl Fn(&AuditEntry) -> bool,
) -> Result<Vec<AuditEntry>> {
    let Some(tip) = tip else { return Ok(vec![]) };
    let mut out = vec![];
    for f in files::files(git, tip, DIR)? {
        let bytes = git.read_file(tip, &f)?.unwrap_or_default();
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Ok(e) = serde_json::from_str::<AuditEntry>(line) {
                if keep(&e) {
                    out.push(e);
                }
            }
        }
    }
    Ok(out)
}

/// All entries at `tip`, in chain order.
pub fn entries(git: &Git, tip: Option<Oid>) -> Result<Vec<AuditEntry>> {
    entries_where(git, tip, |_| true)
}

#[cfg(test)]
mod tests;
