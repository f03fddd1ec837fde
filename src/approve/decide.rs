//! What the approval decision does to a proposal: after validation the tier approves
//! it (AUTO, NOTIFY) or leaves it waiting for a human (APPROVE, REQUIRE, with a
//! notification); a proposal that waits past `approval_timeout` is escalated, never
//! auto-approved (E4); a human approves or rejects it with `improve approve|reject`.

use super::tier;
use crate::context::Ctx;
use crate::error::Error;
use crate::lock::{Acquire, CycleLock};
use crate::notify;
use crate::store::library::{self, Outcome as FixOutcome};
use crate::store::proposals::{self, Proposal, Status};
use crate::validate::{self, experiment, Validation};
use crate::vocab::Approver;
use anyhow::{Context, Result};
use serde_json::json;

/// Lets the tier decide a validated (not FAILED) proposal; records the validation.
#[tracing::instrument(name = "approve", skip_all, fields(proposal = %p.id))]
pub fn conclude(ctx: &mut Ctx, p: &mut Proposal, mut v: Validation) -> Result<String> {
    let ts = ctx.ts();
    let (tier, why) = tier(p, &v, ctx.cfg);
    p.tier = Some(tier);
    let verdict = v.status.as_str();
    let mut tx = ctx.tx();
    let line = if tier.deploys_alone() {
        v.recommendation = format!("deploy ({tier} tier: {why})");
        p.status = Status::Approved;
        p.approved_by = Some(Approver::Tool { tier });
        p.push_event(
            &ts,
            format!("validation {verdict}; {tier} tier: {why}"),
            None,
        );
        format!(
            "{}: validation {verdict}; {tier} tier ({why}): deploys next",
            p.id
        )
    } else {
        v.recommendation = format!("a human decides ({tier} tier: {why})");
        p.status = Status::AwaitingApproval;
        p.awaiting_since = Some(ts.clone());
        p.push_event(
            &ts,
            format!("validation {verdict}; {tier} tier: {why}; waiting for a human"),
            None,
        );
        notify::send(
            &mut tx,
            ctx,
            "approval_needed",
            &p.id,
            format!(
                "{} needs a human ({tier} tier: {why}): {}. Merge {} or run improve approve {} --by NAME",
                p.id, p.change.summary, p.branch, p.id
            ),
        );
        format!(
            "{}: validation {verdict}; waiting for a human ({tier} tier: {why})",
            p.id
        )
    };
    proposals::put(&mut tx, p)?;
    tx.put_json(&validate::path(&p.id), &v)?;
    tx.audit(
        "approve",
        "tiered",
        &p.id,
        json!({"mode": v.mode, "status": verdict, "tier": tier, "why": why, "improvement": v.improvement}),
    );
    ctx.commit(tx, &format!("{}: tiered", p.id))?;
    Ok(line)
}

/// Escalates a proposal that has waited past the approval timeout (and again after
/// each further timeout): notified again, never auto-approved.
pub fn escalate_if_due(ctx: &mut Ctx, p: &mut Proposal) -> Result<Option<String>> {
    let timeout_text = &ctx.cfg.approval.approval_timeout;
    let timeout = ctx.cfg.dur(timeout_text);
    let since = p
        .escalated_at
        .as_deref()
        .or(p.awaiting_since.as_deref())
        .and_then(|s| crate::clock::parse_ts(s).ok());
    let Some(since) = since else { return Ok(None) };
    if ctx.now - since < timeout {
        return Ok(None);
    }
    let ts = ctx.ts();
    p.escalated_at = Some(ts.clone());
    p.push_event(
        &ts,
        format!(
            "waited past the approval timeout ({timeout_text}): escalated, never auto-approved"
        ),
        None,
    );
    let mut tx = ctx.tx();
    notify::send(
        &mut tx,
        ctx,
        "escalated",
        &p.id,
        format!(
            "{} has waited for a human for over {timeout_text}: {}",
            p.id, p.change.summary
        ),
    );
    proposals::put(&mut tx, p)?;
    tx.audit(
        "approve",
        "escalated",
        &p.id,
        json!({"timeout": timeout_text}),
    );
    ctx.commit(tx, &format!("{}: escalated", p.id))?;
    Ok(Some(format!(
        "{}: escalated after waiting past {timeout_text}",
        p.id
    )))
}

