//! MONITOR: each cycle after a deploy judges the guarded metrics since the deploy
//! against the baseline recorded at deploy time, with the canary judge. A degradation
//! beyond `degradation_threshold` in two consecutive checks (or a severe one, twice
//! the threshold, at once) reverts the deploy (V9); `monitor_duration` without
//! degradation makes it stable.

use super::{deployer, rollback, DeployStatus, Deployment};
use crate::clock::{fmt_ts, parse_ts, Timestamp};
use crate::config::Config;
use crate::git::Git;
use crate::observe::Observation;
use crate::records::Records;
use crate::validate::judge::{self, JudgeParams, MetricSpec, MetricStatus};
use anyhow::Result;
use serde_json::json;
use std::collections::BTreeMap;

/// All samples of this window, whatever variant they ran under.
pub fn window_samples(obs: &Observation) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for per_metric in obs.samples.values() {
        for (m, v) in per_metric {
            out.entry(m.clone())
                .or_default()
                .extend(v.iter().copied().filter(|x| x.is_finite()));
        }
    }
    out
}

/// Judges one deployment; returns a line if something happened.
pub fn check(
    git: &Git,
    records: &mut Records,
    cfg: &Config,
    d: &mut Deployment,
    obs: &Observation,
    cycle: &str,
    now: Timestamp,
    newer_reverted: bool,
) -> Result<Option<String>> {
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
    let current = window_samples(obs);
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
    let ts = fmt_ts(now);
    d.checks.push(json!({
        "ts": ts, "cycle": cycle,
        "degraded": failing.iter().map(|m| &m.name).collect::<Vec<_>>(),
        "severe": severe,
        "metrics": j.metrics.iter().map(|m| json!({"name": m.name, "status": m.status, "relative_effect": m.relative_effect, "p": m.p, "reason": m.reason})).collect::<Vec<_>>(),
    }));
    if !failing.is_empty() && newer_reverted {
        // The window mixes in a newer deploy this cycle just reverted: not evidence
        // against this one. Judged again on the next window.
        if let Some(last) = d.checks.last_mut() {
            last["deferred"] = json!(true);
        }
        save(
            records,
            d,
            cycle,
            now,
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
            let line = rollback::rollback(
                git,
                records,
                cfg,
                d,
                cycle,
                now,
                &reason,
                "improve (monitor)",
            )?;
            return Ok(Some(line));
        }
        save(
            records,
            d,
            cycle,
            now,
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
    let since = parse_ts(&d.deployed_at).unwrap_or(now);
    if now - since >= cfg.dur(&cfg.deployment.monitor_duration) {
        let event = format!(
            "stable after {} of monitoring",
            cfg.deployment.monitor_duration
        );
        deployer::end(
            records,
            cfg,
            d,
            DeployStatus::Stable,
            None,
            event,
            None,
            cycle,
            now,
        )?;
        return Ok(Some(format!(
            "{} is stable after {} without degradation",
            d.id, cfg.deployment.monitor_duration
        )));
    }
    save(
        records,
        d,
        cycle,
        now,
        "checked",
        json!({"verdict": "no degradation"}),
    )?;
    Ok(None)
}

fn save(
    records: &mut Records,
    d: &Deployment,
    cycle: &str,
    now: Timestamp,
    action: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let mut tx = records.tx();
    tx.put_yaml(&super::path(&d.id), d)?;
    tx.audit("monitor", action, &d.id, detail);
    tx.commit(records, cycle, now, &format!("{}: monitor {action}", d.id))?;
    Ok(())
}
