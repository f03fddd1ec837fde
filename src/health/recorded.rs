//! What is on record, loaded once for `health`, `check` and `report`, bounded by what
//! they show: the summary the cycles keep (not every cycle record), the newest cycle
//! records, the names of every cycle and learning record (V8, from the shards' trees),
//! the proposals and deployments, the recent metrics, the audit chain verified from
//! the local checkpoint and its deploy entries found through its index. `load_full`
//! reads everything instead; both give the same health and the same invariants.

use crate::audit::{self, AuditEntry};
use crate::cycle::record::{self, CycleRecord};
use crate::cycle::summary::{self, Summary};
use crate::deploy::{self, Deployment};
use crate::diagnose::detect::HISTORY_WINDOW;
use crate::diagnose::patterns::History as MetricHistory;
use crate::git::Git;
use crate::housekeeping::Storage;
use crate::records::Records;
use crate::store::library::{self, Library};
use crate::store::proposals::{self, Proposal};
use crate::validate::Validation;
use anyhow::Result;
use std::collections::BTreeMap;

/// Cycle records loaded whole: the newest this many (the report's table, `status`).
pub const RECENT_CYCLES: usize = 20;

#[derive(Debug, Clone)]
pub struct Recorded {
    /// Every cycle on record, summarised (H4, H6, H8, M1, M3, V5).
    pub summary: Summary,
    /// The newest cycle records and those meta-proposals came from (V10), oldest first.
    pub cycles: Vec<CycleRecord>,
    /// The id of every cycle record and of every learning record (V8).
    pub cycle_ids: Vec<String>,
    pub learning: Vec<String>,
    pub proposals: Vec<Proposal>,
    pub validations: BTreeMap<String, Validation>,
    pub deployments: Vec<Deployment>,
    pub library: Library,
    /// The metrics of the last `HISTORY_WINDOW` cycles (H9, the report's charts).
    pub metrics: MetricHistory,
    /// The deploy entries of the audit chain (V2).
    pub audit: Vec<AuditEntry>,
    /// Entries in the chain.
    pub audit_entries: u64,
    pub audit_problems: Vec<String>,
    pub queued_triggers: usize,
    /// The repository's size and growth and the logs' size (M5); None when unreadable.
    pub storage: Option<Storage>,
}

impl Recorded {
    /// What the reading commands load: bounded by what they show.
    pub fn load(git: &Git, records: &Records) -> Result<Recorded> {
        let verification = audit::verify_from_checkpoint(git, records.tip)?;
        let (entries, mut problems) = match audit::Index::load(git, records.tip) {
            Ok(Some(index)) => index.entries(git, records.tip)?,
            // Records of an earlier version, until a cycle builds the index.
            _ => (deploy_entries(git, records)?, vec![]),
        };
        problems.splice(0..0, verification.problems);
        let chain = Chain {
            entries,
            problems,
            length: verification.last_seq,
        };
        let summary = summary::current(records)?;
        let cycles = record::load_recent(records, RECENT_CYCLES)?;
        Recorded::assemble(git, records, summary, cycles, chain)
    }

    /// Everything on record: every cycle record folded, the whole chain verified and
    /// read. The same health and invariants as `load`, at the cost of the history.
    pub fn load_full(git: &Git, records: &Records) -> Result<Recorded> {
        let verification = audit::verify(git, records.tip)?;
        let all = record::load_all(records)?;
        let summary = Summary::fold(&all);
        let cycles = all[all.len().saturating_sub(RECENT_CYCLES)..].to_vec();
        let chain = Chain {
            entries: deploy_entries(git, records)?,
            problems: verification.problems,
            length: verification.last_seq,
        };
        Recorded::assemble(git, records, summary, cycles, chain)
    }

    fn assemble(
        git: &Git,
        records: &Records,
        summary: Summary,
        mut cycles: Vec<CycleRecord>,
        chain: Chain,
    ) -> Result<Recorded> {
        let proposals = proposals::load_all(records)?;
        let mut validations = BTreeMap::new();
        for p in &proposals {
            if let Some(v) = records.read_json::<Validation>(&crate::validate::path(&p.id))? {
                validations.insert(p.id.clone(), v);
            }
        }
        // The cycles meta-proposals came from (V10), when not among the newest.
        for p in proposals.iter().filter(|p| crate::approve::is_meta(p)) {
            if !cycles.iter().any(|c| c.cycle == p.cycle) {
                cycles.extend(record::load(records, &p.cycle)?);
            }
        }
        cycles.sort_by_key(|c| crate::records::layout::number(&c.cycle));
        let spooled = crate::triggers::read_spool(git)
            .map(|v| v.len())
            .unwrap_or(0);
        Ok(Recorded {
            summary,
            cycles,
            cycle_ids: record::ids(records)?,
            learning: crate::learn::ids(records)?,
            proposals,
            validations,
            deployments: deploy::load_all(records)?,
            library: library::load(records)?,
            metrics: MetricHistory::load_recent(records, HISTORY_WINDOW)?,
            audit: chain.entries,
            audit_entries: chain.length,
            audit_problems: chain.problems,
            queued_triggers: records.list("triggers")?.len() + spooled,
            storage: Storage::read(&git.common_dir()).ok(),
        })
    }

    pub fn proposal(&self, id: &str) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.id == id)
    }

    /// A cycle record loaded with the others (the newest, and meta-proposals' own).
    pub fn cycle(&self, id: &str) -> Option<&CycleRecord> {
        self.cycles.iter().find(|c| c.cycle == id)
    }
}

/// What the audit chain says: its deploy entries, its problems, its length.
struct Chain {
    entries: Vec<AuditEntry>,
    problems: Vec<String>,
    length: u64,
}

/// The deploy entries of the whole chain, read one file at a time.
fn deploy_entries(git: &Git, records: &Records) -> Result<Vec<AuditEntry>> {
    audit::entries_where(git, records.tip, |e| e.phase == "deploy")
}
