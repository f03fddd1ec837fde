//! The hash-chained audit log on the records branch (`audit/YYYY-MM.jsonl`). Each
//! entry carries the hash of the one before it, so any edit, deletion, reordering or
//! truncation breaks the chain. A local anchor (`.git/improve/anchor.json`) remembers
//! the last tip this clone wrote, so a rewrite of the branch itself (a
//! non-fast-forward change) is caught even when the rewritten chain is self-consistent.
//! Order is the chain's sequence, never wall time: a clock that steps back is a warning.

mod anchor;
mod verify;

pub use anchor::{save_anchor, start_new_chain, Checkpoint, ANCHOR_FILE};
pub use verify::{verify, verify_incremental, verify_since, Verification};

use crate::clock::{fmt_ts, Timestamp};
use crate::git::Git;
use anyhow::{Context, Result};
use git2::Oid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

/// The audit file an entry written at `now` goes to; never earlier than the newest
/// file, so the files' name order is the chain's order even if the clock steps back.
pub fn file_for(now: Timestamp, head_file: Option<&str>) -> String {
    let f = format!("audit/{}.jsonl", now.format("%Y-%m"));
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
    let mut files = git.list_dir(tip, "audit")?;
    files.sort();
    let Some(last) = files.last() else {
        return Ok(genesis);
    };
    let path = format!("audit/{last}");
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

/// All entries at `tip`, in chain order (for `check`, `health` and the report).
pub fn entries(git: &Git, tip: Option<Oid>) -> Result<Vec<AuditEntry>> {
    let Some(tip) = tip else { return Ok(vec![]) };
    let mut files = git.list_dir(tip, "audit")?;
    files.sort();
    let mut out = vec![];
    for f in files {
        let bytes = git
            .read_file(tip, &format!("audit/{f}"))?
            .unwrap_or_default();
        for line in String::from_utf8_lossy(&bytes).lines() {
            if let Ok(e) = serde_json::from_str(line) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
