//! VALIDATE -> APPROVE -> DEPLOY for every open proposal: each moves as far as this
//! cycle allows (validated, approved by its tier and deployed in one cycle when
//! nothing needs to wait). What a human did to its branch comes first: a merge is
//! adopted as a deployment, new commits send it back to validation. Each step lands
//! as its own records commit in the phase that owns it, so an interruption loses at
//! most the step.

use crate::approve;
use crate::command::Outcome as RunOutcome;
use crate::context::Ctx;
use crate::deploy::{adopt, deployer};
use crate::observe::samples::{self, Samples};
use crate::observe::Observation;
use crate::store::proposals::{self, Proposal, Status};
use crate::validate::{self, experiment, modified, Outcome, Step};
use anyhow::Result;
use serde_json::json;

/// What the cycle knows that the steps need.
pub struct Inputs<'a> {
    pub obs: &'a Observation,
    /// The previous window's samples: the baseline of a merge a human made since then.
    pub before: &'a Samples,
    /// The audit chain verified at the start of the cycle (V2).
    pub audit_ok: bool,
    /// Why nothing may deploy this cycle (the deploy branch diverged from its remote).
    pub blocked: Option<&'a str>,
}

/// What advancing the open proposals did.
#[derive(Debug, Default)]
pub struct Advanced {
    /// One line per event.
    pub lines: Vec<String>,
    /// Deploys git or the host refused (see `deployer::Attempt::refused`).
    pub refused: Vec<String>,
    /// Work the cycle's time budget did not allow, retried next cycle.
    pub deferred: Vec<String>,
}

/// Advances every open proposal, starting nothing new once the cycle's deadline has
/// passed.
#[tracing::instrument(skip_all)]
pub fn advance(ctx: &mut Ctx, inputs: &Inputs) -> Result<Advanced> {
    let mut out = Advanced::default();
    for mut p in proposals::load_all(&ctx.records)? {
        if !p.status.is_open() {
            continue;
        }
        for _ in 0..3 {
            if ctx.past_deadline() {
                if waits_for_the_tool(&p) {
                    out.deferred
                        .push(format!("{} ({})", p.id, p.status.as_str()));
                }
                break;
            }
            let status_before = p.status;
            // One proposal's trouble (a dirty tree, a hook that fails) is reported and
            // retried next cycle; it never stops the others.
            match step(ctx, &mut p, inputs) {
                Ok(Some(s)) => {
                    out.lines.push(s.line);
                    out.refused.extend(s.refused);
                    if s.deferred {
                        out.deferred
                            .push(format!("{} ({})", p.id, p.status.as_str()));
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("{}: {e:#}", p.id);
                    out.lines
                        .push(format!("{}: not advanced this cycle: {e:#}", p.id));
                    if let Some(r) = deployer::git_refusal(&e) {
                        out.refused.push(format!("{}: refused: {r}", p.id));
                    }
                    ctx.records.refresh()?;
                    break;
                }
            }
            if p.status == status_before || !p.status.is_open() {
                break;
            }
        }
    }
    Ok(out)
}

/// True when the proposal's next step is the tool's (validation or a deploy), so a
/// cycle that stops at its deadline has deferred it.
fn waits_for_the_tool(p: &Proposal) -> bool {
    matches!(
        p.status,
        Status::Proposed | Status::Validating | Status::Approved
    )
}

/// One step's line, and what the cycle must know about it.
struct Stepped {
    line: String,
    refused: Option<String>,
    /// The deadline cut the step short; it is redone next cycle.
    deferred: bool,
}

impl From<String> for Stepped {
    fn from(line: String) -> Stepped {
        Stepped {
            line,
            refused: None,
            deferred: false,
        }
    }
}

/// One step of one proposal, by its status.
#[tracing::instrument(name = "proposal", level = "debug", skip_all, fields(id = %p.id, status = p.status.as_str()))]
fn step(ctx: &mut Ctx, p: &mut Proposal, inputs: &Inputs) -> Result<Option<Stepped>> {
    if let Some(at) = adopt::landing(ctx, p)? {
        return adopt::adopt(ctx, p, at, inputs.obs, inputs.before).map(|l| Some(l.into()));
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
            None => Ok(approve::escalate_if_due(ctx, p)?.map(Into::into)),
        },
        Status::Approved if inputs.blocked.is_some() => {
            refuse(ctx, p, inputs.blocked.unwrap_or_default()).map(|l| Some(l.into()))
        }
        Status::Approved => {
            // A quiet window has no samples: the one before it is the baseline then
            // (an empty baseline would leave the monitor nothing to compare).
            let mut baseline = samples::window(inputs.obs);
            if baseline.is_empty() {
                baseline = inputs.before.clone();
            }
            let a = deployer::deploy_approved(ctx, p, baseline, inputs.audit_ok)?;
            Ok(Some(Stepped {
                line: a.line,
                refused: a.refused,
                deferred: a.deferred,
            }))
        }
        _ => Ok(None),
    }
}

/// An approved proposal that may not deploy this cycle: the refusal is on record, and
/// the proposal stays approved for the next cycle.
fn refuse(ctx: &mut Ctx, p: &Proposal, why: &str) -> Result<String> {
    let mut tx = ctx.tx();
    tx.audit("deploy", "refused", &p.id, json!({ "reason": why }));
    ctx.commit(tx, &format!("{}: deploy refused", p.id))?;
    Ok(format!("{}: deploy refused: {why}", p.id))
}

/// A finished validation goes to the tier, unless it FAILED. One the cycle's
/// deadline cut short is not concluded: the proposal is validated again next cycle.
fn finish_validation(ctx: &mut Ctx, p: &mut Proposal, step: Step) -> Result<Option<Stepped>> {
    match step {
        Step::Finished(v) if v.runs.iter().any(|r| r.outcome() == RunOutcome::DeadlineReached) => {
            Ok(Some(Stepped {
                line: format!(
                    "{}: validation ({}) stopped at the end of the cycle's time budget; validated again next cycle",
                    p.id, v.mode
                ),
                refused: None,
                deferred: true,
            }))
        }
        Step::Finished(v) if v.status == Outcome::Failed => {
            validate::record_failure(ctx, p, *v).map(|l| Some(l.into()))
        }
        Step::Finished(v) => approve::conclude(ctx, p, *v).map(|l| Some(l.into())),
        Step::Started(line) => Ok(Some(line.into())),
        Step::Waiting => Ok(None),
    }
}
