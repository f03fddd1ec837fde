//! Verifying the chain, file by file (one file in memory at a time): sequence, links
//! and hashes are checked; a timestamp earlier than the one before is a warning (clocks
//! step back), never a tamper verdict. A checkpoint lets a cycle verify only the
//! entries written since the last verification: what it covers is known by blob id
//! (the checkpoint month's earlier days, files of earlier versions) or by tree id (whole
//! earlier months), so checking it costs a few lookups however long the chain is.

use super::anchor::{self, Checkpoint};
use super::files::{self, month_of, Unit};
use super::{AuditEntry, DIR, GENESIS};
use crate::git::Git;
use anyhow::Result;
use git2::Oid;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What `audit verify` found.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    /// Entries read (after the checkpoint, for an incremental verification).
    pub entries: u64,
    /// Audit files read.
    pub files: usize,
    /// The first sequence number read; entries before it were verified earlier.
    pub from_seq: u64,
    /// The sequence number of the last entry: the chain's length.
    pub last_seq: u64,
    /// Tampering or damage: deploys are refused.
    pub problems: Vec<String>,
    /// Worth a human's look, but no sign of tampering (a clock that stepped back).
    pub warnings: Vec<String>,
    /// Where the chain verified up to, when it verified.
    #[serde(skip)]
    pub checkpoint: Option<Checkpoint>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The chain as read so far.
struct Walk {
    seq: u64,
    prev: String,
    last_ts: String,
    v: Verification,
    /// The newest file read, its bytes' length and hash, and the blob ids of the others.
    last_file: Option<(String, u64, String)>,
    sealed: BTreeMap<String, String>,
}

impl Walk {
    fn new(seq: u64, prev: String, last_ts: String) -> Walk {
        Walk {
            seq,
            prev,
            last_ts,
            v: Verification {
                from_seq: seq + 1,
                ..Default::default()
            },
            last_file: None,
            sealed: BTreeMap::new(),
        }
    }

    /// Checks the lines of `path` from byte `from` (line `first_line`).
    fn file(&mut self, git: &Git, tip: Oid, path: &str, from: u64) -> Result<()> {
        let bytes = git.read_file(tip, path)?.unwrap_or_default();
        if let Some((prev_file, _, _)) = self.last_file.take() {
            if let Some(id) = git.blob_id(tip, &prev_file)? {
                self.sealed.insert(prev_file, id.to_string());
            }
        }
        self.v.files += 1;
        let from = (from as usize).min(bytes.len());
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            self.v.problems.push(format!(
                "{path}: truncated (no newline after the last entry)"
            ));
        }
        let first_line = memchr::memchr_iter(b'\n', &bytes[..from]).count() + 1;
        let text = String::from_utf8_lossy(&bytes[from..]);
        for (i, line) in text.lines().enumerate() {
            self.line(&format!("{path}:{}", first_line + i), line);
        }
        self.last_file = Some((path.to_string(), bytes.len() as u64, sha256_hex(&bytes)));
        Ok(())
    }

    fn line(&mut self, at: &str, line: &str) {
        let v = &mut self.v;
        if line.trim().is_empty() {
            v.problems
                .push(format!("{at}: empty line in the audit log"));
            return;
        }
        let e: AuditEntry = match serde_json::from_str(line) {
            Ok(e) => e,
            Err(err) => {
                v.problems.push(format!("{at}: not an audit entry: {err}"));
                return;
            }
        };
        v.entries += 1;
        if e.seq != self.seq + 1 {
            v.problems.push(format!(
                "{at}: sequence {} follows {} (entry deleted, duplicated or reordered)",
                e.seq, self.seq
            ));
        }
        if e.prev != self.prev {
            v.problems.push(format!(
                "{at}: entry {} does not chain to the one before it",
                e.seq
            ));
        }
        if e.compute_hash() != e.hash {
            v.problems
                .push(format!("{at}: entry {} was edited (hash mismatch)", e.seq));
        }
        if e.ts < self.last_ts {
            v.warnings.push(format!(
                "{at}: entry {} is stamped {}, earlier than entry {} ({}): the clock stepped back (NTP, a restored VM or --now); the chain's order is its sequence, so this is not tampering",
                e.seq, e.ts, self.seq, self.last_ts
            ));
        }
        self.last_ts = e.ts;
        self.seq = e.seq;
        self.prev = e.hash;
    }

    /// Adds the anchor's verdict and, when all is well, the new checkpoint.
    fn finish(mut self, git: &Git, tip: Option<Oid>) -> Result<Verification> {
        self.v.last_seq = self.seq;
        self.v.problems.extend(anchor::problems(git, tip, self.seq));
        if let (true, Some(tip)) = (self.v.ok() && self.seq > 0, tip) {
            if let Some((file, len, sha)) = self.last_file {
                let sealed = compact(git, tip, self.sealed, &file)?;
                self.v.checkpoint = Some(Checkpoint {
                    seq: self.seq,
                    hash: self.prev,
                    ts: self.last_ts,
                    file,
                    offset: len,
                    prefix_sha256: sha,
                    sealed,
                });
            }
        }
        Ok(self.v)
    }
}

