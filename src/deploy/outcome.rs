//! How a deployment's state is recorded: with its proposal, the library's fix outcome
//! and a notification, in one records commit, whether it was just deployed, failed,
//! or ended (stable, rolled back, rollback failed).

use super::effect::Verdict;
use super::{DeployStatus, Deployment};
use crate::context::Ctx;
use crate::notify;
use crate::store::library::{self, Outcome as FixOutcome};
use crate::store::proposals::{self, Proposal, Status};
use anyhow::{Context, Result};
use serde_json::json;

/// Records the deployment's state with the proposal, the library's fix outcome and a
/// notification, in one records commit.
pub fn finish(
    ctx: &mut Ctx,
    p: &Proposal,
    d: &Deployment,
    action: &str,
    outcome: Option<FixOutcome>,
) -> Result<()> {
    let mut tx = ctx.tx();
    super::put(&mut tx, d)?;
    proposals::put(&mut tx, p)?;
    if let Some(o) = outcome {
        library::record_outcome(&ctx.records, &mut tx, p, o, &ctx.ts())?;
    }
    let detail = json!({"proposal": p.id, "status": d.status.as_str(), "commit": d.deploy_commit, "reason": d.reason, "tier": d.tier_name()});
    tx.audit("deploy", action, &d.id, detail);
    let msg = match action {
        "deployed" => format!(
            "{} deployed {} ({}): {}",
            d.id,
            p.id,
            d.tier_name(),
            p.change.summary
        ),
        _ => format!(
            "{} of {} {action}: {}",
            d.id,
            p.id,
            d.reason.clone().unwrap_or_default()
        ),
    };
    // A deploy a human approved needs no news; one the tool made alone, and every
    // other outcome, is told.
    if action != "deployed" || d.deployed_alone() {
        notify::send(&mut tx, ctx, action, &d.id, msg);
    }
    ctx.commit(tx, &format!("{}: {action}", d.id))?;
    Ok(())
}

/// How a watched deployment ended.
pub struct Ending {
    pub status: DeployStatus,
    pub reason: Option<String>,
    /// The line in the proposal's history.
    pub event: String,
    pub by: Option<String>,
}

/// Ends a watched deployment (stable, rolled back, rollback failed) together with its
/// proposal, the library's fix outcome and a notification, in one records commit.
pub fn end(ctx: &mut Ctx, d: &mut Deployment, e: Ending) -> Result<()> {
    let mut p = proposals::load(&ctx.records, &d.proposal)?
        .with_context(|| format!("proposal {} of {} is missing", d.proposal, d.id))?;
    let ts = ctx.ts();
    // A stable deploy is a proven fix only when it worked (`effect`).
    let held = match d.effect.as_ref().and_then(|x| x.verdict) {
        Some(Verdict::Ineffective) => FixOutcome::Ineffective,
        Some(Verdict::Unknown) => FixOutcome::Unproven,
        _ => FixOutcome::Stable,
    };
    let (proposal_status, action, outcome) = match e.status {
        DeployStatus::Stable => (Status::Stable, "stable", held),
        DeployStatus::RollbackFailed => (
            Status::RollbackFailed,
            "rollback_failed",
            FixOutcome::RolledBack,
        ),
        _ => (Status::RolledBack, "rolled_back", FixOutcome::RolledBack),
    };
    d.status = e.status;
    if e.reason.is_some() {
        d.reason = e.reason;
    }
    d.ended_at = Some(ts.clone());
    p.status = proposal_status;
    p.push_event(&ts, e.event, e.by.as_deref());
    finish(ctx, &p, d, action, Some(outcome))
}
