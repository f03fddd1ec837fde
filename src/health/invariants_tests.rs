//! V1–V10 over records built in memory against a real temporary git repository (V3
//! needs the backup tags, V7 the proposal commits): for each invariant a case that
//! holds and cases that break it, with the evidence naming the offending id.

use super::*;
use crate::deploy::Deployment;
use crate::health::tests::{self as fx, baseline, tally};
use crate::store::proposals::Proposal;
use crate::vocab::{Approver, Tier, TriggerKind};
use git2::Oid;
use std::collections::BTreeMap;

/// A repository with a base commit `c0`, a deploy commit `c1` (a change under
/// runtime/) and the backup and deploy tags of D-0001, plus records that match it.
struct World {
    _dir: tempfile::TempDir,
    git: Git,
    cfg: Config,
    r: Recorded,
    c0: Oid,
    c1: Oid,
}

fn commit(git: &Git, parent: Option<Oid>, path: &str, text: &str) -> Oid {
    let mut ch = BTreeMap::new();
    ch.insert(path.to_string(), Some(text.as_bytes().to_vec()));
    git.commit_changes(parent, &ch, "test commit", fx::now())
        .unwrap()
}

fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    git2::Repository::init(dir.path()).unwrap();
    let git = Git::open(dir.path()).unwrap();
    let c0 = commit(&git, None, "runtime/physics/constants.py", "W = 0.10\n");
    let c1 = commit(&git, Some(c0), "runtime/physics/constants.py", "W = 0.20\n");
    git.tag("improve/backup/D-0001", c0).unwrap();
    git.tag("improve/deploy/D-0001", c1).unwrap();
    let mut r = baseline();
    let d = &mut r.deployments[0];
    d.backup_commit = c0.to_string();
    d.deploy_commit = c1.to_string();
    let p = &mut r.proposals[0];
    p.base_commit = c0.to_string();
    p.branch_commit = c1.to_string();
    World {
        _dir: dir,
        git,
        // The world's proposal tunes the demo system's constants.py.
        cfg: {
            let mut cfg = Config::builtin();
            cfg.allowed_paths.push("runtime/**".into());
            cfg
        },
        r,
        c0,
        c1,
    }
}

impl World {
    fn run(&self) -> Vec<InvariantResult> {
        check(&self.git, &self.cfg, &fx::summarised(&self.r))
    }
    fn d(&mut self) -> &mut Deployment {
        &mut self.r.deployments[0]
    }
    fn p(&mut self) -> &mut Proposal {
        &mut self.r.proposals[0]
    }
}

fn get<'a>(v: &'a [InvariantResult], id: &str) -> &'a InvariantResult {
    v.iter().find(|i| i.id == id).unwrap()
}

/// Asserts `id` holds, and that it checked something (a vacuous pass proves little).
#[track_caller]
fn holds(w: &World, id: &str) {
    let v = w.run();
    let i = get(&v, id);
    assert!(i.ok, "{id} should hold: {:?}", i.evidence);
    assert!(i.checked > 0, "{id} checked nothing");
    tally(0, 1);
}

/// Asserts `id` is violated, its evidence names each of `names`, and no other
/// invariant broke (each case trips exactly the one it is about).
#[track_caller]
fn violated(w: &World, id: &str, names: &[&str]) {
    let v = w.run();
    let i = get(&v, id);
    assert!(!i.ok, "{id} should be violated");
    let ev = i.evidence.join("\n");
    for n in names {
        assert!(ev.contains(n), "{id} evidence lacks {n}: {ev}");
    }
    let others: Vec<_> = v.iter().filter(|o| !o.ok && o.id != id).collect();
    assert!(others.is_empty(), "{id}: others broke too: {others:?}");
    tally(0, 1);
}

#[test]
fn the_baseline_satisfies_all_ten() {
    let w = world();
    let v = w.run();
    assert_eq!(v.len(), 10);
    for i in &v {
        assert!(i.ok, "{} {}: {:?}", i.id, i.name, i.evidence);
    }
    let critical: Vec<_> = v.iter().filter(|i| i.critical).map(|i| i.id).collect();
    assert_eq!(critical, ["V1", "V2", "V3", "V4"]);
}

