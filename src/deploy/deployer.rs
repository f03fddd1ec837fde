//! Deploying an approved proposal: V1–V4 checked first and blocking, a clean tree and
//! a non-diverged branch required; then intent recorded, backup tag, one deploy commit
//! with trailers, deploy tag, verification, and the outcome recorded. Each step is
//! recoverable: a deployment found `deploying` by the next cycle is completed by
//! `recover`.

use super::outcome::finish;
use super::{Check, DeployStatus, Deployment, VerifyCheck};
use crate::approve;
use crate::context::Ctx;
use crate::crash;
use crate::error::Error;
use crate::observe::samples::Samples;
use crate::store::library::Outcome as FixOutcome;
use crate::store::proposals::{Proposal, Status};
use crate::validate::{self, Outcome, Validation};
use crate::vocab::{Approver, Tier};
use anyhow::{Context, Result};
use git2::Oid;
use serde_json::json;

fn refuse(invariant: &'static str, message: impl Into<String>) -> anyhow::Error {
    Error::Invariant {
        invariant,
        message: message.into(),
    }
    .into()
}

/// The checks that block a deploy (V1–V4 and git safety). Returns the tier the
/// deployment runs under.
pub fn preflight(ctx: &Ctx, p: &Proposal, audit_ok: bool) -> Result<Tier> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let human = p.human_approved();
    // V1: no deploy without validation.
    let Some(v) = ctx
        .records
        .read_json::<Validation>(&validate::path(&p.id))?
    else {
        return Err(refuse(
            "V1",
            format!("{} has no validation on record", p.id),
        ));
    };
    match v.status {
        Outcome::Passed => {}
        Outcome::Manual | Outcome::Inconclusive if human => {}
        other => {
            return Err(refuse(
                "V1",
                format!(
                    "{} validation is {}{}",
                    p.id,
                    other.as_str(),
                    if human {
                        ""
                    } else {
                        " and no human approved it"
                    }
                ),
            ))
        }
    }
    if v.commit != p.branch_commit {
        return Err(refuse(
            "V1",
            format!("{} changed since it was validated", p.id),
        ));
    }
    // V2: no deploy without a working audit log.
    if !cfg.audit.enabled || !audit_ok {
        return Err(refuse(
            "V2",
            "the audit log does not verify; a human must resolve it before any deploy",
        ));
    }
    // V4: the tier allows it.
    let (tier, why) = approve::tier(p, &v, cfg);
    if !human && !tier.deploys_alone() {
        return Err(refuse(
            "V4",
            format!(
                "{} is in the {tier} tier ({why}) and no human approved it",
                p.id
            ),
        ));
    }
    if p.approved_by.is_none() {
        return Err(refuse("V4", format!("{} was never approved", p.id)));
    }
    // V3: a rollback must stay possible: the backup tag is free and the change is one
    // ordinary commit on top of the deploy branch.
    let branch_tip = Oid::from_str(&p.branch_commit).context("branch commit")?;
    if git.parents(branch_tip)?.len() != 1 {
        return Err(refuse(
            "V3",
            format!("{} is not a single ordinary commit", p.branch),
        ));
    }
    let next = ctx.records.next_id("deployments", "D-", 4)?;
    let tip = ctx.deploy_tip()?;
    if let Some(existing) = git.ref_oid(&format!("refs/tags/improve/backup/{next}"))? {
        if existing != tip {
            return Err(refuse("V3", format!("the backup tag improve/backup/{next} already exists and points elsewhere: no backup can be made")));
        }
    }
    // Git safety.
    if !git.is_clean()? && git.head_branch().as_deref() == Some(cfg.deploy_branch.as_str()) {
        return Err(refuse(
            "git",
            "the working tree has uncommitted changes; nothing is deployed onto a dirty tree",
        ));
    }
    if let Some(up) = git.upstream_oid(&cfg.deploy_branch)? {
        if !git.is_ancestor(up, tip)? {
            return Err(refuse(
                "git",
                format!(
                    "{} has diverged from its upstream; pull first",
                    cfg.deploy_branch
                ),
            ));
        }
    }
    // A human approved it: it deploys in the tier it was decided in.
    Ok(if human { p.tier.unwrap_or(tier) } else { tier })
}

/// DEPLOY for an approved proposal: preflight, then the deploy. A refusal is recorded
/// and reported, and the proposal stays approved for the next cycle.
pub fn deploy_approved(
    ctx: &mut Ctx,
    p: &mut Proposal,
    baseline: Samples,
    audit_ok: bool,
) -> Result<String> {
    let tier = match preflight(ctx, p, audit_ok) {
        Ok(t) => t,
        Err(e) => {
            let mut tx = ctx.tx();
            tx.audit(
                "deploy",
                "refused",
                &p.id,
                json!({"reason": format!("{e:#}")}),
            );
            ctx.commit(tx, &format!("{}: deploy refused", p.id))?;
            return Ok(format!("{}: deploy refused: {e:#}", p.id));
        }
    };
    let d = deploy(ctx, p, tier, baseline)?;
    Ok(match d.status {
        DeployStatus::Monitoring => format!(
            "{}: deployed {} as commit {} (tag {}); monitored for {}",
            d.id,
            p.id,
            &d.deploy_commit[..12],
            d.deploy_tag,
            ctx.cfg.deployment.monitor_duration
        ),
        _ => format!(
            "{}: deploy of {} {}: {}",
            d.id,
            p.id,
            d.status.as_str(),
            d.reason.clone().unwrap_or_default()
        ),
    })
}

