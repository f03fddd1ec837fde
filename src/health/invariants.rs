//! `improve check`: the invariants V1–V10 over the recorded history, one function
//! each, with its evidence. V1–V4 are CRITICAL: they also block the phase that would
//! break them at run time (see `deploy::deployer::preflight`); here they are audited
//! after the fact, which catches records edited by hand.

use super::Recorded;
use crate::config::{Config, ProposalType, Risk};
use crate::deploy::DeployStatus;
use crate::git::Git;
use crate::validate::Outcome;
use crate::vocab::{Tier, TriggerKind};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct InvariantResult {
    pub id: &'static str,
    pub name: &'static str,
    pub critical: bool,
    pub ok: bool,
    /// What was checked (counts) and, on violation, where.
    pub evidence: Vec<String>,
    pub checked: usize,
}

fn inv(id: &'static str, name: &'static str, critical: bool) -> InvariantResult {
    InvariantResult {
        id,
        name,
        critical,
        ok: true,
        evidence: vec![],
        checked: 0,
    }
}

impl InvariantResult {
    fn violate(&mut self, what: String) {
        self.ok = false;
        self.evidence.push(what);
    }
}

/// Every invariant, V1 to V10.
pub fn check(git: &Git, cfg: &Config, r: &Recorded) -> Vec<InvariantResult> {
    vec![
        v1_validated(r),
        v2_audited(r),
        v3_rollback_possible(git, r),
        v4_tier_respected(cfg, r),
        v5_evidence(r),
        v6_complete(r),
        v7_confined(git, cfg, r),
        v8_learning_record(r),
        v9_degradation_rolled_back(cfg, r),
        v10_meta_changes(r),
    ]
}

/// V1: every deploy the tool made had a passing validation (or a human approved one
/// no mode could judge).
fn v1_validated(r: &Recorded) -> InvariantResult {
    let mut v1 = inv("V1", "no deploy without validation", true);
    for d in r.deployments.iter().filter(|d| d.by_tool()) {
        v1.checked += 1;
        match r.validations.get(&d.proposal) {
            None => v1.violate(format!(
                "{} deployed {} with no validation on record",
                d.id, d.proposal
            )),
            Some(v) => {
                let ok = v.status == Outcome::Passed
                    || (matches!(v.status, Outcome::Manual | Outcome::Inconclusive)
                        && d.approved_by.is_human());
                if !ok {
                    v1.violate(format!(
                        "{} deployed {} whose validation is {}",
                        d.id,
                        d.proposal,
                        v.status.as_str()
                    ));
                }
            }
        }
    }
    v1
}

/// V2: the audit chain verifies and every deployment is in it.
fn v2_audited(r: &Recorded) -> InvariantResult {
    let mut v2 = inv("V2", "no deploy without audit", true);
    for p in &r.audit_problems {
        v2.violate(format!("audit log: {p}"));
    }
    for d in &r.deployments {
        v2.checked += 1;
        if !r
            .audit
            .iter()
            .any(|e| e.phase == "deploy" && e.subject == d.id)
        {
            v2.violate(format!("{} has no audit entry", d.id));
        }
    }
    v2
}

/// V3: every deployment's backup tag points where it was made, and its commit exists.
/// One still being made has no tags to check yet; one that never landed a commit (it
/// failed before, or no longer applied) has nothing to roll back.
fn v3_rollback_possible(git: &Git, r: &Recorded) -> InvariantResult {
    let mut v3 = inv("V3", "rollback always possible", true);
    for d in &r.deployments {
        if d.status == DeployStatus::Deploying || d.deploy_commit.is_empty() {
            continue;
        }
        v3.checked += 1;
        match git.ref_oid(&format!("refs/tags/{}", d.backup_tag)) {
            Ok(Some(o)) if o.to_string() == d.backup_commit => {}
            _ => v3.violate(format!(
                "{}: backup tag {} missing or moved",
                d.id, d.backup_tag
            )),
        }
        if !d.deploy_commit.is_empty() && git.resolve(&d.deploy_commit).is_err() {
            v3.violate(format!(
                "{}: deploy commit {} is gone",
                d.id, d.deploy_commit
            ));
        }
    }
    v3
}

/// V4: the config never widens AUTO, and every deployment was allowed by its tier.
fn v4_tier_respected(cfg: &Config, r: &Recorded) -> InvariantResult {
    let mut v4 = inv("V4", "approval tier respected", true);
    if cfg
        .approval
        .auto_tier_types
        .iter()
        .any(|t| *t != ProposalType::ConstantTune)
        || cfg.approval.auto_tier_max_risk != Risk::Low
    {
        v4.violate("the config widens the AUTO tier".into());
    }
    for d in &r.deployments {
        v4.checked += 1;
        let Some(p) = r.proposal(&d.proposal) else {
            v4.violate(format!("{} deployed unknown proposal {}", d.id, d.proposal));
            continue;
        };
        let tier = d.tier_name();
        if d.tier == Some(Tier::Auto)
            && !(p.kind == ProposalType::ConstantTune && p.risk == Risk::Low)
        {
            v4.violate(format!(
                "{}: {} ({}, {} risk) deployed in the AUTO tier",
                d.id,
                p.id,
                p.kind.as_str(),
                p.risk.as_str()
            ));
        }
        let alone = d.deployed_alone();
        if alone
            && (p.change.document_only
                || matches!(
                    p.kind,
                    ProposalType::FormulaChange | ProposalType::BehaviorFix
                )
                || p.risk >= Risk::High)
        {
            v4.violate(format!(
                "{}: {} needed a human but was deployed by the {tier} tier",
                d.id, p.id
            ));
        }
        if !alone && !d.approved_by.is_human() {
            v4.violate(format!(
                "{}: {tier} tier deployed without a human ({})",
                d.id, d.approved_by
            ));
        }
    }
    v4
}

