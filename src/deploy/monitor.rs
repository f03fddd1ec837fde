//! MONITOR: each cycle, before diagnosis, finishes interrupted deploys, recognises a
//! human's revert, and judges every live deployment's guarded metrics since the
//! deploy against the baseline recorded at deploy time, with the canary judge. A
//! degradation beyond `degradation_threshold` in two consecutive checks (or a severe
//! one, twice the threshold, at once) reverts the deploy (V9); `monitor_duration`
//! without degradation makes it stable, with its effect judged (`effect`): whether the
//! metric its pattern is about moved toward healthy. No data is never stable: a
//! deployment no check could measure is watched on, and says so.

use super::effect::Effect;
use super::outcome::{self, Ending};
use super::{rollback, Check, DeployStatus, Deployment, MetricCheck, MonitorCheck};
use crate::clock::parse_ts;
use crate::context::Ctx;
use crate::observe::samples;
use crate::observe::Observation;
use crate::validate::judge::{self, JudgeParams, MetricSpec, MetricStatus};
use anyhow::Result;
use serde_json::json;

/// What monitoring did this cycle.
#[derive(Debug, Default)]
pub struct Monitored {
    /// One line per event.
    pub lines: Vec<String>,
    /// Rollbacks git or the host refused (a foreign lock, a human mid-rebase): nothing
    /// changed, the deployment is judged again next cycle, and the cycle exits 1 so a
    /// human hears of it.
    pub refused: Vec<String>,
}

/// MONITOR for every live deployment. Runs before DIAGNOSE, so a cycle that reverts a
/// deploy diagnoses and proposes from the reverted state.
#[tracing::instrument(name = "monitor", skip_all)]
pub fn run(ctx: &mut Ctx, obs: &Observation) -> Result<Monitored> {
    let mut refused = vec![];
    let mut lines = super::recover::recover(ctx)?;
    // Newest first: when several deploys are watched and the metrics fall, the newest
    // is the suspect; once it is reverted the older ones are judged again next cycle,
    // on data the reverted change no longer touches.
    let mut live: Vec<Deployment> = super::load_live(&ctx.records)?
        .into_iter()
        .filter(|d| d.status == DeployStatus::Monitoring)
        .collect();
    live.sort_by(|a, b| b.deployed_at.cmp(&a.deployed_at).then(b.id.cmp(&a.id)));
    let mut reverted_newer = false;
    for mut d in live {
        // A cycle redone after an interruption does not judge the same window twice.
        let last_cycle = d
            .checks
            .iter()
            .rev()
            .find_map(Check::monitor)
            .map(|c| c.cycle.as_str());
        if last_cycle == Some(ctx.cycle.as_str()) {
            continue;
        }
        if let Some(l) = rollback::detect_human_revert(ctx, &mut d)? {
            lines.push(l);
            reverted_newer = true;
            continue;
        }
        // A rollback the monitor decided on and git refused last time: done now,
        // whatever this window holds (its evidence is already on record).
        if let Some(reason) = d.rollback_due.clone() {
            match rollback::rollback(ctx, &mut d, &reason, "improve (monitor)") {
                Ok(l) => {
                    lines.push(l);
                    reverted_newer = true;
                }
                Err(e) => {
                    lines.push(format!("{}: rollback still refused: {e:#}", d.id));
                    if let Some(r) = super::deployer::git_refusal(&e) {
                        refused.push(format!("{}: rollback refused: {r}", d.id));
                    }
                    ctx.records.refresh()?;
                }
            }
            continue;
        }
        match check(ctx, &mut d, obs, reverted_newer) {
            Ok(Some(l)) => {
                reverted_newer |=
                    d.status != DeployStatus::Monitoring && d.status != DeployStatus::Stable;
                lines.push(l)
            }
            Ok(None) => {}
            Err(e) => {
                lines.push(format!("{}: not checked this cycle: {e:#}", d.id));
                if let Some(r) = super::deployer::git_refusal(&e) {
                    refused.push(format!("{}: rollback refused: {r}", d.id));
                }
                ctx.records.refresh()?;
            }
        }
    }
    Ok(Monitored { lines, refused })
}

