//! DEPLOY, MONITOR, ROLLBACK: deployments as ordinary commits with backup and deploy
//! tags and trailers; watched after deploy; reverted with `git revert` on degradation.

use crate::app::App;
use crate::records::Records;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployStatus {
    /// Intent recorded; the commit may or may not exist yet (crash recovery).
    Deploying,
    Monitoring,
    Stable,
    RolledBack,
    RollbackFailed,
    /// Verification failed; the backup was restored.
    Failed,
}

impl DeployStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployStatus::Deploying => "deploying",
            DeployStatus::Monitoring => "monitoring",
            DeployStatus::Stable => "stable",
            DeployStatus::RolledBack => "rolled_back",
            DeployStatus::RollbackFailed => "rollback_failed",
            DeployStatus::Failed => "failed",
        }
    }
    pub fn is_live(self) -> bool {
        matches!(self, DeployStatus::Deploying | DeployStatus::Monitoring)
    }
}

/// `deployments/D-0003.yaml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    pub proposal: String,
    pub status: DeployStatus,
    pub tier: String,
    pub approved_by: String,
    pub branch: String,
    pub backup_tag: String,
    pub backup_commit: String,
    pub deploy_tag: String,
    pub deploy_commit: String,
    pub deployed_at: String,
    /// Guarded metric samples before the deploy (the baseline the monitor compares with).
    pub baseline: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    pub checks: Vec<serde_json::Value>,
    #[serde(default)]
    pub degraded_in_a_row: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
}

pub fn path(id: &str) -> String {
    format!("deployments/{id}.yaml")
}

pub fn load_deployments(records: &Records) -> Result<Vec<Deployment>> {
    let mut out = vec![];
    for name in records.list("deployments")? {
        if let Some(d) = records.read_yaml::<Deployment>(&format!("deployments/{name}"))? {
            out.push(d);
        }
    }
    Ok(out)
}

pub fn show_deployment(app: &App, records: &Records, id: &str) -> Result<i32> {
    let d: Deployment = records
        .read_yaml(&path(id))?
        .with_context(|| format!("no deployment {id} on record"))?;
    if app.json {
        crate::cli::print_json(&d)?;
        return Ok(0);
    }
    println!(
        "{} — deployment of {} ({} tier, approved by {})",
        d.id, d.proposal, d.tier, d.approved_by
    );
    println!("  status: {}", d.status.as_str());
    println!(
        "  deploy commit {} on {} at {} (tag {})",
        d.deploy_commit, d.branch, d.deployed_at, d.deploy_tag
    );
    println!("  backup: tag {} at {}", d.backup_tag, d.backup_commit);
    if let Some(r) = &d.rollback_commit {
        println!(
            "  rolled back by {r}{}",
            d.rollback_tag
                .as_ref()
                .map(|t| format!(" (tag {t})"))
                .unwrap_or_default()
        );
    }
    if let Some(r) = &d.reason {
        println!("  reason: {r}");
    }
    for c in &d.checks {
        println!("  check: {c}");
    }
    if d.status.is_live() {
        println!(
            "  roll back: improve rollback {} (or git revert {})",
            d.id, d.deploy_commit
        );
    }
    Ok(0)
}

pub mod deployer;
pub mod monitor;
pub mod rollback;
