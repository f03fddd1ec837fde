//! The proposal record (`proposals/P-0007/proposal.yaml`): typed and complete (V6),
//! with its whole history, so `improve show` can say where it stands and why; and its
//! branch `improve/proposal/P-0007`, created from the record and never moved after.

use crate::config::{Direction, ProposalType, Risk};
use crate::diagnose::{Layer, PatternKind};
use crate::git::Git;
use crate::observe::Evidence;
use crate::records::{Records, Tx};
use crate::vocab::{Approver, Tier, ValidationMode};
use anyhow::Result;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Branch written; validation not started.
    Proposed,
    /// A canary or A/B experiment is running across cycles.
    Validating,
    /// Validated (or not runnable); waiting for a human.
    AwaitingApproval,
    /// Approved by a human (or the AUTO/NOTIFY tier); deploys next.
    Approved,
    /// Deployed; watched by the monitor.
    Deployed,
    /// Watched for the monitor duration without degradation.
    Stable,
    /// Reverted after degradation or on request.
    RolledBack,
    /// A revert would conflict; humans were alerted.
    RollbackFailed,
    Rejected,
    /// Validation failed, or the deploy's verification failed.
    Failed,
    /// Closed without deploying (e.g. the target changed under it).
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Proposed => "proposed",
            Status::Validating => "validating",
            Status::AwaitingApproval => "awaiting_approval",
            Status::Approved => "approved",
            Status::Deployed => "deployed",
            Status::Stable => "stable",
            Status::RolledBack => "rolled_back",
            Status::RollbackFailed => "rollback_failed",
            Status::Rejected => "rejected",
            Status::Failed => "failed",
            Status::Closed => "closed",
        }
    }

    /// Open: still counts against the open-proposal limit and blocks duplicates.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Proposed | Status::Validating | Status::AwaitingApproval | Status::Approved
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub file: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatternRef {
    pub signature: String,
    pub kind: PatternKind,
    pub subject: String,
    pub occurrences: u64,
    pub layer: Option<Layer>,
    pub rule: Option<String>,
    pub confidence: f64,
    pub why: String,
    pub explanation: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    /// What changes, in one line (e.g. `SIBLING_DIVERGENCE_WEIGHT 0.10 -> 0.20`).
    pub summary: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_value: Option<String>,
    /// A document a human completes (formula, behaviour, graph content).
    pub document_only: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TargetMetric {
    pub name: String,
    pub direction: Direction,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ValidationPlan {
    pub mode: ValidationMode,
    pub description: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub ts: String,
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proposal {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ProposalType,
    pub title: String,
    pub status: Status,
    pub created: String,
    pub cycle: String,
    pub pattern: PatternRef,
    pub target: Target,
    pub change: Change,
    pub rationale: String,
    pub risk: Risk,
    pub complexity: f64,
    pub target_metric: TargetMetric,
    pub validation_plan: ValidationPlan,
    pub rollback_plan: String,
    pub score: f64,
    pub proven_fix: bool,
    pub branch: String,
    pub base_commit: String,
    pub branch_commit: String,
    /// Other open proposals touching the same target (E2): escalated to a human.
    #[serde(default)]
    pub conflicts: Vec<String>,
    /// Approval tier once decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Who approved: the tool by its tier, or a human.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<Approver>,
    /// When it started waiting for a human, and when it was last escalated (E4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub awaiting_since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<String>,
    #[serde(default)]
    pub history: Vec<Event>,
}

impl Proposal {
    /// V6: typed and complete.
    pub fn completeness_problems(&self) -> Vec<&'static str> {
        let mut v = vec![];
        if self.change.summary.is_empty() {
            v.push("change");
        }
        if self.rationale.is_empty() {
            v.push("rationale");
        }
        if self.target_metric.name.is_empty() {
            v.push("target metric");
        }
        if self.validation_plan.description.is_empty() {
            v.push("validation plan");
        }
        if self.rollback_plan.is_empty() {
            v.push("rollback plan");
        }
        v
    }

    pub fn push_event(&mut self, ts: &str, what: impl Into<String>, by: Option<&str>) {
        self.history.push(Event {
            ts: ts.to_string(),
            what: what.into(),
            by: by.map(str::to_string),
        });
    }

    pub fn dir(&self) -> String {
        format!("proposals/{}", self.id)
    }

    /// Whether a human approved it (by command or by merging its branch).
    pub fn human_approved(&self) -> bool {
        self.approved_by.as_ref().is_some_and(Approver::is_human)
    }

    /// A document-only proposal whose branch still holds only the document (no human
    /// has added commits to it).
    pub fn still_a_document(&self) -> bool {
        self.change.document_only && self.history.iter().all(|e| !e.what.contains("new commits"))
    }
}

/// Records paths of a proposal.
pub fn yaml_path(id: &str) -> String {
    format!("proposals/{id}/proposal.yaml")
}
pub fn patch_path(id: &str) -> String {
    format!("proposals/{id}/change.patch")
}
pub fn body_path(id: &str) -> String {
    format!("proposals/{id}/PR_BODY.md")
}
pub fn branch_name(id: &str) -> String {
    format!("improve/proposal/{id}")
}

/// Loads one proposal record.
pub fn load(records: &Records, id: &str) -> Result<Option<Proposal>> {
    records.read_yaml(&yaml_path(id))
}

/// Loads every proposal record, oldest first.
pub fn load_all(records: &Records) -> Result<Vec<Proposal>> {
    records.read_each("proposals", |id| load(records, id))
}

/// Writes the proposal record into `tx`.
pub fn put(tx: &mut Tx, p: &Proposal) -> Result<()> {
    tx.put_yaml(&yaml_path(&p.id), p)
}

/// Creates missing proposal branch refs from their records: right after the records
/// commit that names them, and at the start of the next cycle when a process died in
/// between. Never moves an existing branch: once a human has pushed to it, it is theirs.
pub fn ensure_branches<'a>(
    git: &Git,
    proposals: impl IntoIterator<Item = &'a Proposal>,
) -> Result<()> {
    for p in proposals {
        if !p.status.is_open() || p.branch_commit.is_empty() {
            continue;
        }
        if git.ref_oid(&p.branch)?.is_none() {
            // An unreadable commit id is left for `improve check` to report; it must
            // not stop every later cycle.
            if let Ok(oid) = git2::Oid::from_str(&p.branch_commit) {
                git.update_ref(&p.branch, oid, None, "improve: proposal branch")?;
            }
        }
    }
    Ok(())
}

/// The tag that keeps a deleted proposal branch's commit reachable (`git gc` never
/// loses it, and `check` still judges its change, V7).
pub fn archive_tag(id: &str) -> String {
    format!("improve/archive/{id}")
}

/// The event a proposal's history gets when its branch is deleted.
const BRANCH_DELETED: &str = "branch deleted";

/// Closed for good: no later phase acts on it (a failed rollback waits for humans).
fn closed_for_good(p: &Proposal) -> bool {
    matches!(
        p.status,
        Status::Stable | Status::RolledBack | Status::Rejected | Status::Failed | Status::Closed
    )
}

/// Deletes the branches of proposals closed for at least `keep` (by their last event),
/// after tagging each branch's commit `improve/archive/P-NNNN`; records each deletion
/// in the proposal's history and the audit log, in one records commit. Never an open
/// proposal's branch, never one whose tip is not the tool's own commit (a human pushed
/// to it), and only while it still points there (compare-and-delete). A branch deleted
/// by a process that died before its records commit is recorded by the next call.
/// Returns the proposals whose branch was deleted.
pub fn retire_branches(
    ctx: &mut crate::context::Ctx,
    keep: chrono::Duration,
) -> Result<Vec<String>> {
    let git = ctx.git;
    let mut retired = vec![];
    for mut p in load_all(&ctx.records)? {
        if !closed_for_good(&p) || p.history.iter().any(|e| e.what.starts_with(BRANCH_DELETED)) {
            continue;
        }
        let Ok(commit) = git2::Oid::from_str(&p.branch_commit) else {
            continue;
        };
        let tag = archive_tag(&p.id);
        match git.ref_oid(&p.branch)? {
            // Deleted earlier by a process that died before recording it.
            None if git.ref_oid(&format!("refs/tags/{tag}"))? == Some(commit) => {}
            None => continue,
            Some(tip) => {
                let closed = p
                    .history
                    .last()
                    .map_or(p.created.as_str(), |e| e.ts.as_str());
                let old_enough = crate::clock::parse_ts(closed).is_ok_and(|t| ctx.now - t >= keep);
                let human_pushed =
                    tip != commit || p.history.iter().any(|e| e.what.contains("new commits"));
                if human_pushed || !old_enough {
                    continue;
                }
                git.tag(&tag, commit)?;
                let full = crate::git::full_ref(&p.branch);
                git.run_git(&["update-ref", "-d", &full, &commit.to_string()])?;
            }
        }
        let ts = ctx.ts();
        p.push_event(
            &ts,
            format!(
                "{BRANCH_DELETED} ({} closed for {}); its commit is kept as tag {tag}",
                p.branch, ctx.cfg.retention.proposal_branches
            ),
            None,
        );
        retired.push(p);
    }
    if retired.is_empty() {
        return Ok(vec![]);
    }
    let mut tx = ctx.tx();
    for p in &retired {
        put(&mut tx, p)?;
        tx.audit(
            "retention",
            "branch_deleted",
            &p.id,
            serde_json::json!({"branch": p.branch, "commit": p.branch_commit, "tag": archive_tag(&p.id)}),
        );
    }
    ctx.commit(tx, &format!("{} proposal branches retired", retired.len()))?;
    Ok(retired.into_iter().map(|p| p.id).collect())
}
