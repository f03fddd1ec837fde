//! Everything on record, loaded once for `health`, `check` and `report`.

use crate::audit::{self, AuditEntry};
use crate::cycle::record::{self, CycleRecord};
use crate::deploy::{self, Deployment};
use crate::diagnose::patterns::History as MetricHistory;
use crate::git::Git;
use crate::records::Records;
use crate::store::library::{self, Library};
use crate::store::proposals::{self, Proposal};
use crate::validate::Validation;
use anyhow::Result;
use std::collections::BTreeMap;

pub struct Recorded {
    pub cycles: Vec<CycleRecord>,
    pub learning: Vec<String>,
    pub proposals: Vec<Proposal>,
    pub validations: BTreeMap<String, Validation>,
    pub deployments: Vec<Deployment>,
    pub library: Library,
    pub metrics: MetricHistory,
    pub audit: Vec<AuditEntry>,
    pub audit_problems: Vec<String>,
    pub queued_triggers: usize,
}

impl Recorded {
    pub fn load(git: &Git, records: &Records) -> Result<Recorded> {
        let learning = records
            .list("learning")?
            .into_iter()
            .map(|n| n.trim_end_matches(".json").to_string())
            .collect();
        let proposals = proposals::load_all(records)?;
        let mut validations = BTreeMap::new();
        for p in &proposals {
            if let Some(v) = records.read_json::<Validation>(&crate::validate::path(&p.id))? {
                validations.insert(p.id.clone(), v);
            }
        }
        let verification = audit::verify(git, records.tip)?;
        let spooled = crate::triggers::read_spool(git)
            .map(|v| v.len())
            .unwrap_or(0);
        Ok(Recorded {
            cycles: record::load_all(records)?,
            learning,
            proposals,
            validations,
            deployments: deploy::load_all(records)?,
            library: library::load(records)?,
            metrics: MetricHistory::load(records)?,
            audit: audit::entries(git, records.tip)?,
            audit_problems: verification.problems,
            queued_triggers: records.list("triggers")?.len() + spooled,
        })
    }

    pub fn proposal(&self, id: &str) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.id == id)
    }
}
