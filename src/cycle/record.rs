//! What a cycle leaves behind: `cycles/C-000042.json` on the records branch, and the
//! report `improve cycle` shows (`--json`: that object).

use crate::diagnose::Pattern;
use crate::observe::Skipped;
use crate::propose::generate::{Draft, Skip};
use crate::records::Records;
use crate::store::proposals::Proposal;
use crate::triggers::Trigger;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `cycles/C-000042.json`.
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
}

pub fn path(cycle: &str) -> String {
    format!("cycles/{cycle}.json")
}

/// One cycle's record.
pub fn load(records: &Records, cycle: &str) -> Result<Option<CycleRecord>> {
    records.read_json(&path(cycle))
}

/// Every cycle's record, oldest first.
pub fn load_all(records: &Records) -> Result<Vec<CycleRecord>> {
    records.read_each("cycles", |name| {
        records.read_json(&format!("cycles/{name}"))
    })
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
            errors: vec![],
        }
    }
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
