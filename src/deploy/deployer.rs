//! Deploying an approved proposal: V1–V4 and git safety checked first and blocking
//! (a shallow clone, another worktree holding the branch, a human mid-rebase, a
//! branch behind or diverged from its upstream, a foreign lock, a dirty tree: each
//! refused with its reason, nothing written); then intent recorded, backup tag, one
//! deploy commit with trailers (the branch moved all or nothing; a move refused after
//! all is recorded as "nothing deployed", never left `deploying`), deploy tag,
//! verification, and the outcome recorded (`complete`, which `recover` runs again for
//! a deploy an interruption cut short).

use super::complete::complete;
use super::outcome::finish;
use super::{DeployStatus, Deployment};
use crate::approve;
use crate::context::Ctx;
use crate::crash;
use crate::error::{Error, GitRefusal};
use crate::observe::samples::Samples;
use crate::sanitize;
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

/// What one deploy step did, for the cycle's report.
pub struct Attempt {
    pub line: String,
    /// Git or the host refused (a lock, another worktree, a human mid-operation, a
    /// branch behind its upstream, ...): nothing was written, the proposal stays
    /// approved and deploys in a later cycle; the cycle exits non-zero so a human
    /// looks.
    pub refused: Option<String>,
    /// Verification was stopped by the cycle's deadline: the deployment stays
    /// `deploying` and the next cycle verifies it before it is monitored.
    pub deferred: bool,
}

impl Attempt {
    fn line(line: String) -> Attempt {
        Attempt {
            line,
            refused: None,
            deferred: false,
        }
    }
}

/// The refusal in an error's chain, if git or the host refused.
pub fn git_refusal(e: &anyhow::Error) -> Option<&GitRefusal> {
    e.chain().find_map(|c| c.downcast_ref::<GitRefusal>())
}

/// The checks that block a deploy (V1–V4 and git safety). Returns the tier the
/// deployment runs under.
pub fn preflight(ctx: &Ctx, p: &Proposal, audit_ok: bool) -> Result<Tier> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let human = p.human_approved();
    // A shallow clone cannot show that the change is one ordinary commit (V3) nor
    // find a deploy's commit later: said as such, not as a V3 verdict.
    git.ensure_full_history("a deploy")?;
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
    // One deploy at a time: one left unverified by an interruption is completed first.
    if let Some(open) = super::load_live(&ctx.records)?
        .into_iter()
        .find(|d| d.status == DeployStatus::Deploying)
    {
        return Err(refuse(
            "V3",
            format!(
                "{} is not verified yet ({}); it is completed before another deploy",
                open.id,
                open.reason.as_deref().unwrap_or("interrupted")
            ),
        ));
    }
    let next = ctx.records.next_id("deployments", "D-", 4)?;
    let tip = ctx.deploy_tip()?;
    if let Some(existing) = git.ref_oid(&format!("refs/tags/improve/backup/{next}"))? {
        if existing != tip {
            return Err(refuse("V3", format!("the backup tag improve/backup/{next} already exists and points elsewhere: no backup can be made")));
        }
    }
    // Git safety: never move a branch another worktree has checked out (or anyone
    // is rebasing or bisecting), never during a human's merge or rebase, never onto
    // a branch behind or diverged from its upstream, never past a foreign lock or
    // onto a dirty tree. Checked before the intent is recorded, so a refusal leaves
    // nothing behind but the refusal's audit entry.
    if let Some(refusal) = git.worktree_conflict(&cfg.deploy_branch)? {
        return Err(refusal.into());
    }
    if let Some(refusal) = git.operation_in_progress()? {
        return Err(refusal.into());
    }
    git.require_upstream_ok(&cfg.deploy_branch)?;
    git.check_move(&cfg.deploy_branch)?;
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
) -> Result<Attempt> {
    match preflight(ctx, p, audit_ok) {
        Ok(tier) => deploy(ctx, p, tier, baseline),
        Err(e) => {
            let mut tx = ctx.tx();
            tx.audit(
                "deploy",
                "refused",
                &p.id,
                json!({"reason": format!("{e:#}")}),
            );
            ctx.commit(tx, &format!("{}: deploy refused", p.id))?;
            Ok(Attempt {
                line: format!("{}: deploy refused: {e:#}", p.id),
                refused: git_refusal(&e).map(|r| format!("{}: deploy refused: {r}", p.id)),
                deferred: false,
            })
        }
    }
}