/// Deploys `p` (already through `preflight`). Returns the deployment record.
pub fn deploy(
    ctx: &mut Ctx,
    p: &mut Proposal,
    tier: Tier,
    baseline: Samples,
) -> Result<Deployment> {
    let git = ctx.git;
    let cfg = ctx.cfg;
    let ts = ctx.ts();
    let id = ctx.records.next_id("deployments", "D-", 4)?;
    let tip = ctx.deploy_tip()?;
    let by = p.approved_by.clone().unwrap_or(Approver::Tool { tier });
    let mut d = Deployment {
        id: id.clone(),
        proposal: p.id.clone(),
        status: DeployStatus::Deploying,
        tier: Some(tier),
        approved_by: by.clone(),
        branch: cfg.deploy_branch.clone(),
        backup_tag: format!("improve/backup/{id}"),
        backup_commit: tip.to_string(),
        deploy_tag: format!("improve/deploy/{id}"),
        deploy_commit: String::new(),
        deployed_at: ts.clone(),
        baseline,
        checks: vec![],
        degraded_in_a_row: 0,
        rollback_commit: None,
        rollback_tag: None,
        reason: None,
        ended_at: None,
        effect: None,
    };
    // 1. Intent.
    let mut tx = ctx.tx();
    super::put(&mut tx, &d)?;
    tx.audit("deploy", "intent", &id, json!({"proposal": p.id, "backup": tip.to_string(), "tier": tier, "approved_by": by.to_string()}));
    ctx.commit(tx, &format!("{id}: deploying {}", p.id))?;
    // 2. Backup tag.
    git.tag(&d.backup_tag, tip)?;
    crash::point("deploy-after-backup-tag");
    // 3. The deploy commit: the proposal's change on top of the current tip.
    let branch_commit = Oid::from_str(&p.branch_commit)?;
    let base = Oid::from_str(&p.base_commit).context("proposal base commit")?;
    // The whole branch since its base (a human may have added commits), squashed.
    let tree = match git.squash_tree(base, branch_commit, tip)? {
        Ok(t) => t,
        Err(paths) => {
            d.status = DeployStatus::Failed;
            d.reason = Some(format!(
                "the change no longer applies to {} (conflicts in {})",
                cfg.deploy_branch,
                paths.join(", ")
            ));
            p.status = Status::Closed;
            p.push_event(
                &ts,
                format!("closed: {}", d.reason.clone().unwrap_or_default()),
                None,
            );
            finish(ctx, p, &d, "failed", None)?;
            return Ok(d);
        }
    };
    let message = format!(
        "{}\n\n{}\n\nImprove-Proposal: {}\nImprove-Deployment: {id}\nImprove-Tier: {tier}\nImprove-Approved-By: {by}\n",
        p.title, p.change.summary, p.id,
    );
    let parent = git.find_commit(tip)?;
    let new = git.commit_tree(tree, &[&parent], &message, ctx.now)?;
    git.advance_branch(&cfg.deploy_branch, tip, new, "improve: deploy")?;
    git.tag(&d.deploy_tag, new)?;
    d.deploy_commit = new.to_string();
    crash::point("deploy-after-commit");
    // 4. Verification.
    if !verify(ctx, &mut d, new)? {
        // Restore by reverting our own commit: history is never rewritten, even the
        // tool's own (a push may already have published it).
        d.reason = Some("the verification command failed; the backup state was restored".into());
        d.status = match super::rollback::revert_commit_onto(ctx, &mut d, "verification failed")? {
            Ok(_) => DeployStatus::Failed,
            Err(_) => DeployStatus::RollbackFailed,
        };
        p.status = Status::Failed;
        p.push_event(
            &ts,
            format!("deploy {id} failed verification; restored"),
            None,
        );
        finish(ctx, p, &d, "failed", Some(FixOutcome::Failed))?;
        return Ok(d);
    }
    crash::point("deploy-before-record");
    d.status = DeployStatus::Monitoring;
    p.status = Status::Deployed;
    p.deployment = Some(id.clone());
    p.push_event(
        &ts,
        format!("deployed as {id} (commit {})", &d.deploy_commit[..12]),
        Some(&by.to_string()),
    );
    finish(ctx, p, &d, "deployed", Some(FixOutcome::Deployed))?;
    Ok(d)
}

/// Runs the verification command on the deployed tree; true when it passes (or none
/// is configured). The run is kept as the deployment's first check.
fn verify(ctx: &Ctx, d: &mut Deployment, commit: Oid) -> Result<bool> {
    let cfg = ctx.cfg;
    if cfg.deployment.verify_command.is_empty() {
        return Ok(true);
    }
    let dir = tempfile::tempdir()?;
    ctx.git.export_tree(commit, dir.path())?;
    let timeout = std::time::Duration::from_millis(
        cfg.dur(&cfg.deployment.rollback_timeout)
            .num_milliseconds()
            .max(1000) as u64,
    );
    let run = crate::command::run(
        &cfg.deployment.verify_command,
        dir.path(),
        &[],
        None,
        timeout,
    )?;
    d.checks.push(Check::Verify(VerifyCheck {
        verify: run.argv.clone(),
        exit_code: run.exit_code,
        timed_out: run.timed_out,
        output: run.output_tail.clone(),
    }));
    Ok(run.ok())
}
