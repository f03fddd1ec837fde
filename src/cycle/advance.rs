//! VALIDATE -> APPROVE -> DEPLOY for every open proposal: each moves as far as this
//! cycle allows (validated, approved by its tier and deployed in one cycle when
//! nothing needs to wait). What a human did to its branch comes first: a merge is
//! adopted as a deployment, new commits send it back to validation. Each step lands
//! as its own records commit in the phase that owns it, so an interruption loses at
//! most the step.

use crate::approve;
use crate::context::Ctx;
use crate::deploy::{adopt, deployer};
use crate::observe::samples::{self, Samples};
use crate::observe::Observation;
use crate::store::proposals::{self, Proposal, Status};
use crate::validate::{self, experiment, modified, Outcome, Step};
use anyhow::Result;

/// What the cycle knows that the steps need.
pub struct Inputs<'a> {
    pub obs: &'a Observation,
    /// The previous window's samples: the baseline of a merge a human made since then.
    pub before: &'a Samples,
    /// The audit chain verified at the start of the cycle (V2).
    pub audit_ok: bool,
}

/// Advances every open proposal. Returns one line per event.
pub fn advance(ctx: &mut Ctx, inputs: &Inputs) -> Result<Vec<String>> {
    let mut lines = vec![];
    for mut p in proposals::load_all(&ctx.records)? {
        if !p.status.is_open() {
            continue;
        }
        for _ in 0..3 {
            let status_before = p.status;
            // One proposal's trouble (a dirty tree, a hook that fails) is reported and
            // retried next cycle; it never stops the others.
            match step(ctx, &mut p, inputs) {
                Ok(Some(l)) => lines.push(l),
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("{}: {e:#}", p.id);
                    lines.push(format!("{}: not advanced this cycle: {e:#}", p.id));
                    ctx.records.refresh()?;
                    break;
                }
            }
            if p.status == status_before || !p.status.is_open() {
                break;
            }
        }
    }
    Ok(lines)
}

/// One step of one proposal, by its status.
fn step(ctx: &mut Ctx, p: &mut Proposal, inputs: &Inputs) -> Result<Option<String>> {
    if let Some(tip) = adopt::merged_tip(ctx, p)? {
        return adopt::adopt(ctx, p, tip, inputs.obs, inputs.before).map(Some);
    }
    if let Some(tip) = ctx.git.ref_oid(&p.branch)? {
        modified::revalidate_if_modified(ctx, p, tip)?;
    }
    match p.status {
        Status::Proposed => {
            let step = validate::validate(ctx, p)?;
            finish_validation(ctx, p, step)
        }
        Status::Validating => {
            let step = experiment::advance(ctx, p, inputs.obs)?;
            finish_validation(ctx, p, step)
        }
        Status::AwaitingApproval => match validate::retry_environment(ctx, p)? {
            // Its last validation could not run; now it could.
            Some(step) => finish_validation(ctx, p, step),
            None => approve::escalate_if_due(ctx, p),
        },
        Status::Approved => {
            // A quiet window has no samples: the one before it is the baseline then
            // (an empty baseline would leave the monitor nothing to compare).
            let mut baseline = samples::window(inputs.obs);
            if baseline.is_empty() {
                baseline = inputs.before.clone();
            }
            deployer::deploy_approved(ctx, p, baseline, inputs.audit_ok).map(Some)
        }
        _ => Ok(None),
    }
}

/// A finished validation goes to the tier, unless it FAILED.
fn finish_validation(ctx: &mut Ctx, p: &mut Proposal, step: Step) -> Result<Option<String>> {
    match step {
        Step::Finished(v) if v.status == Outcome::Failed => {
            validate::record_failure(ctx, p, *v).map(Some)
        }
        Step::Finished(v) => approve::conclude(ctx, p, *v).map(Some),
        Step::Started(line) => Ok(Some(line)),
        Step::Waiting => Ok(None),
    }
}
