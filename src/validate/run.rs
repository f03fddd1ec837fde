//! Which mode a proposal is validated in, running it, and the verdict. `unit_test`
//! and `shadow` finish in the cycle that starts them; `canary` and `ab_test` start an
//! experiment that later cycles judge (`experiment::advance`); a proposal no mode can
//! run (a document, or an experiment without a value to override) is MANUAL. A change
//! to how the link score combines its factors is judged by the decision replay. A run
//! that cannot judge the change (see `environment`) is INCONCLUSIVE, and a later cycle
//! tries again while the proposal waits.

use super::decision_replay::{self, DecisionReplayReport};
use super::environment::{cause, could_not_run};
use super::experiment::{self, ExperimentMode};
use super::judge::{JudgeParams, Verdict};
use super::{replay, Outcome, Step, Validation};
use crate::command::RunRecord;
use crate::config::Direction;
use crate::context::Ctx;
use crate::observe::SourceKind;
use crate::store::library::{self, Outcome as FixOutcome};
use crate::store::proposals::{self, Proposal, Status};
use crate::vocab::ValidationMode;
use anyhow::{Context, Result};
use git2::Oid;
use serde_json::json;

/// Where the decision replay's whole report is kept.
pub fn replay_report_path(id: &str) -> String {
    format!("proposals/{id}/decision_replay.json")
}