/// Judges one deployment; returns a line if something happened. `newer_reverted`: a
/// newer deployment was reverted in this same window.
pub fn check(
    ctx: &mut Ctx,
    d: &mut Deployment,
    obs: &Observation,
    newer_reverted: bool,
) -> Result<Option<String>> {
    let cfg = ctx.cfg;
    let specs: Vec<MetricSpec> = cfg
        .metrics
        .iter()
        .map(|m| {
            let mut s = MetricSpec::from_config(m);
            s.allowed_effect = cfg.deployment.degradation_threshold;
            s.required = false;
            s
        })
        .collect();
    let current = samples::window(obs);
    gather_effect(ctx, d, &current)?;
    let params = JudgeParams {
        confidence: cfg.validation.significance_threshold,
        min_samples: cfg.validation.min_samples.clamp(3, 10),
        pass_score: 0.0,
    };
    let j = judge::judge(&d.baseline, &current, &specs, &params);
    let failing: Vec<&judge::MetricResult> = j
        .metrics
        .iter()
        .filter(|m| m.status == MetricStatus::Fail)
        .collect();
    let severe = failing.iter().any(|m| m.severe);
    let deferred = !failing.is_empty() && newer_reverted;
    d.checks.push(Check::Monitor(MonitorCheck {
        ts: ctx.ts(),
        cycle: ctx.cycle.clone(),
        degraded: failing.iter().map(|m| m.name.clone()).collect(),
        severe,
        metrics: j.metrics.iter().map(MetricCheck::of).collect(),
        deferred,
    }));
    if deferred {
        // The window mixes in a newer deploy this cycle just reverted: not evidence
        // against this one. Judged again on the next window.
        save(
            ctx,
            d,
            "deferred",
            json!({"reason": "a newer deployment was reverted in this window"}),
        )?;
        return Ok(Some(format!(
            "{}: metrics fell while a newer deployment was live; that one was reverted, this one is judged again next cycle",
            d.id
        )));
    }
    if !failing.is_empty() {
        d.degraded_in_a_row += 1;
        let names: Vec<String> = failing
            .iter()
            .map(|m| format!("{} ({})", m.name, m.reason))
            .collect();
        if severe || d.degraded_in_a_row >= cfg.deployment.consecutive_checks {
            let reason = format!(
                "{} degraded beyond {:.0}%{}: {}",
                if failing.len() == 1 {
                    "a guarded metric"
                } else {
                    "guarded metrics"
                },
                cfg.deployment.degradation_threshold * 100.0,
                if severe {
                    " (severe)"
                } else {
                    " in consecutive checks"
                },
                names.join("; ")
            );
            return match rollback::rollback(ctx, d, &reason, "improve (monitor)") {
                Ok(l) => Ok(Some(l)),
                Err(e) if super::deployer::git_refusal(&e).is_some() => {
                    // Git refused the revert (a foreign lock, a human mid-rebase):
                    // nothing changed. The verdict is kept, so the next cycle reverts
                    // without waiting for this degradation to show again.
                    ctx.records.refresh()?;
                    d.rollback_due = Some(reason.clone());
                    save(ctx, d, "rollback_due", json!({"reason": reason}))?;
                    Err(e)
                }
                Err(e) => Err(e),
            };
        }
        save(
            ctx,
            d,
            "degraded",
            json!({"degraded": names, "in_a_row": d.degraded_in_a_row}),
        )?;
        return Ok(Some(format!(
            "{}: degradation seen ({}); reverted if it holds next check",
            d.id,
            names.join("; ")
        )));
    }
    d.degraded_in_a_row = 0;
    let since = parse_ts(&d.deployed_at).unwrap_or(ctx.now);
    let duration = &cfg.deployment.monitor_duration;
    if ctx.now - since >= cfg.dur(duration) {
        if !measured(d) {
            // Nothing degraded because nothing was measured: not a verdict.
            save(
                ctx,
                d,
                "extended",
                json!({"reason": "no guarded metric had data since the deploy"}),
            )?;
            return Ok(Some(format!(
                "{}: {duration} of monitoring are over, but no guarded metric had data since the deploy: not stable, watched on until there is data",
                d.id
            )));
        }
        let effect = judge_effect(d, params.min_samples, params.confidence);
        outcome::end(
            ctx,
            d,
            Ending {
                status: DeployStatus::Stable,
                reason: None,
                event: format!("stable after {duration} of monitoring; {effect}"),
                by: None,
            },
        )?;
        return Ok(Some(format!(
            "{} is stable after {duration} without degradation; {effect}",
            d.id
        )));
    }
    save(ctx, d, "checked", json!({"verdict": "no degradation"}))?;
    Ok(None)
}

/// Whether any check of the deployment had data for some guarded metric.
fn measured(d: &Deployment) -> bool {
    d.checks
        .iter()
        .filter_map(Check::monitor)
        .any(|c| c.metrics.iter().any(|m| m.status != MetricStatus::Nodata))
}

/// Starts watching the metric the deployment's proposal is about (its pattern's
/// metric), then adds this window's samples of it.
fn gather_effect(ctx: &Ctx, d: &mut Deployment, current: &samples::Samples) -> Result<()> {
    if d.effect.is_none() {
        let Some(p) = crate::store::proposals::load(&ctx.records, &d.proposal)? else {
            return Ok(());
        };
        let m = &p.target_metric;
        let healthy = ctx.cfg.metric(&m.name).and_then(|c| c.healthy);
        d.effect = Some(Effect::watch(&m.name, m.direction, healthy));
    }
    if let Some(e) = d.effect.as_mut() {
        if let Some(v) = current.get(&e.metric) {
            e.gather(v);
        }
    }
    Ok(())
}

/// The effect verdict at the end of the watch, in words for the record's history.
fn judge_effect(d: &mut Deployment, min_samples: usize, confidence: f64) -> String {
    let Some(e) = d.effect.as_mut() else {
        return "effect unknown: the proposal names no metric".into();
    };
    let before = d.baseline.get(&e.metric).cloned().unwrap_or_default();
    e.judge(&before, min_samples, confidence);
    format!("effect {}", e.reason)
}

fn save(ctx: &mut Ctx, d: &Deployment, action: &str, detail: serde_json::Value) -> Result<()> {
    let mut tx = ctx.tx();
    super::put(&mut tx, d)?;
    tx.audit("monitor", action, &d.id, detail);
    ctx.commit(tx, &format!("{}: monitor {action}", d.id))?;
    Ok(())
}
