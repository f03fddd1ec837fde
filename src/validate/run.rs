//! Which mode a proposal is validated in, running it, and the verdict. `unit_test`
//! and `shadow` finish in the cycle that starts them; `canary` and `ab_test` start an
//! experiment that later cycles judge (`experiment::advance`); a proposal no mode can
//! run (a document, or an experiment without a value to override) is MANUAL.

use super::experiment::{self, ExperimentMode};
use super::{replay, Outcome, Step, Validation};
use crate::config::Direction;
use crate::context::Ctx;
use crate::store::library::{self, Outcome as FixOutcome};
use crate::store::proposals::{self, Proposal, Status};
use crate::vocab::ValidationMode;
use anyhow::{Context, Result};
use git2::Oid;
use serde_json::json;

/// The mode `p` can actually be validated in: its plan, unless it cannot run.
fn mode_for(p: &Proposal) -> ValidationMode {
    let planned = p.validation_plan.mode;
    if p.still_a_document() {
        ValidationMode::Manual
    } else if planned.is_experiment() && experiment::overrides(p).is_empty() {
        // An experiment routes a share of the system to an overridden value; with no
        // value to override there is nothing to route.
        ValidationMode::Manual
    } else {
        planned
    }
}

/// Validates `p` (status `proposed`).
#[tracing::instrument(skip_all, fields(proposal = %p.id))]
pub fn validate(ctx: &mut Ctx, p: &mut Proposal) -> Result<Step> {
    let mode = mode_for(p);
    let mut v = Validation::new(p, mode, ctx.now);
    match mode {
        ValidationMode::UnitTest | ValidationMode::Shadow => run_commands(ctx, p, &mut v)?,
        ValidationMode::Canary | ValidationMode::AbTest => {
            let m = ExperimentMode::of(mode).expect("an experiment mode");
            return experiment::start(ctx, p, m, &v).map(Step::Started);
        }
        ValidationMode::Manual => v.status = Outcome::Manual,
    }
    v.finished = Some(ctx.ts());
    Ok(Step::Finished(Box::new(v)))
}

/// `unit_test` runs the test command; both it and `shadow` run the replay command on
/// baseline and candidate when one is configured: the replay measures the effect
/// (shadow's purpose, and the measured improvement the AUTO tier needs).
fn run_commands(ctx: &Ctx, p: &Proposal, v: &mut Validation) -> Result<()> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let commit = Oid::from_str(&p.branch_commit).context("proposal has no branch commit")?;
    let base = git.parents(commit)?.first().copied().unwrap_or(commit);
    let mut ran = false;
    let mut failed = false;
    if v.mode == ValidationMode::UnitTest {
        if let Some(r) = replay::unit_test(git, cfg, commit, ctx.deadline)? {
            ran = true;
            failed |= !r.ok();
            v.runs.push(r);
        }
    }
    if !failed {
        if let Some(s) = replay::shadow(git, cfg, base, commit, ctx.deadline)? {
            ran = true;
            failed |= !s.baseline.ok() || !s.candidate.ok();
            v.runs.push(s.baseline);
            v.runs.push(s.candidate);
            for (m, after) in &s.after {
                let Some(before) = s.before.get(m) else {
                    continue;
                };
                let higher = cfg.metric(m).map(|c| c.direction) != Some(Direction::Lower);
                let imp = replay::improvement(*before, *after, higher);
                v.improvement.insert(m.clone(), imp);
                if cfg.metric(m).is_some_and(|c| imp < -c.allowed_effect) {
                    failed = true;
                }
            }
            v.target_improved = v
                .improvement
                .get(&p.target_metric.name)
                .is_some_and(|i| *i > 0.0);
            v.metrics_before = s.before;
            v.metrics_after = s.after;
        }
    }
    // A run stopped by the cycle's deadline, or that could not start, says nothing
    // about the change.
    let no_verdict = v.runs.iter().any(|r| r.outcome().is_inconclusive());
    v.status = if !ran {
        Outcome::Manual
    } else if no_verdict {
        Outcome::Inconclusive
    } else if failed {
        Outcome::Failed
    } else {
        Outcome::Passed
    };
    Ok(())
}

/// Records a FAILED validation: the proposal fails, and the library remembers the fix
/// failed so it is not proposed again for this pattern.
pub fn record_failure(ctx: &mut Ctx, p: &mut Proposal, mut v: Validation) -> Result<String> {
    let ts = ctx.ts();
    v.recommendation = "do not deploy: validation failed".into();
    p.status = Status::Failed;
    p.push_event(&ts, format!("validation ({}) FAILED", v.mode), None);
    let mut tx = ctx.tx();
    library::record_outcome(&ctx.records, &mut tx, p, FixOutcome::Failed, &ts)?;
    proposals::put(&mut tx, p)?;
    tx.put_json(&super::path(&p.id), &v)?;
    tx.audit(
        "validate",
        "failed",
        &p.id,
        json!({"mode": v.mode, "runs": v.runs.len(), "improvement": v.improvement}),
    );
    ctx.commit(tx, &format!("{}: validation failed", p.id))?;
    Ok(format!(
        "{}: validation ({}) FAILED; not deployed",
        p.id, v.mode
    ))
}