/// V5: every actionable pattern and every proposal carries evidence.
fn v5_evidence(r: &Recorded) -> InvariantResult {
    let mut v5 = inv("V5", "every pattern carries traceable evidence", false);
    // The cycles' patterns, as each cycle summarised them.
    v5.checked += r.summary.patterns_checked as usize;
    for v in &r.summary.patterns_without_evidence {
        v5.violate(v.clone());
    }
    for p in &r.proposals {
        v5.checked += 1;
        if p.pattern.evidence.is_empty() {
            v5.violate(format!("{}: no evidence", p.id));
        }
    }
    v5
}

/// V6: every proposal is typed and complete.
fn v6_complete(r: &Recorded) -> InvariantResult {
    let mut v6 = inv("V6", "proposals typed and complete", false);
    for p in &r.proposals {
        v6.checked += 1;
        let missing = p.completeness_problems();
        if !missing.is_empty() {
            v6.violate(format!("{} lacks {}", p.id, missing.join(", ")));
        }
    }
    v6
}

/// V7: every proposal's branch touches only `allowed_paths`, judged from the branch.
fn v7_confined(git: &Git, cfg: &Config, r: &Recorded) -> InvariantResult {
    let mut v7 = inv("V7", "changes confined to allowed_paths", false);
    let allowed = cfg.allowed_matcher();
    for p in &r.proposals {
        v7.checked += 1;
        let (Ok(b), Ok(c)) = (
            git2::Oid::from_str(&p.base_commit),
            git2::Oid::from_str(&p.branch_commit),
        ) else {
            continue;
        };
        for path in git.changed_paths(b, c).unwrap_or_default() {
            if !allowed.is_match(&path) {
                v7.violate(format!("{} touches {path}, outside allowed_paths", p.id));
            }
        }
    }
    v7
}

/// V8: every finished cycle left a learning record.
fn v8_learning_record(r: &Recorded) -> InvariantResult {
    let mut v8 = inv("V8", "every finished cycle leaves a learning record", false);
    let learned: std::collections::HashSet<&str> = r.learning.iter().map(String::as_str).collect();
    for c in &r.cycle_ids {
        v8.checked += 1;
        if !learned.contains(c.as_str()) {
            v8.violate(format!("{c} has no learning record"));
        }
    }
    v8
}

/// V9: a deployment that degraded (twice, or once severely) was rolled back.
fn v9_degradation_rolled_back(cfg: &Config, r: &Recorded) -> InvariantResult {
    let mut v9 = inv("V9", "degradation leads to rollback", false);
    for d in &r.deployments {
        v9.checked += 1;
        // A check deferred because a newer deploy was reverted in the same window is
        // not evidence against this one.
        let severe = d
            .checks
            .iter()
            .filter_map(|c| c.monitor())
            .any(|c| c.severe && !c.deferred);
        let must = d.degraded_in_a_row >= cfg.deployment.consecutive_checks || severe;
        if must
            && !matches!(
                d.status,
                DeployStatus::RolledBack | DeployStatus::RollbackFailed
            )
        {
            v9.violate(format!("{} degraded but is {}", d.id, d.status.as_str()));
        }
    }
    v9
}

/// V10: meta-changes at most from one cycle a day, always REQUIRE, never from a meta
/// cycle.
fn v10_meta_changes(r: &Recorded) -> InvariantResult {
    let mut v10 = inv(
        "V10",
        "meta-changes: at most daily, always REQUIRE, never from a meta cycle",
        false,
    );
    // "At most one cycle a day" (DESIGN §9): one meta cycle may propose several
    // changes; a second cycle proposing one on the same day is the violation.
    let mut meta_days: Vec<(String, String)> = vec![];
    for p in r.proposals.iter().filter(|p| crate::approve::is_meta(p)) {
        v10.checked += 1;
        if let Some(t) = p.tier.filter(|t| *t != Tier::Require) {
            v10.violate(format!(
                "{} changes improve's own config ({}) in the {t} tier",
                p.id, p.target.file
            ));
        }
        let day = p.created.chars().take(10).collect::<String>();
        if meta_days.iter().any(|(d, c)| *d == day && *c != p.cycle) {
            v10.violate(format!(
                "{}: a second meta cycle ({}) on {day}",
                p.id, p.cycle
            ));
        }
        meta_days.push((day, p.cycle.clone()));
        if let Some(c) = r.cycle(&p.cycle) {
            // `all` is vacuously true without triggers: that is not a meta cycle.
            if !c.triggers.is_empty() && c.triggers.iter().all(|t| t.kind == TriggerKind::MetaCheck)
            {
                v10.violate(format!("{} came from a meta cycle ({})", p.id, c.cycle));
            }
        }
    }
    v10
}

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;