#[test]
fn v1_no_deploy_without_validation() {
    let mut w = world();
    holds(&w, "V1");
    w.r.validations.clear();
    violated(&w, "V1", &["D-0001", "P-0001", "no validation"]);
    w.r.validations
        .insert("P-0001".into(), fx::validation("P-0001", "FAILED"));
    violated(&w, "V1", &["D-0001", "FAILED"]);
    // A manual validation is the approving human's call, never the tool's.
    w.r.validations
        .insert("P-0001".into(), fx::validation("P-0001", "MANUAL"));
    violated(&w, "V1", &["D-0001", "MANUAL"]);
    w.d().tier = Some(Tier::Approve);
    w.d().approved_by = Approver::human("Ada Lovelace");
    holds(&w, "V1");
}

#[test]
fn v2_no_deploy_without_audit() {
    let mut w = world();
    holds(&w, "V2");
    w.r.audit[0].subject = "D-0002".into();
    violated(&w, "V2", &["D-0001", "no audit entry"]);
    let mut w = world();
    w.r.audit_problems.push("entry 3: hash mismatch".into());
    violated(&w, "V2", &["entry 3"]);
}

#[test]
fn v3_rollback_always_possible() {
    let w = world();
    holds(&w, "V3");
    w.git.delete_ref("refs/tags/improve/backup/D-0001").unwrap();
    violated(&w, "V3", &["D-0001", "improve/backup/D-0001"]);
    // Moved rather than deleted.
    w.git.tag("improve/backup/D-0001", w.c1).unwrap();
    violated(&w, "V3", &["D-0001", "missing or moved"]);
    let mut w = world();
    w.d().deploy_commit = "1111111111111111111111111111111111111111".into();
    violated(&w, "V3", &["D-0001", "is gone"]);
    // A deployment still being made has no tags to check yet.
    let mut w = world();
    w.git.delete_ref("refs/tags/improve/backup/D-0001").unwrap();
    w.d().status = DeployStatus::Deploying;
    let v = w.run();
    assert!(get(&v, "V3").ok);
    assert_eq!(get(&v, "V3").checked, 0);
    // Nor does one that never landed a commit: there is nothing to roll back.
    let mut w = world();
    w.git.delete_ref("refs/tags/improve/backup/D-0001").unwrap();
    w.d().status = DeployStatus::Failed;
    w.d().deploy_commit = String::new();
    let v = w.run();
    assert!(get(&v, "V3").ok);
    assert_eq!(get(&v, "V3").checked, 0);
}

#[test]
fn v4_approval_tier_respected() {
    let mut w = world();
    holds(&w, "V4");
    w.p().risk = Risk::Medium;
    violated(&w, "V4", &["D-0001", "P-0001", "AUTO tier"]);
    let mut w = world();
    w.d().tier = Some(Tier::Notify);
    w.p().kind = ProposalType::FormulaChange;
    violated(&w, "V4", &["D-0001", "P-0001", "needed a human"]);
    let mut w = world();
    w.d().tier = Some(Tier::Approve);
    violated(&w, "V4", &["D-0001", "without a human"]);
    let mut w = world();
    w.d().proposal = "P-0009".into();
    w.r.validations
        .insert("P-0009".into(), fx::validation("P-0009", "PASSED"));
    violated(&w, "V4", &["D-0001", "P-0009"]);
    let mut w = world();
    w.cfg.approval.auto_tier_max_risk = Risk::Medium;
    violated(&w, "V4", &["widens the AUTO tier"]);
}

#[test]
fn v5_every_pattern_carries_evidence() {
    let mut w = world();
    // A pattern that is not a problem needs no evidence.
    w.r.cycles[0]
        .patterns
        .push(fx::pattern("threshold_breach", "quiet", false));
    w.r.cycles[0].patterns[1].evidence.clear();
    holds(&w, "V5");
    w.r.cycles[0].patterns[0].evidence.clear();
    violated(&w, "V5", &["C-000001", "metric_drift:sibling_divergence"]);
    let mut w = world();
    w.p().pattern.evidence.clear();
    violated(&w, "V5", &["P-0001", "no evidence"]);
}