/// Deploys `p` (through `preflight`).
#[tracing::instrument(skip_all, fields(proposal = %p.id, tier = tier.as_str()))]
fn deploy(ctx: &mut Ctx, p: &mut Proposal, tier: Tier, baseline: Samples) -> Result<Attempt> {
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
        rollback_due: None,
        reason: None,
        ended_at: None,
        effect: None,
    };
    // 1. Intent.
    let mut tx = ctx.tx();
    super::put(&mut tx, &d)?;
    tx.audit("deploy", "intent", &id, json!({"proposal": p.id, "backup": tip.to_string(), "tier": tier, "approved_by": by.to_string()}));
    ctx.commit(tx, &format!("{id}: deploying {}", p.id))?;
    // 2-3. Backup tag, then the deploy commit (the whole proposal branch since its
    // base, squashed on the current tip: a human may have added commits) and the
    // branch moved to it, all or nothing. A failure before the move lands is
    // recorded as nothing deployed, never left `deploying`.
    let moved = (|| -> Result<std::result::Result<Oid, Vec<String>>> {
        git.tag(&d.backup_tag, tip)?;
        crash::point("deploy-after-backup-tag");
        let branch_commit = Oid::from_str(&p.branch_commit)?;
        let base = Oid::from_str(&p.base_commit).context("proposal base commit")?;
        let tree = match git.squash_tree(base, branch_commit, tip)? {
            Ok(t) => t,
            Err(conflicts) => return Ok(Err(conflicts)),
        };
        let parent = git.find_commit(tip)?;
        let message = deploy_message(p, &id, tier, &by);
        let new = git.commit_tree(tree, &[&parent], &message, ctx.now)?;
        git.advance_branch(&cfg.deploy_branch, tip, new, "improve: deploy")?;
        Ok(Ok(new))
    })();
    let new = match moved {
        Ok(Ok(new)) => new,
        Err(e) => return not_moved(ctx, p, d, tip, e),
        Ok(Err(paths)) => {
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
            return Ok(Attempt::line(summary(ctx, p, &d)));
        }
    };
    crash::point("deploy-after-move");
    git.tag(&d.deploy_tag, new)?;
    d.deploy_commit = new.to_string();
    crash::point("deploy-after-commit");
    // 4. Verification and the outcome.
    let deferred = complete(ctx, p, &mut d, new, false)?;
    Ok(Attempt {
        line: summary(ctx, p, &d),
        refused: None,
        deferred,
    })
}

/// The deploy commit's message: log-derived text sanitised, so only the tool's own
/// trailers can steer what happens to the commit.
fn deploy_message(p: &Proposal, id: &str, tier: Tier, by: &Approver) -> String {
    format!(
        "{}\n\n{}\n\nImprove-Proposal: {}\nImprove-Deployment: {id}\nImprove-Tier: {tier}\nImprove-Approved-By: {}\n",
        sanitize::commit_subject(&p.title),
        sanitize::commit_body(&p.change.summary),
        p.id,
        sanitize::title(&by.to_string(), 200),
    )
}

/// The deploy failed after its intent was recorded, before its commit landed (git
/// refused the move, a tag or the commit could not be written). The move is all or
/// nothing: when the branch is still at `tip`, nothing was deployed, and the
/// deployment is recorded as such (never left `deploying`); the proposal stays
/// approved and deploys again.
fn not_moved(
    ctx: &mut Ctx,
    p: &mut Proposal,
    mut d: Deployment,
    tip: Oid,
    e: anyhow::Error,
) -> Result<Attempt> {
    if ctx.deploy_tip()? != tip {
        // Moved after all (by someone else): the next cycle's recovery decides.
        return Err(e);
    }
    d.status = DeployStatus::Failed;
    d.reason = Some(format!(
        "nothing was deployed: {e:#}; the proposal stays approved and deploys again"
    ));
    p.push_event(
        &ctx.ts(),
        format!(
            "deploy {} failed before its commit landed; nothing deployed, retried",
            d.id
        ),
        None,
    );
    finish(ctx, p, &d, "not_deployed", None)?;
    Ok(Attempt {
        line: summary(ctx, p, &d),
        refused: Some(format!(
            "{} of {}: deploy refused: {}",
            d.id,
            p.id,
            d.reason.clone().unwrap_or_default()
        )),
        deferred: false,
    })
}

/// One line for the cycle's report.
pub(super) fn summary(ctx: &Ctx, p: &Proposal, d: &Deployment) -> String {
    match d.status {
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
    }
}