/// The sealed files of a checkpoint, with every month before the checkpoint file's
/// own folded into one entry, the month's tree id: the checkpoint stays a few dozen
/// entries however many days the chain has.
fn compact(
    git: &Git,
    tip: Oid,
    sealed: BTreeMap<String, String>,
    last_file: &str,
) -> Result<BTreeMap<String, String>> {
    let current = month_of(DIR, last_file);
    let mut out = BTreeMap::new();
    for (path, id) in sealed {
        match month_of(DIR, &path) {
            Some(m) if Some(m) != current => {
                if !out.contains_key(m) {
                    if let Some(t) = git.tree_id_at(tip, m)? {
                        out.insert(m.to_string(), t.to_string());
                    }
                }
            }
            _ => {
                out.insert(path, id);
            }
        }
    }
    Ok(out)
}

/// Verifies the whole chain at `tip`, and the local anchor if this clone has one.
pub fn verify(git: &Git, tip: Option<Oid>) -> Result<Verification> {
    let mut walk = Walk::new(0, GENESIS.to_string(), String::new());
    if let Some(tip) = tip {
        for f in files::files(git, tip, DIR)? {
            walk.file(git, tip, &f, 0)?;
        }
    }
    walk.finish(git, tip)
}

/// Verifies only the entries after `checkpoint` (all of them without one), after
/// checking that what the checkpoint covers is byte for byte what was verified: the
/// sealed files by blob id, the checkpoint's file by the hash of its first bytes. If
/// that does not hold, the whole chain is verified so the problem is located.
pub fn verify_since(
    git: &Git,
    tip: Option<Oid>,
    checkpoint: Option<&Checkpoint>,
) -> Result<Verification> {
    let (Some(tip), Some(cp)) = (tip, checkpoint) else {
        return verify(git, tip);
    };
    let units = files::units(git, tip, DIR)?;
    // The unit the checkpoint's file is in: its month, or the file itself.
    let cp_unit = Unit {
        path: month_of(DIR, &cp.file).unwrap_or(&cp.file).to_string(),
        dir: month_of(DIR, &cp.file).is_some(),
    };
    let Some(at) = units.iter().position(|u| *u == cp_unit) else {
        let mut v = verify(git, Some(tip))?;
        v.checkpoint = None;
        v.problems.insert(
            0,
            format!("{}: verified up to entry {} and is gone", cp.file, cp.seq),
        );
        return Ok(v);
    };
    let mut changed = vec![];
    let mut seen = vec![];
    // Before the checkpoint's unit: sealed whole months (by tree id) and files.
    for u in &units[..at] {
        let id = if u.dir {
            git.tree_id_at(tip, &u.path)?
        } else {
            git.blob_id(tip, &u.path)?
        };
        if cp.sealed.get(&u.path) != id.map(|o| o.to_string()).as_ref() {
            changed.push(format!("{} changed after it was verified", u.path));
        }
        seen.push(u.path.clone());
    }
    // In the checkpoint's month: the days before its file, by blob id.
    let unit_files = files::files_of(git, tip, &cp_unit)?;
    for f in unit_files.iter().filter(|f| f.as_str() < cp.file.as_str()) {
        let id = git.blob_id(tip, f)?.map(|o| o.to_string());
        if cp.sealed.get(f) != id.as_ref() {
            changed.push(format!("{f} changed after it was verified"));
        }
        seen.push(f.clone());
    }
    for f in cp.sealed.keys().filter(|f| !seen.contains(f)) {
        changed.push(format!("{f} was verified earlier and is gone"));
    }
    let bytes = git.read_file(tip, &cp.file)?;
    let prefix_holds = bytes.as_ref().is_some_and(|b| {
        b.len() as u64 >= cp.offset && sha256_hex(&b[..cp.offset as usize]) == cp.prefix_sha256
    });
    if !prefix_holds {
        changed.push(format!(
            "{}: entries up to {} changed after they were verified",
            cp.file, cp.seq
        ));
    }
    drop(bytes);
    if !changed.is_empty() {
        let mut v = verify(git, Some(tip))?;
        v.checkpoint = None;
        v.problems.splice(0..0, changed);
        return Ok(v);
    }
    let mut walk = Walk::new(cp.seq, cp.hash.clone(), cp.ts.clone());
    walk.sealed = cp.sealed.clone();
    walk.file(git, tip, &cp.file, cp.offset)?;
    for f in unit_files.iter().filter(|f| f.as_str() > cp.file.as_str()) {
        walk.file(git, tip, f, 0)?;
    }
    for u in &units[at + 1..] {
        for f in files::files_of(git, tip, u)? {
            walk.file(git, tip, &f, 0)?;
        }
    }
    walk.finish(git, Some(tip))
}

/// Verifies from the checkpoint in the local anchor without storing a new one: what
/// the reading commands (`status`, `health`, `check`, `report`) call, at the cost of
/// the entries written since the last cycle.
pub fn verify_from_checkpoint(git: &Git, tip: Option<Oid>) -> Result<Verification> {
    let cp = anchor::load(git).ok().flatten().and_then(|a| a.checkpoint);
    verify_since(git, tip, cp.as_ref())
}

/// What a cycle calls: verifies the entries since the checkpoint in the local anchor,
/// and stores the new checkpoint when the chain verifies. A cycle so costs the new
/// entries, not the whole chain; `audit verify` still reads it all.
pub fn verify_incremental(git: &Git, tip: Option<Oid>) -> Result<Verification> {
    let cp = anchor::load(git).ok().flatten().and_then(|a| a.checkpoint);
    let v = verify_since(git, tip, cp.as_ref())?;
    if let (Some(tip), Some(c)) = (tip, &v.checkpoint) {
        if cp.as_ref() != Some(c) {
            anchor::save_checkpoint(git, tip, c)?;
        }
    }
    Ok(v)
}