#[test]
fn v6_proposals_typed_and_complete() {
    let mut w = world();
    holds(&w, "V6");
    w.p().rationale.clear();
    w.p().rollback_plan.clear();
    violated(&w, "V6", &["P-0001", "rationale", "rollback plan"]);
}

#[test]
fn v7_changes_confined_to_allowed_paths() {
    let mut w = world();
    holds(&w, "V7");
    let outside = commit(&w.git, Some(w.c0), "secrets/keys.txt", "k\n");
    w.p().branch_commit = outside.to_string();
    violated(&w, "V7", &["P-0001", "secrets/keys.txt"]);
}

#[test]
fn v8_every_cycle_leaves_a_learning_record() {
    let mut w = world();
    holds(&w, "V8");
    w.r.learning.clear();
    violated(&w, "V8", &["C-000001", "no learning record"]);
}

#[test]
fn v9_degradation_leads_to_rollback() {
    let mut w = world();
    w.d().degraded_in_a_row = 1; // below consecutive_checks (2)
    holds(&w, "V9");
    w.d().degraded_in_a_row = 2;
    violated(&w, "V9", &["D-0001", "stable"]);
    w.d().status = DeployStatus::RolledBack;
    holds(&w, "V9");
    let mut w = world();
    w.d().status = DeployStatus::Monitoring;
    w.d()
        .checks
        .push(crate::deploy::Check::Monitor(crate::deploy::MonitorCheck {
            ts: fx::NOW.into(),
            cycle: "C-000002".into(),
            degraded: vec!["efficiency".into()],
            severe: true,
            metrics: vec![],
            deferred: false,
        }));
    violated(&w, "V9", &["D-0001", "monitoring"]);
}

/// A meta-proposal (changing improve's own config) from cycle `cycle` on `created`.
fn meta(id: &str, cycle: &str, created: &str) -> Proposal {
    let mut p = fx::proposal(id, "awaiting_approval", None);
    p.target.file = crate::config::CONFIG_PATH.into();
    p.change.file = p.target.file.clone();
    p.tier = Some(Tier::Require);
    p.cycle = cycle.into();
    p.created = created.into();
    p
}

#[test]
fn v10_meta_changes_daily_required_and_not_from_meta_cycles() {
    let mut w = world();
    w.r.cycles
        .push(fx::cycle("C-000002", &fx::ago(50.0), 3600, 10));
    w.r.learning.push("C-000002".into());
    w.r.proposals
        .push(meta("P-0002", "C-000001", "2026-02-01T09:00:00Z"));
    w.r.proposals
        .push(meta("P-0003", "C-000002", "2026-01-30T09:00:00Z"));
    holds(&w, "V10");
    // Two meta-proposals of one cycle are one meta cycle.
    w.r.proposals
        .push(meta("P-0004", "C-000001", "2026-02-01T09:00:01Z"));
    holds(&w, "V10");
    // A second meta cycle on the same day is not.
    w.r.proposals[3].cycle = "C-000003".into();
    violated(&w, "V10", &["P-0004", "2026-02-01"]);
    w.r.proposals.pop();
    // Not in the REQUIRE tier.
    w.r.proposals[1].tier = Some(Tier::Approve);
    violated(&w, "V10", &["P-0002", "approve tier"]);
    w.r.proposals[1].tier = Some(Tier::Require);
    // Triggered by a meta check alone.
    w.r.cycles[1].triggers[0].kind = TriggerKind::MetaCheck;
    violated(&w, "V10", &["P-0003", "meta cycle", "C-000002"]);
    // A cycle with no recorded trigger is not a meta cycle.
    w.r.cycles[1].triggers.clear();
    holds(&w, "V10");
    // Proposal templates are improve's own configuration too.
    let mut w = world();
    let mut t = meta("P-0002", "C-000001", "2026-02-01T09:00:00Z");
    t.target.file = "improvement-data/templates/proposals.yaml".into();
    t.tier = Some(Tier::Notify);
    w.r.proposals.push(t);
    violated(&w, "V10", &["P-0002", "notify tier"]);
}