/// A human's decision holds the cycle lock while it is read and recorded, so it never
/// races a running cycle's records commit (nor decides on a proposal the cycle is
/// deploying); a cycle that runs meanwhile makes it exit 75 with nothing recorded.
fn hold_lock(ctx: &mut Ctx, what: String) -> Result<CycleLock> {
    match CycleLock::try_acquire(&ctx.git.local_dir()?)? {
        Acquire::Held(l) => {
            // What a cycle committed before we got the lock is what we decide on.
            ctx.records.refresh()?;
            Ok(l)
        }
        Acquire::Busy(pid) => Err(Error::CycleRunning { pid, what }.into()),
    }
}

fn load(ctx: &Ctx, id: &str) -> Result<Proposal> {
    proposals::load(&ctx.records, id)?.with_context(|| format!("no proposal {id} on record"))
}

/// A human approves `id` (waiting for a human): it deploys in the next cycle, where
/// V1–V4 still apply. Approving cannot skip validation (V1).
pub fn approve(ctx: &mut Ctx, id: &str, by: &str) -> Result<Proposal> {
    let _lock = hold_lock(ctx, format!("the approval of {id}"))?;
    let mut p = load(ctx, id)?;
    if p.status != Status::AwaitingApproval {
        return Err(Error::Usage(format!(
            "{} is {}; only a proposal waiting for a human can be approved",
            p.id,
            p.status.as_str()
        ))
        .into());
    }
    let ts = ctx.ts();
    p.status = Status::Approved;
    p.approved_by = Some(Approver::human(by));
    p.push_event(&ts, "approved", Some(by));
    let mut tx = ctx.tx();
    proposals::put(&mut tx, &p)?;
    tx.put_json(
        &format!("proposals/{}/approval.json", p.id),
        &json!({"decision": "approved", "by": by, "ts": ts}),
    )?;
    tx.audit("approve", "approved", &p.id, json!({"by": by}));
    ctx.commit(tx, &format!("{}: approved by {by}", p.id))?;
    Ok(p)
}

/// A human rejects an open proposal: it closes (a running experiment stops), and the
/// library remembers the rejection, so the same fix is not proposed again for the
/// pattern unless the evidence changes materially.
pub fn reject(ctx: &mut Ctx, id: &str, by: &str, reason: &str) -> Result<Proposal> {
    let _lock = hold_lock(ctx, format!("the rejection of {id}"))?;
    let mut p = load(ctx, id)?;
    if !p.status.is_open() {
        return Err(Error::Usage(format!(
            "{} is {}; only an open proposal can be rejected",
            p.id,
            p.status.as_str()
        ))
        .into());
    }
    let ts = ctx.ts();
    let was_validating = p.status == Status::Validating;
    p.status = Status::Rejected;
    p.push_event(&ts, format!("rejected: {reason}"), Some(by));
    if was_validating {
        experiment::stop(ctx.git, ctx.cfg, &p.id, ctx.now)?;
    }
    let mut tx = ctx.tx();
    proposals::put(&mut tx, &p)?;
    library::record_outcome(&ctx.records, &mut tx, &p, FixOutcome::Rejected, &ts)?;
    tx.put_json(
        &format!("proposals/{}/approval.json", p.id),
        &json!({"decision": "rejected", "by": by, "reason": reason, "ts": ts}),
    )?;
    tx.audit(
        "approve",
        "rejected",
        &p.id,
        json!({"by": by, "reason": reason}),
    );
    ctx.commit(tx, &format!("{}: rejected by {by}", p.id))?;
    Ok(p)
}
