//! The judge behind canary, A/B and post-deploy monitoring, in the manner of
//! Kayenta: per metric, a one-sided Mann-Whitney test and a Hodges-Lehmann shift
//! against an allowed effect; critical metrics veto; every verdict says its numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{Direction, MetricCfg};
use crate::stats;

/// How one metric is judged.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub name: String,
    pub direction: Direction,
    /// A failure of this metric fails the whole judgment.
    pub critical: bool,
    /// Relative shift tolerated in the bad direction (0.1 = 10 %).
    pub allowed_effect: f64,
    /// No data in a group is a failure rather than "not judged".
    pub required: bool,
}

impl MetricSpec {
    pub fn from_config(m: &MetricCfg) -> MetricSpec {
        MetricSpec {
            name: m.name.clone(),
            direction: m.direction,
            critical: m.critical,
            allowed_effect: m.allowed_effect,
            required: m.required,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Passed,
    Failed,
    Inconclusive,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricStatus {
    Pass,
    Fail,
    /// No samples in one group.
    Nodata,
    /// Fewer than `min_samples` in one group.
    Insufficient,
}

/// The judgment of one metric, with everything needed to explain it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricResult {
    pub name: String,
    pub status: MetricStatus,
    pub critical: bool,
    pub n_control: usize,
    pub n_variant: usize,
    pub control_median: Option<f64>,
    pub variant_median: Option<f64>,
    pub control_mean: Option<f64>,
    pub variant_mean: Option<f64>,
    /// Hodges-Lehmann shift, variant - control.
    pub shift: Option<f64>,
    pub ci_lo: Option<f64>,
    pub ci_hi: Option<f64>,
    /// Shift relative to the control's baseline, signed so positive is better for
    /// the metric's direction. Absolute when the baseline is 0.
    pub relative_effect: Option<f64>,
    /// Mann-Whitney U of the variant.
    pub u: Option<f64>,
    /// One-sided Mann-Whitney p-value for "the variant is worse": the test the
    /// failure rule uses.
    pub p: Option<f64>,
    /// Significantly better in the metric's good direction.
    pub improved: bool,
    /// Failed, and worse by more than twice the allowed effect.
    pub severe: bool,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Judgment {
    pub verdict: Verdict,
    /// Passing metrics / judged metrics (0 when none was judged).
    pub score: f64,
    pub metrics: Vec<MetricResult>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JudgeParams {
    /// 0.95: a difference is significant when its one-sided p < 1 - confidence.
    pub confidence: f64,
    /// Samples needed in each group before a metric is judged.
    pub min_samples: usize,
    /// Share of judged metrics that must pass.
    pub pass_score: f64,
}

impl Default for JudgeParams {
    fn default() -> JudgeParams {
        JudgeParams {
            confidence: 0.95,
            min_samples: 10,
            pass_score: 0.75,
        }
    }
}

/// A number in a sentence: four significant digits, no float noise.
fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn pval(p: f64) -> String {
    if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p != 0.0 && p.abs() < 0.1 {
        format!("{}%", num(p))
    } else {
        format!("{p:.1}%")
    }
}

fn finite(x: Option<&Vec<f64>>) -> Vec<f64> {
    x.map(|v| v.iter().copied().filter(|x| x.is_finite()).collect())
        .unwrap_or_default()
}

/// Judges one metric.
fn judge_metric(c: &[f64], v: &[f64], spec: &MetricSpec, params: &JudgeParams) -> MetricResult {
    let confidence = if params.confidence.is_finite() {
        params.confidence
    } else {
        0.95
    };
    let alpha = (1.0 - confidence).clamp(1e-9, 0.5);
    let allowed = if spec.allowed_effect.is_finite() {
        spec.allowed_effect.abs()
    } else {
        0.0
    };
    let mut r = MetricResult {
        name: spec.name.clone(),
        status: MetricStatus::Nodata,
        critical: spec.critical,
        n_control: c.len(),
        n_variant: v.len(),
        control_median: stats::median(c),
        variant_median: stats::median(v),
        control_mean: stats::mean(c),
        variant_mean: stats::mean(v),
        shift: None,
        ci_lo: None,
        ci_hi: None,
        relative_effect: None,
        u: None,
        p: None,
        improved: false,
        severe: false,
        reason: String::new(),
    };
    let counts = format!("n={} control / {} variant", c.len(), v.len());
    if c.is_empty() || v.is_empty() {
        r.reason = format!(
            "{}: no data ({counts}){}.",
            spec.name,
            if spec.required {
                "; the metric is required, so this is a failure"
            } else {
                "; not judged"
            }
        );
        return r;
    }
    if c.len() < params.min_samples || v.len() < params.min_samples {
        r.status = MetricStatus::Insufficient;
        r.reason = format!(
            "{}: too few samples ({counts}, {} needed in each); not judged.",
            spec.name, params.min_samples
        );
        return r;
    }
    let (Some(mw), Some(hl)) = (
        stats::mann_whitney(c, v),
        stats::hodges_lehmann(c, v, 1.0 - alpha),
    ) else {
        // Unreachable with non-empty finite samples; kept as "no data" to stay total.
        r.reason = format!("{}: no usable data ({counts}).", spec.name);
        return r;
    };
    let sign = spec.direction.sign();
    let (p_worse, p_better) = match spec.direction {
        Direction::Higher => (mw.p_less, mw.p_greater),
        Direction::Lower => (mw.p_greater, mw.p_less),
    };
    // A baseline within 1e-9 of the data's magnitude (rounding residue of values
    // around zero, a subnormal) is zero: dividing by it would mean nothing.
    let scale = c.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let negligible = |x: f64| if x.abs() <= scale * 1e-9 { 0.0 } else { x };
    let cmed = negligible(r.control_median.unwrap_or(0.0));
    let cmean = negligible(r.control_mean.unwrap_or(0.0));
    // The baseline the shift is measured against; with a zero baseline the shift
    // is compared with the allowed effect as an absolute number.
    // For a 0/1 metric (a success, a timeout) the median shift is 0 whatever the
    // rates do; the effect is the difference in proportions, against the control's.
    let binary = c.iter().chain(v.iter()).all(|x| *x == 0.0 || *x == 1.0);
    let estimate = if binary {
        r.variant_mean.unwrap_or(0.0) - r.control_mean.unwrap_or(0.0)
    } else {
        hl.estimate
    };
    // ...in percentage points: a 3% error rate doubling to 6% is noise at the scale
    // of "10% worse", a success rate falling from 90% to 40% is not.
    let (cmed, cmean) = if binary { (0.0, 0.0) } else { (cmed, cmean) };
    let (baseline, base_name) = if cmed != 0.0 {
        (cmed.abs(), "of the control median")
    } else if cmean != 0.0 {
        (cmean.abs(), "of the control mean")
    } else if binary {
        (1.0, "absolute: the difference of two rates")
    } else {
        (1.0, "absolute, the control is 0")
    };
    let absolute = cmed == 0.0 && cmean == 0.0;
    let amount = |x: f64| if absolute { num(x) } else { pct(x) };
    let relative = sign * estimate / baseline;
    let relative = if relative.is_finite() {
        relative
    } else {
        relative.signum() * f64::MAX
    };
    let worse_by = -relative;
    let significant_worse = p_worse < alpha;
    let fail = significant_worse && worse_by > allowed;
    r.improved = p_better < alpha && relative > 0.0;
    r.severe = fail && worse_by > 2.0 * allowed;
    r.status = if fail {
        MetricStatus::Fail
    } else {
        MetricStatus::Pass
    };
    r.shift = Some(hl.estimate);
    r.ci_lo = Some(hl.lo);
    r.ci_hi = Some(hl.hi);
    r.relative_effect = Some(relative);
    r.u = Some(mw.u);
    r.p = Some(p_worse);

    let effect = if relative == 0.0 {
        "no change".to_string()
    } else if relative > 0.0 {
        format!("{} better", amount(relative))
    } else {
        format!("{} worse", amount(worse_by))
    };
    let verdict = if fail {
        format!(
            "fail: significantly worse (p(worse)={} < {}) by more than the allowed {}{}",
            pval(p_worse),
            pval(alpha),
            amount(allowed),
            if r.severe { ", severe" } else { "" }
        )
    } else if significant_worse {
        format!(
            "pass: worse (p(worse)={}) but within the allowed {}",
            pval(p_worse),
            amount(allowed)
        )
    } else if r.improved {
        format!("pass: significantly better (p(better)={})", pval(p_better))
    } else {
        format!(
            "pass: no significant degradation (p(worse)={})",
            pval(p_worse)
        )
    };
    if binary {
        r.reason = format!(
            "{}: variant rate {} vs control {} ({counts}), {effect} ({base_name}); {verdict}.",
            spec.name,
            num(r.variant_mean.unwrap_or(0.0)),
            num(r.control_mean.unwrap_or(0.0)),
        );
        return r;
    }
    r.reason = format!(
        "{}: variant median {} vs control {} ({counts}), shift {} ({}% CI {} to {}), {effect} ({base_name}); {verdict}.",
        spec.name,
        num(r.variant_median.unwrap_or(0.0)),
        num(cmed),
        num(hl.estimate),
        num(hl.confidence * 100.0),
        num(hl.lo),
        num(hl.hi),
    );
    r
}

/// Judges the variant against the control over every metric in `specs`.
///
/// A metric fails when the variant is significantly worse (one-sided Mann-Whitney,
/// p < 1 - confidence) and worse by more than its allowed effect. Metrics without
/// data are failures only when required; metrics with too few samples are not
/// judged. PASSED needs at least one judged metric, no critical failure and
/// score >= pass_score; FAILED is a critical failure, or a score too low even if
/// every metric still short of samples were to pass; anything else is
/// INCONCLUSIVE.
pub fn judge(
    control: &BTreeMap<String, Vec<f64>>,
    variant: &BTreeMap<String, Vec<f64>>,
    specs: &[MetricSpec],
    params: &JudgeParams,
) -> Judgment {
    let metrics: Vec<MetricResult> = specs
        .iter()
        .map(|s| {
            let c = finite(control.get(&s.name));
            let v = finite(variant.get(&s.name));
            judge_metric(&c, &v, s, params)
        })
        .collect();

    let mut passing = 0usize;
    let mut failing = 0usize;
    let mut insufficient = 0usize;
    let mut critical_failures: Vec<&str> = Vec::new();
    for (m, s) in metrics.iter().zip(specs) {
        let failed = match m.status {
            MetricStatus::Pass => {
                passing += 1;
                false
            }
            MetricStatus::Fail => true,
            MetricStatus::Nodata => s.required,
            MetricStatus::Insufficient => {
                insufficient += 1;
                false
            }
        };
        if failed {
            failing += 1;
            if s.critical {
                critical_failures.push(&m.name);
            }
        }
    }
    let judged = passing + failing;
    let score = if judged == 0 {
        0.0
    } else {
        passing as f64 / judged as f64
    };
    // The best score still reachable if every metric short of samples passed.
    let best_score = if judged + insufficient == 0 {
        0.0
    } else {
        (passing + insufficient) as f64 / (judged + insufficient) as f64
    };
    let pass_score = if params.pass_score.is_finite() {
        params.pass_score
    } else {
        1.0
    };
    let tally = format!(
        "{passing} of {judged} judged metrics pass (score {:.2}, needed {:.2}){}",
        score,
        pass_score,
        if insufficient > 0 {
            format!(", {insufficient} with too few samples")
        } else {
            String::new()
        }
    );
    let (verdict, reason) = if !critical_failures.is_empty() {
        (
            Verdict::Failed,
            format!(
                "FAILED: critical metric {} failed; {tally}.",
                critical_failures.join(", ")
            ),
        )
    } else if judged == 0 {
        (
            Verdict::Inconclusive,
            format!(
                "INCONCLUSIVE: no metric could be judged ({} metrics, {insufficient} with too few samples).",
                metrics.len()
            ),
        )
    } else if score >= pass_score {
        (Verdict::Passed, format!("PASSED: {tally}."))
    } else if best_score < pass_score {
        (Verdict::Failed, format!("FAILED: {tally}."))
    } else {
        (
            Verdict::Inconclusive,
            format!("INCONCLUSIVE: {tally}; more samples could still change it."),
        )
    };
    Judgment {
        verdict,
        score,
        metrics,
        reason,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod properties;