/// The mode `p` can actually be validated in: its plan, unless it cannot run.
fn mode_for(p: &Proposal) -> ValidationMode {
    let planned = p.validation_plan.mode;
    if decision_replay::declared(p).is_some() {
        // The built-in shadow mode: the logs replayed under the candidate formula.
        ValidationMode::Shadow
    } else if p.still_a_document() {
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
    let (step, report) = run(ctx, p)?;
    keep_report(ctx, p, report)?;
    Ok(step)
}

/// Validates again a proposal waiting for a human whose last validation could not judge
/// it (a command that could not run): when it can now, its verdict goes to the tier as
/// any other; while it still cannot, nothing is recorded. Never blacklisted meanwhile.
pub fn retry_environment(ctx: &mut Ctx, p: &mut Proposal) -> Result<Option<Step>> {
    if p.status != Status::AwaitingApproval || p.human_approved() {
        return Ok(None);
    }
    let Some(last) = ctx.records.read_json::<Validation>(&super::path(&p.id))? else {
        return Ok(None);
    };
    if last.status != Outcome::Inconclusive
        || last.environment.is_none()
        || last.commit != p.branch_commit
    {
        return Ok(None);
    }
    let (step, report) = run(ctx, p)?;
    if let Step::Finished(v) = &step {
        if v.status == Outcome::Inconclusive && v.environment.is_some() {
            return Ok(None);
        }
    }
    p.push_event(
        &ctx.ts(),
        format!(
            "validated again: the last validation could not run ({})",
            last.environment.unwrap_or_default()
        ),
        None,
    );
    keep_report(ctx, p, report)?;
    Ok(Some(step))
}

fn keep_report(ctx: &mut Ctx, p: &Proposal, report: Option<DecisionReplayReport>) -> Result<()> {
    let Some(r) = report else { return Ok(()) };
    let mut tx = ctx.tx();
    tx.put_json(&replay_report_path(&p.id), &r)?;
    tx.audit(
        "validate",
        "decision_replay",
        &p.id,
        json!({"replayed": r.replayed, "selections_changed": r.selections_changed, "verdict": r.judgment.verdict, "basis": r.basis}),
    );
    ctx.commit(tx, &format!("{}: decision replay", p.id))?;
    Ok(())
}

fn run(ctx: &mut Ctx, p: &mut Proposal) -> Result<(Step, Option<DecisionReplayReport>)> {
    let mode = mode_for(p);
    let mut v = Validation::new(p, mode, ctx.now);
    let mut report = None;
    match mode {
        ValidationMode::UnitTest | ValidationMode::Shadow => {
            let mut verdicts = run_commands(ctx, p, &mut v)?;
            if let Some((verdict, r)) = replay_formula(ctx, p, &mut v)? {
                verdicts.push(verdict);
                report = Some(r);
            }
            v.status = combine(&mut v, verdicts);
        }
        ValidationMode::Canary | ValidationMode::AbTest => {
            let m = ExperimentMode::of(mode).expect("an experiment mode");
            return experiment::start(ctx, p, m, &v).map(|l| (Step::Started(l), None));
        }
        ValidationMode::Manual => v.status = Outcome::Manual,
    }
    v.finished = Some(ctx.ts());
    if let Some(why) = &v.environment {
        p.push_event(
            &ctx.ts(),
            format!("validation ({}) could not judge the change: {why}", v.mode),
            None,
        );
    }
    Ok((Step::Finished(Box::new(v)), report))
}

/// One piece of evidence's verdict: PASSED, FAILED, or INCONCLUSIVE with the reason.
type Piece = (Outcome, Option<String>);

/// FAILED if any piece failed; else INCONCLUSIVE (its reasons kept) if any could not
/// judge; else PASSED if anything ran; else MANUAL.
fn combine(v: &mut Validation, pieces: Vec<Piece>) -> Outcome {
    if pieces.is_empty() {
        return Outcome::Manual;
    }
    if pieces.iter().any(|(o, _)| *o == Outcome::Failed) {
        return Outcome::Failed;
    }
    let reasons: Vec<String> = pieces
        .iter()
        .filter(|(o, _)| *o == Outcome::Inconclusive)
        .filter_map(|(_, r)| r.clone())
        .collect();
    if pieces.iter().any(|(o, _)| *o == Outcome::Inconclusive) {
        v.environment = Some(if reasons.is_empty() {
            "the evidence could not decide".into()
        } else {
            reasons.join("; ")
        });
        return Outcome::Inconclusive;
    }
    Outcome::Passed
}

/// A failed run's verdict: the environment's fault when it could not run, or when the
/// same command fails on the baseline too (it says nothing about the change); the
/// change's when the baseline passes.
fn judge_failure(r: &RunRecord, baseline: Option<&RunRecord>) -> Piece {
    let cmd = r.argv.join(" ");
    let why = could_not_run(r);
    if let Some(w) = &why {
        if matches!(
            r.outcome(),
            crate::command::Outcome::CouldNotRun | crate::command::Outcome::DeadlineReached
        ) {
            return (Outcome::Inconclusive, Some(w.clone()));
        }
    }
    match baseline {
        Some(b) if b.ok() => (Outcome::Failed, None),
        Some(b) => {
            let base_why = could_not_run(b);
            let same = cause(b).is_some() && cause(b) == cause(r);
            let base = match (same, base_why, b.exit_code) {
                (true, _, _) => "the same way".to_string(),
                (false, Some(w), _) => format!("too ({w})"),
                (false, None, Some(c)) => format!("too (exit {c})"),
                (false, None, None) => "too".to_string(),
            };
            (
                Outcome::Inconclusive,
                Some(format!(
                    "{}; it fails on the baseline {base}, so it says nothing about the change",
                    why.unwrap_or_else(|| format!("`{cmd}` failed"))
                )),
            )
        }
        None => match why {
            Some(w) => (Outcome::Inconclusive, Some(w)),
            None => (Outcome::Failed, None),
        },
    }
}

/// `unit_test` runs the test command; both it and `shadow` run the replay command on
/// baseline and candidate when one is configured: the replay measures the effect
/// (shadow's purpose, and the measured improvement the AUTO tier needs). A failing
/// test is run on the baseline as well before it counts against the change.
fn run_commands(ctx: &Ctx, p: &Proposal, v: &mut Validation) -> Result<Vec<Piece>> {
    let (git, cfg) = (ctx.git, ctx.cfg);
    let commit = Oid::from_str(&p.branch_commit).context("proposal has no branch commit")?;
    let base = git.parents(commit)?.first().copied().unwrap_or(commit);
    let mut pieces = vec![];
    if v.mode == ValidationMode::UnitTest {
        if let Some(r) = replay::unit_test(git, cfg, commit, ctx.deadline)? {
            if r.ok() {
                pieces.push((Outcome::Passed, None));
                v.runs.push(r);
            } else {
                let needs_base = !matches!(
                    r.outcome(),
                    crate::command::Outcome::CouldNotRun | crate::command::Outcome::DeadlineReached
                );
                let b = if needs_base {
                    replay::unit_test(git, cfg, base, ctx.deadline)?
                } else {
                    None
                };
                pieces.push(judge_failure(&r, b.as_ref()));
                v.runs.push(r);
                v.runs.extend(b);
            }
        }
    }
    if pieces.iter().any(|(o, _)| *o != Outcome::Passed) {
        return Ok(pieces);
    }
    if let Some(s) = replay::shadow(git, cfg, base, commit, ctx.deadline)? {
        if !s.baseline.ok() {
            let why = could_not_run(&s.baseline).unwrap_or_else(|| {
                format!(
                    "the replay command failed on the baseline ({:?})",
                    s.baseline.exit_code
                )
            });
            pieces.push((Outcome::Inconclusive, Some(why)));
        } else if !s.candidate.ok() {
            pieces.push(judge_failure(&s.candidate, Some(&s.baseline)));
        } else {
            let mut worse = false;
            for (m, after) in &s.after {
                let Some(before) = s.before.get(m) else {
                    continue;
                };
                let higher = cfg.metric(m).map(|c| c.direction) != Some(Direction::Lower);
                let imp = replay::improvement(*before, *after, higher);
                v.improvement.insert(m.clone(), imp);
                if cfg.metric(m).is_some_and(|c| imp < -c.allowed_effect) {
                    worse = true;
                }
            }
            v.target_improved = v
                .improvement
                .get(&p.target_metric.name)
                .is_some_and(|i| *i > 0.0);
            v.metrics_before = s.before.clone();
            v.metrics_after = s.after.clone();
            pieces.push((
                if worse {
                    Outcome::Failed
                } else {
                    Outcome::Passed
                },
                None,
            ));
        }
        v.runs.push(s.baseline);
        v.runs.push(s.candidate);
    }
    Ok(pieces)
}

/// The decision replay of a proposal that declares how the link score's factors
/// combine: every logged decision re-ranked under the baseline and candidate formula.
/// No replayable decision, or logs the baseline does not reproduce, is INCONCLUSIVE.
fn replay_formula(
    ctx: &Ctx,
    p: &Proposal,
    v: &mut Validation,
) -> Result<Option<(Piece, DecisionReplayReport)>> {
    let Some((baseline, candidate)) = decision_replay::declared(p) else {
        return Ok(None);
    };
    let cfg = ctx.cfg;
    let root = ctx.git.root();
    let files: Vec<std::path::PathBuf> =
        crate::observe::files_of(&root, cfg, SourceKind::Traversal)?
            .into_iter()
            .map(|f| root.join(f))
            .collect();
    let mut specs = decision_replay::default_specs();
    for s in specs.iter_mut() {
        let guarded = if s.name == "semantic" {
            "semantic_quality"
        } else {
            s.name.as_str()
        };
        if let Some(m) = cfg.metric(guarded) {
            s.allowed_effect = m.allowed_effect;
        }
    }
    let params = JudgeParams {
        confidence: cfg.validation.significance_threshold,
        min_samples: cfg.validation.min_samples,
        pass_score: cfg.validation.pass_score,
    };
    let r = decision_replay::replay_decisions_from(&files, &baseline, &candidate, &specs, &params)?;
    for name in decision_replay::SAMPLED {
        let metric = if name == "semantic" {
            "semantic_quality"
        } else {
            name
        };
        let mean = |m: &std::collections::BTreeMap<String, Vec<f64>>| {
            m.get(name)
                .filter(|x| !x.is_empty())
                .map(|x| x.iter().sum::<f64>() / x.len() as f64)
        };
        if let (Some(b), Some(a)) = (mean(&r.baseline), mean(&r.candidate)) {
            v.metrics_before.insert(metric.to_string(), b);
            v.metrics_after.insert(metric.to_string(), a);
            v.improvement
                .insert(metric.to_string(), replay::improvement(b, a, true));
        }
    }
    let target = if p.target_metric.name == "semantic_quality" {
        "semantic"
    } else {
        p.target_metric.name.as_str()
    };
    v.target_improved |= r
        .judgment
        .metrics
        .iter()
        .any(|m| m.name == target && m.improved);
    v.judgment = Some(r.judgment.clone());
    let piece = if r.replayed == 0 {
        (
            Outcome::Inconclusive,
            Some(format!(
                "decision replay: no logged decision could be replayed ({} files, {} decisions, {} skipped)",
                r.files, r.decisions, r.skipped
            )),
        )
    } else if r.logged_scores > 0
        && (r.logged_score_mismatches as f64)
            > (1.0 - decision_replay::MIN_REPRODUCTION) * r.logged_scores as f64
    {
        (
            Outcome::Inconclusive,
            Some(format!(
                "decision replay: {} of {} logged scores are not {} of their logged factors: the logs were scored some other way",
                r.logged_score_mismatches, r.logged_scores, r.baseline_formula
            )),
        )
    } else if r.logs_consistent == Some(false) {
        (
            Outcome::Inconclusive,
            Some(format!(
                "decision replay: the logs do not look scored by {} (the baseline reproduces {} of {} logged selections)",
                r.baseline_formula, r.logged_reproduced, r.logged_checked
            )),
        )
    } else {
        match r.judgment.verdict {
            Verdict::Passed => (Outcome::Passed, None),
            Verdict::Failed => (Outcome::Failed, None),
            Verdict::Inconclusive => (
                Outcome::Inconclusive,
                Some(format!("decision replay: {}", r.judgment.reason)),
            ),
        }
    };
    Ok(Some((piece, r)))
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
