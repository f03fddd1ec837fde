//! What a cycle leaves behind: `cycles/00/0/0/C-000042.json` on the records branch
//! (sharded, see `records::layout`; earlier versions wrote `cycles/C-000042.json`, still
//! read), folded into `summary.json` as it is written, and the report `improve cycle`
//! shows (`--json`: that object).

use crate::diagnose::Pattern;
use crate::observe::Skipped;
use crate::propose::generate::{Draft, Skip};
use crate::records::{layout, Records};
use crate::store::proposals::Proposal;
use crate::triggers::Trigger;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `cycles/00/0/0/C-000042.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CycleRecord {
    pub cycle: String,
    pub started: String,
    pub outcome: String,
    pub triggers: Vec<Trigger>,
    pub window: (String, String),
    pub files_read: u64,
    pub lines_read: u64,
    pub bytes_read: u64,
    pub skipped_total: u64,
    pub skipped: Vec<Skipped>,
    pub metrics: BTreeMap<String, f64>,
    pub patterns: Vec<Pattern>,
    pub proposals: Vec<String>,
    pub not_proposed: Vec<Skip>,
    pub phase_ms: BTreeMap<String, u64>,
    pub notes: Vec<String>,
    pub audit_ok: bool,
    /// Work the cycle's `time_budget` did not allow, retried next cycle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
}

/// Where cycle records live.
pub const DIR: &str = "cycles";

/// The outcome of a cycle that found no log file at all (see [`no_data_reason`]).
pub const NO_DATA: &str = "no_data";

/// Where a cycle's record is written.
pub fn path(cycle: &str) -> String {
    layout::shard_path(DIR, &format!("{cycle}.json"))
}

/// One cycle's record (sharded, or flat from an earlier version).
pub fn load(records: &Records, cycle: &str) -> Result<Option<CycleRecord>> {
    match records.find(DIR, cycle, ".json")? {
        Some(p) => records.read_json(&p),
        None => Ok(None),
    }
}

/// Every cycle record's (id, path), oldest first: lists the shards, reads no record.
fn files(records: &Records) -> Result<Vec<(String, String)>> {
    Ok(records
        .sharded_files(DIR)?
        .into_iter()
        .filter_map(|(n, p)| Some((n.strip_suffix(".json")?.to_string(), p)))
        .collect())
}

/// The ids of every cycle on record, oldest first (lists the shards, reads no record).
pub fn ids(records: &Records) -> Result<Vec<String>> {
    Ok(files(records)?.into_iter().map(|(id, _)| id).collect())
}

/// Every cycle's record, oldest first: what `summary` folds when it has to be rebuilt.
pub fn load_all(records: &Records) -> Result<Vec<CycleRecord>> {
    load_paths(records, &files(records)?)
}

/// The newest `n` cycle records, oldest first.
pub fn load_recent(records: &Records, n: usize) -> Result<Vec<CycleRecord>> {
    let f = files(records)?;
    load_paths(records, &f[f.len().saturating_sub(n)..])
}

fn load_paths(records: &Records, files: &[(String, String)]) -> Result<Vec<CycleRecord>> {
    let mut out = vec![];
    for (_, p) in files {
        out.extend(records.read_json(p)?);
    }
    Ok(out)
}

/// What `improve cycle` prints (`--json`: this object).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub cycle: String,
    pub outcome: String,
    pub dry_run: bool,
    pub window: (String, String),
    pub files_read: u64,
    pub lines_read: u64,
    pub skipped_total: u64,
    pub skipped: Vec<Skipped>,
    pub patterns: Vec<PatternOut>,
    pub proposals: Vec<ProposalOut>,
    pub not_proposed: Vec<Skip>,
    pub lifecycle: Vec<String>,
    pub notes: Vec<String>,
    /// Work the cycle's `time_budget` did not allow, retried next cycle.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<String>,
    /// Deploys git or the host refused (a lock, another worktree, a human
    /// mid-operation, ...): nothing written, retried; the cycle exits 1.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// What failed and makes the cycle exit 1 once everything is on record: a push
    /// the remote refused, a deploy branch diverged from its remote.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatternOut {
    pub kind: String,
    pub subject: String,
    pub occurrences: u64,
    pub layer: Option<String>,
    pub confidence: f64,
    pub actionable: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProposalOut {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub branch: String,
    pub risk: String,
    pub target: BTreeMap<String, String>,
    pub summary: String,
    pub conflicts: Vec<String>,
}

impl Report {
    /// The report of a cycle whose record is `r`, with the proposals it drafted and
    /// the lifecycle events so far.
    pub fn of(r: &CycleRecord, drafts: &[Draft], dry_run: bool, lifecycle: Vec<String>) -> Report {
        Report {
            cycle: r.cycle.clone(),
            outcome: r.outcome.clone(),
            dry_run,
            window: r.window.clone(),
            files_read: r.files_read,
            lines_read: r.lines_read,
            skipped_total: r.skipped_total,
            skipped: r.skipped.iter().take(20).cloned().collect(),
            patterns: r.patterns.iter().map(PatternOut::of).collect(),
            proposals: drafts
                .iter()
                .map(|d| ProposalOut::of(&d.proposal))
                .collect(),
            not_proposed: r.not_proposed.clone(),
            lifecycle,
            notes: r.notes.clone(),
            deferred: r.deferred.clone(),
            refused: vec![],
            errors: vec![],
        }
    }

    /// The process's exit code for this report: 1 when git or the host refused a
    /// deploy (a human must look: a lock, a rebase, another worktree) or something
    /// failed once everything was on record (a push the remote refused, a deploy
    /// branch diverged from its remote), else 0.
    pub fn exit_code(&self) -> i32 {
        if self.refused.is_empty() && self.errors.is_empty() {
            crate::error::exit::OK
        } else {
            crate::error::exit::FAILURE
        }
    }
}

/// Why a cycle that found no log file has no data (every log directory gone, or no
/// file matching a `sources:` glob): said so, never "read 0 lines" and healthy. None
/// when some file matches.
pub fn no_data_reason(
    sources_found: bool,
    root: &std::path::Path,
    globs: &[String],
) -> Option<String> {
    if sources_found {
        return None;
    }
    let mut dirs: Vec<String> = globs.iter().map(|g| glob_dir(g)).collect();
    dirs.sort();
    dirs.dedup();
    let gone = dirs.iter().all(|d| !root.join(d).is_dir());
    Some(if gone && !dirs.iter().any(String::is_empty) {
        format!(
            "no data: no log directory exists under {} ({}); nothing was observed, so nothing can be judged healthy",
            root.display(),
            some_of(&dirs)
        )
    } else {
        format!(
            "no data: no file matches any sources: glob ({}); nothing was observed, so nothing can be judged healthy",
            some_of(globs)
        )
    })
}

/// The first few of a list, and how many more.
fn some_of(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// The directory part of a glob before its first wildcard (`logs/a/**/*.jsonl` ->
/// `logs/a`).
fn glob_dir(glob: &str) -> String {
    let fixed: Vec<&str> = glob
        .split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{']))
        .collect();
    let n = if fixed.len() == glob.split('/').count() {
        fixed.len().saturating_sub(1)
    } else {
        fixed.len()
    };
    fixed[..n].join("/")
}

impl PatternOut {
    pub fn of(p: &Pattern) -> PatternOut {
        PatternOut {
            kind: p.kind.as_str().to_string(),
            subject: p.subject.clone(),
            occurrences: p.occurrences,
            layer: p.layer.map(|l| l.as_str().to_string()),
            confidence: (p.confidence * 1000.0).round() / 1000.0,
            actionable: p.actionable,
            why: p.why.clone(),
        }
    }
}

impl ProposalOut {
    pub fn of(p: &Proposal) -> ProposalOut {
        let mut target = BTreeMap::new();
        target.insert("file".to_string(), p.target.file.clone());
        target.insert("name".to_string(), p.target.name.clone());
        ProposalOut {
            id: p.id.clone(),
            kind: p.kind.as_str().to_string(),
            branch: p.branch.clone(),
            risk: p.risk.as_str().to_string(),
            target,
            summary: p.change.summary.clone(),
            conflicts: p.conflicts.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_globs_directory_is_its_part_before_the_first_wildcard() {
        assert_eq!(glob_dir("logs/traversal/**/*.jsonl"), "logs/traversal");
        assert_eq!(glob_dir("logs/**/traversal_*.jsonl"), "logs");
        assert_eq!(glob_dir("logs/health/health.csv"), "logs/health");
        assert_eq!(glob_dir("*.jsonl"), "");
    }

    #[test]
    fn no_data_says_whether_the_directories_are_gone_or_the_globs_match_nothing() {
        let root = tempfile::tempdir().unwrap();
        let globs: Vec<String> = ["logs/a/**/*.jsonl", "logs/b/*.jsonl", "x/*.jsonl"]
            .map(String::from)
            .to_vec();
        assert_eq!(no_data_reason(true, root.path(), &globs), None);
        let gone = no_data_reason(false, root.path(), &globs).unwrap();
        assert!(gone.contains("no log directory exists"), "{gone}");
        assert!(gone.contains("logs/a, logs/b, x"), "{gone}");
        std::fs::create_dir_all(root.path().join("logs/b")).unwrap();
        let none = no_data_reason(false, root.path(), &globs).unwrap();
        assert!(none.contains("no file matches any sources: glob"), "{none}");
        // A glob at the root cannot be gone: the globs match nothing.
        let at_root = no_data_reason(false, root.path(), &["*.jsonl".to_string()]).unwrap();
        assert!(at_root.contains("no file matches"), "{at_root}");
        let many: Vec<String> = (0..6).map(|i| format!("d{i}/*.jsonl")).collect();
        assert!(no_data_reason(false, root.path(), &many)
            .unwrap()
            .contains("and 2 more"));
    }
}
