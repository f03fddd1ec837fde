//! The deployment index of the chain (`audit-index.json` on the records branch): where
//! each deployment's first `deploy` entry is, by sequence number and file. `check`
//! (V2: no deploy without audit) reads the entries it points at, not the whole chain;
//! every entry it names is read back and must be what the index says, so an index
//! edited by hand proves nothing. Kept by each records commit that writes a deploy
//! entry; records written before it existed get it built once from the whole chain.

use super::{files, AuditEntry, DIR};
use crate::git::Git;
use anyhow::{Context, Result};
use git2::Oid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Its path on the records branch.
pub const INDEX: &str = "audit-index.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Deployment id -> its first deploy entry.
    pub deploys: BTreeMap<String, Pos>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pos {
    pub seq: u64,
    pub file: String,
}

impl Index {
    /// Notes `e`, written to `file`, when it is a deployment's first deploy entry.
    pub fn note(&mut self, e: &AuditEntry, file: &str) -> bool {
        if e.phase != "deploy" || self.deploys.contains_key(&e.subject) {
            return false;
        }
        self.deploys.insert(
            e.subject.clone(),
            Pos {
                seq: e.seq,
                file: file.to_string(),
            },
        );
        true
    }

    /// The index at `tip`; None before the first records commit of a version that
    /// keeps it.
    pub fn load(git: &Git, tip: Option<Oid>) -> Result<Option<Index>> {
        let Some(tip) = tip else { return Ok(None) };
        let Some(bytes) = git.read_file(tip, INDEX)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .with_context(|| format!("records: {INDEX} is not a valid index"))
    }

    /// The index of the whole chain at `tip`, read one file at a time.
    pub fn build(git: &Git, tip: Option<Oid>) -> Result<Index> {
        let mut index = Index::default();
        let Some(tip) = tip else { return Ok(index) };
        for f in files::files(git, tip, DIR)? {
            let bytes = git.read_file(tip, &f)?.unwrap_or_default();
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Ok(e) = serde_json::from_str::<AuditEntry>(line) {
                    index.note(&e, &f);
                }
            }
        }
        Ok(index)
    }

    /// The entries the index points at, each read back from its file: those that are
    /// what the index says (a deploy entry of that deployment at that sequence), and a
    /// problem for each that is not.
    pub fn entries(&self, git: &Git, tip: Option<Oid>) -> Result<(Vec<AuditEntry>, Vec<String>)> {
        let mut by_file: BTreeMap<&str, Vec<(&String, &Pos)>> = BTreeMap::new();
        for (d, pos) in &self.deploys {
            by_file.entry(pos.file.as_str()).or_default().push((d, pos));
        }
        let (mut found, mut problems) = (vec![], vec![]);
        for (file, wanted) in by_file {
            let bytes = match tip {
                Some(t) => git.read_file(t, file)?.unwrap_or_default(),
                None => vec![],
            };
            let mut at: BTreeMap<u64, AuditEntry> = BTreeMap::new();
            for line in String::from_utf8_lossy(&bytes).lines() {
                if let Ok(e) = serde_json::from_str::<AuditEntry>(line) {
                    if wanted.iter().any(|(_, p)| p.seq == e.seq) {
                        at.insert(e.seq, e);
                    }
                }
            }
            for (d, pos) in wanted {
                match at.get(&pos.seq) {
                    Some(e) if e.phase == "deploy" && &e.subject == d => found.push(e.clone()),
                    _ => problems.push(format!(
                        "{INDEX}: {d} points at entry {} in {file}, which is not a deploy entry of {d}",
                        pos.seq
                    )),
                }
            }
        }
        found.sort_by_key(|e| e.seq);
        Ok((found, problems))
    }
}
