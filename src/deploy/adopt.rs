//! A human's merge of a proposal branch is approval and deployment at once: the next
//! cycle finds the merge on the deploy branch, records it as a deployment by the
//! merger (backup and deploy tags on the merge's parent and the merge) and monitors
//! it like the tool's own. Its baseline is the previous window's samples, which every
//! cycle keeps for this purpose, because this window may already hold logs written
//! after the merge.

use super::outcome::finish;
use super::{DeployStatus, Deployment};
use crate::context::Ctx;
use crate::observe::samples::{self, Samples};
use crate::observe::Observation;
use crate::records::{Records, Tx};
use crate::store::library::Outcome as FixOutcome;
use crate::store::proposals::{Proposal, Status};
use crate::vocab::Approver;
use anyhow::Result;
use git2::Oid;

/// The previous window's guarded-metric samples (bounded).
const LAST_WINDOW: &str = "samples/last-window.json";

/// Keeps this window's samples as the next cycle's `previous_window`.
pub fn remember_window(tx: &mut Tx, obs: &Observation) -> Result<()> {
    tx.put_json(LAST_WINDOW, &samples::window(obs))
}

/// The samples the previous cycle kept (empty on the first cycles).
pub fn previous_window(records: &Records) -> Result<Samples> {
    Ok(records.read_json(LAST_WINDOW)?.unwrap_or_default())
}

/// The proposal branch's tip when a human has merged it into the deploy branch.
pub fn merged_tip(ctx: &Ctx, p: &Proposal) -> Result<Option<Oid>> {
    let Some(branch_tip) = ctx.git.ref_oid(&p.branch)? else {
        return Ok(None);
    };
    let base = Oid::from_str(&p.base_commit).ok();
    let merged = Some(branch_tip) != base && ctx.git.is_ancestor(branch_tip, ctx.deploy_tip()?)?;
    Ok(merged.then_some(branch_tip))
}

/// Records the merge of `p`'s branch (tip `branch_tip`) as a deployment and starts
/// monitoring it. `before`: the previous window's samples.
pub fn adopt(
    ctx: &mut Ctx,
    p: &mut Proposal,
    branch_tip: Oid,
    obs: &Observation,
    before: &Samples,
) -> Result<String> {
    let git = ctx.git;
    let deploy_tip = ctx.deploy_tip()?;
    let base = Oid::from_str(&p.base_commit).ok();
    // The first commit on the deploy branch that contains the proposal: the merge.
    let landed = git
        .first_parent_between(base, deploy_tip)?
        .into_iter()
        .find(|c| git.is_ancestor(branch_tip, *c).unwrap_or(false))
        .unwrap_or(branch_tip);
    let parent = git.parents(landed)?.first().copied().unwrap_or(landed);
    let by = git.author(landed)?;
    let ts = ctx.ts();
    let id = ctx.records.next_id("deployments", "D-", 4)?;
    let d = Deployment {
        id: id.clone(),
        proposal: p.id.clone(),
        status: DeployStatus::Monitoring,
        tier: None,
        approved_by: Approver::human(&by),
        branch: ctx.cfg.deploy_branch.clone(),
        backup_tag: format!("improve/backup/{id}"),
        backup_commit: parent.to_string(),
        deploy_tag: format!("improve/deploy/{id}"),
        deploy_commit: landed.to_string(),
        deployed_at: ts.clone(),
        baseline: if before.is_empty() {
            samples::window(obs)
        } else {
            before.clone()
        },
        checks: vec![],
        degraded_in_a_row: 0,
        rollback_commit: None,
        rollback_tag: None,
        reason: Some(format!("merged by {by}")),
        ended_at: None,
        effect: None,
    };
    git.tag(&d.backup_tag, parent)?;
    git.tag(&d.deploy_tag, landed)?;
    p.status = Status::Deployed;
    p.approved_by = Some(Approver::human(&by));
    p.deployment = Some(id.clone());
    p.push_event(
        &ts,
        format!(
            "merged into {} by {by}: approved and deployed as {id}",
            ctx.cfg.deploy_branch
        ),
        Some(&by),
    );
    finish(ctx, p, &d, "deployed", Some(FixOutcome::Deployed))?;
    Ok(format!(
        "{}: {} merged by {by}; recorded as deployment {id} and monitored",
        p.id, p.branch
    ))
}
